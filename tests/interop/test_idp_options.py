"""The built-in IdP as the IdP of SAML service providers this project did not
write: pysaml2 and python3-saml (OneLogin), each configured as its own
documentation says. The SPs make the AuthnRequests (Redirect and POST,
signed with RSA-SHA256/384/512 and ECDSA) with the options of SAML core
3.4.1; a scripted browser signs in at idbroker against the test OpenLDAP;
the SP library validates the Response it is handed (python3-saml against the
OASIS SAML 2.0 schemas it ships)."""
import base64
import hashlib
import hmac
import html
import json
import os
import re
import struct
import time
import urllib.parse
import zlib

import boto3
import xmlsec
from lxml import etree
import pytest
import requests
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as OneLogin
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_TRANSIENT, AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext, Scoping
from saml2.xmldsig import DIGEST_SHA256, SIG_ECDSA_SHA256, SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512

from conftest import ROOT, Service, create_roles
from peers import lasso_sp

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

KEYS = ROOT / "tests" / "keys" / "peers"
MFA = "https://refeds.org/profile/mfa"
PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
PYSAML2 = "https://pysaml2-sp.test/metadata"
PYSAML2_EC = "https://pysaml2-ec-sp.test/metadata"
LASSO = "https://lasso-sp.test/metadata"
ONELOGIN = "https://onelogin-sp.test/metadata"
ACS = {PYSAML2: ["https://pysaml2-sp.test/acs/post", "https://pysaml2-sp.test/acs/second"],
       PYSAML2_EC: ["https://pysaml2-ec-sp.test/acs"],
       ONELOGIN: ["https://onelogin-sp.test/acs"],
       LASSO: ["https://lasso-sp.test/acs-0", "https://lasso-sp.test/acs-1"]}
SLO = {PYSAML2: "https://pysaml2-sp.test/slo", PYSAML2_EC: "https://pysaml2-ec-sp.test/slo",
       ONELOGIN: "https://onelogin-sp.test/slo"}
USERS = {"alice": "Alpha-Pass-1", "bob": "Bravo-Pass-2", "carol": "Charlie-Pass-3", "dave": "Delta-Pass-4",
         "eve(x)*": "Eve-Pass-7"}


# ---- pysaml2 ----

def pysaml2_config(entity, key, idp_metadata=None, allow_unsolicited=False):
    conf = {
        "entityid": entity,
        "key_file": str(KEYS / f"{key}.key"),
        "cert_file": str(KEYS / f"{key}.crt"),
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(url, BINDING_HTTP_POST) for url in ACS[entity]],
                          "single_logout_service": [(SLO[entity], BINDING_HTTP_REDIRECT)]},
            "authn_requests_signed": True,
            "want_response_signed": True,
            "allow_unsolicited": allow_unsolicited,
        }},
        "allow_unknown_attributes": True,
    }
    if idp_metadata:
        conf["metadata"] = {"inline": [idp_metadata]}
    config = SPConfig()
    config.load(conf)
    return config


def pysaml2_metadata(entity, key):
    return create_metadata_string(None, config=pysaml2_config(entity, key), sign=False).decode()


# ---- python3-saml ----

def onelogin_settings(idp, signature=OneLogin.RSA_SHA512, name_id_format=None, authn_context=False,
                      comparison="exact"):
    cert = lambda name: (KEYS / f"rsa2048-b.{name}").read_text()
    return {
        "strict": True,
        "sp": {
            "entityId": ONELOGIN,
            "assertionConsumerService": {"url": ACS[ONELOGIN][0], "binding": OneLogin.BINDING_HTTP_POST},
            "singleLogoutService": {"url": SLO[ONELOGIN], "binding": OneLogin.BINDING_HTTP_REDIRECT},
            "NameIDFormat": name_id_format or OneLogin.NAMEID_UNSPECIFIED,
            "x509cert": cert("crt"),
            "privateKey": cert("key"),
        },
        "idp": {
            "entityId": idp["entity_id"],
            "singleSignOnService": {"url": idp["sso"], "binding": OneLogin.BINDING_HTTP_REDIRECT},
            "singleLogoutService": {"url": idp["sso"].replace("/idp/sso", "/idp/slo"),
                                    "binding": OneLogin.BINDING_HTTP_REDIRECT},
            "x509cert": idp["cert"],
        },
        "security": {
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantMessagesSigned": True,
            "signatureAlgorithm": signature,
            "digestAlgorithm": OneLogin.SHA256,
            "requestedAuthnContext": authn_context,
            "requestedAuthnContextComparison": comparison,
            "wantXMLValidation": True,
        },
    }


def onelogin_request_data(post=None):
    return {"https": "on", "http_host": "onelogin-sp.test", "script_name": "/acs", "get_data": {},
            "post_data": post or {}}


# ---- Lasso (the system Python's python3-lasso, through peers/lasso_sp.py) ----

def lasso_metadata():
    cert = "".join(l for l in (KEYS / "rsa3072.crt").read_text().splitlines() if "CERTIFICATE" not in l)
    acs = "".join(f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                  f'Location="{url}" index="{i}"/>' for i, url in enumerate(ACS[LASSO]))
    return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{LASSO}">'
            '<md:SPSSODescriptor AuthnRequestsSigned="true" '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
            '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            f'{acs}</md:SPSSODescriptor></md:EntityDescriptor>')


def lasso(idp, **request):
    return lasso_sp.call({"sp_metadata": lasso_metadata(), "idp_metadata": idp["metadata"],
                          "idp_entity_id": idp["entity_id"], "key_pem": (KEYS / "rsa3072.key").read_text(),
                          "cert_pem": (KEYS / "rsa3072.crt").read_text(), **request})


def lasso_sign_in(idp, user="alice", signature_method="RSA_SHA256", **options):
    asked = lasso(idp, op="request", signature_method=signature_method, **options)
    action, response, _ = Browser(idp).redirect(asked["url"], user)
    checked = lasso(idp, op="response", saml_response=response)
    if checked["ok"]:
        assert checked["in_response_to"] == asked["id"]
    return action, checked


# ---- idbroker with the SPs registered ----

@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sps")
    files = []
    for entity, key in [(PYSAML2, "rsa2048-a"), (PYSAML2_EC, "ec-p256")]:
        path = folder / f"{len(files)}.xml"
        path.write_text(pysaml2_metadata(entity, key))
        files.append(path)
    onelogin = OneLogin_Saml2_Settings(onelogin_settings({"entity_id": "", "sso": "", "cert": ""}),
                                       sp_validation_only=True)
    path = folder / "onelogin.xml"
    path.write_text(onelogin.get_sp_metadata().decode())
    files.append(path)
    path = folder / "lasso.xml"
    path.write_text(lasso_metadata())
    files.append(path)
    providers = ", ".join(f'{{ metadata_file = "{p}" }}' for p in files)
    service = Service(config=f"[idp]\nservice_providers = [{providers}]\n")
    out = service.init("111122223333")
    assert out.returncode == 0, out.stderr
    admin = json.loads(out.stdout)
    iam = boto3.client("iam", endpoint_url=service.url, region_name="us-east-1",
                       aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
    create_roles(iam, ("Dev", "Admin", "Paren"))
    metadata = requests.get(service.url + "/idp/metadata", timeout=10).text
    cert = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata).group(1)
    yield {"service": service, "metadata": metadata, "entity_id": service.url + "/idp/metadata",
           "sso": service.url + "/idp/sso", "cert": cert, "responses": []}
    assert service.stop() == 0


# ---- the browser ----

def field(page, name):
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    return html.unescape(m.group(1)) if m else None


def totp(secret, at):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


class Browser:
    """A cookie-keeping browser that fills idbroker's forms; returns the
    form idbroker's page posts to the SP: (ACS URL, SAMLResponse, RelayState)."""

    def __init__(self, idp):
        self.idp = idp
        self.session = requests.Session()
        self.session.headers["Origin"] = idp["service"].url

    def answer(self, page, user=None):
        if 'name="SAMLResponse"' in page.text:
            action = html.unescape(re.search(r'<form[^>]* action="([^"]+)"', page.text).group(1))
            response = field(page.text, "SAMLResponse")
            self.idp["responses"].append(base64.b64decode(response))
            return action, response, field(page.text, "RelayState")
        assert page.status_code == 200 and user, f"{page.status_code}: {page.text[:2000]}"
        posted = self.session.post(self.idp["service"].url + "/idp/login", data={
            "csrf": field(page.text, "csrf"), "request": field(page.text, "request"),
            "username": user, "password": USERS[user]})
        if 'name="pending"' in posted.text:
            secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', posted.text)
            self.secret = secret.group(1) if secret else self.secret
            posted = self.session.post(self.idp["service"].url + "/idp/login", data={
                "csrf": field(posted.text, "csrf"), "pending": field(posted.text, "pending"),
                "code": totp(self.secret, time.time())})
        return self.answer(posted)

    def redirect(self, url, user=None):
        return self.answer(self.session.get(url), user)

    def post(self, form_html, user=None):
        url = html.unescape(re.search(r'action="([^"]+)"', form_html).group(1))
        data = {"SAMLRequest": field(form_html, "SAMLRequest")}
        if field(form_html, "RelayState"):
            data["RelayState"] = field(form_html, "RelayState")
        return self.answer(self.session.post(url, data=data), user)


def pysaml2_sign_in(idp, entity=PYSAML2, key="rsa2048-a", user="alice", binding=BINDING_HTTP_REDIRECT,
                    sigalg=SIG_RSA_SHA256, browser=None, **options):
    client = Saml2Client(pysaml2_config(entity, key, idp["metadata"]))
    req_id, info = client.prepare_for_authenticate(
        entityid=idp["entity_id"], relay_state="rs-1", binding=binding, sign=True, sigalg=sigalg,
        digest_alg=DIGEST_SHA256, **options)
    browser = browser or Browser(idp)
    if binding == BINDING_HTTP_REDIRECT:
        action, response, relay = browser.redirect(dict(info["headers"])["Location"], user)
    else:
        action, response, relay = browser.post(info["data"], user)
    assert relay == "rs-1"
    parsed = client.parse_authn_request_response(response, BINDING_HTTP_POST, outstanding={req_id: "rs-1"})
    pysaml2_sign_in.client = client
    return action, parsed


def onelogin_sign_in(idp, user="bob", is_passive=False, force_authn=False, browser=None, **settings):
    settings = onelogin_settings(idp, **settings)
    auth = OneLogin_Saml2_Auth(onelogin_request_data(), settings)
    url = auth.login(return_to="rs-2", is_passive=is_passive, force_authn=force_authn, set_nameid_policy=True)
    action, response, relay = (browser or Browser(idp)).redirect(url, user)
    assert relay == "rs-2"
    auth = OneLogin_Saml2_Auth(onelogin_request_data({"SAMLResponse": response, "RelayState": relay}), settings)
    auth.process_response(request_id=auth.get_last_request_id() or None)
    return action, auth


def refused_with(idp, auth, status):
    """python3-saml refused the last Response, whose second-level status is `status`."""
    assert not auth.is_authenticated()
    assert "was not Success" in (auth.get_last_error_reason() or ""), auth.get_last_error_reason()
    codes = re.findall(r'StatusCode Value="([^"]+)"', idp["responses"][-1].decode())
    assert codes[1:] == [f"urn:oasis:names:tc:SAML:2.0:status:{status}"], codes


def onelogin_ok(auth):
    assert not auth.get_errors(), auth.get_last_error_reason()
    assert auth.is_authenticated()
    return auth


# ---- the options ----

@pytest.mark.parametrize("sigalg", [SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512])
@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_pysaml2_signs_its_requests_with_rsa_sha2(idp, binding, sigalg):
    action, parsed = pysaml2_sign_in(idp, binding=binding, sigalg=sigalg)
    assert action == ACS[PYSAML2][0]
    assert parsed.name_id.text == "alice"


def ecdsa_signed(request_xml):
    """pysaml2's AuthnRequest signed with ECDSA-SHA256 by python-xmlsec
    (libxmlsec1, as pysaml2's own xmlsec1 signs; pysaml2's allow-list has no ECDSA)."""
    root = etree.fromstring(request_xml)
    signature = xmlsec.template.create(root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.ECDSA_SHA256, ns="ds")
    root.insert(1, signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri="#" + root.get("ID"))
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_file(str(KEYS / "ec-p256.key"), xmlsec.constants.KeyDataFormatPem)
    context.key.load_cert_from_file(str(KEYS / "ec-p256.crt"), xmlsec.constants.KeyDataFormatPem)
    context.sign(signature)
    return etree.tostring(root)


@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_an_ecdsa_signed_request_is_accepted(idp, binding):
    client = Saml2Client(pysaml2_config(PYSAML2_EC, "ec-p256", idp["metadata"]))
    req_id, request = client.create_authn_request(idp["sso"], binding=BINDING_HTTP_POST, sign=False)
    browser = Browser(idp)
    if binding == BINDING_HTTP_POST:
        encoded = base64.b64encode(ecdsa_signed(str(request).encode())).decode()
        page = browser.session.post(idp["sso"], data={"SAMLRequest": encoded, "RelayState": "rs-1"})
    else:
        deflated = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = deflated.compress(str(request).encode()) + deflated.flush()
        query = urllib.parse.urlencode({"SAMLRequest": base64.b64encode(raw).decode(), "RelayState": "rs-1",
                                        "SigAlg": SIG_ECDSA_SHA256})
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_file(str(KEYS / "ec-p256.key"), xmlsec.constants.KeyDataFormatPem)
        signature = context.sign_binary(query.encode(), xmlsec.Transform.ECDSA_SHA256)
        page = browser.session.get(f"{idp['sso']}?{query}&" + urllib.parse.urlencode(
            {"Signature": base64.b64encode(signature).decode()}))
    action, response, _ = browser.answer(page, "carol")
    parsed = client.parse_authn_request_response(response, BINDING_HTTP_POST, outstanding={req_id: "rs-1"})
    assert action == ACS[PYSAML2_EC][0] and parsed.name_id.text == "carol"


@pytest.mark.parametrize("signature", [OneLogin.RSA_SHA256, OneLogin.RSA_SHA384, OneLogin.RSA_SHA512])
def test_python3_saml_signs_its_redirect_request_with_rsa_sha2(idp, signature):
    action, auth = onelogin_sign_in(idp, signature=signature)
    assert action == ACS[ONELOGIN][0]
    assert onelogin_ok(auth).get_nameid() == "bob"


def test_a_request_signed_with_sha1_or_by_another_key_is_refused(idp):
    client = Saml2Client(pysaml2_config(PYSAML2, "rsa2048-a", idp["metadata"]))
    _, info = client.prepare_for_authenticate(entityid=idp["entity_id"], binding=BINDING_HTTP_REDIRECT,
                                              sign=True, sigalg="http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    page = requests.get(dict(info["headers"])["Location"], timeout=10)
    assert page.status_code == 400 and "signature is missing or invalid" in page.text
    other = Saml2Client(pysaml2_config(PYSAML2, "rsa2048-b", idp["metadata"]))
    _, info = other.prepare_for_authenticate(entityid=idp["entity_id"], binding=BINDING_HTTP_REDIRECT,
                                             sign=True, sigalg=SIG_RSA_SHA256)
    assert requests.get(dict(info["headers"])["Location"], timeout=10).status_code == 400


def test_the_acs_is_chosen_by_index_or_url_among_the_registered_ones(idp):
    # pysaml2's metadata numbers its ACS from 1.
    action, _ = pysaml2_sign_in(idp, assertion_consumer_service_index="2")
    assert action == ACS[PYSAML2][1]
    action, _ = pysaml2_sign_in(idp, assertion_consumer_service_index="1")
    assert action == ACS[PYSAML2][0]
    action, _ = pysaml2_sign_in(idp, assertion_consumer_service_url=ACS[PYSAML2][1])
    assert action == ACS[PYSAML2][1]
    # python3-saml names its ACS by URL.
    action, _ = onelogin_sign_in(idp)
    assert action == ACS[ONELOGIN][0]
    client = Saml2Client(pysaml2_config(PYSAML2, "rsa2048-a", idp["metadata"]))
    for option in [{"assertion_consumer_service_url": "https://evil.test/acs"},
                   {"assertion_consumer_service_index": "7"}]:
        _, info = client.prepare_for_authenticate(entityid=idp["entity_id"], binding=BINDING_HTTP_REDIRECT,
                                                  sign=True, sigalg=SIG_RSA_SHA256, **option)
        page = requests.get(dict(info["headers"])["Location"], timeout=10)
        assert page.status_code == 400 and "not registered" in page.text, option


def test_a_passive_request_is_answered_no_passive_without_a_form(idp):
    with pytest.raises(StatusError, match="NoPassive|not signed in"):
        pysaml2_sign_in(idp, is_passive="true")
    _, auth = onelogin_sign_in(idp, is_passive=True)
    refused_with(idp, auth, "NoPassive")


def test_the_idp_session_signs_a_second_sp_in_without_the_password(idp):
    browser = Browser(idp)
    _, parsed = pysaml2_sign_in(idp, user="alice", browser=browser)
    assert parsed.name_id.text == "alice"
    # user=None: the browser is never shown a login form.
    _, auth = onelogin_sign_in(idp, user=None, browser=browser)
    assert onelogin_ok(auth).get_nameid() == "alice"
    _, auth = onelogin_sign_in(idp, user=None, browser=browser, is_passive=True)
    assert onelogin_ok(auth).get_nameid() == "alice"
    _, parsed = pysaml2_sign_in(idp, user=None, browser=browser, is_passive="true")
    assert parsed.name_id.text == "alice"


def test_force_authn_asks_for_the_password_even_with_a_session(idp):
    browser = Browser(idp)
    pysaml2_sign_in(idp, user="alice", browser=browser)
    with pytest.raises(AssertionError, match="200: "):
        pysaml2_sign_in(idp, user=None, browser=browser, force_authn="true")
    _, parsed = pysaml2_sign_in(idp, user="alice", browser=browser, force_authn="true")
    assert parsed.name_id.text == "alice"
    _, auth = onelogin_sign_in(idp, user=None, browser=browser)
    onelogin_ok(auth)
    with pytest.raises(AssertionError, match="200: "):
        onelogin_sign_in(idp, user=None, browser=browser, force_authn=True)
    _, auth = onelogin_sign_in(idp, user="bob", browser=browser, force_authn=True)
    assert onelogin_ok(auth).get_nameid() == "bob"


def test_name_id_formats_are_honoured_or_refused(idp):
    _, parsed = pysaml2_sign_in(idp, nameid_format=NAMEID_FORMAT_EMAILADDRESS)
    assert (parsed.name_id.text, parsed.name_id.format) == ("alice@example.org", NAMEID_FORMAT_EMAILADDRESS)
    _, first = pysaml2_sign_in(idp, nameid_format=NAMEID_FORMAT_TRANSIENT)
    _, second = pysaml2_sign_in(idp, nameid_format=NAMEID_FORMAT_TRANSIENT)
    assert first.name_id.format == NAMEID_FORMAT_TRANSIENT and first.name_id.text != second.name_id.text
    _, auth = onelogin_sign_in(idp, name_id_format=OneLogin.NAMEID_EMAIL_ADDRESS)
    assert (onelogin_ok(auth).get_nameid(), auth.get_nameid_format()) == ("bob@example.org",
                                                                          OneLogin.NAMEID_EMAIL_ADDRESS)
    _, auth = onelogin_sign_in(idp, name_id_format=OneLogin.NAMEID_TRANSIENT)
    assert onelogin_ok(auth).get_nameid_format() == OneLogin.NAMEID_TRANSIENT
    # A user with no mail cannot have an emailAddress NameID; a format the IdP does not issue is refused.
    with pytest.raises(StatusError, match="InvalidNameIDPolicy|NameID format"):
        pysaml2_sign_in(idp, user="eve(x)*", nameid_format=NAMEID_FORMAT_EMAILADDRESS)
    _, auth = onelogin_sign_in(idp, name_id_format=OneLogin.NAMEID_KERBEROS)
    refused_with(idp, auth, "InvalidNameIDPolicy")


def authn_context(comparison, *classes):
    return RequestedAuthnContext(comparison=comparison,
                                 authn_context_class_ref=[AuthnContextClassRef(text=c) for c in classes])


def test_authentication_contexts_ask_for_a_second_factor_or_are_refused(idp):
    # A multi-factor class: the sign-in asks for a TOTP code (enrolling first) and says so.
    _, parsed = pysaml2_sign_in(idp, user="dave", requested_authn_context=authn_context("exact", MFA))
    assert [a[0] for a in parsed.authn_info()] == [MFA]
    _, parsed = pysaml2_sign_in(idp, user="bob", requested_authn_context=authn_context("minimum", PPT))
    assert [a[0] for a in parsed.authn_info()] == [PPT]
    _, auth = onelogin_sign_in(idp, user="carol", authn_context=[MFA])
    onelogin_ok(auth)
    assert MFA in idp["responses"][-1].decode()
    # Classes this IdP cannot meet.
    with pytest.raises(StatusError, match="NoAuthnContext|authentication context"):
        pysaml2_sign_in(idp, requested_authn_context=authn_context(
            "exact", "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"))
    _, auth = onelogin_sign_in(idp, authn_context=[MFA], comparison="better")
    refused_with(idp, auth, "NoAuthnContext")


def test_pysaml2_and_python3_saml_take_an_idp_initiated_sign_in(idp):
    """IdP-initiated (AD FS's loginToRp): /idp/login?sp=ENTITY, the password,
    and each SP library takes the unsolicited Response as its own."""
    login = lambda entity: f"{idp['service'].url}/idp/login?sp={urllib.parse.quote(entity, safe='')}"
    action, response, relay = Browser(idp).redirect(login(PYSAML2), "alice")
    assert action == ACS[PYSAML2][0] and not relay
    client = Saml2Client(pysaml2_config(PYSAML2, "rsa2048-a", idp["metadata"], allow_unsolicited=True))
    parsed = client.parse_authn_request_response(response, BINDING_HTTP_POST)
    assert parsed.name_id.text == "alice" and parsed.in_response_to is None
    assert "https://aws.amazon.com/SAML/Attributes/Role" in parsed.ava
    settings = onelogin_settings(idp)
    action, response, relay = Browser(idp).redirect(login(ONELOGIN), "bob")
    assert action == ACS[ONELOGIN][0]
    auth = OneLogin_Saml2_Auth(onelogin_request_data({"SAMLResponse": response}), settings)
    auth.process_response()
    assert onelogin_ok(auth).get_nameid() == "bob"


def test_scoping_is_refused_cleanly(idp):
    with pytest.raises(StatusError, match="RequestUnsupported|Scoping"):
        pysaml2_sign_in(idp, scoping=Scoping(proxy_count="1"))


def test_metadata_and_every_response_follow_the_oasis_schemas(idp):
    checked = OneLogin_Saml2_XML.validate_xml(idp["metadata"], "saml-schema-metadata-2.0.xsd")
    assert not isinstance(checked, str), checked
    assert idp["responses"], "the other tests ran first and kept their responses"
    for response in idp["responses"]:
        checked = OneLogin_Saml2_XML.validate_xml(response, "saml-schema-protocol-2.0.xsd")
        assert not isinstance(checked, str), checked


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def pysaml2_answers(pysaml2, location, name_id):
    """pysaml2 checks the IdP's LogoutRequest at `location` (its signature
    included) and answers with a signed LogoutResponse: where it sends the browser."""
    asked = query_of(location)
    answer = pysaml2.handle_logout_request(asked["SAMLRequest"], name_id, BINDING_HTTP_REDIRECT,
                                           sign=True, sign_alg=SIG_RSA_SHA256, sigalg=asked["SigAlg"],
                                           signature=asked["Signature"], relay_state=asked.get("RelayState"))
    return dict(answer["headers"])["Location"]


def test_single_logout_from_one_sp_signs_the_browser_out_of_the_other(idp):
    browser = Browser(idp)
    _, signed_in = pysaml2_sign_in(idp, user="alice", browser=browser)
    pysaml2 = pysaml2_sign_in.client
    settings = onelogin_settings(idp)
    _, onelogin = onelogin_sign_in(idp, user=None, browser=browser)
    onelogin_ok(onelogin)

    # python3-saml asks the IdP to sign alice out (a signed Redirect LogoutRequest).
    auth = OneLogin_Saml2_Auth(onelogin_request_data(), settings)
    url = auth.logout(name_id="alice", session_index=onelogin.get_session_index(),
                      name_id_format=onelogin.get_nameid_format(), return_to="rs-3")
    request_id = auth.get_last_request_id()
    to_other = browser.session.get(url, allow_redirects=False)
    assert to_other.status_code == 303, to_other.text
    location = to_other.headers["Location"]
    # The IdP sends the browser on to pysaml2 with its own signed LogoutRequest.
    assert location.startswith(SLO[PYSAML2] + "?SAMLRequest="), location
    back = pysaml2_answers(pysaml2, location, signed_in.name_id)
    # pysaml2 confirms; the IdP answers python3-saml, which accepts the signed LogoutResponse.
    to_initiator = browser.session.get(back, allow_redirects=False)
    assert to_initiator.status_code == 303, to_initiator.text
    final = to_initiator.headers["Location"]
    assert final.startswith(SLO[ONELOGIN] + "?SAMLResponse="), final
    data = onelogin_request_data()
    data["script_name"] = "/slo"
    data["get_data"] = query_of(final)
    done = OneLogin_Saml2_Auth(data, settings)
    done.process_slo(request_id=request_id, keep_local_session=True)
    assert not done.get_errors(), done.get_last_error_reason()
    assert query_of(final).get("RelayState") == "rs-3"
    # The IdP session is gone: the next sign-in asks for the password.
    with pytest.raises(AssertionError, match="200: "):
        pysaml2_sign_in(idp, user=None, browser=browser)


def test_a_logout_request_for_someone_else_ends_nothing(idp):
    browser = Browser(idp)
    pysaml2_sign_in(idp, user="alice", browser=browser)
    settings = onelogin_settings(idp)
    auth = OneLogin_Saml2_Auth(onelogin_request_data(), settings)
    url = auth.logout(name_id="mallory", return_to="rs-4")
    answered = browser.session.get(url, allow_redirects=False)
    assert answered.headers["Location"].startswith(SLO[ONELOGIN] + "?SAMLResponse="), answered.text
    response = OneLogin_Saml2_XML.to_string(OneLogin_Saml2_XML.to_etree(
        zlib.decompress(base64.b64decode(query_of(answered.headers["Location"])["SAMLResponse"]), -15)))
    assert b"PartialLogout" in response
    # alice is still signed in at the IdP.
    _, parsed = pysaml2_sign_in(idp, user=None, browser=browser)
    assert parsed.name_id.text == "alice"


def test_single_logout_started_by_pysaml2_over_post_reaches_python3_saml(idp):
    browser = Browser(idp)
    _, signed_in = pysaml2_sign_in(idp, user="carol", browser=browser)
    pysaml2 = pysaml2_sign_in.client
    settings = onelogin_settings(idp)
    _, onelogin = onelogin_sign_in(idp, user=None, browser=browser)
    onelogin_ok(onelogin)

    # pysaml2 sends its LogoutRequest by the POST binding, signed in the XML.
    pysaml2.config.preferred_binding["single_logout_service"] = [BINDING_HTTP_POST]
    sent = pysaml2.global_logout(signed_in.name_id, sign=True, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    (binding, http_args), = sent.values()
    assert binding == BINDING_HTTP_POST
    form = http_args["data"]
    data = {"SAMLRequest": field(form, "SAMLRequest")}
    if field(form, "RelayState"):
        data["RelayState"] = field(form, "RelayState")
    to_other = browser.session.post(idp["sso"].replace("/idp/sso", "/idp/slo"), data=data, allow_redirects=False)
    assert to_other.status_code == 303, to_other.text
    location = to_other.headers["Location"]
    assert location.startswith(SLO[ONELOGIN] + "?SAMLRequest="), location
    # python3-saml checks the IdP's signed LogoutRequest and answers it.
    request_data = onelogin_request_data()
    request_data["script_name"] = "/slo"
    request_data["get_data"] = query_of(location)
    auth = OneLogin_Saml2_Auth(request_data, settings)
    answer = auth.process_slo(keep_local_session=True)
    assert not auth.get_errors(), auth.get_last_error_reason()
    # The IdP then answers pysaml2, which accepts the signed LogoutResponse.
    final = browser.session.get(answer, allow_redirects=False)
    assert final.status_code == 303, final.text
    location = final.headers["Location"]
    assert location.startswith(SLO[PYSAML2] + "?SAMLResponse="), location
    answered = query_of(location)
    done = pysaml2.parse_logout_request_response(answered["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert done.status_ok()
    with pytest.raises(AssertionError, match="200: "):
        pysaml2_sign_in(idp, user=None, browser=browser)


def test_the_consoles_sign_out_signs_the_browser_out_of_the_sps_too(idp):
    browser = Browser(idp)
    _, signed_in = pysaml2_sign_in(idp, user="alice", browser=browser)
    pysaml2 = pysaml2_sign_in.client
    base = idp["service"].url
    # The console, from the same IdP session (alice has two roles: the picker).
    action, response, relay = browser.answer(browser.session.get(base + "/saml/login"))
    picker = browser.session.post(action, data={"SAMLResponse": response, **({"RelayState": relay} if relay else {})})
    console = browser.session.post(base + "/console/roles", data={
        "csrf": field(picker.text, "csrf"), "role": f"arn:aws:iam::111122223333:role/Dev"})
    assert 'id="access-key-id"' in console.text, console.text[:2000]
    out = browser.session.post(base + "/console/logout", data={"csrf": field(console.text, "csrf")},
                               allow_redirects=False)
    assert out.status_code == 303, out.text
    location = out.headers["Location"]
    assert location.startswith(SLO[PYSAML2] + "?SAMLRequest="), location
    done = browser.session.get(pysaml2_answers(pysaml2, location, signed_in.name_id), allow_redirects=False)
    assert done.status_code == 200 and "Signed out" in done.text, done.text[:2000]
    assert "did not confirm" not in done.text
    with pytest.raises(AssertionError, match="200: "):
        pysaml2_sign_in(idp, user=None, browser=browser)


def test_an_unsigned_logout_request_from_an_sp_that_signs_is_refused(idp):
    browser = Browser(idp)
    pysaml2_sign_in(idp, user="alice", browser=browser)
    settings = onelogin_settings(idp)
    settings["security"]["logoutRequestSigned"] = False
    url = OneLogin_Saml2_Auth(onelogin_request_data(), settings).logout(name_id="alice")
    refused = browser.session.get(url, allow_redirects=False)
    assert refused.status_code == 400 and "signature" in refused.text
    # Nothing ended: alice is still signed in at the IdP.
    _, parsed = pysaml2_sign_in(idp, user=None, browser=browser)
    assert parsed.name_id.text == "alice"


@pytest.mark.parametrize("method", ["RSA_SHA256", "RSA_SHA384", "RSA_SHA512"])
def test_lasso_signs_its_requests_with_rsa_sha2(idp, method):
    action, checked = lasso_sign_in(idp, signature_method=method)
    assert checked["ok"], checked
    assert action == ACS[LASSO][0] and checked["name_id"] == "alice"


def test_lasso_names_its_acs_by_index_and_asks_for_name_id_formats(idp):
    action, checked = lasso_sign_in(idp, acs_index=1)
    assert checked["ok"] and action == ACS[LASSO][1], checked
    _, checked = lasso_sign_in(idp, name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    assert (checked["name_id"], checked["name_id_format"]) == (
        "alice@example.org", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    _, checked = lasso_sign_in(idp, name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    assert checked["name_id_format"] == "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    _, checked = lasso_sign_in(idp, force_authn=True)
    assert checked["ok"], checked


def test_lasso_is_answered_no_passive_without_a_session(idp):
    _, checked = lasso_sign_in(idp, user=None, is_passive=True)
    assert not checked["ok"] and checked["status"] == "urn:oasis:names:tc:SAML:2.0:status:NoPassive", checked
