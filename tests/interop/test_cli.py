"""The AWS CLI drives idbroker with only --endpoint-url changed."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ACCOUNT


def aws_binary():
    found = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
    return found


@pytest.fixture
def aws(service, admin_creds, tmp_path):
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=admin_creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=admin_creds["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
    )

    def run(*args, check=True):
        out = subprocess.run([aws_binary(), "--endpoint-url", service.url, "--output", "json", *args], env=env, capture_output=True, text=True)
        if check:
            assert out.returncode == 0, out.stderr
        return out

    return run


def test_cli_creates_and_lists(aws, unique, tmp_path):
    user = json.loads(aws("iam", "create-user", "--user-name", f"cli{unique}").stdout)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/cli{unique}"
    names = [u["UserName"] for u in json.loads(aws("iam", "list-users").stdout)["Users"]]
    assert f"cli{unique}" in names
    doc = tmp_path / "policy.json"
    doc.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}))
    policy = json.loads(aws("iam", "create-policy", "--policy-name", f"cli{unique}", "--policy-document", f"file://{doc}").stdout)["Policy"]
    aws("iam", "attach-user-policy", "--user-name", f"cli{unique}", "--policy-arn", policy["Arn"])
    key = json.loads(aws("iam", "create-access-key", "--user-name", f"cli{unique}").stdout)["AccessKey"]
    assert len(key["SecretAccessKey"]) == 40
    png = tmp_path / "qr.png"
    aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", f"cli{unique}", "--outfile", str(png), "--bootstrap-method", "QRCodePNG")
    assert png.read_bytes().startswith(b"\x89PNG")
    me = json.loads(aws("sts", "get-caller-identity").stdout)
    assert me["Arn"].endswith(":user/admin")


def test_cli_reports_aws_errors(aws, unique):
    out = aws("iam", "get-user", "--user-name", f"missing{unique}", check=False)
    assert out.returncode != 0
    assert "NoSuchEntity" in out.stderr
    out = aws("iam", "create-user", "--user-name", "bad name", check=False)
    assert "ValidationError" in out.stderr
    out = aws("iam", "create-role", "--role-name", f"r{unique}", "--assume-role-policy-document", "{not json", check=False)
    assert "MalformedPolicyDocument" in out.stderr


def test_doctor_says_what_is_in_order_and_what_is_not(service, tmp_path):
    """`idbroker doctor` on the running service's settings, then with a master
    key other than the one that sealed the signing keys."""
    ok = subprocess.run([service.binary, "doctor"], env=service.env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for check in ("master key", "database", "signing keys", "IdP certificate", "directory", "public URL"):
        assert f"ok   {check}" in ok.stdout, ok.stdout
    other_key = __import__("base64").b64encode(os.urandom(32)).decode()
    wrong = subprocess.run([service.binary, "doctor"], env=dict(service.env, IDBROKER_MASTER_KEY=other_key),
                           capture_output=True, text=True)
    assert wrong.returncode == 1
    assert "does not open with this master key" in wrong.stdout, wrong.stdout


def test_cli_sets_a_providers_assertion_encryption(aws, unique, tmp_path):
    """AWS's 2025 parameters, as the pinned AWS CLI spells them."""
    from test_saml_boto3 import Idp
    keys = Path(__file__).resolve().parents[1] / "keys" / "encryption"
    metadata = tmp_path / "idp.xml"
    metadata.write_text(Idp(f"https://cli-enc-{unique}.test/saml").metadata())
    arn = json.loads(aws("iam", "create-saml-provider", "--name", f"cli-enc-{unique}",
                         "--saml-metadata-document", f"file://{metadata}",
                         "--assertion-encryption-mode", "Required",
                         "--add-private-key", f"file://{keys / 'sp-a.key'}").stdout)["SAMLProviderArn"]
    got = json.loads(aws("iam", "get-saml-provider", "--saml-provider-arn", arn).stdout)
    assert got["AssertionEncryptionMode"] == "Required" and got["SAMLProviderUUID"]
    [first] = got["PrivateKeyList"]
    assert "PRIVATE KEY" not in json.dumps(got)
    aws("iam", "update-saml-provider", "--saml-provider-arn", arn, "--add-private-key", f"file://{keys / 'sp-b.key'}")
    aws("iam", "update-saml-provider", "--saml-provider-arn", arn, "--remove-private-key", first["KeyId"],
        "--assertion-encryption-mode", "Allowed")
    got = json.loads(aws("iam", "get-saml-provider", "--saml-provider-arn", arn).stdout)
    assert got["AssertionEncryptionMode"] == "Allowed"
    assert [k["KeyId"] for k in got["PrivateKeyList"]] != [first["KeyId"]] and len(got["PrivateKeyList"]) == 1
    out = aws("iam", "update-saml-provider", "--saml-provider-arn", arn, "--assertion-encryption-mode", "Sometimes", check=False)
    assert out.returncode != 0
