"""Starts the real idbroker binary for the interoperability suite.

IDBROKER_BIN names the binary (default target/debug/idbroker). The database is
SQLite in a temporary folder, or, when IDBROKER_TEST_POSTGRES holds an admin
URL, a fresh PostgreSQL database created for the session.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(tmp):
    admin = os.environ.get("IDBROKER_TEST_POSTGRES")
    if not admin:
        return f"sqlite://{tmp}/idbroker.db"
    name = "interop_" + uuid.uuid4().hex
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    return admin.rsplit("/", 1)[0] + "/" + name


def directory_env(prefix, **extra):
    """The test directory whose settings scripts/test.sh exported under
    `prefix` (OPENLDAP, SAMBA_AD), as idbroker settings; {} without one."""
    if not os.environ.get(f"{prefix}_URL"):
        return {}
    var = lambda name: os.environ[f"{prefix}_{name}"]
    return dict(
        IDBROKER__DIRECTORY__URL=var("URL"),
        IDBROKER__DIRECTORY__STARTTLS="true",
        IDBROKER__DIRECTORY__CA_FILE=var("CA_CERT"),
        IDBROKER__DIRECTORY__BIND_DN=var("SERVICE_DN"),
        IDBROKER__DIRECTORY__BIND_PASSWORD=var("SERVICE_PASSWORD"),
        IDBROKER__DIRECTORY__USER_BASE_DN=var("PEOPLE_DN"),
        IDBROKER__DIRECTORY__GROUP_BASE_DN=var("GROUPS_DN"),
        **extra,
    )


class Service:
    def __init__(self, directory=None, config=None):
        """`config`: the text of a configuration file, for what the
        environment cannot say (lists of tables)."""
        self.tmp = tempfile.mkdtemp(prefix="idbroker-interop-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            IDBROKER__SERVER__LISTEN=f"127.0.0.1:{self.port}",
            IDBROKER__SERVER__PUBLIC_URL=self.url,
            IDBROKER__SERVER__DATA_DIR=f"{self.tmp}/data",
            IDBROKER__DATABASE__URL=database_url(self.tmp),
            IDBROKER__LOG__LEVEL="warn",
        )
        self.env.update(directory_env("OPENLDAP") if directory is None else directory)
        self.binary = os.environ.get("IDBROKER_BIN", str(ROOT / "target/debug/idbroker"))
        self.log = open(f"{self.tmp}/serve.log", "w")
        command = [self.binary, "serve"]
        if config is not None:
            Path(f"{self.tmp}/idbroker.toml").write_text(config)
            command += ["--config", f"{self.tmp}/idbroker.toml"]
        self.proc = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("idbroker did not become ready: " + open(f"{self.tmp}/serve.log").read())

    def init(self, account_id, admin_user="admin"):
        out = subprocess.run(
            [self.binary, "init", "--account-id", account_id, "--admin-user", admin_user],
            env=self.env, capture_output=True, text=True,
        )
        return out

    def stop(self):
        self.proc.terminate()
        code = self.proc.wait(timeout=20)
        self.log.close()
        return code


@pytest.fixture(scope="session")
def service():
    s = Service()
    yield s
    assert s.stop() == 0, "idbroker did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="session")
def ad_service():
    """A second idbroker whose directory is the test Samba AD, with an account."""
    if not os.environ.get("SAMBA_AD_URL"):
        pytest.skip("needs the test Samba AD (scripts/test.sh)")
    s = Service(directory_env("SAMBA_AD", IDBROKER__DIRECTORY__KIND="active_directory"))
    out = s.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    s.admin = json.loads(out.stdout)
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="session")
def admin_creds(service):
    out = service.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    creds = json.loads(out.stdout)
    return creds


def client(service, kind, key_id, secret):
    return boto3.client(
        kind,
        endpoint_url=service.url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="session")
def iam(service, admin_creds):
    return client(service, "iam", admin_creds["AccessKeyId"], admin_creds["SecretAccessKey"])


@pytest.fixture(scope="session")
def sts(service, admin_creds):
    return client(service, "sts", admin_creds["AccessKeyId"], admin_creds["SecretAccessKey"])


@pytest.fixture
def unique():
    return uuid.uuid4().hex[:10]


SHOTS = ROOT / "target" / "browser-screenshots"
TRUST_IDBROKER = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/idbroker"},
    "Action": "sts:AssumeRoleWithSAML"}]})


@pytest.fixture
def chrome():
    """Debian's Chromium, headless, with a profile of its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService
    profile = tempfile.mkdtemp(prefix="idbroker-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1000,1300"]:
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=opts)
    yield driver
    driver.quit()


def shot(driver, name):
    """A screenshot under target/browser-screenshots/, one per database."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "-postgres" if os.environ.get("IDBROKER_TEST_POSTGRES") else ""
    driver.save_screenshot(str(SHOTS / f"{name}{suffix}.png"))


def create_roles(iam, names=("Dev", "Admin")):
    """Roles that trust the built-in IdP (the test directory maps alice to both)."""
    for role in names:
        try:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_IDBROKER)
        except iam.exceptions.EntityAlreadyExistsException:
            pass


def until(check, seconds=20):
    """`check()`'s first truthy value within `seconds`, else None."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return None
