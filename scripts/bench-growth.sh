#!/usr/bin/env bash
# Growth benchmark (scripts/bench_growth.py): requests timed over databases
# of BASE, 10 BASE and 100 BASE users (and as many group members, policy
# attachments, replay-cache entries, sprayed sign-in failures and audit rows),
# on SQLite and PostgreSQL side by side, with the ratio per 10x.
# Usage: scripts/bench-growth.sh [BASE=1000] [REPEAT=15]; DATABASES=sqlite to
# skip PostgreSQL (which this script starts on a free port and stops after).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-1000}
REPEAT=${2:-15}
DATABASES=${DATABASES:-sqlite,postgres}
cargo build --release --locked -q --bin idbroker --example saml_responses
venv=$PWD/target/interop-venv
[[ -x $venv/bin/python ]] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r tests/interop/requirements.txt; }
command -v sqlite3 >/dev/null || { sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo; $sudo apt-get install -y -qq sqlite3 >/dev/null; }
pg_admin=""
if [[ $DATABASES == *postgres* ]]; then
  pgdir=$(mktemp -d /tmp/idbroker-growth-pg.XXXXXX)
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  scripts/pg.sh start "$pgdir" "$pgport" >/dev/null
  trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
  pg_admin=postgres://postgres@127.0.0.1:$pgport/postgres
fi
"$venv/bin/python" scripts/bench_growth.py target/release/idbroker "$DATABASES" "$BASE" "$REPEAT" "$pg_admin"
