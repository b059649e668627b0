"""Lasso as a service provider of the built-in IdP, for what lasso_sp.py does
not ask: the POST binding, Scoping, and a request Lasso builds but leaves
unsigned (Lasso 2.8 signs with RSA, DSA or HMAC only, so an ECDSA signature
comes from another signer). The Response is checked by lasso_sp.py's
check_response. Runs under the system Python (Debian's python3-lasso), the
request as JSON on stdin; `call` is the venv side."""
import base64
import json
import sys
import zlib
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def call(request: dict) -> dict:
    from .common import run

    return json.loads(run([SYSTEM_PYTHON, str(Path(__file__).resolve())], stdin=json.dumps(request)))


def authn_request(lasso, lasso_sp, r: dict) -> dict:
    """{"binding": "redirect"|"post", "sign": bool, "scoping": {"proxy_count",
    "requester_id", "idp_list": [provider IDs]}}: Lasso's AuthnRequest;
    {url, body (POST), id, xml}. (Lasso 2.8.1 writes ProxyCount as a child
    element, not the attribute SAML's schema has.)"""
    login = lasso.Login(lasso_sp._server(lasso, r))
    post = r.get("binding") == "post"
    login.initAuthnRequest(r["idp_entity_id"], lasso.HTTP_METHOD_POST if post else lasso.HTTP_METHOD_REDIRECT)
    request = login.request
    request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
    request.nameIdPolicy.format = r.get("name_id_format", lasso.SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT)
    request.nameIdPolicy.allowCreate = True
    scoping = r.get("scoping")
    if scoping is not None:
        scope = lasso.Samlp2Scoping()
        if scoping.get("proxy_count") is not None:
            scope.proxyCount = str(scoping["proxy_count"])
        if scoping.get("requester_id"):
            scope.requesterId = scoping["requester_id"]
        if scoping.get("idp_list"):
            entries = []
            for provider in scoping["idp_list"]:
                entry = lasso.Samlp2IDPEntry()
                entry.providerId = provider
                entries.append(entry)
            idp_list = lasso.Samlp2IDPList()
            idp_list.iDPEntry = tuple(entries)
            scope.iDPList = idp_list
        request.scoping = scope
    if not r.get("sign", True):
        login.signatureHint = lasso.PROFILE_SIGNATURE_HINT_FORBID
    login.buildAuthnRequestMsg()
    if post:
        return {"url": login.msgUrl, "body": login.msgBody, "id": request.id,
                "xml": base64.b64decode(login.msgBody).decode()}
    from urllib.parse import parse_qs, urlsplit

    deflated = base64.b64decode(parse_qs(urlsplit(login.msgUrl).query)["SAMLRequest"][0])
    return {"url": login.msgUrl, "id": request.id, "xml": zlib.decompress(deflated, -15).decode()}


if __name__ == "__main__":
    import lasso

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import lasso_sp

    given = json.load(sys.stdin)
    if given["op"] == "request":
        answer = authn_request(lasso, lasso_sp, given)
    else:
        answer = lasso_sp.check_response(lasso, given)
    sys.stdout.write(json.dumps(answer))
