#!/usr/bin/env bash
# Load test of AssumeRoleWithSAML over HTTP with full validation, the replay-cache
# write and credential issuance: the release binary on a fresh database (SQLite
# by default, PostgreSQL with LOAD_DATABASE_URL), COUNT unique pre-signed
# responses replayed once each by wrk. Also GetCallerIdentity signed with the
# temporary credentials. Bounded: DURATION seconds each. PERF=1 profiles the
# server during the AssumeRoleWithSAML run (perf, into target/perf-saml*.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
COUNT=${COUNT:-25000}
CONNECTIONS=${CONNECTIONS:-16}
cargo build --release --locked -q --bin idbroker --example saml_responses
source scripts/load-server.sh

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
echo "AssumeRoleWithSAML over HTTP: wrk -t2 -c$CONNECTIONS -d${DURATION}s, $COUNT unique responses, database ${IDBROKER__DATABASE__URL%%:*}"
# PERF=1: the server's profile during the run, written to target/perf-saml*.txt
# (PERF_ALL=1: the whole machine's, the load tool included).
if [[ ${PERF:-} == 1 ]]; then
  target=(-p "$server"); [[ ${PERF_ALL:-} == 1 ]] && target=(-a)
  perf record -q -F 499 -g "${target[@]}" -o "$work/perf.data" -- sleep "$DURATION" &
  perf_pid=$!
fi
# Server CPU per request (user + system, from /proc): steadier than the rate
# on a shared machine, where the rate moves with the neighbours' load.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(cpu_ticks)
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s scripts/saml_bodies.lua "http://127.0.0.1:$port/" -- "$work/bodies.txt" | tee "$work/wrk.txt"
after=$(cpu_ticks)
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
echo "server CPU per exchange: $(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests )) µs"
if [[ ${PERF:-} == 1 ]]; then
  wait "$perf_pid"
  perf report -i "$work/perf.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null >target/perf-saml.txt
  perf report -i "$work/perf.data" --children --percent-limit 3 --stdio -g none 2>/dev/null >target/perf-saml-children.txt
  perf report -i "$work/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null >target/perf-saml-threads.txt
  perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null >target/perf-saml-symbols.txt
fi

# GetCallerIdentity signed with temporary credentials from one exchange.
body=$(tail -1 "$work/bodies.txt")
session=$(curl -sf -X POST -H "Content-Type: application/x-www-form-urlencoded" --data "$body" "http://127.0.0.1:$port/" |
  python3 -c 'import re,sys; x=sys.stdin.read(); print(*(re.search(f"<{t}>(.*?)</{t}>", x).group(1) for t in ("AccessKeyId","SecretAccessKey","SessionToken")))')
# shellcheck disable=SC2086
"$venv/bin/python" scripts/wrk_signed.py "$port" sts "Action=GetCallerIdentity&Version=2011-06-15" $session >"$work/gci.lua"
echo "GetCallerIdentity with temporary credentials: wrk -t2 -c$CONNECTIONS -d${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/gci.lua" "http://127.0.0.1:$port/"
