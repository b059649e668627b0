"""boto3 uses idbroker's STS and the temporary credentials it hands out."""
import json

import boto3
import botocore.exceptions
import pytest
from conftest import ACCOUNT, client


def session_client(service, kind, creds):
    return boto3.client(
        kind,
        endpoint_url=service.url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_assume_role_and_use_the_credentials(service, iam, unique):
    user = f"sts{unique}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}, "Action": "sts:AssumeRole"}]}
    role = f"role{unique}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}))
    sts = client(service, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="boto", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/boto"
    me = session_client(service, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/boto"
    role_iam = session_client(service, "iam", creds)
    assert any(u["UserName"] == user for u in role_iam.list_users()["Users"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        role_iam.create_user(UserName=f"no{unique}")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="boto", DurationSeconds=7200)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == ACCOUNT


def test_session_and_federation_tokens(service, sts, unique):
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert session_client(service, "sts", creds).get_caller_identity()["Arn"].endswith(":user/admin")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    fed = sts.get_federation_token(Name=f"f{unique}", Policy=policy)
    assert fed["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/f{unique}"
    me = session_client(service, "sts", fed["Credentials"]).get_caller_identity()
    assert me["Arn"] == fed["FederatedUser"]["Arn"]
