"""The built-in IdP signs users in to service providers this project did not
write, each run as its operators run it, in a real headless Chromium:

- Apache mod_auth_mellon (Debian), signed AuthnRequests with rsa-sha256 and,
  for a second SP of the same Apache, rsa-sha512; registered with mellon's
  own metadata (it makes it from its key and certificate);
- the Shibboleth SP (mod_shib + shibd, Debian), its metadata written by
  shib-metagen (plus AuthnRequestsSigned="true", which a signing SP must say);
- node-saml (npm, pinned in peers/node), Redirect and POST (not deflated)
  bindings; registered by the URL of its metadata, which idbroker fetches
  over https from the SP itself.

Each SP gets an SP-initiated sign-in (its protected page, idbroker's login
form, back to a page that shows what the SP took from the Response) and an
IdP-initiated one (/idp/login?sp=ENTITY-ID). The AuthnRequests the SPs sent
and the Responses idbroker sent are read off the browser's network log and
checked against the OASIS SAML 2.0 schemas that python3-saml ships, as is
idbroker's IdP metadata.

The SPs and the test CA of their https ports live in temporary folders; all
of their processes stop at the end of the module."""
import base64
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import zlib
from pathlib import Path

import pytest
import requests
import xmlschema
import xmlsec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ACCOUNT, ROOT, Service, free_port, shot, until
from https_server import tls_certificate
from peers.apache_sp import Mellon, Shibboleth

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

KEYS = ROOT / "tests" / "keys" / "peers"
NODE_DIR = Path(__file__).resolve().parent / "peers" / "node"
SCHEMAS = Path(importlib.util.find_spec("onelogin").submodule_search_locations[0]) / "saml2" / "schemas"
USER, PASSWORD = "alice", "Alpha-Pass-1"
# alice is in AWS-111122223333-Admin and AWS-111122223333-Dev (scripts/openldap.sh).
ROLES = {f"arn:aws:iam::{ACCOUNT}:role/{role},arn:aws:iam::{ACCOUNT}:saml-provider/idbroker"
         for role in ("Admin", "Dev")}
PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#", "xenc": "http://www.w3.org/2001/04/xmlenc#"}


@functools.cache
def schema(name):
    return xmlschema.XMLSchema(str(SCHEMAS / name))


def schema_valid(xml, name="saml-schema-protocol-2.0.xsd"):
    """`xml` (bytes or text) against one of the OASIS schemas python3-saml ships."""
    errors = list(schema(name).iter_errors(xml if isinstance(xml, str) else xml.decode()))
    assert not errors, f"{name}: {errors[0]}\n{xml[:3000]}"


# ---- the node-saml SP (peers/node/saml_sp.js) ----

class NodeSP:
    def __init__(self, port, tls_cert, tls_key, idp):
        self.folder = Path(tempfile.mkdtemp(prefix="idbroker-node-sp-"))
        self.url = f"https://127.0.0.1:{port}"
        self.entity_id = self.url + "/metadata"
        self.log = self.folder / "sp.log"
        self.log.touch()
        if not (NODE_DIR / "node_modules/@node-saml/node-saml").is_dir():
            raise RuntimeError(f"node-saml is not installed: run `npm ci` in {NODE_DIR}")
        config = {"port": port, "tlsCert": str(tls_cert), "tlsKey": str(tls_key), "entityId": self.entity_id,
                  "baseUrl": self.url, "idpSso": idp["sso"], "idpCert": idp["cert"],
                  "spKey": str(KEYS / "rsa3072.key"), "spCert": str(KEYS / "rsa3072.crt"), "log": str(self.log)}
        self.out = open(self.folder / "stdout.log", "w")
        self.proc = subprocess.Popen(["node", str(NODE_DIR / "saml_sp.js"), json.dumps(config)],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        started = until(lambda: self.proc.poll() is not None or "listening" in (self.folder / "stdout.log").read_text())
        if not started or self.proc.poll() is not None:
            output = (self.folder / "stdout.log").read_text()
            self.stop()
            raise RuntimeError("node-saml SP did not start: " + output)

    def entries(self, kind):
        return [e for e in map(json.loads, self.log.read_text().splitlines()) if e["kind"] == kind]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.out.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- idbroker with the three SPs registered ----

def call(service, credentials, action, **params):
    """An IAM-style Query call of the operator API, signed with SigV4 by botocore."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2010-05-08", **params})
    request = AWSRequest(method="POST", url=service.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(credentials, "iam", "us-east-1").add_auth(request)
    return requests.post(service.url + "/", data=body, headers=dict(request.headers), timeout=30)


def https_get(url, ca):
    session = requests.Session()
    session.trust_env = False
    return session.get(url, verify=str(ca), timeout=10)


@pytest.fixture(scope="module")
def world():
    with contextlib.ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="idbroker-sp-conformance-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        tls_cert, tls_key = tls_certificate(folder)
        for path in (folder, tls_cert, tls_key):
            path.chmod(0o755 if path.is_dir() else 0o644)  # Apache's children read them
        service = Service(config=f'[server]\noperator_accounts = ["{ACCOUNT}"]\nfetch_ca_file = "{tls_cert}"\n')
        stopped = {}
        stack.callback(lambda: stopped.setdefault("idbroker", service.stop()))
        out = service.init(ACCOUNT)
        assert out.returncode == 0, out.stderr
        admin = json.loads(out.stdout)
        credentials = Credentials(admin["AccessKeyId"], admin["SecretAccessKey"])
        metadata = requests.get(service.url + "/idp/metadata", timeout=10).text
        idp = {"service": service, "metadata": metadata, "entity_id": service.url + "/idp/metadata",
               "sso": service.url + "/idp/sso",
               "cert": re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata).group(1)}

        port = free_port()
        mellon = Mellon(port, tls_cert, tls_key, KEYS / "rsa2048-a.key", KEYS / "rsa2048-a.crt", metadata, {
            "/": (f"https://127.0.0.1:{port}/mellon/metadata", "rsa-sha256"),
            "/sha512": (f"https://127.0.0.1:{port}/sha512/mellon/metadata", "rsa-sha512")})
        stack.callback(shutil.rmtree, mellon.root, ignore_errors=True)
        stack.callback(mellon.stop)
        port = free_port()
        shib = Shibboleth(port, tls_cert, tls_key, KEYS / "rsa2048-b.key", KEYS / "rsa2048-b.crt", metadata,
                          f"https://127.0.0.1:{port}/shibboleth", idp["entity_id"], free_port(), RSA_SHA256)
        stack.callback(shutil.rmtree, shib.root, ignore_errors=True)
        stack.callback(shib.stop)
        node = NodeSP(free_port(), tls_cert, tls_key, idp)
        stack.callback(node.stop)

        # The operator registers each SP as its operator would hand it over.
        for path in ("/mellon/metadata", "/sha512/mellon/metadata"):
            document = https_get(mellon.url + path, tls_cert)
            assert document.status_code == 200 and "AuthnRequestsSigned=\"true\"" in document.text, document.text
            created = call(service, credentials, "CreateServiceProvider", SAMLMetadataDocument=document.text)
            assert created.status_code == 200, created.text
        created = call(service, credentials, "CreateServiceProvider", SAMLMetadataDocument=shib.metadata())
        assert created.status_code == 200, created.text
        created = call(service, credentials, "CreateServiceProvider", MetadataURL=node.url + "/metadata")
        assert created.status_code == 200, created.text
        listed = call(service, credentials, "ListServiceProviders").text
        for entity in (mellon.url + "/mellon/metadata", mellon.url + "/sha512/mellon/metadata", shib.entity_id,
                       node.entity_id):
            assert entity in listed, listed

        yield {"idp": idp, "tls_cert": tls_cert, "mellon": mellon, "shib": shib, "node": node}
        stack.close()  # the SPs, then idbroker
        assert stopped["idbroker"] == 0, "idbroker did not shut down cleanly on SIGTERM"


# ---- the browser ----

def spki_pin(cert_path):
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def browser(world):
    """Debian's Chromium as conftest's `chrome`, trusting the SPs' test
    certificate (by its key) and keeping a network log."""
    profile = tempfile.mkdtemp(prefix="idbroker-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1000,1300",
                f"--ignore-certificate-errors-spki-list={spki_pin(world['tls_cert'])}"]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=opts)
    driver.network = []
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def network(driver):
    """Every request the browser sent so far: (method, url, form fields)."""
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        request = message["params"]["request"]
        body = request.get("postData")
        if body is None and request.get("postDataEntries"):
            body = b"".join(base64.b64decode(e.get("bytes", "")) for e in request["postDataEntries"]).decode()
        driver.network.append((request["method"], request["url"], dict(urllib.parse.parse_qsl(body or ""))))
    return driver.network


def failure(driver, world, name):
    shot(driver, f"sp-conformance-{name}-failure")
    logs = (world["idp"]["service"].tmp + "/serve.log", world["mellon"].error_log,
            world["shib"].root / "logs/shibd.log", world["shib"].error_log, world["node"].log)
    tails = "\n".join(f"--- {p}\n{Path(p).read_text()[-3000:]}" for p in logs if Path(p).exists())
    return f"at {driver.current_url}\n{driver.page_source[:3000]}\n{tails}"


def sign_in(driver, world, name, landing):
    """Fills idbroker's login form as alice, then waits for the SP page whose
    URL starts with `landing`."""
    wait = WebDriverWait(driver, 20)
    try:
        wait.until(lambda d: d.find_elements(By.ID, "username"))
    except Exception:
        raise AssertionError("no login form: " + failure(driver, world, name))
    assert driver.current_url.startswith(world["idp"]["service"].url + "/idp/"), driver.current_url
    driver.find_element(By.ID, "username").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    try:
        wait.until(lambda d: d.current_url.startswith(landing) and "/idp/" not in d.current_url)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    except Exception:
        raise AssertionError(f"did not land on {landing}: " + failure(driver, world, name))
    shot(driver, f"sp-conformance-{name}")


def page_text(driver):
    return driver.find_element(By.TAG_NAME, "body").text


def environment(driver):
    """The whoami CGI's lines NAME=value as a dict."""
    return dict(line.split("=", 1) for line in page_text(driver).splitlines() if "=" in line)


def redirect_message(driver, endpoint, field="SAMLRequest"):
    """The first message the browser carried to `endpoint` by the Redirect
    binding: (XML, query parameters)."""
    sent = [urllib.parse.urlsplit(url) for method, url, _ in network(driver)
            if method == "GET" and url.startswith(endpoint + "?") and f"{field}=" in url]
    assert sent, network(driver)
    query = dict(urllib.parse.parse_qsl(sent[0].query))
    return zlib.decompress(base64.b64decode(query[field]), -15), query


def redirect_request(driver, world):
    """The AuthnRequest the browser carried to idbroker by the Redirect binding."""
    return redirect_message(driver, world["idp"]["sso"])


def posted_response(driver, acs):
    """The Response idbroker had the browser POST to the SP's ACS: (XML, form)."""
    posted = [form for method, url, form in network(driver) if method == "POST" and url == acs]
    assert posted and "SAMLResponse" in posted[0], network(driver)
    return base64.b64decode(posted[0]["SAMLResponse"]), posted[0]


def decrypt_assertion(root, key_file):
    """Replaces the Response's EncryptedAssertion by the Assertion that the SP's
    key opens (python-xmlsec, libxmlsec1): what the SP itself read."""
    encrypted = root.find("saml:EncryptedAssertion", NS)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_file(str(key_file), xmlsec.constants.KeyDataFormatPem))
    assertion = xmlsec.EncryptionContext(manager).decrypt(encrypted.find("xenc:EncryptedData", NS))
    root.replace(encrypted, assertion)


def response_facts(xml, key_file=None):
    """What a Response says, read with lxml: its InResponseTo and Destination,
    the NameID and its format, and the attributes; an encrypted Assertion is
    opened with the SP's `key_file` first."""
    root = etree.fromstring(xml)
    encrypted = root.find("saml:EncryptedAssertion", NS) is not None
    if encrypted:
        decrypt_assertion(root, key_file)
    name_id = root.find("saml:Assertion/saml:Subject/saml:NameID", NS)
    attributes = {a.get("Name").rsplit("/", 1)[-1]: [v.text for v in a.findall("saml:AttributeValue", NS)]
                  for a in root.iterfind("saml:Assertion/saml:AttributeStatement/saml:Attribute", NS)}
    status = root.find("samlp:Status/samlp:StatusCode", NS).get("Value")
    return {"in_response_to": root.get("InResponseTo"), "destination": root.get("Destination"), "status": status,
            "name_id": name_id.text, "name_id_format": name_id.get("Format"), "attributes": attributes,
            "signed": root.find("ds:Signature", NS) is not None, "encrypted": encrypted,
            "assertion_signed": root.find("saml:Assertion/ds:Signature", NS) is not None}


def idp_initiated(driver, world, entity_id, name, landing):
    driver.get(world["idp"]["service"].url + "/idp/login?sp=" + urllib.parse.quote(entity_id, safe=""))
    sign_in(driver, world, name, landing)


# ---- idbroker's own metadata ----

def test_the_idp_metadata_follows_the_oasis_schema(world):
    schema_valid(world["idp"]["metadata"], "saml-schema-metadata-2.0.xsd")
    root = etree.fromstring(world["idp"]["metadata"].encode())
    sso = {e.get("Binding").rsplit(":", 1)[-1]: e.get("Location")
           for e in root.iterfind(".//{urn:oasis:names:tc:SAML:2.0:metadata}SingleSignOnService")}
    assert sso == {"HTTP-Redirect": world["idp"]["sso"], "HTTP-POST": world["idp"]["sso"]}


# ---- mod_auth_mellon ----

@pytest.mark.parametrize("prefix,algorithm", [("", RSA_SHA256), ("/sha512", RSA_SHA512)],
                         ids=["rsa-sha256", "rsa-sha512"])
def test_mellon_sp_initiated_sign_in(world, browser, prefix, algorithm):
    mellon = world["mellon"]
    whoami = f"{mellon.url}{prefix}/protected/whoami"
    browser.get(whoami)
    sign_in(browser, world, f"mellon{prefix.replace('/', '-')}", whoami)
    env = environment(browser)

    request, query = redirect_request(browser, world)
    schema_valid(request)
    root = etree.fromstring(request)
    assert root.findtext("saml:Issuer", namespaces=NS) == f"{mellon.url}{prefix}/mellon/metadata"
    assert query["SigAlg"] == algorithm and query["Signature"]
    response, _ = posted_response(browser, f"{mellon.url}{prefix}/mellon/postResponse")
    schema_valid(response)
    # mellon's metadata has a KeyDescriptor use="encryption": the Assertion
    # is encrypted to it (AES-256-GCM), and mellon decrypted it.
    assert b"xmlenc11#aes256-gcm" in response
    facts = response_facts(response, KEYS / "rsa2048-a.key")
    assert facts["encrypted"] and facts["in_response_to"] == root.get("ID")
    # mellon asks for a transient NameID (its metadata's format) and wants the Assertion signed.
    assert facts["name_id_format"] == TRANSIENT and facts["assertion_signed"]

    # What mellon took from the Response, as its environment for the application.
    assert env["MELLON_NAME_ID"] == env["REMOTE_USER"] == facts["name_id"]
    assert env["ROLE_SESSION_NAME"] == USER
    assert env["SESSION_DURATION"] == "3600"
    assert {env["ROLE_0"], env["ROLE_1"]} == ROLES


def test_mellon_idp_initiated_sign_in(world, browser):
    mellon = world["mellon"]
    idp_initiated(browser, world, mellon.url + "/mellon/metadata", "mellon-idp-initiated",
                  mellon.url + "/protected/whoami")  # MellonDefaultLoginPath
    env = environment(browser)
    response, form = posted_response(browser, mellon.url + "/mellon/postResponse")
    schema_valid(response)
    facts = response_facts(response, KEYS / "rsa2048-a.key")
    assert facts["encrypted"] and facts["in_response_to"] is None and "RelayState" not in form
    assert env["MELLON_NAME_ID"] == env["REMOTE_USER"] == facts["name_id"] == USER
    assert env["ROLE_SESSION_NAME"] == USER
    assert {env["ROLE_0"], env["ROLE_1"]} == ROLES


# ---- Shibboleth SP ----

def test_shibboleth_sp_initiated_sign_in(world, browser):
    shib = world["shib"]
    whoami = shib.url + "/protected/whoami"
    browser.get(whoami)
    sign_in(browser, world, "shibboleth", whoami)
    env = environment(browser)

    request, query = redirect_request(browser, world)
    schema_valid(request)
    root = etree.fromstring(request)
    assert root.findtext("saml:Issuer", namespaces=NS) == shib.entity_id
    assert root.get("AssertionConsumerServiceURL") == shib.url + "/Shibboleth.sso/SAML2/POST"
    assert query["SigAlg"] == RSA_SHA256 and query["Signature"]
    response, _ = posted_response(browser, shib.url + "/Shibboleth.sso/SAML2/POST")
    schema_valid(response)
    facts = response_facts(response)
    assert facts["in_response_to"] == root.get("ID") and facts["name_id_format"] == PERSISTENT

    # What the Shibboleth SP took from the Response (its attribute-map.xml names).
    assert env["REMOTE_USER"] == env["persistent_id"] == USER
    assert env["Shib_Identity_Provider"] == world["idp"]["entity_id"]
    assert env["Shib_AuthnContext_Class"] == PPT
    assert env["roleSessionName"] == USER and env["sessionDuration"] == "3600"
    assert set(env["role"].split(";")) == ROLES


def test_shibboleth_idp_initiated_sign_in(world, browser):
    shib = world["shib"]
    idp_initiated(browser, world, shib.entity_id, "shibboleth-idp-initiated", shib.url + "/protected/whoami")
    env = environment(browser)
    assert env["REMOTE_USER"] == USER and env["roleSessionName"] == USER
    response, _ = posted_response(browser, shib.url + "/Shibboleth.sso/SAML2/POST")
    schema_valid(response)
    assert response_facts(response)["in_response_to"] is None
    # The SP's own session page lists what it keeps for the session.
    browser.get(shib.url + "/Shibboleth.sso/Session")
    session = page_text(browser)
    assert f"Identity Provider: {world['idp']['entity_id']}" in session, session
    assert f"persistent-id: {USER}" in session and f"roleSessionName: {USER}" in session, session


# ---- node-saml ----

def node_profile(driver):
    return json.loads(driver.find_element(By.ID, "profile").text)


@pytest.mark.parametrize("binding,alg", [("redirect", "sha256"), ("post", "sha512")])
def test_node_saml_sp_initiated_sign_in(world, browser, binding, alg):
    node = world["node"]
    browser.get(f"{node.url}/protected?binding={binding}&alg={alg}")
    sign_in(browser, world, f"node-saml-{binding}", node.url + "/protected")
    profile = node_profile(browser)

    sent = node.entries("request")[-1]
    assert (sent["binding"], sent["alg"]) == (binding, alg)
    request = sent["xml"].encode()
    schema_valid(request)
    root = etree.fromstring(request)
    if binding == "redirect":
        carried, query = redirect_request(browser, world)
        assert carried == request and query["SigAlg"] == f"http://www.w3.org/2001/04/xmldsig-more#rsa-{alg}"
    else:
        # Signed in the XML, and posted as it is (skipRequestCompression).
        signature = root.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
        assert signature.get("Algorithm") == f"http://www.w3.org/2001/04/xmldsig-more#rsa-{alg}"
        posted = [form for method, url, form in network(browser) if method == "POST" and url == world["idp"]["sso"]]
        assert base64.b64decode(posted[0]["SAMLRequest"]) == request
    response, _ = posted_response(browser, node.url + "/acs")
    schema_valid(response)
    facts = response_facts(response)

    # node-saml asks for emailAddress (its default) and validated InResponseTo against its cache.
    assert profile["inResponseTo"] == facts["in_response_to"] == root.get("ID")
    assert profile["issuer"] == world["idp"]["entity_id"]
    assert (profile["nameID"], profile["nameIDFormat"]) == (f"{USER}@example.org", EMAIL)
    attributes = profile["attributes"]
    assert attributes["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] == USER
    assert set(attributes["https://aws.amazon.com/SAML/Attributes/Role"]) == ROLES


def test_node_saml_idp_initiated_sign_in(world, browser):
    node = world["node"]
    idp_initiated(browser, world, node.entity_id, "node-saml-idp-initiated", node.url + "/protected")
    profile = node_profile(browser)
    response, _ = posted_response(browser, node.url + "/acs")
    schema_valid(response)
    facts = response_facts(response)
    assert facts["in_response_to"] is None and "inResponseTo" not in profile
    assert profile["nameID"] == facts["name_id"]
    assert profile["attributes"]["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] == USER
    assert set(profile["attributes"]["https://aws.amazon.com/SAML/Attributes/Role"]) == ROLES


def test_node_saml_deflated_post_request_is_refused(world, browser):
    """node-saml's default for the POST binding deflates the request, which
    SAML Bindings 3.5.4 does not allow: idbroker refuses it, with no form."""
    node = world["node"]
    answered = len(node.entries("response"))
    browser.get(f"{node.url}/protected?binding=post&alg=sha256&deflate=1")
    WebDriverWait(browser, 20).until(lambda d: d.current_url == world["idp"]["sso"] and page_text(d))
    assert node.entries("request")[-1]["deflate"] is True
    text = page_text(browser)
    assert "The SAML request was refused" in text and not browser.find_elements(By.ID, "username"), text
    assert len(node.entries("response")) == answered


# ---- one IdP session, three SPs ----

def test_one_idp_session_signs_the_browser_in_to_every_sp(world, browser):
    mellon, shib, node = world["mellon"], world["shib"], world["node"]
    browser.get(mellon.url + "/protected/whoami")
    sign_in(browser, world, "sso-mellon", mellon.url + "/protected/whoami")
    assert environment(browser)["ROLE_SESSION_NAME"] == USER
    # The next SPs get alice from idbroker's session, without the login form.
    browser.get(shib.url + "/protected/whoami")
    WebDriverWait(browser, 20).until(lambda d: d.current_url == shib.url + "/protected/whoami")
    assert environment(browser)["persistent_id"] == USER
    browser.get(node.url + "/protected")
    WebDriverWait(browser, 20).until(lambda d: d.current_url == node.url + "/protected")
    assert node_profile(browser)["nameID"] == f"{USER}@example.org"
    logins = [url for method, url, _ in network(browser) if method == "POST" and url.endswith("/idp/login")]
    assert len(logins) == 1, logins


def test_single_logout_from_mellon_signs_the_browser_out_of_shibboleth_too(world, browser):
    """mellon's signed LogoutRequest ends idbroker's session; idbroker carries
    its own signed LogoutRequest to the Shibboleth SP of the same session,
    which ends its session and confirms; mellon gets a signed LogoutResponse."""
    mellon, shib = world["mellon"], world["shib"]
    idp_slo = world["idp"]["service"].url + "/idp/slo"
    whoami = mellon.url + "/protected/whoami"
    browser.get(whoami)
    sign_in(browser, world, "slo-mellon", whoami)
    browser.get(shib.url + "/protected/whoami")
    WebDriverWait(browser, 20).until(lambda d: d.current_url == shib.url + "/protected/whoami")
    assert environment(browser)["persistent_id"] == USER

    browser.get(mellon.url + "/mellon/logout?ReturnTo=" + urllib.parse.quote(whoami, safe=""))
    # Back at mellon's protected page, neither mellon nor idbroker has a session: the login form.
    try:
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "username"))
    except Exception:
        raise AssertionError("no login form after logout: " + failure(browser, world, "slo-mellon"))

    # mellon -> idbroker
    request, query = redirect_message(browser, idp_slo)
    schema_valid(request)
    root = etree.fromstring(request)
    assert root.tag == "{%s}LogoutRequest" % NS["samlp"], request
    assert root.findtext("saml:Issuer", namespaces=NS) == mellon.url + "/mellon/metadata"
    assert query["SigAlg"] == RSA_SHA256 and query["Signature"]
    # idbroker -> Shibboleth, and Shibboleth's answer
    to_shib, query = redirect_message(browser, shib.url + "/Shibboleth.sso/SLO/Redirect")
    schema_valid(to_shib)
    asked = etree.fromstring(to_shib)
    assert asked.findtext("saml:NameID", namespaces=NS) == USER and query["Signature"]
    from_shib, query = redirect_message(browser, idp_slo, "SAMLResponse")
    schema_valid(from_shib)
    confirmed = etree.fromstring(from_shib)
    assert confirmed.get("InResponseTo") == asked.get("ID") and query["Signature"]
    assert confirmed.find("samlp:Status/samlp:StatusCode", NS).get("Value") == SUCCESS, from_shib
    # idbroker -> mellon
    response, query = redirect_message(browser, mellon.url + "/mellon/logout", "SAMLResponse")
    schema_valid(response)
    answer = etree.fromstring(response)
    assert answer.tag == "{%s}LogoutResponse" % NS["samlp"] and answer.get("InResponseTo") == root.get("ID")
    assert answer.find("samlp:Status/samlp:StatusCode", NS).get("Value") == SUCCESS, response
    assert query["Signature"] and query["SigAlg"]

    # Shibboleth's session is gone too: its protected page sends the browser to sign in.
    browser.get(shib.url + "/protected/whoami")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "username"))
