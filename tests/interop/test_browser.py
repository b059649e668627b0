"""End to end in a real headless Chromium (Debian's, driven by its WebDriver):
a directory user signs in at the built-in IdP, picks one of two roles, reads
the credentials off the console page and uses them with boto3. Screenshots of
the login, role picker and console pages land in target/browser-screenshots/."""
import json
import os
import tempfile

import boto3
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ACCOUNT, ROOT

SHOTS = ROOT / "target" / "browser-screenshots"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/idbroker"},
    "Action": "sts:AssumeRoleWithSAML"}]})

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")


@pytest.fixture
def chrome():
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
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "-postgres" if os.environ.get("IDBROKER_TEST_POSTGRES") else ""
    driver.save_screenshot(str(SHOTS / f"{name}{suffix}.png"))


def create_roles(iam):
    for role in ["Dev", "Admin"]:
        try:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
        except iam.exceptions.EntityAlreadyExistsException:
            pass


def sign_in(chrome, url, username, password, screenshot=None):
    chrome.get(url + "/")
    chrome.find_element(By.LINK_TEXT, "Sign in with your company account").click()
    WebDriverWait(chrome, 15).until(EC.presence_of_element_located((By.ID, "username")))
    chrome.find_element(By.ID, "username").send_keys(username)
    chrome.find_element(By.ID, "password").send_keys(password)
    if screenshot:
        shot(chrome, screenshot)
    chrome.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def console_credentials(chrome):
    text = lambda i: chrome.find_element(By.ID, i).text.strip()
    return text("access-key-id"), text("secret-access-key"), text("session-token")


def test_directory_user_picks_a_role_and_uses_the_console_credentials(service, iam, chrome):
    create_roles(iam)
    wait = WebDriverWait(chrome, 15)
    sign_in(chrome, service.url, "alice", "Alpha-Pass-1", screenshot="1-login")
    # The auto-POST page's script sends the response on; the picker follows.
    try:
        wait.until(EC.url_contains("/console/roles"))
    except Exception:
        shot(chrome, "failure")
        raise AssertionError(chrome.current_url + "\n" + chrome.page_source[:3000])
    assert "Choose a role" in chrome.page_source
    shot(chrome, "2-role-picker")
    chrome.find_element(By.CSS_SELECTOR, f"input[value='arn:aws:iam::{ACCOUNT}:role/Dev']").click()
    chrome.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "access-key-id")))
    shot(chrome, "3-console")
    assert chrome.find_element(By.ID, "role-arn").text.strip() == f"arn:aws:iam::{ACCOUNT}:role/Dev"
    key_id, secret, token = console_credentials(chrome)
    assert key_id.startswith("ASIA")
    sts = boto3.client("sts", endpoint_url=service.url, region_name="us-east-1", aws_access_key_id=key_id,
                       aws_secret_access_key=secret, aws_session_token=token)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice"
    # The countdown runs (the page's script loaded under the CSP).
    wait.until(lambda d: "left" in d.find_element(By.ID, "countdown").text)
    # Sign out ends the session: the console sends the browser back to sign-in.
    chrome.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, "Sign in with your company account")))
    chrome.get(service.url + "/console")
    assert "access-key-id" not in chrome.page_source


def test_active_directory_user_in_a_nested_group_gets_working_credentials(ad_service, chrome):
    iam = boto3.client("iam", endpoint_url=ad_service.url, region_name="us-east-1",
                       aws_access_key_id=ad_service.admin["AccessKeyId"],
                       aws_secret_access_key=ad_service.admin["SecretAccessKey"])
    create_roles(iam)
    # carol is in engineering, which is in staff, which is in AWS-111122223333-Dev.
    sign_in(chrome, ad_service.url, "carol", "Charlie-Pass-3")
    WebDriverWait(chrome, 15).until(EC.presence_of_element_located((By.ID, "access-key-id")))
    shot(chrome, "4-console-active-directory")
    key_id, secret, token = console_credentials(chrome)
    sts = boto3.client("sts", endpoint_url=ad_service.url, region_name="us-east-1", aws_access_key_id=key_id,
                       aws_secret_access_key=secret, aws_session_token=token)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/carol"
