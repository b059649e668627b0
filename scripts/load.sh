#!/usr/bin/env bash
# Load test of the IAM API over HTTP: the release binary on a fresh database
# (SQLite by default, or PostgreSQL with LOAD_DATABASE_URL), one botocore-signed
# GetUser request replayed by wrk (a SigV4 signature is valid for 15 minutes).
# Prints wrk's requests/s and latency distribution. Bounded: DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q
venv=$root/target/interop-venv
[[ -x $venv/bin/python ]] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r tests/interop/requirements.txt; }

work=$(mktemp -d /tmp/idbroker-load.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export IDBROKER__SERVER__LISTEN=127.0.0.1:$port IDBROKER__SERVER__DATA_DIR=$work/data IDBROKER__LOG__LEVEL=warn
export IDBROKER__DATABASE__URL=${LOAD_DATABASE_URL:-sqlite://$work/data/idbroker.db}
creds=$(target/release/idbroker init --account-id 111122223333 --admin-user admin)
target/release/idbroker serve >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

# Sign one GetUser with botocore, exactly as boto3 would send it.
"$venv/bin/python" - "$port" "$creds" >"$work/request.lua" <<'PY'
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, creds = sys.argv[1], json.loads(sys.argv[2])
body = "Action=GetUser&Version=2010-05-08&UserName=admin"
req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "iam", "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f'wrk.body = "{body}"')
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
PY
curl -sf -X POST "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
echo "GetUser over HTTP: wrk -t2 -c$CONNECTIONS -d${DURATION}s, database ${IDBROKER__DATABASE__URL%%:*}"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/request.lua" "http://127.0.0.1:$port/"
grep -c '"eventName":"GetUser"' "$work/serve.log" >/dev/null || true
