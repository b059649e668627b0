"""idbroker behind a real reverse proxy (HAProxy, Debian) on loopback, with
`server.trusted_proxies` naming it: the client's own address, from the
proxy's X-Forwarded-For, is what policies (`aws:SourceIp`) and the audit
see; a client cannot choose its address by sending the header itself.

Clients connect from 127.0.0.2 and 127.0.0.3 (all of 127/8 is loopback);
the proxy reaches idbroker from 127.0.0.1.
"""
import http.client
import json
import shutil
import sqlite3
import subprocess
import tempfile
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCOUNT, Service, client, free_port

pytestmark = pytest.mark.skipif(not shutil.which("haproxy"), reason="needs haproxy (scripts/setup.sh --test)")

HAPROXY_CFG = """
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend edge
  bind 127.0.0.1:{front}
  option forwardfor
  default_backend idbroker
backend idbroker
  server node1 127.0.0.1:{back}
"""


@pytest.fixture(scope="module")
def behind_proxy():
    service = Service(directory={"IDBROKER__SERVER__TRUSTED_PROXIES": '["127.0.0.1/32"]'})
    creds = json.loads(service.init(ACCOUNT).stdout)
    front = free_port()
    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write(HAPROXY_CFG.format(front=front, back=service.port))
    cfg.close()
    proxy = subprocess.Popen(["haproxy", "-db", "-f", cfg.name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", front, timeout=1).request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.1)
    yield service, creds, front
    proxy.terminate()
    proxy.wait(timeout=10)
    assert service.stop() == 0


def signed_call(port, source, key_id, secret, body, extra_headers=()):
    """A SigV4-signed IAM call sent from the loopback address `source`, with
    `extra_headers` added after signing (a proxy rewrites them)."""
    url = f"http://127.0.0.1:{port}/"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials(key_id, secret), "iam", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=10)
    conn.request("POST", "/", body=body, headers={**dict(request.headers.items()), **dict(extra_headers)})
    response = conn.getresponse()
    return response.status, response.read().decode()


def source_addresses(service, event_name):
    """sourceIPAddress of the stored audit events named so, oldest first."""
    url = service.env["IDBROKER__DATABASE__URL"]
    sql = f"SELECT body FROM audit_events WHERE event_name = '{event_name}' ORDER BY id"
    if url.startswith("sqlite://"):
        with sqlite3.connect(url[len("sqlite://"):]) as db:
            bodies = [row[0] for row in db.execute(sql)]
    else:
        bodies = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True, check=True).stdout.splitlines()
    return [json.loads(b)["sourceIPAddress"] for b in bodies]


def test_policies_and_audit_see_the_client_behind_the_proxy(behind_proxy):
    service, creds, front = behind_proxy
    iam = client(service, "iam", creds["AccessKeyId"], creds["SecretAccessKey"])
    iam.create_user(UserName="office")
    only_from_2 = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
                       "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.2/32"}}}],
    }
    iam.put_user_policy(UserName="office", PolicyName="office-only", PolicyDocument=json.dumps(only_from_2))
    key = iam.create_access_key(UserName="office")["AccessKey"]
    call = lambda source, *extra: signed_call(
        front, source, key["AccessKeyId"], key["SecretAccessKey"], "Action=GetUser&Version=2010-05-08", extra)

    status, body = call("127.0.0.2")
    assert status == 200, body
    status, body = call("127.0.0.3")
    assert status == 403 and "AccessDenied" in body, body
    # The header sent by the client is kept left of what the proxy appends.
    status, body = call("127.0.0.3", ("X-Forwarded-For", "127.0.0.2"))
    assert status == 403 and "AccessDenied" in body, body

    deadline = time.time() + 10
    while len(seen := source_addresses(service, "GetUser")) < 3 and time.time() < deadline:
        time.sleep(0.1)
    assert seen == ["127.0.0.2", "127.0.0.3", "127.0.0.3"]


def test_a_client_that_is_not_a_trusted_proxy_is_its_own_address(behind_proxy):
    service, creds, _ = behind_proxy
    # Straight to idbroker from 127.0.0.3, claiming to relay 127.0.0.2.
    status, body = signed_call(
        service.port, "127.0.0.3", creds["AccessKeyId"], creds["SecretAccessKey"],
        "Action=GetAccountSummary&Version=2010-05-08", [("X-Forwarded-For", "127.0.0.2")])
    assert status == 200, body
    deadline = time.time() + 10
    while not (seen := source_addresses(service, "GetAccountSummary")) and time.time() < deadline:
        time.sleep(0.1)
    assert seen == ["127.0.0.3"]
