"""Lasso as a service provider of the built-in IdP: it builds and signs an
AuthnRequest (Redirect binding) with the options asked for, and checks the
IdP's Response as Lasso's SP does. Like lasso_idp.py, this runs under the
system Python (Debian's python3-lasso), the request as JSON on stdin."""
import json
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def call(request: dict) -> dict:
    """Runs this file in the system Python; the venv side."""
    from .common import run

    return json.loads(run([SYSTEM_PYTHON, str(Path(__file__).resolve())], stdin=json.dumps(request)))


def _server(lasso, r: dict):
    server = lasso.Server.newFromBuffers(r["sp_metadata"], r["key_pem"], None, r["cert_pem"])
    server.signatureMethod = getattr(lasso, "SIGNATURE_METHOD_" + r.get("signature_method", "RSA_SHA256"))
    server.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, r["idp_metadata"])
    return server


def authn_request(lasso, r: dict) -> dict:
    login = lasso.Login(_server(lasso, r))
    login.initAuthnRequest(r["idp_entity_id"], lasso.HTTP_METHOD_REDIRECT)
    request = login.request
    request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
    request.nameIdPolicy.format = r.get("name_id_format", lasso.SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT)
    request.nameIdPolicy.allowCreate = True
    if r.get("acs_index") is not None:
        request.assertionConsumerServiceIndex = r["acs_index"]
    request.isPassive = r.get("is_passive", False)
    request.forceAuthn = r.get("force_authn", False)
    login.buildAuthnRequestMsg()
    return {"url": login.msgUrl, "id": request.id}


def check_response(lasso, r: dict) -> dict:
    login = lasso.Login(_server(lasso, r))
    try:
        login.processAuthnResponseMsg(r["saml_response"])
    except lasso.Error as e:
        status = login.response.status.statusCode if login.response and login.response.status else None
        second = status.statusCode.value if status is not None and status.statusCode is not None else None
        return {"ok": False, "error": str(e), "status": second}
    login.acceptSso()
    name_id = login.assertion.subject.nameID
    return {"ok": True, "name_id": name_id.content, "name_id_format": name_id.format,
            "in_response_to": login.response.inResponseTo}


if __name__ == "__main__":
    import lasso

    given = json.load(sys.stdin)
    answer = authn_request(lasso, given) if given["op"] == "request" else check_response(lasso, given)
    sys.stdout.write(json.dumps(answer))
