"""Lasso as the identity provider of an encrypted assertion: lasso_idp.py's
IdP-initiated Login, with the SP provider's encryption mode ASSERTION, so
Lasso signs the Assertion, encrypts it to the certificate of the SP
metadata's KeyDescriptor use="encryption" and (unless FORBID) signs the
Response over the EncryptedAssertion. Lasso 2.8.1 offers AES-128/AES-256
(CBC) and 3DES for the data, RSA-OAEP (rsa-oaep-mgf1p) or PKCS#1 v1.5 for the
key.

Runs under the system Python (Debian's python3-lasso), a JSON request on
stdin, as lasso_idp.py does; peers/encrypt.py calls it."""
import json
import sys


def respond(r: dict) -> str:
    """lasso_idp.respond with the request's `sym_key` and `key_encryption`."""
    from lasso_idp import respond as lasso_respond  # this folder is sys.path[0] when run as a script

    return lasso_respond(r)


if __name__ == "__main__":
    sys.stdout.write(respond(json.load(sys.stdin)))
