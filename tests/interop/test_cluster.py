"""Three nodes behind HAProxy sharing only PostgreSQL and the master key
(scripts/cluster.sh), and the faults they must survive: a key rolled over on
all of them without a restart, a node killed (-9) in the middle of a burst of
AssumeRoleWithSAML, PostgreSQL stopped and started, a node whose clock is
three minutes ahead. Each asserts that nothing acknowledged is lost and
nothing is accepted twice. Bounded: a few hundred requests, seconds of outage.
"""
import collections
import concurrent.futures
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests

from conftest import ACCOUNT, ROOT, directory_env
from test_saml_boto3 import Idp

pytestmark = [
    pytest.mark.skipif(not shutil.which("haproxy"), reason="needs haproxy (scripts/setup.sh --test)"),
    # The cluster runs its own PostgreSQL; once is enough.
    pytest.mark.skipif(bool(os.environ.get("IDBROKER_TEST_POSTGRES")), reason="runs once, on its own PostgreSQL"),
]

SCRIPT = str(ROOT / "scripts/cluster.sh")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ClusterSaml"
BURST = 150


class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="idbroker-cluster-")
        env = dict(os.environ, IDBROKER_BIN=os.environ.get("IDBROKER_BIN", str(ROOT / "target/debug/idbroker")))
        if shutil.which("faketime"):
            # Node 3's clock runs three minutes ahead of the others'.
            env["NODE_ENV_3"] = "env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f +180s"
        # The suite's OpenLDAP, when there is one, is every node's directory.
        env.update(directory_env("OPENLDAP"))
        self.env = env
        self.run("start", self.dir)
        values = dict(line.split("=", 1) for line in Path(self.dir, "cluster.env").read_text().split())
        self.values = values
        self.front = f"http://127.0.0.1:{values['FRONT_PORT']}"
        self.nodes = [f"http://127.0.0.1:{values[f'NODE_{n}_PORT']}" for n in (1, 2, 3)]
        self.admin = json.loads(Path(self.dir, "admin.json").read_text())

    def run(self, *args):
        subprocess.run([SCRIPT, *args], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def client(self, kind, url=None, attempts=3, creds=None):
        creds = creds or {"aws_access_key_id": self.admin["AccessKeyId"], "aws_secret_access_key": self.admin["SecretAccessKey"]}
        config = botocore.config.Config(retries={"total_max_attempts": attempts, "mode": "standard"}, connect_timeout=5, read_timeout=20)
        return boto3.client(kind, endpoint_url=url or self.front, region_name="us-east-1", config=config, **creds)

    def cli(self, *args):
        """An idbroker command on the cluster's database (as an operator would run it)."""
        env = dict(os.environ, IDBROKER__SERVER__DATA_DIR=f"{self.dir}/cli", IDBROKER__DATABASE__URL=self.values["DATABASE_URL"],
                   IDBROKER_MASTER_KEY=self.values["MASTER_KEY"], IDBROKER__LOG__LEVEL="warn")
        return subprocess.run([self.env["IDBROKER_BIN"], *args], env=env, check=True, capture_output=True, text=True).stdout

    def sql(self, query):
        out = subprocess.run(["psql", "-qtA", self.values["DATABASE_URL"], "-c", query], check=True, capture_output=True, text=True)
        return [line for line in out.stdout.splitlines() if line]


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def until(check, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.run("stop", c.dir)
    shutil.rmtree(c.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def saml(cluster):
    """An external IdP registered through the front, and a role that trusts it."""
    idp = Idp("https://idp.cluster.test/saml")
    iam = cluster.client("iam")
    provider = iam.create_saml_provider(Name="ClusterIdp", SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]}
    iam.create_role(RoleName="ClusterSaml", AssumeRolePolicyDocument=json.dumps(trust))
    return idp, provider


def exchange(url, idp_response, provider):
    """AssumeRoleWithSAML at `url` without retries: (status, code or None)."""
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                       config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=20, signature_version=botocore.UNSIGNED))
    try:
        sts.assume_role_with_saml(RoleArn=ROLE, PrincipalArn=provider, SAMLAssertion=idp_response)
        return 200, None
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError) as e:
        return None, type(e).__name__


def successes_by_session(cluster):
    """How many times each RoleSessionName got credentials, from the audit trail."""
    bodies = cluster.sql("SELECT body FROM audit_events WHERE event_name = 'AssumeRoleWithSAML' AND error_code IS NULL")
    return collections.Counter(json.loads(b)["userIdentity"].get("roleSessionName") for b in bodies)


def test_nodes_in_empty_folders_share_only_the_database_and_the_master_key(cluster):
    for n in (1, 2, 3):
        assert os.listdir(f"{cluster.dir}/node{n}") == [], "nothing written to a node's folder"
    jwks = {get(node + "/.well-known/jwks.json")[1] for node in cluster.nodes}
    assert len(jwks) == 1
    # A key rotated with the command is announced, then used, by every node; no restart.
    kid = cluster.cli("keys", "publish", "token").strip()
    assert until(lambda: all(kid in get(n + "/.well-known/jwks.json")[1] for n in cluster.nodes), 5)
    cluster.cli("keys", "activate", kid)
    def signed_with_new_key():
        for node in cluster.nodes:
            token = cluster.client("sts", node).get_session_token()["Credentials"]["SessionToken"]
            header = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))
            if header["kid"] != kid:
                return False
        return True
    assert until(signed_with_new_key, 5)
    cluster.client("sts").get_caller_identity()


def test_a_node_killed_in_a_burst_loses_nothing_and_accepts_nothing_twice(cluster, saml):
    idp, provider = saml
    responses = [idp.response(cluster.front, ROLE, provider, session=f"burst-{i}") for i in range(BURST)]
    outcomes = [None] * BURST
    sent = threading.Semaphore(0)

    def send(i):
        sent.release()
        outcomes[i] = exchange(cluster.front, responses[i], provider)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(send, i) for i in range(BURST)]
        for _ in range(BURST // 3):
            sent.acquire()
        cluster.run("kill-node", cluster.dir, "2")
        concurrent.futures.wait(futures, timeout=120)
    succeeded = [i for i, o in enumerate(outcomes) if o and o[0] == 200]
    assert len(succeeded) > BURST // 2, outcomes
    # Every response that got credentials is refused on replay at every node left.
    for i in succeeded[:: max(1, len(succeeded) // 20)]:
        for node in (cluster.nodes[0], cluster.nodes[2]):
            assert exchange(node, responses[i], provider) == (400, "InvalidIdentityToken")
    # Those that failed with the node may or may not have been used: sent again,
    # each gets credentials at most once overall.
    for i, o in enumerate(outcomes):
        if not o or o[0] != 200:
            exchange(cluster.nodes[0], responses[i], provider)
    counts = successes_by_session(cluster)
    assert max(counts.values()) == 1, [s for s, n in counts.items() if n > 1]
    assert all(counts[f"burst-{i}"] == 1 for i in succeeded)
    # The node starts again and serves.
    cluster.run("start-node", cluster.dir, "2")
    cluster.client("sts", cluster.nodes[1]).get_caller_identity()


def test_postgresql_stopped_fails_fast_and_recovers_without_a_restart(cluster):
    node = cluster.nodes[0]
    iam = cluster.client("iam", node, attempts=1)
    iam.get_user(UserName="admin")
    cluster.run("pg-stop", cluster.dir)
    try:
        assert until(lambda: get(node + "/readyz")[0] == 503, 10), "/readyz stays 200 without a database"
        started = time.time()
        with pytest.raises(botocore.exceptions.ClientError) as e:
            iam.get_user(UserName="admin")
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert time.time() - started < 5, "a request must fail fast, not hang"
    finally:
        cluster.run("pg-start", cluster.dir)
    assert until(lambda: get(node + "/readyz")[0] == 200, 20)
    iam.get_user(UserName="admin")
    # The proxy takes its nodes back after two good health checks.
    assert until(lambda: get(cluster.front + "/readyz")[0] == 200, 20)
    cluster.client("iam").create_user(UserName="after-restart")


@pytest.mark.skipif(not shutil.which("faketime"), reason="needs faketime (scripts/setup.sh --test)")
def test_each_node_judges_by_its_own_clock_and_shows_its_skew(cluster, saml):
    idp, provider = saml
    ahead = cluster.nodes[2]
    def skew(node):
        metrics = get(node + "/metrics")[1]
        line = next(l for l in metrics.splitlines() if l.startswith("idbroker_clock_skew_seconds "))
        return float(line.split()[1])
    assert until(lambda: abs(skew(ahead) - 180) < 10, 15), skew(ahead)
    assert abs(skew(cluster.nodes[0])) < 10
    now = datetime.datetime.now(datetime.timezone.utc)
    # (AWS answers ExpiredTokenException for any time-window refusal.)
    # Issued 260 s ago, valid 5 minutes: still good here, expired (beyond the
    # 120 s allowance) on the node whose clock is 3 minutes ahead.
    old = lambda name: idp.response(cluster.front, ROLE, provider, session=name, now=now - datetime.timedelta(seconds=260))
    assert exchange(ahead, old("skew-old-ahead"), provider) == (400, "ExpiredTokenException")
    assert exchange(cluster.nodes[0], old("skew-old-here"), provider) == (200, None)
    # From an IdP whose clock is 4 minutes ahead: too early here, fine there.
    early = lambda name: idp.response(cluster.front, ROLE, provider, session=name, now=now + datetime.timedelta(seconds=260))
    assert exchange(cluster.nodes[0], early("skew-early-here"), provider) == (400, "ExpiredTokenException")
    assert exchange(ahead, early("skew-early-ahead"), provider) == (200, None)


def directory_login(cluster, username, password):
    """The built-in IdP's login through the proxy, as a browser: (status, page)."""
    browser = requests.Session()
    form = browser.get(cluster.front + "/idp/login", timeout=10).text
    field = lambda name: form.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]
    answer = browser.post(cluster.front + "/idp/login", timeout=20, headers={"Origin": cluster.front},
                          data={"csrf": field("csrf"), "request": field("request"), "username": username, "password": password})
    return answer.status_code, answer.text


@pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the suite's OpenLDAP (scripts/test.sh)")
def test_the_directory_stopped_and_started(cluster):
    assert directory_login(cluster, "alice", "Alpha-Pass-1")[0] == 200
    openldap = [str(ROOT / "scripts/openldap.sh")]
    subprocess.run(openldap + ["stop"], check=True, capture_output=True)
    try:
        status, page = directory_login(cluster, "alice", "Alpha-Pass-1")
        assert status == 503 and "Directory unavailable" in page, page
        # The API does not need the directory.
        cluster.client("sts").get_caller_identity()
    finally:
        subprocess.run(openldap + ["start"], check=True, capture_output=True)
    # Sign-ins work again without restarting anything.
    assert until(lambda: directory_login(cluster, "alice", "Alpha-Pass-1")[0] == 200, 20)
