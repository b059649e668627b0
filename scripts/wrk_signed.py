"""Prints a wrk Lua script that sends one request signed by botocore, exactly as
boto3 would sign it (a SigV4 signature stays valid for 15 minutes).
Usage: wrk_signed.py PORT SERVICE BODY ACCESS_KEY_ID SECRET [SESSION_TOKEN]"""
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

port, service, body, key_id, secret = sys.argv[1:6]
token = sys.argv[6] if len(sys.argv) > 6 else None
req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(key_id, secret, token), service, "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f'wrk.body = "{body}"')
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
