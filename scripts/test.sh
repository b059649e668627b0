#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts a throwaway PostgreSQL,
# runs the Rust tests (unit tests, then the integration suite on SQLite and on
# PostgreSQL), then the boto3 / AWS CLI suite against the real binary on both
# databases, and stops PostgreSQL afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh --test

work=$(mktemp -d /tmp/idbroker-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  scripts/pg.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
scripts/pg.sh start "$work/pg" "$port"
pg_admin="postgres://postgres@127.0.0.1:$port/postgres"
echo "== PostgreSQL on 127.0.0.1:$port"

echo "== Rust: unit tests and the integration suite on SQLite"
cargo test --locked

echo "== Rust: the integration suite on PostgreSQL"
TEST_DATABASE_URL=$pg_admin cargo test --locked --test api

echo "== Clients: boto3 and the AWS CLI against the binary"
cargo build --locked
venv=$root/target/interop-venv
if [[ ! -x $venv/bin/python ]] || ! cmp -s tests/interop/requirements.txt "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/interop/requirements.txt
  cp tests/interop/requirements.txt "$venv/requirements.txt"
fi
export PATH=$venv/bin:$PATH IDBROKER_BIN=$root/target/debug/idbroker
echo "-- on SQLite"
(cd tests/interop && python -m pytest -q -p no:cacheprovider)
echo "-- on PostgreSQL"
(cd tests/interop && IDBROKER_TEST_POSTGRES=$pg_admin python -m pytest -q -p no:cacheprovider)
echo "== all suites passed"
