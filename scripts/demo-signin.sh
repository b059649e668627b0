#!/usr/bin/env bash
# Try browser sign-in on this machine: starts the test OpenLDAP (seeded with
# alice, bob, carol, ... and their AWS-111122223333-* groups), then idbroker on
# http://127.0.0.1:8080 with its own data folder, an account 111122223333 and
# the roles Dev and Admin trusting the built-in IdP. Open the URL, choose
# "Sign in with your company account" and sign in as alice / Alpha-Pass-1
# (two roles) or carol / Charlie-Pass-3 (Dev, through nested groups).
# Ctrl-C stops idbroker; `scripts/openldap.sh stop` stops the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENLDAP_DIR=${OPENLDAP_DIR:-/tmp/idbroker-demo-openldap}
fresh=0; [[ -d $OPENLDAP_DIR ]] || fresh=1
scripts/openldap.sh start
eval "$(scripts/openldap.sh env)"
((fresh)) && scripts/seed-openldap.sh
cargo build --release --locked
data=${DEMO_DATA:-/tmp/idbroker-demo-data}
export IDBROKER__SERVER__DATA_DIR=$data IDBROKER__DATABASE__URL=sqlite://$data/idbroker.db IDBROKER__LOG__LEVEL=${IDBROKER__LOG__LEVEL:-warn} \
  IDBROKER__DIRECTORY__URL=$OPENLDAP_URL IDBROKER__DIRECTORY__STARTTLS=true \
  IDBROKER__DIRECTORY__CA_FILE=$OPENLDAP_CA_CERT IDBROKER__DIRECTORY__BIND_DN=$OPENLDAP_SERVICE_DN \
  IDBROKER__DIRECTORY__BIND_PASSWORD=$OPENLDAP_SERVICE_PASSWORD \
  IDBROKER__DIRECTORY__USER_BASE_DN=$OPENLDAP_PEOPLE_DN IDBROKER__DIRECTORY__GROUP_BASE_DN=$OPENLDAP_GROUPS_DN
if creds=$(target/release/idbroker init --account-id 111122223333 --admin-user admin 2>/dev/null); then
  echo "$creds" >"$data/admin.json"
  echo "admin credentials: $data/admin.json"
fi
target/release/idbroker serve & server=$!
trap 'kill $server; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 0.1; done
python3 - "$data/admin.json" <<'PY'
import datetime, hashlib, hmac, json, sys, urllib.parse, urllib.request
creds = json.load(open(sys.argv[1]))
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML",
        "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/idbroker"}}]})
def call(params):
    # A minimal SigV4 signer, so the demo needs no boto3.
    body = urllib.parse.urlencode(params).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = "content-type:application/x-www-form-urlencoded\nhost:127.0.0.1:8080\nx-amz-date:%s\n" % amz
    signed = "content-type;host;x-amz-date"
    canonical = "POST\n/\n\n%s\n%s\n%s" % (headers, signed, hashlib.sha256(body).hexdigest())
    scope = "%s/us-east-1/iam/aws4_request" % day
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, hashlib.sha256(canonical.encode()).hexdigest())
    key = ("AWS4" + creds["SecretAccessKey"]).encode()
    for part in (day, "us-east-1", "iam", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (creds["AccessKeyId"], scope, signed, sig)
    req = urllib.request.Request("http://127.0.0.1:8080/", body, {"Content-Type": "application/x-www-form-urlencoded", "X-Amz-Date": amz, "Authorization": auth})
    try:
        urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        if b"EntityAlreadyExists" not in e.read():
            raise
# Each role with a policy, so the console's credentials can do something:
# Dev reads IAM (AWS's ReadOnlyAccess), Admin may do everything.
policies = {"Dev": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Admin": "arn:aws:iam::aws:policy/AdministratorAccess"}
for role, policy in policies.items():
    call({"Action": "CreateRole", "Version": "2010-05-08", "RoleName": role, "AssumeRolePolicyDocument": trust})
    call({"Action": "AttachRolePolicy", "Version": "2010-05-08", "RoleName": role, "PolicyArn": policy})
PY
echo "open http://127.0.0.1:8080/ and sign in as alice / Alpha-Pass-1 or carol / Charlie-Pass-3"
wait $server
