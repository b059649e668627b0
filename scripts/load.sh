#!/usr/bin/env bash
# Load test of the IAM API over HTTP: one botocore-signed GetUser replayed by
# wrk against the release binary. Prints wrk's requests/s and latency
# distribution. Bounded: DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
cargo build --release --locked -q --bin idbroker
source scripts/load-server.sh

key=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["AccessKeyId"], c["SecretAccessKey"])' "$creds")
# shellcheck disable=SC2086
"$venv/bin/python" scripts/wrk_signed.py "$port" iam "Action=GetUser&Version=2010-05-08&UserName=admin" $key >"$work/request.lua"
echo "GetUser over HTTP: wrk -t2 -c$CONNECTIONS -d${DURATION}s, database ${IDBROKER__DATABASE__URL%%:*}"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/request.lua" "http://127.0.0.1:$port/"
