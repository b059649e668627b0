#!/usr/bin/env bash
# Load across nodes: AssumeRoleWithSAML (unique pre-signed responses) and
# GetCallerIdentity (temporary credentials) through HAProxy over 1, 2 and 3
# nodes (scripts/cluster.sh) on this machine, with the database statements
# each request costs (pg_stat_statements) and the latency percentiles. On two
# cores more nodes add no throughput: the point is the cost of coordination.
# Bounded: DURATION seconds per run. The single node on SQLite is
# scripts/load_saml.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
COUNT=${COUNT:-20000}
CONNECTIONS=${CONNECTIONS:-16}
cargo build --release --locked -q --bin idbroker --example saml_responses
command -v wrk >/dev/null || { sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
venv=$PWD/target/interop-venv
[[ -x $venv/bin/python ]] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r tests/interop/requirements.txt; }
work=$(mktemp -d /tmp/idbroker-load-cluster.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as its own user beneath it
trap 'scripts/cluster.sh stop "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
echo "generating $COUNT signed responses..."
target/release/examples/saml_responses "$work" "$COUNT"

statements() { psql -qtA "$DATABASE_URL" -c "SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements"; }

run() { # name lua-script [its argument]
  local before after requests p99
  before=$(statements)
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$2" "http://127.0.0.1:$FRONT_PORT/" -- "${3:-}" >"$work/wrk.txt"
  after=$(statements)
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  non2xx=$(sed -n 's/^  Non-2xx or 3xx responses: //p' "$work/wrk.txt")
  printf '%-20s %d node(s): %8.0f req/s  p99 %-8s  %.1f statements/request%s\n' "$1" "$nodes" \
    "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")" "$p99" \
    "$(awk -v a="$after" -v b="$before" -v r="$requests" 'BEGIN {print (a - b) / r}')" \
    "${non2xx:+  ($non2xx non-2xx)}"
}

offset=1
for nodes in 1 2 3; do
  rm -rf "$work/cluster"
  PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements" CLUSTER_PUBLIC_URL=http://127.0.0.1:8080 \
    IDBROKER_BIN=target/release/idbroker IDBROKER__LOG__LEVEL=error scripts/cluster.sh start "$work/cluster" "$nodes" >/dev/null
  # shellcheck disable=SC1091
  source "$work/cluster/cluster.env"
  psql -qtA "$DATABASE_URL" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  "$venv/bin/python" - "$FRONT_PORT" "$work/cluster/admin.json" "$work" <<'PY'
import json, sys, boto3
port, admin, work = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
provider = iam.create_saml_provider(Name="LoadIdp", SAMLMetadataDocument=open(f"{work}/metadata.xml").read())["SAMLProviderArn"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]}
iam.create_role(RoleName="SamlLoad", AssumeRolePolicyDocument=json.dumps(trust))
PY
  # Each run uses responses no run used before (a third of them each).
  third=$((COUNT / 3))
  sed -n "$(( offset )),$(( offset + third - 1 ))p" "$work/bodies.txt" >"$work/run-bodies.txt"
  offset=$((offset + third))
  run AssumeRoleWithSAML scripts/saml_bodies.lua "$work/run-bodies.txt"
  body=$(sed -n "$((offset - 1))p" "$work/bodies.txt")
  session=$(curl -sf -X POST -H "Content-Type: application/x-www-form-urlencoded" --data "$body" "http://127.0.0.1:$FRONT_PORT/" |
    python3 -c 'import re,sys; x=sys.stdin.read(); print(*(re.search(f"<{t}>(.*?)</{t}>", x).group(1) for t in ("AccessKeyId","SecretAccessKey","SessionToken")))')
  # shellcheck disable=SC2086
  "$venv/bin/python" scripts/wrk_signed.py "$FRONT_PORT" sts "Action=GetCallerIdentity&Version=2011-06-15" $session >"$work/gci.lua"
  run GetCallerIdentity "$work/gci.lua"
  scripts/cluster.sh stop "$work/cluster" >/dev/null
done
