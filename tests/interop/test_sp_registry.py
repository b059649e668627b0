"""Service providers of the built-in IdP registered at run time by metadata
URL: an operator registers pysaml2's SP metadata served over https (a test
CA that idbroker trusts through server.fetch_ca_file); idbroker fetches it
again every second, takes a changed document, and keeps the last good one
when a refresh fails or would drop the SP's signing certificate, saying so
in ListServiceProviders, /metrics and the audit. The calls are SigV4-signed
by botocore."""
import html
import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from saml2 import BINDING_HTTP_POST
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

from conftest import ACCOUNT, ROOT, Service, until
from https_server import MetadataServer, tls_certificate

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

ENTITY = "https://url-sp.test/metadata"
KEYS = ROOT / "tests" / "keys" / "peers"


def sp_metadata(acs, signs_requests=True):
    config = SPConfig()
    config.load({
        "entityid": ENTITY,
        "key_file": str(KEYS / "rsa2048-a.key"),
        "cert_file": str(KEYS / "rsa2048-a.crt"),
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "service": {"sp": {"endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
                           "authn_requests_signed": signs_requests}},
    })
    return create_metadata_string(None, config=config, sign=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    cert, key = tls_certificate(folder)
    metadata = MetadataServer(cert, key)
    service = Service(config=f'[server]\noperator_accounts = ["{ACCOUNT}"]\nfetch_ca_file = "{cert}"\n'
                             "[idp]\nmetadata_refresh_seconds = 1\n")
    out = service.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    admin = json.loads(out.stdout)
    yield service, metadata, Credentials(admin["AccessKeyId"], admin["SecretAccessKey"])
    metadata.httpd.shutdown()
    assert service.stop() == 0


def call(service, credentials, action, **params):
    """An IAM-style Query call, signed with SigV4 by botocore."""
    body = urlencode({"Action": action, "Version": "2010-05-08", **params})
    request = AWSRequest(method="POST", url=service.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(credentials, "iam", "us-east-1").add_auth(request)
    return requests.post(service.url + "/", data=body, headers=dict(request.headers), timeout=30)


def acs_of_sign_in(service):
    """The ACS an IdP-initiated sign-in of bob to the SP posts to."""
    session = requests.Session()
    session.headers["Origin"] = service.url
    form = session.get(f"{service.url}/idp/login?sp={quote(ENTITY, safe='')}", timeout=10).text
    field = lambda page, name: html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))
    posted = session.post(service.url + "/idp/login", data={
        "csrf": field(form, "csrf"), "request": field(form, "request"),
        "username": "bob", "password": "Bravo-Pass-2"}, timeout=10).text
    return html.unescape(re.search(r'<form[^>]* action="([^"]+)"', posted).group(1))


def test_an_sp_registered_by_url_follows_its_metadata_and_keeps_the_last_good_one(setup):
    service, metadata, credentials = setup
    refused = call(service, credentials, "CreateServiceProvider", MetadataURL=metadata.url.replace("https", "http"))
    assert refused.status_code == 400 and "https" in refused.text, refused.text

    metadata.document = sp_metadata("https://url-sp.test/acs")
    created = call(service, credentials, "CreateServiceProvider", MetadataURL=metadata.url)
    assert created.status_code == 200, created.text
    assert acs_of_sign_in(service) == "https://url-sp.test/acs"

    # The SP moves its ACS: picked up by the next refresh, with no one acting.
    metadata.document = sp_metadata("https://url-sp.test/acs-2")
    assert until(lambda: acs_of_sign_in(service) == "https://url-sp.test/acs-2")

    # A broken document, then one without the signing certificate: the last good one stays.
    listed = lambda: call(service, credentials, "ListServiceProviders").text
    metadata.document = b"<html>maintenance</html>"
    assert until(lambda: "<RefreshError>" in listed()), listed()
    assert acs_of_sign_in(service) == "https://url-sp.test/acs-2"
    metadata.document = sp_metadata("https://evil.test/acs", signs_requests=False)
    assert until(lambda: "signing certificate" in listed()), listed()
    assert acs_of_sign_in(service) == "https://url-sp.test/acs-2"
    assert "<SignsRequests>true</SignsRequests>" in listed()

    metrics = requests.get(service.url + "/metrics", timeout=10).text
    failures = re.search(r'idbroker_metadata_refresh_failures_total\{subject="https://url-sp.test/metadata"\} (\d+)',
                         metrics)
    assert failures and int(failures.group(1)) >= 2, metrics

    # Good again: the error clears.
    metadata.document = sp_metadata("https://url-sp.test/acs-2")
    assert until(lambda: "<RefreshError>" not in listed()), listed()
