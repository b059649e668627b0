"""The AuthnRequest options that test_idp_options.py proves with one SP only
(pysaml2), here with other SAML SPs this project did not write:

- Scoping (ProxyCount, IDPList, RequesterID), which the IdP does not do: from
  node-saml (npm @node-saml/node-saml, its `scoping` option) and from Lasso
  (Debian python3-lasso), Redirect and POST bindings. idbroker must answer
  the SP with a SAML status, never a login form or an error page, and the
  SP library itself reads that status out of the Response.
- ECDSA-SHA256 signed AuthnRequests: Lasso builds the request (Lasso 2.8
  cannot sign with ECDSA, so it leaves it unsigned) and the `xmlsec1` command
  line signs it in the XML (POST binding), or the `openssl` command line signs
  the Redirect binding's query; the SP is registered with an EC P-256
  certificate. alice signs in and Lasso checks the Response. A tampered
  signature, or one by another EC key, is refused before any login form.

Lasso and node-saml run as peers/lasso_sp_options.py and
peers/node/saml_sp_step.js, one step per call; the scripted browser is
test_idp_options.py's."""
import base64
import html
import json
import os
import re
import subprocess
import tempfile
import types
import urllib.parse
from pathlib import Path

import boto3
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from conftest import ROOT, Service, create_roles
from peers import lasso_sp_options, xmlsec1_cli
from peers.common import ALGORITHMS, DS, SAMLP, run
from test_idp_options import ACS as LASSO_ACS, LASSO, Browser, lasso_metadata

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

KEYS = ROOT / "tests" / "keys" / "peers"
NODE_DIR = Path(__file__).resolve().parent / "peers" / "node"
LASSO_EC = "https://lasso-ec-sp.test/metadata"
LASSO_EC_ACS = "https://lasso-ec-sp.test/acs"
NODE = "https://node-saml-sp.test/metadata"
NODE_ACS = "https://node-saml-sp.test/acs"
ECDSA_SHA256 = ALGORITHMS["ecdsa256"].signature
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
UNSUPPORTED = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"
# What SAML core 3.2.2.2 offers an IdP that will not do what Scoping asks.
REFUSALS = {UNSUPPORTED, "urn:oasis:names:tc:SAML:2.0:status:ProxyCountExceeded",
            "urn:oasis:names:tc:SAML:2.0:status:NoAvailableIDP", "urn:oasis:names:tc:SAML:2.0:status:NoSupportedIDP"}


def schema_valid(xml):
    """The request against the OASIS SAML 2.0 protocol schema python3-saml
    ships: what the IdP refuses is a well-formed request, not a broken one."""
    checked = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-protocol-2.0.xsd")
    assert not isinstance(checked, str), f"{checked}: {xml}"


def login_form_shown(page):
    return 'name="password"' in page.text or 'name="username"' in page.text


# ---- node-saml (peers/node/saml_sp_step.js) ----

def node(idp, op, **given):
    if not (NODE_DIR / "node_modules/@node-saml/node-saml").is_dir():
        raise RuntimeError(f"node-saml is not installed: run `npm ci` in {NODE_DIR}")
    request = {"op": op, "entityId": NODE, "acs": NODE_ACS, "idpSso": idp["sso"], "idpCert": idp["cert"],
               "spKey": str(KEYS / "rsa2048-b.key"), "spCert": str(KEYS / "rsa2048-b.crt"), **given}
    return json.loads(run(["node", str(NODE_DIR / "saml_sp_step.js")], stdin=json.dumps(request)))


# ---- Lasso (peers/lasso_sp_options.py) ----

def lasso_ec_metadata(key="ec-p256-b"):
    cert = "".join(l for l in (KEYS / f"{key}.crt").read_text().splitlines() if "CERTIFICATE" not in l)
    return ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{LASSO_EC}">'
            '<md:SPSSODescriptor AuthnRequestsSigned="true" '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
            '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{LASSO_EC_ACS}" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>')


def lasso(idp, ec=False, **request):
    """Lasso as the RSA SP of test_idp_options.py (rsa3072), or as the EC SP
    (its server holds the EC P-256 key; Lasso cannot sign with it)."""
    key = "ec-p256-b" if ec else "rsa3072"
    return lasso_sp_options.call({
        "sp_metadata": lasso_ec_metadata() if ec else lasso_metadata(), "idp_metadata": idp["metadata"],
        "idp_entity_id": idp["entity_id"], "key_pem": (KEYS / f"{key}.key").read_text(),
        "cert_pem": (KEYS / f"{key}.crt").read_text(), **request})


# ---- the second signers: xmlsec1 and openssl command lines ----

def xmlsec1_signed(xml, key="ec-p256-b"):
    """The AuthnRequest signed in the XML with ECDSA-SHA256 (exc-c14n,
    enveloped, X509Data) by the xmlsec1 command line; the template goes after
    the Issuer, where SAML's schema wants it."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    case = types.SimpleNamespace(algorithm="ecdsa256", prefix_list=None, prefix_list_in_c14n_method=False,
                                 key_info="x509")
    root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer").addnext(
        xmlsec1_cli.template(case, "#" + root.get("ID")))
    with tempfile.TemporaryDirectory(prefix="xmlsec1-") as tmp:
        unsigned, signed = Path(tmp, "unsigned.xml"), Path(tmp, "signed.xml")
        unsigned.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        run(["xmlsec1", "--sign", "--privkey-pem", f"{KEYS / f'{key}.key'},{KEYS / f'{key}.crt'}",
             "--id-attr:ID", f"{SAMLP}:AuthnRequest", "--output", str(signed), str(unsigned)])
        return signed.read_bytes()


def openssl_signed_url(url, key="ec-p256-b"):
    """Lasso's unsigned Redirect URL with SigAlg ecdsa-sha256 and a Signature
    made by the openssl command line over the query as sent (SAML bindings
    3.4.4.1); XML-DSig's ECDSA value is r||s, openssl's DER is converted."""
    base, query = url.split("?", 1)
    assert "Signature=" not in query and "SigAlg=" not in query, url
    signed = query + "&" + urllib.parse.urlencode({"SigAlg": ECDSA_SHA256})
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(KEYS / f"{key}.key")],
                         input=signed.encode(), capture_output=True, check=True).stdout
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{base}?{signed}&" + urllib.parse.urlencode({"Signature": base64.b64encode(raw).decode()})


# ---- idbroker with the SPs registered ----

@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sps")
    placeholder = {"sso": "https://idp.test/idp/sso", "cert": (KEYS / "rsa2048-a.crt").read_text()}
    documents = {"lasso.xml": lasso_metadata(), "lasso-ec.xml": lasso_ec_metadata(),
                 "node-saml.xml": node(placeholder, "metadata")["xml"]}
    assert 'AuthnRequestsSigned="true"' in documents["node-saml.xml"], documents["node-saml.xml"]
    for name, text in documents.items():
        (folder / name).write_text(text)
    providers = ", ".join(f'{{ metadata_file = "{folder / name}" }}' for name in documents)
    service = Service(config=f"[idp]\nservice_providers = [{providers}]\n")
    try:
        out = service.init("111122223333")
        assert out.returncode == 0, out.stderr
        admin = json.loads(out.stdout)
        iam = boto3.client("iam", endpoint_url=service.url, region_name="us-east-1",
                           aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
        create_roles(iam, ("Dev", "Admin"))
        metadata = requests.get(service.url + "/idp/metadata", timeout=10).text
        cert = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata).group(1)
        yield {"service": service, "metadata": metadata, "entity_id": service.url + "/idp/metadata",
               "sso": service.url + "/idp/sso", "cert": cert, "responses": []}
    finally:
        assert service.stop() == 0


def status_codes(response_b64):
    root = etree.fromstring(base64.b64decode(response_b64))
    return [c.get("Value") for c in root.iter(f"{{{SAMLP}}}StatusCode")]


def answered_without_a_form(browser, page):
    """idbroker's answer to a Scoping request: straight back to the SP (the
    browser never sees a login form), as a SAML Response: (ACS, SAMLResponse,
    RelayState)."""
    assert not login_form_shown(page), page.text[:2000]
    assert page.status_code == 200 and 'name="SAMLResponse"' in page.text, f"{page.status_code}: {page.text[:2000]}"
    return browser.answer(page)


# ---- Scoping is refused cleanly ----

SCOPINGS = {
    "proxy-count": {"proxyCount": 1},
    "proxy-count-0-and-requester": {"proxyCount": 0, "requesterId": "https://portal.test/metadata"},
    "idp-list": {"idpList": [{"entries": [{"providerId": "https://other-idp.test/metadata", "name": "Other"}]}]},
}


@pytest.mark.parametrize("scoping", SCOPINGS.values(), ids=SCOPINGS.keys())
@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_node_saml_scoping_is_refused_cleanly(idp, binding, scoping):
    asked = node(idp, "request", binding=binding, scoping=scoping, relayState="rs-node")
    assert "<samlp:Scoping" in asked["xml"], asked["xml"]
    schema_valid(asked["xml"])
    browser = Browser(idp)
    if binding == "redirect":
        page = browser.session.get(asked["url"])
    else:
        form = asked["form"]
        action = re.search(r'<form method="post" action="([^"]+)"', form).group(1)
        data = {name: html.unescape(value)
                for name, value in re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', form)}
        assert action == idp["sso"] and "SAMLRequest" in data, form
        page = browser.session.post(action, data=data)
    action, response, relay = answered_without_a_form(browser, page)
    assert action == NODE_ACS and relay == "rs-node"
    checked = node(idp, "response", SAMLResponse=response, RelayState=relay, sent=[asked["id"]])
    # node-saml's own verdict (after checking InResponseTo and the Response's signature, which it
    # wants): a SamlStatusError naming the top-level status, the second level in its status XML.
    assert not checked["ok"], checked
    assert checked["kind"] == "SamlStatusError", checked
    assert re.match(r"Error: SAML provider returned (Requester|Responder) error: ", checked["error"]), checked
    nested = json.dumps(checked["statusXml"])
    assert any(code in nested for code in REFUSALS), checked
    codes = status_codes(response)
    assert codes[0] in (REQUESTER, RESPONDER) and codes[1] in REFUSALS, codes


LASSO_SCOPINGS = {
    "requester-id": {"requester_id": "https://portal.test/metadata"},
    "idp-list": {"idp_list": ["https://other-idp.test/metadata"], "requester_id": "https://portal.test/metadata"},
}


@pytest.mark.parametrize("scoping", LASSO_SCOPINGS.values(), ids=LASSO_SCOPINGS.keys())
@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_lasso_scoping_is_refused_cleanly(idp, binding, scoping):
    # Not ProxyCount: Lasso 2.8.1 writes it as a <samlp:ProxyCount> child, which SAML's schema does not have.
    asked = lasso(idp, op="request", binding=binding, scoping=scoping)
    assert "<samlp:Scoping>" in asked["xml"], asked["xml"]
    schema_valid(asked["xml"])
    browser = Browser(idp)
    if binding == "redirect":
        page = browser.session.get(asked["url"])
    else:
        assert "SignatureValue" in asked["xml"], asked["xml"]  # Lasso signs in the XML (rsa-sha256)
        page = browser.session.post(asked["url"], data={"SAMLRequest": asked["body"]})
    action, response, _ = answered_without_a_form(browser, page)
    assert action == LASSO_ACS[LASSO][0]
    checked = lasso(idp, op="response", saml_response=response)
    # Lasso's own verdict: the Response is not a sign-in, its second-level status a refusal.
    assert not checked["ok"], checked
    assert checked["status"] in REFUSALS, checked
    assert status_codes(response)[0] in (REQUESTER, RESPONDER), status_codes(response)


# ---- ECDSA-signed AuthnRequests ----

def lasso_ec_request(idp, binding):
    asked = lasso(idp, ec=True, op="request", binding=binding, sign=False, name_id_format=PERSISTENT)
    assert "Signature" not in asked["xml"] and "Signature=" not in asked["url"], asked
    return asked


def send_ecdsa(browser, binding, asked, key="ec-p256-b", tamper=None):
    if binding == "post":
        signed = xmlsec1_signed(asked["xml"], key)
        if tamper:
            signed = tamper(signed)
        return browser.session.post(asked["url"], data={"SAMLRequest": base64.b64encode(signed).decode()})
    url = openssl_signed_url(asked["url"], key)
    return browser.session.get(tamper(url) if tamper else url)


@pytest.mark.parametrize("binding", ["post", "redirect"])
def test_an_ecdsa_signed_lasso_request_signs_alice_in(idp, binding):
    asked = lasso_ec_request(idp, binding)
    if binding == "post":
        signed = etree.fromstring(xmlsec1_signed(asked["xml"]))
        method = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
        assert method.get("Algorithm") == ECDSA_SHA256
        assert signed.index(signed.find(f"{{{DS}}}Signature")) == 1  # after the Issuer
    browser = Browser(idp)
    page = send_ecdsa(browser, binding, asked)
    assert login_form_shown(page), f"{page.status_code}: {page.text[:2000]}"
    action, response, _ = browser.answer(page, "alice")
    assert action == LASSO_EC_ACS
    checked = lasso(idp, ec=True, op="response", saml_response=response)
    assert checked["ok"], checked
    assert checked["in_response_to"] == asked["id"]
    assert (checked["name_id"], checked["name_id_format"]) == ("alice", PERSISTENT)


def flip_signature_value(signed):
    root = etree.fromstring(signed)
    value = root.find(f"{{{DS}}}Signature/{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[len(raw) // 2] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    return etree.tostring(root)


def change_signed_content(signed):
    # ForceAuthn is under the signature; the IdP must not see a different request than the SP signed.
    assert b'ForceAuthn="false"' in signed
    return signed.replace(b'ForceAuthn="false"', b'ForceAuthn="true"', 1)


def flip_query_signature(url):
    base, query = url.split("?", 1)
    fields = urllib.parse.parse_qsl(query)
    raw = bytearray(base64.b64decode(dict(fields)["Signature"]))
    raw[len(raw) // 2] ^= 0x01
    fields = [(k, base64.b64encode(bytes(raw)).decode() if k == "Signature" else v) for k, v in fields]
    return f"{base}?{urllib.parse.urlencode(fields)}"


TAMPERED = {
    "post-signature-value": ("post", "ec-p256-b", flip_signature_value),
    "post-signed-content": ("post", "ec-p256-b", change_signed_content),
    "post-other-ec-key": ("post", "ec-p256", None),
    "redirect-signature-value": ("redirect", "ec-p256-b", flip_query_signature),
    "redirect-other-ec-key": ("redirect", "ec-p256", None),
}


@pytest.mark.parametrize("binding,key,tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_a_tampered_ecdsa_request_is_refused_without_a_login_form(idp, binding, key, tamper):
    asked = lasso_ec_request(idp, binding)
    page = send_ecdsa(Browser(idp), binding, asked, key=key, tamper=tamper)
    assert not login_form_shown(page), page.text[:2000]
    assert 'name="SAMLResponse"' not in page.text, page.text[:2000]
    assert page.status_code == 400 and "signature is missing or invalid" in page.text, \
        f"{page.status_code}: {page.text[:2000]}"
