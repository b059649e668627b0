#!/usr/bin/env bash
# Load test of AssumeRoleWithSAML over HTTP with full validation, the replay-cache
# write and credential issuance: the release binary on a fresh database (SQLite
# by default, PostgreSQL with LOAD_DATABASE_URL), COUNT unique pre-signed
# responses replayed once each by wrk. Also GetCallerIdentity signed with the
# temporary credentials. Bounded: DURATION seconds each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
DURATION=${DURATION:-5}
COUNT=${COUNT:-25000}
CONNECTIONS=${CONNECTIONS:-16}
command -v wrk >/dev/null || { sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q --bin idbroker --example saml_responses
venv=$root/target/interop-venv
[[ -x $venv/bin/python ]] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r tests/interop/requirements.txt; }

work=$(mktemp -d /tmp/idbroker-load.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export IDBROKER__SERVER__LISTEN=127.0.0.1:$port IDBROKER__SERVER__DATA_DIR=$work/data IDBROKER__LOG__LEVEL=warn
export IDBROKER__SERVER__PUBLIC_URL=http://127.0.0.1:8080
export IDBROKER__DATABASE__URL=${LOAD_DATABASE_URL:-sqlite://$work/data/idbroker.db}
creds=$(target/release/idbroker init --account-id 111122223333 --admin-user admin)
target/release/idbroker serve >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "generating $COUNT signed responses..."
target/release/examples/saml_responses "$work" "$COUNT"
"$venv/bin/python" - "$port" "$creds" "$work" <<'PY'
import json, sys, boto3
port, creds, work = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
provider = iam.create_saml_provider(Name="LoadIdp", SAMLMetadataDocument=open(f"{work}/metadata.xml").read())["SAMLProviderArn"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]}
iam.create_role(RoleName="SamlLoad", AssumeRolePolicyDocument=json.dumps(trust))
PY
cat >"$work/saml.lua" <<LUA
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args)
  bodies = {}
  for line in io.lines("$work/bodies.txt") do bodies[#bodies + 1] = line end
  i = tid + 1
end
function request()
  local body = bodies[i]
  i = i + 2
  if i > #bodies then i = tid + 1 end
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
echo "AssumeRoleWithSAML over HTTP: wrk -t2 -c$CONNECTIONS -d${DURATION}s, $COUNT unique responses, database ${IDBROKER__DATABASE__URL%%:*}"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/saml.lua" "http://127.0.0.1:$port/"

# GetCallerIdentity signed with temporary credentials from one exchange.
"$venv/bin/python" - "$port" "$work" >"$work/gci.lua" <<'PY'
import sys, urllib.parse, urllib.request, re
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, work = sys.argv[1], sys.argv[2]
body = open(f"{work}/bodies.txt").read().splitlines()[-1]
resp = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", data=body.encode(),
       headers={"Content-Type": "application/x-www-form-urlencoded"})).read().decode()
get = lambda t: re.search(f"<{t}>(.*?)</{t}>", resp).group(1)
creds = Credentials(get("AccessKeyId"), get("SecretAccessKey"), get("SessionToken"))
gci = "Action=GetCallerIdentity&Version=2011-06-15"
req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=gci,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f'wrk.body = "{gci}"')
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
PY
echo "GetCallerIdentity with temporary credentials: wrk -t2 -c$CONNECTIONS -d${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/gci.lua" "http://127.0.0.1:$port/"
