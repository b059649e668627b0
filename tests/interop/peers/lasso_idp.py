"""Lasso as the identity provider: an IdP-initiated SSO (Login) that builds
and signs a Response for idbroker. Lasso always signs the Assertion; it signs
the Response too unless told not to (signature hint FORBID). Lasso 2.8.1
picks the digest itself: SHA-256 for RSA-SHA256, SHA-384 for RSA-SHA512.

Lasso's Python binding is Debian's python3-lasso, built for the system
Python, not the test venv: `sign` runs this file under /usr/bin/python3 and
passes the request as JSON on stdin; that side imports only lasso and the
standard library."""
import json
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
SIGNATURE_METHODS = {"rsa256": "RSA_SHA256", "rsa384": "RSA_SHA384", "rsa512": "RSA_SHA512"}


def sign(case, claims) -> bytes:
    from .common import idp_metadata, run, sp_metadata  # the venv side only

    if case.placement == "response":
        raise ValueError("Lasso always signs the Assertion")
    key = case.signing_key
    request = {
        "idp_metadata": idp_metadata(claims.issuer, [key], f"{claims.issuer}/sso"),
        "sp_metadata": sp_metadata(claims.audience, claims.acs),
        "sp_entity_id": claims.audience,
        "key_pem": key.key_pem.decode(),
        "cert_pem": key.cert_pem.decode(),
        "signature_method": SIGNATURE_METHODS[case.algorithm],
        "sign_response": case.placement in ("response", "both"),
        "name_id": claims.name_id, "name_id_format": claims.name_id_format,
        "authn_context": case.shape.authn_context,
        "now": claims.issue_instant, "not_before": claims.not_before, "not_on_or_after": claims.not_on_or_after,
        "statements": [[{"name": a.name, "name_format": a.name_format, "friendly_name": a.friendly_name,
                         "values": list(a.values)} for a in statement] for statement in claims.statements],
    }
    return run([SYSTEM_PYTHON, str(Path(__file__).resolve())], stdin=json.dumps(request)).encode()


def respond(r: dict) -> str:
    """The signed Response; runs in the system Python, with lasso."""
    import base64

    import lasso

    server = lasso.Server.newFromBuffers(r["idp_metadata"], r["key_pem"], None, r["cert_pem"])
    server.signatureMethod = getattr(lasso, "SIGNATURE_METHOD_" + r.get("signature_method", "RSA_SHA256"))
    server.addProviderFromBuffer(lasso.PROVIDER_ROLE_SP, r["sp_metadata"])
    if r.get("sym_key"):
        # The Assertion encrypted to the SP metadata's encryption certificate (lasso_encrypt.py).
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


def _statement(lasso, attributes: list):
    statement = lasso.Saml2AttributeStatement()
    statement.attribute = [_attribute(lasso, a) for a in attributes]
    return statement


def _attribute(lasso, a: dict):
    attribute = lasso.Saml2Attribute()
    attribute.name, attribute.nameFormat, attribute.friendlyName = a["name"], a["name_format"], a["friendly_name"]
    attribute.attributeValue = [_value(lasso, v) for v in a["values"]]
    return attribute


def _value(lasso, text: str):
    node = lasso.MiscTextNode.newWithString(text)
    node.textChild = True
    value = lasso.Saml2AttributeValue()
    value.any = [node]
    return value


if __name__ == "__main__":
    sys.stdout.write(respond(json.load(sys.stdin)))
