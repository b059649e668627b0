"""End to end in a real headless Chromium (Debian's, driven by its WebDriver):
a directory user signs in at the built-in IdP, picks one of two roles, reads
the credentials off the console page and uses them with boto3. Screenshots of
the login, role picker and console pages land in target/browser-screenshots/."""
import os

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ACCOUNT, create_roles, shot

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")


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
