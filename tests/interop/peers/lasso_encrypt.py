"""Lasso as the identity provider of an encrypted assertion: lasso_idp.py's
IdP-initiated Login, with the SP provider's encryption mode ASSERTION, so
Lasso signs the Assertion, encrypts it to the certificate of the SP
metadata's KeyDescriptor use="encryption" and (unless FORBID) signs the
Response over the EncryptedAssertion. Lasso 2.8.1 offers AES-128/AES-256
(CBC) and 3DES for the data, RSA-OAEP (rsa-oaep-mgf1p) or PKCS#1 v1.5 for the
key.

Runs under the system Python (Debian's python3-lasso), a JSON request on
stdin, as lasso_idp.py does; peers/encrypt.py calls it."""
import base64
import json
import sys


def respond(r: dict) -> str:
    import lasso
    from lasso_idp import _statement  # this folder is sys.path[0] when run as a script

    server = lasso.Server.newFromBuffers(r["idp_metadata"], r["key_pem"], None, r["cert_pem"])
    server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    server.addProviderFromBuffer(lasso.PROVIDER_ROLE_SP, r["sp_metadata"])
    sp = server.getProvider(r["sp_entity_id"])
    sp.setEncryptionMode(lasso.ENCRYPTION_MODE_ASSERTION)
    sp.setEncryptionSymKeyType(getattr(lasso, "ENCRYPTION_SYM_KEY_TYPE_" + r["sym_key"]))
    sp.setKeyEncryptionMethod(getattr(lasso, "KEY_ENCRYPTION_METHOD_" + r["key_encryption"]))
    login = lasso.Login(server)
    login.initIdpInitiatedAuthnRequest(r["sp_entity_id"])
    login.request.nameIdPolicy.format = r["name_id_format"]
    login.request.nameIdPolicy.allowCreate = True
    login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
    login.processAuthnRequestMsg(None)
    login.validateRequestMsg(True, True)
    login.buildAssertion(r["authn_context"], r["now"], None, r["not_before"], r["not_on_or_after"])
    name_id = login.assertion.subject.nameID
    name_id.content, name_id.format = r["name_id"], r["name_id_format"]
    name_id.nameQualifier = name_id.spNameQualifier = None
    login.assertion.attributeStatement = [_statement(lasso, s) for s in r["statements"]]
    if not r["sign_response"]:
        login.setSignatureHint(lasso.PROFILE_SIGNATURE_HINT_FORBID)
    login.buildAuthnResponseMsg()
    return base64.b64decode(login.msgBody).decode()


if __name__ == "__main__":
    sys.stdout.write(respond(json.load(sys.stdin)))
