"""Encrypted assertions from the built-in IdP, decrypted by SAML libraries
this project did not write: pysaml2 (through xmlsec1) and python3-saml
(OneLogin, strict, through python-xmlsec). Each SP is registered at run time
with the operator API (SigV4-signed by botocore) by the metadata its library
generates: an encryption KeyDescriptor asks for encrypted assertions
(AES-256-GCM, or the best cipher the KeyDescriptor's EncryptionMethods list);
an `EncryptionCertificate` asks for them whatever the metadata says. A
scripted browser signs alice in at idbroker against the test OpenLDAP; the
SP library decrypts what it is handed."""
import hashlib
import json
import os
import re
import ssl

import pytest
import requests
import xmlsec
from botocore.credentials import Credentials
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as OneLogin
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from conftest import ACCOUNT, ROOT, Service
from test_idp_options import Browser, onelogin_ok
from test_sp_registry import call

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

SIGNING = ROOT / "tests" / "keys" / "peers"
ENCRYPTION = ROOT / "tests" / "keys" / "encryption"
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "md": "urn:oasis:names:tc:SAML:2.0:metadata", "xenc": "http://www.w3.org/2001/04/xmlenc#",
      "ds": "http://www.w3.org/2000/09/xmldsig#"}
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
RSA_OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"

# entity id -> (ACS URL, encryption key/cert under tests/keys/encryption)
PYSAML2_GCM = "https://pysaml2-enc-sp.test/metadata"
PYSAML2_CBC = "https://pysaml2-cbc-sp.test/metadata"
ONELOGIN_MD = "https://onelogin-enc-sp.test/metadata"
ONELOGIN_OP = "https://onelogin-op-sp.test/metadata"
SPS = {PYSAML2_GCM: ("https://pysaml2-enc-sp.test/acs", "sp-a"),
       PYSAML2_CBC: ("https://pysaml2-cbc-sp.test/acs", "sp-b"),
       ONELOGIN_MD: ("https://onelogin-enc-sp.test/acs", "sp-a"),
       ONELOGIN_OP: ("https://onelogin-op-sp.test/acs", "sp-b")}


def certificate_sha256(name):
    der = ssl.PEM_cert_to_DER_cert((ENCRYPTION / f"{name}.crt").read_text())
    return hashlib.sha256(der).hexdigest()


# ---- pysaml2: signs its requests with rsa2048-a, decrypts with encryption_keypairs ----

def pysaml2_config(entity, idp_metadata=None, key=None):
    acs, registered = SPS[entity]
    key = key or registered
    conf = {
        "entityid": entity,
        "key_file": str(SIGNING / "rsa2048-a.key"),
        "cert_file": str(SIGNING / "rsa2048-a.crt"),
        "encryption_keypairs": [{"key_file": str(ENCRYPTION / f"{key}.key"),
                                 "cert_file": str(ENCRYPTION / f"{key}.crt")}],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
            "authn_requests_signed": True,
            "want_response_signed": False,
            "want_assertions_signed": True,
            "allow_unsolicited": False,
        }},
        "allow_unknown_attributes": True,
    }
    if idp_metadata:
        conf["metadata"] = {"inline": [idp_metadata]}
    config = SPConfig()
    config.load(conf)
    return config


def pysaml2_metadata(entity, methods=()):
    """pysaml2's SP metadata; `methods`, which pysaml2 cannot write, are added
    to its encryption KeyDescriptor as md:EncryptionMethod."""
    document = create_metadata_string(None, config=pysaml2_config(entity), sign=False)
    root = etree.fromstring(document)
    descriptors = root.findall(".//md:KeyDescriptor[@use='encryption']", NS)
    assert len(descriptors) == 1, document.decode()
    for method in methods:
        etree.SubElement(descriptors[0], f"{{{NS['md']}}}EncryptionMethod", Algorithm=method)
    return etree.tostring(root).decode()


def pysaml2_sign_in(idp, entity, user="alice", key=None):
    client = Saml2Client(pysaml2_config(entity, idp["metadata"], key))
    req_id, info = client.prepare_for_authenticate(
        entityid=idp["entity_id"], relay_state="rs-1", binding=BINDING_HTTP_REDIRECT, sign=True,
        sigalg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    action, response, relay = Browser(idp).redirect(dict(info["headers"])["Location"], user)
    assert (action, relay) == (SPS[entity][0], "rs-1")
    parsed = client.parse_authn_request_response(response, BINDING_HTTP_POST, outstanding={req_id: "rs-1"})
    return parsed


# ---- python3-saml: one key pair signs its requests and decrypts ----

def onelogin_settings(idp, entity, in_metadata=True):
    acs, key = SPS[entity]
    return {
        "strict": True,
        "sp": {
            "entityId": entity,
            "assertionConsumerService": {"url": acs, "binding": OneLogin.BINDING_HTTP_POST},
            "NameIDFormat": OneLogin.NAMEID_UNSPECIFIED,
            "x509cert": (ENCRYPTION / f"{key}.crt").read_text(),
            "privateKey": (ENCRYPTION / f"{key}.key").read_text(),
        },
        "idp": {
            "entityId": idp["entity_id"],
            "singleSignOnService": {"url": idp["sso"], "binding": OneLogin.BINDING_HTTP_REDIRECT},
            "x509cert": idp["cert"],
        },
        "security": {
            "authnRequestsSigned": True,
            "wantMessagesSigned": True,
            "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": in_metadata,
            "signatureAlgorithm": OneLogin.RSA_SHA256,
            "digestAlgorithm": OneLogin.SHA256,
            "requestedAuthnContext": False,
            "wantXMLValidation": True,
        },
    }


def onelogin_metadata(entity, in_metadata=True):
    settings = onelogin_settings({"entity_id": "", "sso": "", "cert": ""}, entity, in_metadata)
    return OneLogin_Saml2_Settings(settings, sp_validation_only=True).get_sp_metadata().decode()


def onelogin_request_data(entity, post=None):
    acs = SPS[entity][0]
    host, path = acs.removeprefix("https://").split("/", 1)
    return {"https": "on", "http_host": host, "script_name": "/" + path, "get_data": {}, "post_data": post or {}}


def onelogin_sign_in(idp, entity, user="alice", key=None):
    settings = onelogin_settings(idp, entity)
    auth = OneLogin_Saml2_Auth(onelogin_request_data(entity), settings)
    url = auth.login(return_to="rs-2")
    request_id = auth.get_last_request_id()
    action, response, relay = Browser(idp).redirect(url, user)
    assert (action, relay) == (SPS[entity][0], "rs-2")
    if key:
        settings["sp"]["privateKey"] = (ENCRYPTION / f"{key}.key").read_text()
    auth = OneLogin_Saml2_Auth(onelogin_request_data(entity, {"SAMLResponse": response, "RelayState": relay}),
                               settings)
    auth.process_response(request_id=request_id)
    return auth


# ---- idbroker, the SPs registered with the operator API ----

@pytest.fixture(scope="module")
def idp():
    service = Service(config=f'[server]\noperator_accounts = ["{ACCOUNT}"]\n')
    out = service.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    admin = json.loads(out.stdout)
    credentials = Credentials(admin["AccessKeyId"], admin["SecretAccessKey"])
    registrations = [
        {"SAMLMetadataDocument": pysaml2_metadata(PYSAML2_GCM)},
        {"SAMLMetadataDocument": pysaml2_metadata(PYSAML2_CBC, [AES128_CBC])},
        {"SAMLMetadataDocument": onelogin_metadata(ONELOGIN_MD)},
        # Metadata without an encryption KeyDescriptor; the operator gives the certificate.
        {"SAMLMetadataDocument": onelogin_metadata(ONELOGIN_OP, in_metadata=False),
         "EncryptionCertificate": (ENCRYPTION / f"{SPS[ONELOGIN_OP][1]}.crt").read_text()},
    ]
    for params in registrations:
        created = call(service, credentials, "CreateServiceProvider", **params)
        assert created.status_code == 200, created.text
    metadata = requests.get(service.url + "/idp/metadata", timeout=10).text
    cert = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata).group(1)
    yield {"service": service, "credentials": credentials, "metadata": metadata,
           "entity_id": service.url + "/idp/metadata", "sso": service.url + "/idp/sso", "cert": cert,
           "responses": []}
    assert service.stop() == 0


def encryption_of(response):
    """What the raw Response carried: (content cipher, key transport, its
    digest), checking it has exactly one EncryptedAssertion and no Assertion."""
    root = etree.fromstring(response)
    assert root.tag == f"{{{NS['samlp']}}}Response"
    assert root.findall(".//saml:Assertion", NS) == [], response.decode()
    encrypted, = root.findall("saml:EncryptedAssertion", NS)
    data, = encrypted.findall("xenc:EncryptedData", NS)
    content = data.find("xenc:EncryptionMethod", NS).get("Algorithm")
    key, = encrypted.findall(".//xenc:EncryptedKey", NS)
    transport = key.find("xenc:EncryptionMethod", NS)
    digest = transport.find("ds:DigestMethod", NS)
    return content, transport.get("Algorithm"), None if digest is None else digest.get("Algorithm")


ROLE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"


def alices_attributes(attributes):
    """The attributes an SP read from the decrypted assertion are alice's."""
    assert attributes[SESSION_NAME] == ["alice"], attributes
    roles = {value.split(",")[0] for value in attributes[ROLE]}
    assert roles == {f"arn:aws:iam::{ACCOUNT}:role/Dev", f"arn:aws:iam::{ACCOUNT}:role/Admin"}, attributes


# ---- the tests ----

def test_the_registered_metadata_asks_as_each_library_wrote_it():
    # pysaml2 writes encryption_keypairs as an encryption KeyDescriptor; python3-saml
    # writes one when wantAssertionsEncrypted is on, none when it is off.
    for document, expected in [(pysaml2_metadata(PYSAML2_GCM), 1), (onelogin_metadata(ONELOGIN_MD), 1),
                               (onelogin_metadata(ONELOGIN_OP, in_metadata=False), 0)]:
        root = etree.fromstring(document.encode())
        assert len(root.findall(".//md:KeyDescriptor[@use='encryption']", NS)) == expected, document


def test_pysaml2_decrypts_an_aes256_gcm_assertion(idp):
    parsed = pysaml2_sign_in(idp, PYSAML2_GCM)
    assert parsed.name_id.text == "alice"
    assert parsed.assertion.subject.name_id.text == "alice"
    # pysaml2 read the decrypted, signed assertion: its attributes and audience.
    alices_attributes(parsed.ava)
    assert parsed.assertion.conditions.audience_restriction[0].audience[0].text == PYSAML2_GCM
    assert encryption_of(idp["responses"][-1]) == (AES256_GCM, RSA_OAEP, SHA1)


def test_pysaml2_decrypts_an_aes128_cbc_assertion_when_its_metadata_lists_only_that(idp):
    parsed = pysaml2_sign_in(idp, PYSAML2_CBC)
    assert parsed.name_id.text == "alice"
    alices_attributes(parsed.ava)
    assert encryption_of(idp["responses"][-1]) == (AES128_CBC, RSA_OAEP, SHA1)


def test_python3_saml_decrypts_an_assertion_its_metadata_asked_for(idp):
    auth = onelogin_ok(onelogin_sign_in(idp, ONELOGIN_MD))
    assert auth.get_nameid() == "alice"
    alices_attributes(auth.get_attributes())
    assert encryption_of(idp["responses"][-1]) == (AES256_GCM, RSA_OAEP, SHA1)


def test_python3_saml_decrypts_an_assertion_the_operator_asked_for(idp):
    auth = onelogin_ok(onelogin_sign_in(idp, ONELOGIN_OP))
    assert auth.get_nameid() == "alice"
    alices_attributes(auth.get_attributes())
    assert encryption_of(idp["responses"][-1]) == (AES256_GCM, RSA_OAEP, SHA1)


def test_without_the_sps_private_key_neither_library_reads_the_assertion(idp):
    # The control of the tests above: what they read came out of the ciphertext.
    parsed = pysaml2_sign_in(idp, PYSAML2_GCM, key="sp-b")
    assert (parsed.name_id, parsed.ava) == (None, {})
    with pytest.raises(xmlsec.Error, match="failed to decrypt"):
        onelogin_sign_in(idp, ONELOGIN_MD, key="sp-b")


def test_list_service_providers_shows_the_cipher_and_the_certificate(idp):
    listed = call(idp["service"], idp["credentials"], "ListServiceProviders")
    assert listed.status_code == 200, listed.text
    root = etree.fromstring(listed.content)
    members = {}
    for member in root.iter("{*}member"):
        entity = member.find("{*}EntityId")
        if entity is not None:
            members[entity.text] = {child.tag.split("}")[-1]: child.text for child in member}
    expected = {PYSAML2_GCM: AES256_GCM, PYSAML2_CBC: AES128_CBC, ONELOGIN_MD: AES256_GCM, ONELOGIN_OP: AES256_GCM}
    for entity, method in expected.items():
        shown = members[entity]
        assert (shown.get("EncryptionMethod"), shown.get("EncryptionCertificateSHA256")) == (
            method, certificate_sha256(SPS[entity][1])), (entity, listed.text)
