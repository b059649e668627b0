"""The admin console (/admin) in a real headless Chromium (Debian's, through
its WebDriver), as an IdP administrator uses it: an IAM user signs in at
/signin, registers an external IdP by its metadata URL, reads the
certificate fingerprints and the roles that trust it, follows a refused
browser sign-in from its error page to the sign-in history and into the
assertion debugger, pastes responses into the debugger by keyboard, turns a
provider's switch on (seen by boto3 as its tag) and deletes a provider after
the confirmation naming its roles. Then the refusals (no permissions, not
signed in, the CSP) and the layout at a phone's width. Screenshots of every
page land in target/browser-screenshots/admin-*.png."""
import datetime
import hashlib
import html
import json
import os
import re
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.config
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ACCOUNT, Service, client, shot, until
from https_server import MetadataServer, tls_certificate
from test_saml_boto3 import Idp

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["iam:*SAMLProvider*", "iam:ListRoles", "idbroker:*"], "Resource": "*"}]})
PASSWORD = "Admin-Pass-123!"
ENTITY = "https://partner-idp.test/saml"
# The browser's time zone for the layout test: far from UTC, with a half hour.
ZONE = "Asia/Kolkata"


class Poster:
    """A page on another origin that POSTs `response` to idbroker's ACS as
    an IdP's auto-submitting form does (its inline script is its own)."""

    def __init__(self):
        self.page = b""
        poster = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(poster.page)))
                self.end_headers()
                self.wfile.write(poster.page)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/post"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def posting(self, acs, response):
        self.page = (f'<!doctype html><title>IdP</title><form method="post" action="{html.escape(acs)}">'
                     f'<input type="hidden" name="SAMLResponse" value="{html.escape(response)}"></form>'
                     '<script>document.forms[0].submit()</script>').encode()
        return self.url


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One idbroker that trusts the test CA, the https metadata server, the
    auto-POST page, and boto3's IAM client with the account's admin keys."""
    folder = tmp_path_factory.mktemp("admin-console")
    cert, key = tls_certificate(folder)
    metadata = MetadataServer(cert, key)
    poster = Poster()
    service = Service(config=f'[server]\nfetch_ca_file = "{cert}"\n')
    out = service.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    admin = json.loads(out.stdout)
    iam = client(service, "iam", admin["AccessKeyId"], admin["SecretAccessKey"])
    yield dict(service=service, metadata=metadata, poster=poster, folder=folder, iam=iam)
    metadata.httpd.shutdown()
    poster.httpd.shutdown()
    assert service.stop() == 0


def iam_user(iam, name, policy=None):
    """An IAM user with a console password and, if given, an inline policy."""
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=policy)


def sign_in(chrome, url, user):
    chrome.get(url + "/signin")
    chrome.find_element(By.ID, "account").send_keys(ACCOUNT)
    chrome.find_element(By.ID, "username").send_keys(user)
    chrome.find_element(By.ID, "password").send_keys(PASSWORD)
    chrome.find_element(By.CSS_SELECTOR, "form[action='/signin'] button[type=submit]").click()
    WebDriverWait(chrome, 15).until(lambda d: "/signin" not in d.current_url)


def fingerprint(idp):
    return hashlib.sha256(idp.cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def plain(value):
    """A fingerprint as hex digits only, lower case (whatever separators it is shown with)."""
    return re.sub(r"[^0-9a-f]", "", value.lower())


def text(chrome, element_id):
    return chrome.find_element(By.ID, element_id).text.strip()


def ids(chrome, element_id):
    return chrome.find_elements(By.ID, element_id)


def trust(provider_arn):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithSAML"}]})


def heading(chrome):
    return chrome.find_element(By.TAG_NAME, "h1").text.strip()


def paste_and_check(chrome, url, response):
    """The debugger's form, filled by keyboard, submitted: its report."""
    chrome.get(url + "/admin/debugger")
    box = chrome.find_element(By.ID, "SAMLResponse")
    box.clear()
    box.send_keys(response)
    assert box.get_attribute("value") == response
    chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/debugger'] button[type=submit]").click()
    WebDriverWait(chrome, 15).until(EC.presence_of_element_located((By.ID, "report")))


def test_an_administrator_registers_an_idp_debugs_a_refused_sign_in_and_deletes_a_provider(world, chrome):
    service, iam, metadata, poster = world["service"], world["iam"], world["metadata"], world["poster"]
    url = service.url
    wait = WebDriverWait(chrome, 15)
    idp = Idp(ENTITY)
    metadata.document = idp.metadata().encode()
    iam_user(iam, "ada", ADMIN_POLICY)
    sign_in(chrome, url, "ada")

    # 1. The overview, then registering the IdP by its metadata URL.
    chrome.get(url + "/admin")
    assert heading(chrome) == "Administration"
    assert text(chrome, "admin-who") == f"arn:aws:iam::{ACCOUNT}:user/ada"
    shot(chrome, "admin-01-overview-empty")
    chrome.find_element(By.LINK_TEXT, "Identity providers").click()
    wait.until(EC.url_to_be(url + "/admin/providers"))
    assert chrome.find_element(By.CSS_SELECTOR, "nav.admin a[aria-current=page]").text == "Identity providers"
    shot(chrome, "admin-02-providers-empty")
    chrome.find_element(By.LINK_TEXT, "Register an identity provider").click()
    wait.until(EC.presence_of_element_located((By.ID, "metadata_url")))
    chrome.find_element(By.ID, "name").send_keys("Partner")
    # A plain-http URL is refused with the reason, the fields kept.
    chrome.find_element(By.ID, "metadata_url").send_keys("http://partner-idp.test/metadata")
    chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/providers/new'] button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "form-error")))
    shot(chrome, "admin-03-register-refused")
    assert chrome.find_element(By.ID, "name").get_attribute("value") == "Partner"
    field = chrome.find_element(By.ID, "metadata_url")
    field.clear()
    field.send_keys(metadata.url)
    chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/providers/new'] button[type=submit]").click()
    wait.until(EC.url_contains("/admin/providers/Partner"))
    shot(chrome, "admin-04-provider-registered")
    assert "Registered." in chrome.find_element(By.CSS_SELECTOR, "p.notice").text
    assert text(chrome, "entity-id") == ENTITY
    assert metadata.url in text(chrome, "metadata-url")
    provider_arn = text(chrome, "provider-arn")
    assert provider_arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/Partner"
    assert any(p["Arn"] == provider_arn for p in iam.list_saml_providers()["SAMLProviderList"])
    rows = chrome.find_elements(By.CSS_SELECTOR, "table#certificates tbody tr")
    assert [plain(r.find_element(By.TAG_NAME, "code").text) for r in rows] == [fingerprint(idp)]
    not_after = rows[0].find_element(By.TAG_NAME, "time")
    expected_end = idp.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S")
    assert not_after.get_attribute("datetime").startswith(expected_end), not_after.get_attribute("datetime")
    assert "No role" in text(chrome, "trusting-roles")
    assert text(chrome, "last-success") == "never" and text(chrome, "last-failure") == "never"

    # A role that trusts it shows under its trusting roles.
    role_arn = iam.create_role(RoleName="PartnerDev", AssumeRolePolicyDocument=trust(provider_arn))["Role"]["Arn"]
    chrome.refresh()
    assert [li.text for li in chrome.find_elements(By.CSS_SELECTOR, "ul#trusting-roles li")] == [role_arn]
    shot(chrome, "admin-05-provider-with-role")

    # 2. A response signed by a stranger under the IdP's entity id, POSTed by
    # the browser to the ACS: refused, and the error page names its request id.
    stranger = Idp(ENTITY)
    forged = stranger.response(url, role_arn, provider_arn)
    chrome.get(poster.posting(url + "/saml/acs", forged))
    wait.until(EC.url_to_be(url + "/saml/acs"))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.reference code")))
    shot(chrome, "admin-06-refused-sign-in")
    assert heading(chrome) == "Sign-in failed"
    assert "failed check: signature" in chrome.find_element(By.CSS_SELECTOR, "p[role=alert]").text
    request_id = chrome.find_element(By.CSS_SELECTOR, "p.reference code").text.strip()
    assert request_id
    link = chrome.find_element(By.LINK_TEXT, "find it in the sign-in history")
    assert link.get_attribute("href") == f"{url}/admin/events?request_id={request_id}"
    link.click()
    wait.until(EC.url_contains("/admin/events"))
    # The history has it (the audit is written in the background: look again until it is there).
    found = until(lambda: chrome.find_elements(By.CSS_SELECTOR, "ol#events li") or chrome.refresh(), seconds=10)
    assert found, chrome.page_source[-3000:]
    assert chrome.find_element(By.ID, "request_id").get_attribute("value") == request_id
    events = chrome.find_elements(By.CSS_SELECTOR, "ol#events li")
    assert len(events) == 1, [e.text for e in events]
    summary = events[0].find_element(By.TAG_NAME, "summary")
    assert "ConsoleSAMLLogin" in summary.text and "(signature)" in summary.text, summary.text
    assert events[0].find_element(By.CSS_SELECTOR, "code.request-id").text == request_id
    assert "failed" in events[0].get_attribute("class")
    summary.click()
    record = json.loads(events[0].find_element(By.TAG_NAME, "pre").text)
    assert record["eventName"] == "ConsoleSAMLLogin" and record["requestID"] == request_id
    assert record["additionalEventData"]["failedCheck"] == "signature"
    shot(chrome, "admin-07-history-refused")
    # Opened in the debugger: the same verdict, naming the stranger's certificate.
    events[0].find_element(By.LINK_TEXT, "Open this response in the debugger").click()
    wait.until(EC.presence_of_element_located((By.ID, "report")))
    assert "/admin/debugger?kept=" in chrome.current_url
    shot(chrome, "admin-08-debugger-kept")
    assert text(chrome, "failed-check") == "signature"
    advice = text(chrome, "advice")
    assert fingerprint(stranger) in plain(advice.split("expected")[0]), advice
    assert "expected one of " + fingerprint(idp) in advice, advice
    assert chrome.find_element(By.ID, "SAMLResponse").get_attribute("value").strip() == forged
    assert "for provider Partner" in text(chrome, "report-title")
    checks = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[2].text
              for r in chrome.find_elements(By.CSS_SELECTOR, "table#checks tbody tr")}
    assert checks["structure"] == "passed" and checks["signature"] == "FAILED"
    assert checks["issuer"] == "not reached"
    # The overview lists it among the recent failures, with a link to it; the
    # provider page has its last refused response.
    chrome.get(url + "/admin")
    assert request_id in text(chrome, "recent-failures")
    assert "Partner" in text(chrome, "overview-providers")
    chrome.find_element(By.LINK_TEXT, request_id).click()
    wait.until(EC.url_contains(f"request_id={request_id}"))
    chrome.get(url + "/admin")
    shot(chrome, "admin-09-overview")
    chrome.get(url + "/admin/providers/Partner")
    assert "signature" in text(chrome, "last-failure"), text(chrome, "last-failure")

    # 3. The same response pasted by keyboard: the same verdict. A genuine one passes.
    paste_and_check(chrome, url, forged)
    assert text(chrome, "failed-check") == "signature"
    assert fingerprint(stranger) in plain(text(chrome, "advice").split("expected")[0])
    shot(chrome, "admin-10-debugger-pasted-forged")
    genuine = idp.response(url, role_arn, provider_arn)
    paste_and_check(chrome, url, genuine)
    shot(chrome, "admin-11-debugger-genuine")
    assert not ids(chrome, "failed-check")
    assert "Every check passed" in text(chrome, "verdict")
    outcomes = [r.find_elements(By.TAG_NAME, "td")[2].text
                for r in chrome.find_elements(By.CSS_SELECTOR, "table#checks tbody tr")]
    assert len(outcomes) == 16 and set(outcomes) == {"passed"}, outcomes
    assert "Claims (verified)" in chrome.page_source
    assert "alice@corp.test" in text(chrome, "claims")
    roles = chrome.find_elements(By.CSS_SELECTOR, "table#roles tbody tr")
    assert len(roles) == 1 and role_arn in roles[0].text and "trusted" in roles[0].text
    # Nothing was used up: boto3 still exchanges the genuine response.
    anonymous = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                             config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    out = anonymous.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=provider_arn, SAMLAssertion=genuine)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/PartnerDev/interop"
    # The report's form still holds it: checked again, it is used now.
    assert chrome.find_element(By.ID, "SAMLResponse").get_attribute("value").strip() == genuine
    check = chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/debugger'] button[type=submit]")
    check.click()
    wait.until(EC.staleness_of(check))
    assert text(chrome, "failed-check") == "replay"
    chrome.get(url + "/admin/providers/Partner")
    assert text(chrome, "last-success") != "never", text(chrome, "last-success")

    # 4. "Only sign-ins that idbroker started": saved as the tag AWS clients see,
    # and an IdP-initiated response is refused from then on.
    chrome.get(url + "/admin/providers/Partner")
    box = chrome.find_element(By.ID, "require_sp_initiated")
    assert not box.is_selected()
    chrome.find_element(By.CSS_SELECTOR, "label[for=require_sp_initiated]").click()
    assert box.is_selected()
    chrome.find_element(By.XPATH, "//button[text()='Save settings']").click()
    wait.until(EC.url_contains("saved=1"))
    shot(chrome, "admin-12-settings-saved")
    assert "Settings saved." in chrome.find_element(By.CSS_SELECTOR, "p.notice").text
    assert chrome.find_element(By.ID, "require_sp_initiated").is_selected()
    assert not chrome.find_element(By.ID, "allow_sha1").is_selected()
    tags = {t["Key"]: t["Value"] for t in iam.list_saml_provider_tags(SAMLProviderArn=provider_arn)["Tags"]}
    assert tags.get("idbroker:RequireSPInitiated") == "true", tags
    chrome.get(poster.posting(url + "/saml/acs", idp.response(url, role_arn, provider_arn)))
    wait.until(EC.url_to_be(url + "/saml/acs"))
    assert "failed check: unsolicited" in chrome.find_element(By.CSS_SELECTOR, "p[role=alert]").text
    shot(chrome, "admin-13-refused-unsolicited")

    # 5. A second provider, registered from a file chosen in the form (the
    # page's script reads it into the text box), then deleted after the
    # confirmation that names the role trusting it.
    uploaded = Idp("https://uploaded-idp.test/saml")
    document = world["folder"] / "uploaded-metadata.xml"
    document.write_text(uploaded.metadata())
    chrome.get(url + "/admin/providers/new")
    chrome.find_element(By.ID, "name").send_keys("Uploaded")
    chrome.find_element(By.ID, "metadata_file").send_keys(str(document))
    assert until(lambda: chrome.find_element(By.ID, "metadata").get_attribute("value") == uploaded.metadata(), 5)
    shot(chrome, "admin-14-register-from-file")
    chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/providers/new'] button[type=submit]").click()
    wait.until(EC.url_contains("/admin/providers/Uploaded"))
    assert text(chrome, "entity-id") == "https://uploaded-idp.test/saml"
    assert "none" in text(chrome, "metadata-url")
    uploaded_arn = text(chrome, "provider-arn")
    uploaded_role = iam.create_role(RoleName="UploadedOps", AssumeRolePolicyDocument=trust(uploaded_arn))["Role"]["Arn"]
    chrome.get(url + "/admin/providers")
    names = [r.find_element(By.TAG_NAME, "a").text for r in chrome.find_elements(By.CSS_SELECTOR, "table#providers tbody tr")]
    assert sorted(names) == ["Partner", "Uploaded"]
    shot(chrome, "admin-15-providers")
    chrome.find_element(By.LINK_TEXT, "Uploaded").click()
    wait.until(EC.element_to_be_clickable((By.LINK_TEXT, "Delete this provider…"))).click()
    wait.until(EC.url_contains("/admin/providers/Uploaded/delete"))
    shot(chrome, "admin-16-delete-confirmation")
    assert [li.text for li in chrome.find_elements(By.CSS_SELECTOR, "ul#losing-roles li")] == [uploaded_role]
    assert heading(chrome) == "Delete Uploaded?"
    chrome.find_element(By.XPATH, "//button[text()='Delete the provider']").click()
    wait.until(EC.url_to_be(url + "/admin/providers"))
    shot(chrome, "admin-17-providers-after-delete")
    names = [a.text for a in chrome.find_elements(By.CSS_SELECTOR, "table#providers tbody tr td:first-child a")]
    assert names == ["Partner"]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_saml_provider(SAMLProviderArn=uploaded_arn)
    # The deletion is in the history, under the administrator's name.
    chrome.get(url + "/admin/events?event=DeleteSAMLProvider")
    summaries = [s.text for s in chrome.find_elements(By.CSS_SELECTOR, "ol#events summary")]
    assert len(summaries) == 1 and "ada" in summaries[0] and "success" in summaries[0], summaries


def test_without_permissions_or_signed_out_the_console_shows_nothing(world, chrome):
    service, iam = world["service"], world["iam"]
    url = service.url
    hidden = Idp("https://hidden-idp.test/saml")
    iam.create_saml_provider(Name="Hidden", SAMLMetadataDocument=hidden.metadata())
    # Not signed in: every page sends the browser to the sign-in page.
    for path in ["/admin", "/admin/providers", "/admin/providers/Hidden", "/admin/providers/new",
                 "/admin/debugger", "/admin/events"]:
        chrome.get(url + path)
        assert chrome.current_url == url + "/", (path, chrome.current_url)
    shot(chrome, "admin-20-anonymous")

    iam_user(iam, "nobody")
    sign_in(chrome, url, "nobody")
    chrome.get(url + "/admin")
    shot(chrome, "admin-21-overview-no-permissions")
    assert "Hidden" not in chrome.page_source and "hidden-idp" not in chrome.page_source
    assert ids(chrome, "overview-providers") == [] and ids(chrome, "recent-failures") == []
    assert "not authorized" in chrome.find_element(By.CSS_SELECTOR, "main").text
    for path in ["/admin/providers", "/admin/providers/Hidden", "/admin/providers/Hidden/delete", "/admin/events",
                 "/admin/events?event=CreateSAMLProvider", "/admin/debugger?kept=anything"]:
        chrome.get(url + path)
        assert heading(chrome) == "Not allowed", (path, chrome.page_source[-2000:])
        # (A page asked for by the provider's name may repeat the name asked for; nothing more.)
        assert "hidden-idp" not in chrome.page_source, path
        assert "Hidden" not in chrome.page_source or "Hidden" in path, path
        assert ids(chrome, "providers") == [] and ids(chrome, "events") == []
    shot(chrome, "admin-22-not-allowed")
    # The debugger's form shows, but checking a response is refused.
    paste = hidden.response(url, f"arn:aws:iam::{ACCOUNT}:role/X", f"arn:aws:iam::{ACCOUNT}:saml-provider/Hidden")
    chrome.get(url + "/admin/debugger")
    chrome.find_element(By.ID, "SAMLResponse").send_keys(paste[:200])
    button = chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/debugger'] button[type=submit]")
    button.click()
    wait = WebDriverWait(chrome, 15)
    wait.until(EC.staleness_of(button))
    shot(chrome, "admin-23-debugger-not-allowed")
    assert heading(chrome) == "Not allowed" and not ids(chrome, "report")
    # Nor can it register a provider with the form.
    chrome.get(url + "/admin/providers/new")
    chrome.find_element(By.ID, "name").send_keys("Mine")
    chrome.find_element(By.ID, "metadata").send_keys(Idp("https://mine.test/saml").metadata())
    button = chrome.find_element(By.CSS_SELECTOR, "form[action='/admin/providers/new'] button[type=submit]")
    button.click()
    wait.until(EC.staleness_of(button))
    assert heading(chrome) == "Not allowed"
    assert not any(p["Arn"].endswith("/Mine") for p in iam.list_saml_providers()["SAMLProviderList"])

    # Every page carries a CSP that forbids inline script, and none has any.
    session = requests.Session()
    for c in chrome.get_cookies():
        session.cookies.set(c["name"], c["value"])
    for path in ["/admin", "/admin/debugger", "/admin/providers/new", "/admin/providers"]:
        r = session.get(url + path, allow_redirects=False, timeout=10)
        assert r.status_code in (200, 403), (path, r.status_code)
        csp = {d.strip().split()[0]: d.strip().split()[1:] for d in r.headers["content-security-policy"].split(";")}
        assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'none'"], csp
        assert "frame-ancestors" in csp and r.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\ssrc=)", r.text), path
        assert not re.search(r"\son[a-z]+=", r.text), path


def test_a_sign_in_refused_after_its_signature_verified_is_in_the_accounts_history(world, chrome):
    service, iam, poster = world["service"], world["iam"], world["poster"]
    url = service.url
    wait = WebDriverWait(chrome, 15)
    strict, loose = Idp("https://strict-idp.test/saml"), Idp("https://loose-idp.test/saml")
    strict_arn = iam.create_saml_provider(Name="Strict", SAMLMetadataDocument=strict.metadata(), Tags=[
        {"Key": "idbroker:RequireSPInitiated", "Value": "true"}])["SAMLProviderArn"]
    loose_arn = iam.create_saml_provider(Name="Loose", SAMLMetadataDocument=loose.metadata())["SAMLProviderArn"]
    strict_role = iam.create_role(RoleName="StrictDev", AssumeRolePolicyDocument=trust(strict_arn))["Role"]["Arn"]
    loose_role = iam.create_role(RoleName="LooseDev", AssumeRolePolicyDocument=trust(loose_arn))["Role"]["Arn"]
    iam_user(iam, "hopper", ADMIN_POLICY)
    sign_in(chrome, url, "hopper")
    # IdP-initiated at a provider that takes SP-initiated sign-ins only; an
    # assertion used already (by AssumeRoleWithSAML).
    used = loose.response(url, loose_role, loose_arn)
    anonymous = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                             config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    anonymous.assume_role_with_saml(RoleArn=loose_role, PrincipalArn=loose_arn, SAMLAssertion=used)
    refused = {}
    for check, response in [("unsolicited", strict.response(url, strict_role, strict_arn)), ("replay", used)]:
        chrome.get(poster.posting(url + "/saml/acs", response))
        wait.until(EC.url_to_be(url + "/saml/acs"))
        assert f"failed check: {check}" in chrome.find_element(By.CSS_SELECTOR, "p[role=alert]").text
        refused[check] = chrome.find_element(By.CSS_SELECTOR, "p.reference code").text.strip()
    # The last error page's link, then the first's: each request id finds its event.
    chrome.find_element(By.LINK_TEXT, "find it in the sign-in history").click()
    wait.until(EC.url_contains("/admin/events"))
    until(lambda: chrome.find_elements(By.CSS_SELECTOR, "ol#events summary") or chrome.refresh(), 3)
    missing = []
    for check, request_id in reversed(refused.items()):
        chrome.get(f"{url}/admin/events?request_id={request_id}")
        shot(chrome, f"admin-18-history-{check}")
        found = chrome.find_elements(By.CSS_SELECTOR, "ol#events summary")
        if not (found and f"({check})" in found[0].text):
            missing.append(f"{check} ({request_id}): " + (found[0].text if found else text(chrome, "no-events")))
    assert not missing, missing


class Overflow(AssertionError):
    """A page wider than the window: it scrolls sideways."""


PHONE_PROVIDER = "AzureAD-Contoso-Production"
# The kind of name AWS IAM Identity Center gives the roles it makes.
PHONE_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"


def test_at_a_phones_width_nothing_scrolls_sideways_and_every_field_is_labelled(world, chrome):
    service, iam = world["service"], world["iam"]
    url = service.url
    wait = WebDriverWait(chrome, 15)
    # A provider as a real one is named, with a metadata URL and a role of a
    # realistic name, and a refused sign-in in its history.
    phone = Idp("https://sts.windows.net/0b5d2e5c-3f39-4a0e-9a43-8f2b1e7c9d10/")
    metadata_url = ("https://login.microsoftonline.com/0b5d2e5c-3f39-4a0e-9a43-8f2b1e7c9d10/federationmetadata/"
                    "2007-06/federationmetadata.xml")
    provider_arn = iam.create_saml_provider(Name=PHONE_PROVIDER, SAMLMetadataDocument=phone.metadata(),
                                            Tags=[{"Key": "idbroker:MetadataURL", "Value": metadata_url}])["SAMLProviderArn"]
    role_arn = iam.create_role(RoleName=PHONE_ROLE, AssumeRolePolicyDocument=trust(provider_arn))["Role"]["Arn"]
    forged = Idp(phone.entity_id).response(url, role_arn, provider_arn)
    chrome.get(world["poster"].posting(url + "/saml/acs", forged))
    wait.until(EC.url_to_be(url + "/saml/acs"))
    refused_id = chrome.find_element(By.CSS_SELECTOR, "p.reference code").text.strip()
    iam_user(iam, "grace", ADMIN_POLICY)
    sign_in(chrome, url, "grace")
    chrome.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    chrome.set_window_size(390, 844)
    if chrome.execute_script("return window.innerWidth") != 390:
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    assert chrome.execute_script("return window.innerWidth") == 390

    def overflow():
        """None when the page fits the window, else what sticks out (the text
        that runs past the right edge: a box may fit while its text does not)."""
        # Every <details> open, as an administrator reading the records has them.
        chrome.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        scroll, inner = chrome.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if scroll <= inner:
            return None
        wide = chrome.execute_script("""
            const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walk.nextNode()) {
              const node = walk.currentNode, range = document.createRange();
              if (!node.textContent.trim()) continue;
              range.selectNodeContents(node);
              const right = range.getBoundingClientRect().right;
              if (right > window.innerWidth + 0.5) {
                const e = node.parentElement;
                out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(right) + 'px: '
                         + node.textContent.trim().slice(0, 60));
              }
            }
            return out.slice(0, 6)""")
        return f"scrollWidth {scroll} > innerWidth {inner}: {wide}"

    def unlabelled():
        return chrome.execute_script("""
            return [...document.querySelectorAll('main input, main textarea, main select')]
              .filter(e => e.type !== 'hidden')
              .filter(e => !e.id || !document.querySelector('label[for="' + e.id + '"]'))
              .map(e => e.outerHTML.slice(0, 120))""")

    # Every admin page at 390 px: each field labelled; what scrolls sideways noted.
    wider = {}
    pages = [("provider", f"/admin/providers/{PHONE_PROVIDER}"), ("events", "/admin/events"), ("overview", "/admin"),
             ("providers", "/admin/providers"), ("new", "/admin/providers/new"),
             ("delete", f"/admin/providers/{PHONE_PROVIDER}/delete"), ("debugger", "/admin/debugger")]
    for number, (label, path) in enumerate(pages):
        chrome.get(url + path)
        if label == "events":
            assert until(lambda: chrome.find_elements(By.CSS_SELECTOR, "ol#events li") or chrome.refresh(), 10)
        if label == "provider":
            assert [li.text for li in chrome.find_elements(By.CSS_SELECTOR, "ul#trusting-roles li")] == [role_arn]
        wider[label] = overflow()
        assert not unlabelled(), (label, unlabelled())
        # Every time shown in the browser's zone, its UTC value in the title.
        untitled = chrome.execute_script("""
            return [...document.querySelectorAll('time[datetime]')]
              .filter(t => t.title !== t.getAttribute('datetime') + ' (UTC)' || t.textContent === t.getAttribute('datetime'))
              .map(t => t.outerHTML)""")
        assert not untitled, (label, untitled)
        chrome.execute_script("window.scrollTo(0, 0)")
        shot(chrome, f"admin-3{number}-phone-{label}")
    # The debugger's report of the refused response, opened from the history.
    chrome.get(f"{url}/admin/events?request_id={refused_id}")
    chrome.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    chrome.find_element(By.LINK_TEXT, "Open this response in the debugger").click()
    wait.until(EC.presence_of_element_located((By.ID, "report")))
    assert text(chrome, "failed-check") == "signature"
    wider["debugger report"] = overflow()
    assert not unlabelled()
    shot(chrome, "admin-37-phone-debugger-report")

    # Times in the browser's zone, with the UTC value on hover.
    chrome.get(url + "/admin/events")
    times = chrome.find_elements(By.CSS_SELECTOR, "ol#events time[datetime]")
    assert times
    for t in times[:5]:
        utc = t.get_attribute("datetime")
        assert t.get_attribute("title") == f"{utc} (UTC)", t.get_attribute("title")
        local = datetime.datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(zoneinfo.ZoneInfo(ZONE))
        clock = {f"{h}:{local.minute:02d}:{local.second:02d}" for h in (local.hour, f"{local.hour:02d}", local.hour % 12 or 12)}
        assert t.text != utc and any(c in t.text for c in clock), (t.text, utc, clock)
    # Pages of 50, newest first; "Older events" goes on where the page ended
    # (boto3's calls are in the history too: 50 of them make a second page).
    for _ in range(50):
        iam.list_saml_providers()
    request_ids = lambda: [c.text for c in chrome.find_elements(By.CSS_SELECTOR, "ol#events code.request-id")]
    assert until(lambda: ids(chrome, "older") or chrome.refresh(), 10), len(request_ids())
    first = request_ids()
    assert len(first) == 50, len(first)
    chrome.find_element(By.ID, "older").click()
    wait.until(EC.url_contains("before="))
    second = request_ids()
    assert second and not set(second) & set(first)
    # The filters, used from the form: refused ConsoleSAMLLogin events only.
    chrome.get(url + "/admin/events")
    chrome.find_element(By.ID, "event").send_keys("ConsoleSAMLLogin")
    Select(chrome.find_element(By.ID, "outcome")).select_by_value("failure")
    chrome.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait.until(EC.url_contains("outcome=failure"))
    summaries = [s.text for s in chrome.find_elements(By.CSS_SELECTOR, "ol#events summary")]
    assert summaries and all("ConsoleSAMLLogin" in s for s in summaries), summaries
    assert any("(signature)" in s for s in summaries), summaries
    chrome.get(url + "/admin/events?user=nobody-at-all")
    assert ids(chrome, "no-events") and not ids(chrome, "older")
    chrome.get(url + "/admin/events?from=yesterday")
    assert chrome.find_element(By.CSS_SELECTOR, "p.error").text and ids(chrome, "no-events")

    # What one without permissions sees: the overview's warnings and a "Not allowed" page.
    iam_user(iam, "mallory")
    sign_in(chrome, url, "mallory")
    for number, (label, path) in enumerate([("overview refused", "/admin"), ("not allowed", "/admin/events")]):
        chrome.get(url + path)
        assert "not authorized" in chrome.find_element(By.CSS_SELECTOR, "main").text
        wider[label] = overflow()
        shot(chrome, f"admin-3{8 + number}-phone-{label.replace(' ', '-')}")

    # Last, the widths: no admin page may scroll sideways.
    wider = {k: v for k, v in wider.items() if v}
    print("pages wider than 390 px:", wider)
    if wider:
        raise Overflow(wider)
