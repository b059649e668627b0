#!/usr/bin/env bash
# Growth benchmark for ListUsers on SQLite: the release binary over accounts of
# 100, 1,000 and 10,000 users (rows inserted straight into the database), the
# first page (MaxItems 100) timed REPEAT times, and one full traversal.
# Compare the ratios per 10x: a keyset page should not grow with the account.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-20}
cargo build --release --locked -q --bin idbroker
venv=$PWD/target/interop-venv
[[ -x $venv/bin/python ]] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r tests/interop/requirements.txt; }
for users in 100 1000 10000; do
  work=$(mktemp -d /tmp/idbroker-bench-list.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export IDBROKER__SERVER__LISTEN=127.0.0.1:$port IDBROKER__SERVER__DATA_DIR=$work/data IDBROKER__LOG__LEVEL=warn
  export IDBROKER__DATABASE__URL=sqlite://$work/data/idbroker.db
  creds=$(target/release/idbroker init --account-id 111122223333 --admin-user admin)
  python3 - "$work/data/idbroker.db" "$users" <<'PY'
import sqlite3, sys, uuid
db, n = sys.argv[1], int(sys.argv[2])
with sqlite3.connect(db) as c:
    c.executemany(
        "INSERT INTO principals (id, account_id, kind, name, name_key, path, arn, created_at) VALUES (?,?,?,?,?,?,?,?)",
        [("AIDA" + uuid.uuid4().hex[:17].upper(), "111122223333", "user", f"user{i:06d}", f"user{i:06d}", "/",
          f"arn:aws:iam::111122223333:user/user{i:06d}", 0) for i in range(n)])
PY
  target/release/idbroker serve >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  "$venv/bin/python" - "$port" "$creds" "$users" "$REPEAT" <<'PY'
import json, statistics, sys, time, boto3
port, creds, users, repeat = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
iam.list_users(MaxItems=100)
times = []
for _ in range(repeat):
    t = time.perf_counter(); iam.list_users(MaxItems=100); times.append(time.perf_counter() - t)
t = time.perf_counter(); n = sum(len(p["Users"]) for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 100}))
full = time.perf_counter() - t
print(f"{users:>6} users: first page median {statistics.median(times)*1e3:7.1f} ms; full traversal of {n} users {full:6.2f} s")
PY
  kill $server; wait $server 2>/dev/null || true
  rm -rf "$work"
done
