"""`idbroker login` and `idbroker credential-process` end to end, as an
employee and a CI job would use them: the real binary against a running
idbroker and the test OpenLDAP; Debian's Chromium plays the employee's
browser (opened through $BROWSER, as a desktop would open it); the AWS CLI
and boto3 read what the command wrote. Screenshots land in
target/browser-screenshots/."""
import datetime
import json
import os
import re
import stat
import subprocess
import threading
import time

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ACCOUNT, create_roles, shot, until

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

DEV = f"arn:aws:iam::{ACCOUNT}:role/Dev"
ALICE = ("alice", "Alpha-Pass-1")


class Home:
    """A user's home with no AWS files yet, and a $BROWSER that records each
    URL it is asked to open (the test's browser then visits it)."""

    def __init__(self, tmp_path, service):
        self.path = tmp_path
        self.service = service
        self.opened_file = tmp_path / "opened"
        opener = tmp_path / "open-browser"
        opener.write_text(f'#!/bin/sh\necho "$1" >> "{self.opened_file}"\n')
        opener.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            HOME=str(tmp_path),
            BROWSER=str(opener),
            XDG_CACHE_HOME=str(tmp_path / "cache"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws" / "credentials"),
            AWS_CONFIG_FILE=str(tmp_path / "aws" / "config"),
        )

    def opened(self):
        return self.opened_file.read_text().split() if self.opened_file.exists() else []

    def idbroker(self, *args, **kw):
        return [self.service.binary, *args, "--url", self.service.url]

    def aws(self, *args):
        out = subprocess.run(["aws", *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture
def home(tmp_path, service, iam):
    create_roles(iam)
    return Home(tmp_path, service)


def wait_for(condition, seconds=30, what="condition"):
    value = until(condition, seconds)
    assert value, f"timed out waiting for {what}"
    return value


def approve(chrome, url=None, role=DEV, screenshot=None):
    """At `url` (or where the browser is): signs alice in if the browser has
    no fresh sign-in, then allows `role` on the approval page."""
    if url:
        chrome.get(url)
    wait = WebDriverWait(chrome, 20)
    wait.until(lambda d: d.find_elements(By.ID, "username") or "Allow the command line?" in d.page_source)
    if chrome.find_elements(By.ID, "username"):
        chrome.find_element(By.ID, "username").send_keys(ALICE[0])
        chrome.find_element(By.ID, "password").send_keys(ALICE[1])
        chrome.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        try:
            wait.until(lambda d: "Allow the command line?" in d.page_source)
        except Exception:
            raise AssertionError(chrome.current_url + "\n" + chrome.page_source[:3000])
    if screenshot:
        shot(chrome, screenshot)
    chrome.find_element(By.CSS_SELECTOR, f"input[value='{role}']").click()
    chrome.find_element(By.CSS_SELECTOR, "button[value=allow]").click()


def test_login_in_the_browser_writes_a_profile_the_aws_cli_uses(home, chrome):
    # A profile the user already has stays as it was.
    aws_dir = home.path / "aws"
    aws_dir.mkdir()
    (aws_dir / "credentials").write_text("[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n")
    proc = subprocess.Popen(home.idbroker("login", "--profile", "dev"), env=home.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = wait_for(lambda: home.opened(), what="the browser to be opened")[0]
    assert url.startswith(home.service.url + "/cli/authorize?")
    approve(chrome, url, screenshot="cli-1-approve")
    WebDriverWait(chrome, 20).until(lambda d: "return to your terminal" in d.page_source)
    shot(chrome, "cli-2-loopback")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Waiting for the browser" in err and "Profile `dev` written" in err

    credentials = (aws_dir / "credentials").read_text()
    assert "[other]\naws_access_key_id = AKIAOTHER" in credentials
    assert stat.S_IMODE((aws_dir / "credentials").stat().st_mode) == 0o600
    # The AWS CLI finds idbroker from the profile alone: no --endpoint-url.
    me = home.aws("--profile", "dev", "sts", "get-caller-identity")
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"


def test_login_with_a_device_code_needs_no_browser_on_the_machine(home, chrome):
    proc = subprocess.Popen(home.idbroker("login", "--profile", "dev2", "--no-browser", "--role", DEV),
                            env=home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shown = []
    reader = threading.Thread(target=lambda: shown.extend(proc.stderr), daemon=True)
    reader.start()
    code = wait_for(lambda: next((m.group(1) for line in shown
                                  for m in [re.search(r"enter the code\s+([A-Z]{4}-[A-Z]{4})", line)] if m), None),
                    what="the user code")
    assert not home.opened(), "no browser is opened with --no-browser"
    chrome.get(home.service.url + "/cli/device")
    shot(chrome, "cli-3-device")
    chrome.find_element(By.ID, "user_code").send_keys(code.lower())
    chrome.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    approve(chrome)
    WebDriverWait(chrome, 20).until(lambda d: "Command line signed in" in d.page_source)
    assert proc.wait(timeout=60) == 0, "".join(shown)
    me = home.aws("--profile", "dev2", "sts", "get-caller-identity")
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"


def expire_cache(home):
    """Makes the cached credentials look as if their hour had passed."""
    (kept,) = list((home.path / "cache" / "idbroker").glob("*.json"))
    data = json.loads(kept.read_text())
    data["Expiration"] = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60)) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    kept.write_text(json.dumps(data))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def credential_process_client(home, *sign_in):
    command = " ".join([home.service.binary, "credential-process", "--url", home.service.url, "--role", DEV,
                        "--duration", "900", *sign_in])
    config = home.path / "aws" / "config"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f"[profile cp]\ncredential_process = {command}\nendpoint_url = {home.service.url}\n"
                      "region = us-east-1\n")
    os.environ.update({k: v for k, v in home.env.items() if k.startswith("AWS_") or k in ("BROWSER", "XDG_CACHE_HOME")})
    session = boto3.Session(profile_name="cp")
    return session, session.client("sts")


@pytest.fixture
def aws_environment():
    """credential_process runs with the test process's environment: no AWS
    settings of the machine's, and restored after."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_a_boto3_client_on_credential_process_signs_in_again_by_itself(home, chrome, aws_environment):
    # The employee's browser answers each sign-in the command opens.
    stop = threading.Event()

    def browser():
        seen = 0
        while not stop.is_set():
            urls = home.opened()
            if len(urls) > seen:
                approve(chrome, urls[seen])
                seen += 1
            time.sleep(0.2)

    bot = threading.Thread(target=browser, daemon=True)
    bot.start()
    try:
        session, sts = credential_process_client(home)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
        first = session.get_credentials().get_frozen_credentials().access_key
        # Within the credentials' life the cache answers: no new sign-in.
        sts.get_caller_identity()
        assert len(home.opened()) == 1
        expire_cache(home)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
        assert len(home.opened()) == 2
        assert session.get_credentials().get_frozen_credentials().access_key != first
    finally:
        stop.set()
        bot.join(timeout=30)


def test_a_ci_job_on_credential_process_with_a_password_file_needs_no_one(home, aws_environment):
    secret = home.path / "password"
    secret.write_text(ALICE[1] + "\n")
    secret.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        credential_process_client(home, "--username", "alice", "--password-file", str(secret))
    secret.chmod(0o600)
    session, sts = credential_process_client(home, "--username", "alice", "--password-file", str(secret))
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
    first = session.get_credentials().get_frozen_credentials().access_key
    expire_cache(home)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
    assert session.get_credentials().get_frozen_credentials().access_key != first
    # The AWS CLI reads the same profile, from the cache.
    me = home.aws("--profile", "cp", "sts", "get-caller-identity")
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
    assert not home.opened()


def run(home, *args, stdin=""):
    return subprocess.run(home.idbroker(*args), env=home.env, input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_a_ci_job_signs_in_with_a_password_on_stdin_and_each_failure_says_why(home):
    out = run(home, "login", "--username", "alice", "--password-stdin", "--role", DEV, "--format", "env",
              stdin=ALICE[1] + "\n")
    assert out.returncode == 0, out.stderr
    exports = dict(re.findall(r"export (\w+)='([^']*)'", out.stdout))
    assert exports["AWS_ENDPOINT_URL"] == home.service.url
    sts = boto3.client("sts", endpoint_url=exports["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                       aws_session_token=exports["AWS_SESSION_TOKEN"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"

    wrong = run(home, "login", "--username", "alice", "--password-stdin", stdin="wrong\n")
    assert wrong.returncode == 3 and "was not accepted" in wrong.stderr
    # Two roles and no terminal to ask at: the roles are listed.
    several = run(home, "login", "--username", "alice", "--password-stdin", stdin=ALICE[1] + "\n")
    assert several.returncode == 6, several.stderr
    assert DEV in several.stderr and f"arn:aws:iam::{ACCOUNT}:role/Admin" in several.stderr
    too_long = run(home, "login", "--username", "alice", "--password-stdin", "--role", DEV, "--duration", "43200",
                   stdin=ALICE[1] + "\n")
    assert too_long.returncode == 1 and "MaxSessionDuration" in too_long.stderr, too_long.stderr
    # A password is never taken from the command line.
    assert run(home, "login", "--username", "alice", "--password", "x").returncode == 2
    unreachable = subprocess.run([home.service.binary, "login", "--url", "http://127.0.0.1:9", "--no-browser"],
                                 env=home.env, capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 7 and "cannot reach idbroker" in unreachable.stderr
    tls = subprocess.run([home.service.binary, "login", "--url", home.service.url.replace("http:", "https:"),
                          "--no-browser"], env=home.env, capture_output=True, text=True, timeout=60)
    assert tls.returncode == 8 and "TLS" in tls.stderr, tls.stderr


def test_at_a_terminal_the_roles_are_offered_grouped_by_account(home):
    """In a terminal (a pseudo-terminal here) the command asks which role."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.execve(home.service.binary, home.idbroker("login", "--username", "alice", "--password-stdin",
                                                     "--profile", "picked"), home.env)
    seen = b""

    def read_until(marker, seconds=30):
        nonlocal seen
        deadline = time.time() + seconds
        while marker not in seen and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        return marker in seen

    os.write(fd, (ALICE[1] + "\n").encode())
    assert read_until(b"Role number: "), seen.decode(errors="replace")
    listing = seen.decode(errors="replace")
    assert f"Account {ACCOUNT}" in listing and "Admin" in listing and DEV in listing, listing
    number = re.search(r"(\d+)\) Dev ", listing).group(1)
    os.write(fd, (number + "\n").encode())
    read_until(b"written")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    me = home.aws("--profile", "picked", "sts", "get-caller-identity")
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"


def test_a_throttled_sign_in_has_its_own_exit_code(tmp_path):
    """On a service of its own (so no other test's sign-ins count): after two
    wrong passwords the third attempt is throttled, exit code 5."""
    from conftest import Service

    service = Service(config="[idp]\nmax_failures_per_user = 2\n")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = str(tmp_path)
        login = lambda password: subprocess.run(
            [service.binary, "login", "--url", service.url, "--username", "bob", "--password-stdin"],
            env=env, input=password + "\n", capture_output=True, text=True, timeout=60)
        assert [login("wrong").returncode for _ in range(2)] == [3, 3]
        throttled = login("Bravo-Pass-2")
        assert throttled.returncode == 5 and "too many failed sign-ins" in throttled.stderr, throttled.stderr
    finally:
        assert service.stop() == 0
