"""boto3 drives idbroker's IAM API as it would drive AWS's."""
import base64
import hashlib
import hmac
import json
import struct
import time

import botocore.exceptions
import pytest
from conftest import ACCOUNT, client

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_init_prints_working_credentials(service, admin_creds, sts):
    assert set(admin_creds) == {"AccountId", "UserName", "Arn", "AccessKeyId", "SecretAccessKey", "RootEmail", "RootPassword"}
    assert admin_creds["AccessKeyId"].startswith("AKIA")
    me = sts.get_caller_identity()
    assert me["Account"] == ACCOUNT
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"


def test_init_refuses_an_existing_account_and_adds_another(service, admin_creds):
    again = service.init(ACCOUNT)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    second = service.init("444455556666", "ops")
    assert second.returncode == 0, second.stderr
    creds = json.loads(second.stdout)
    other = client(service, "sts", creds["AccessKeyId"], creds["SecretAccessKey"])
    assert other.get_caller_identity()["Account"] == "444455556666"


def test_users_groups_and_pagination(iam, unique):
    names = [f"u{unique}{i}" for i in range(5)]
    for n in names:
        user = iam.create_user(UserName=n, Path="/interop/", Tags=[{"Key": "team", "Value": "ops"}])["User"]
        assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/interop/{n}"
        assert user["UserId"].startswith("AIDA")
    listed = [u["UserName"] for page in iam.get_paginator("list_users").paginate(PathPrefix="/interop/", PaginationConfig={"PageSize": 2}) for u in page["Users"]]
    assert sorted(set(names) & set(listed)) == sorted(names)
    group = f"g{unique}"
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=names[0])
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [names[0]]
    assert iam.list_groups_for_user(UserName=names[0])["Groups"][0]["GroupName"] == group
    assert iam.list_user_tags(UserName=names[0])["Tags"] == [{"Key": "team", "Value": "ops"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName=names[0])
    assert (error_code(e), status(e)) == ("EntityAlreadyExists", 409)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_group(GroupName=group)
    assert error_code(e) == "DeleteConflict"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName="nobody-" + unique)


def test_paginators_walk_groups_policies_and_authorization_details(iam, unique):
    """boto3's own paginators follow idbroker's keyset Markers to the end."""
    group = f"pg{unique}"
    iam.create_group(GroupName=group)
    names = [f"pm{unique}{i}" for i in range(5)]
    for n in names:
        iam.create_user(UserName=n, Path="/paged/")
        iam.add_user_to_group(GroupName=group, UserName=n)
    small = {"PageSize": 2}
    members = [u["UserName"] for page in iam.get_paginator("get_group").paginate(GroupName=group, PaginationConfig=small) for u in page["Users"]]
    assert members == names
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName=f"pp{unique}", PolicyDocument=document)["Policy"]["Arn"]
    for n in names[:3]:
        iam.attach_user_policy(UserName=n, PolicyArn=arn)
    everything = [p["PolicyName"] for p in iam.list_policies(MaxItems=1000)["Policies"]]
    paged = [p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(PaginationConfig=small) for p in page["Policies"]]
    assert paged == everything and f"pp{unique}" in paged
    attached = [u["UserName"] for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn, PaginationConfig=small) for u in page["PolicyUsers"]]
    assert sorted(attached) == names[:3]
    details = iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig=small).build_full_result()
    listed = [u["UserName"] for u in details["UserDetailList"]]
    assert set(names) <= set(listed) and len(listed) == len(set(listed))
    assert f"pp{unique}" in [p["PolicyName"] for p in details["Policies"]]


def test_roles_and_policies(iam, unique):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"r{unique}", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200)["Role"]
    assert role["RoleId"].startswith("AROA")
    # botocore URL-decodes and parses policy documents.
    assert iam.get_role(RoleName=f"r{unique}")["Role"]["AssumeRolePolicyDocument"] == trust
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
    policy = iam.create_policy(PolicyName=f"p{unique}", PolicyDocument=json.dumps(doc))["Policy"]
    assert policy["DefaultVersionId"] == "v1"
    iam.attach_role_policy(RoleName=f"r{unique}", PolicyArn=policy["Arn"])
    attached = iam.list_attached_role_policies(RoleName=f"r{unique}")["AttachedPolicies"]
    assert attached == [{"PolicyName": f"p{unique}", "PolicyArn": policy["Arn"]}]
    v2 = iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(doc), SetAsDefault=True)
    assert v2["PolicyVersion"]["VersionId"] == "v2"
    got = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v2")["PolicyVersion"]
    assert got["Document"] == doc and got["IsDefaultVersion"]
    iam.put_role_policy(RoleName=f"r{unique}", PolicyName="inline", PolicyDocument=json.dumps(doc))
    assert iam.get_role_policy(RoleName=f"r{unique}", PolicyName="inline")["PolicyDocument"] == doc
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_role_policy(RoleName=f"r{unique}", PolicyName="bad", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}')
    assert (error_code(e), status(e)) == ("MalformedPolicyDocument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName=f"x{unique}", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=99999)
    assert error_code(e) == "ValidationError"
    details = iam.get_account_authorization_details(Filter=["Role"])
    assert any(r["RoleName"] == f"r{unique}" for r in details["RoleDetailList"])
    sim = iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=["iam:GetUser", "iam:CreateUser"])
    assert [r["EvalDecision"] for r in sim["EvaluationResults"]] == ["allowed", "implicitDeny"]


def test_access_keys_and_a_user_without_permission(service, iam, unique, admin_creds):
    name = f"k{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.create_access_key(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_access_key(UserName=name)
    assert (error_code(e), status(e)) == ("LimitExceeded", 409)
    weak = client(service, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        weak.create_user(UserName=f"evil{unique}")
    assert (error_code(e), status(e)) == ("AccessDenied", 403)
    message = e.value.response["Error"]["Message"]
    assert "is not authorized to perform: iam:CreateUser" in message
    # The encoded authorization message decodes with boto3 for the administrator.
    encoded = message.split("Encoded authorization failure message: ")[1]
    admin_sts = client(service, "sts", admin_creds["AccessKeyId"], admin_creds["SecretAccessKey"])
    decoded = json.loads(admin_sts.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["context"]["action"] == "iam:CreateUser" and decoded["allowed"] is False
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    assert any(u["UserName"] == name for u in weak.list_users()["Users"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        weak.delete_user(UserName="admin")
    assert error_code(e) == "AccessDenied"
    last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert last["ServiceName"] == "iam"
    wrong = client(service, "iam", key["AccessKeyId"], "x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        wrong.list_users()
    assert (error_code(e), status(e)) == ("SignatureDoesNotMatch", 403)


def totp(seed, at):
    counter = struct.pack(">Q", int(at) // 30)
    digest = hmac.new(seed, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def test_virtual_mfa_device(iam, unique):
    name = f"m{unique}"
    iam.create_user(UserName=name)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    assert device["QRCodePNG"].startswith(b"\x89PNG")
    seed = base64.b32decode(device["Base32StringSeed"])
    now = time.time()
    # The current step and the one before: two consecutive codes.
    code1, code2 = totp(seed, now - 30), totp(seed, now)
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"], AuthenticationCode1=code1, AuthenticationCode2=code2)
    devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [device["SerialNumber"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    assert error_code(e) == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
    iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])


def metadata(bits):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    import datetime

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interop idp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.interop.example/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.interop.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


def test_saml_providers(iam, unique):
    arn = iam.create_saml_provider(Name=f"Corp{unique}", SAMLMetadataDocument=metadata(2048))["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp{unique}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert "idp.interop.example" in got["SAMLMetadataDocument"]
    assert arn in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_saml_provider(Name=f"Weak{unique}", SAMLMetadataDocument=metadata(1024))
    assert (error_code(e), status(e)) == ("InvalidInput", 400)
    iam.delete_saml_provider(SAMLProviderArn=arn)


def test_account_alias_summary_and_password_policy(iam, unique):
    iam.create_account_alias(AccountAlias=f"corp-{unique}")
    assert iam.list_account_aliases()["AccountAliases"] == [f"corp-{unique}"]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] >= 1 and summary["AccessKeysPerUserQuota"] == 2
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True)
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 12
    name = f"lp{unique}"
    iam.create_user(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_login_profile(UserName=name, Password="short1")
    assert error_code(e) == "PasswordPolicyViolation"
    iam.create_login_profile(UserName=name, Password="long-enough-password-1")
    iam.delete_account_password_policy()
    iam.delete_account_alias(AccountAlias=f"corp-{unique}")
