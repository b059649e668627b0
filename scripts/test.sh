#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts a throwaway PostgreSQL
# OpenLDAP and a Samba AD domain controller (seeded with the test users and
# groups), runs the Rust tests
# (unit tests, then the integration suite on SQLite and on PostgreSQL), then
# the boto3 / AWS CLI / Chromium suite against the real binary on both
# databases, and stops the servers afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# One build from scratch: incremental caches would only take disk (about 2 GB).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

scripts/setup.sh --test

sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
work=$(mktemp -d /tmp/idbroker-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  scripts/pg.sh stop "$work/pg" || true
  OPENLDAP_DIR=$work/openldap scripts/openldap.sh stop >/dev/null 2>&1 || true
  $sudo env SAMBA_AD_DIR="$work/samba" scripts/samba-ad.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
scripts/pg.sh start "$work/pg" "$port"
pg_admin="postgres://postgres@127.0.0.1:$port/postgres"
echo "== PostgreSQL on 127.0.0.1:$port"

export OPENLDAP_DIR=$work/openldap OPENLDAP_PORT=$(free_port) OPENLDAP_LDAPS_PORT=$(free_port)
scripts/openldap.sh start
eval "$(scripts/openldap.sh env)"
scripts/seed-openldap.sh
echo "== OpenLDAP on $OPENLDAP_URL, seeded"

# Samba's AD DC must run as root; its LDAP ports are fixed (389, 636).
export SAMBA_AD_DIR=$work/samba
$sudo env SAMBA_AD_DIR="$SAMBA_AD_DIR" scripts/samba-ad.sh start
$sudo env SAMBA_AD_DIR="$SAMBA_AD_DIR" scripts/seed-samba.sh
eval "$(scripts/samba-ad.sh env)"
$sudo chmod -R a+rX "$SAMBA_AD_DIR/tls"
echo "== Samba AD on $SAMBA_AD_URL, seeded"

echo "== Rust: format, lints (warnings are errors; clippy.toml bans the system clock) and layering"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  cargo fmt --check
  cargo clippy --locked --all-targets -q -- -D warnings
else
  echo "warning: rustfmt or clippy is not installed; format and lints not checked" >&2
fi

# Tests that need the directories are marked #[ignore] (a plain `cargo test`
# passes without them); here the directories run, so they run too.
echo "== Rust: unit tests and the integration suite on SQLite"
cargo test --locked -- --include-ignored

echo "== Rust: the integration suite on PostgreSQL"
TEST_DATABASE_URL=$pg_admin cargo test --locked --test api -- --include-ignored

echo "== Clients: boto3 and the AWS CLI against the binary"
# The binary is the one `cargo test` built for the integration suite; a plain
# `cargo build` would resolve features without the dev-dependencies and
# compile every crate a second time.
[[ -x $root/target/debug/idbroker ]] || cargo build --locked
venv=$root/target/interop-venv
if [[ ! -x $venv/bin/python ]] || ! cmp -s tests/interop/requirements.txt "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/interop/requirements.txt
  cp tests/interop/requirements.txt "$venv/requirements.txt"
fi
# xml-crypto for the SAML peer test, from its lock file; again only when that changes.
peers_node=tests/interop/peers/node
if ! cmp -s "$peers_node/package-lock.json" "$peers_node/node_modules/.package-lock.json.installed"; then
  (cd "$peers_node" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$peers_node/package-lock.json" "$peers_node/node_modules/.package-lock.json.installed"
fi
export PATH=$venv/bin:$PATH IDBROKER_BIN=$root/target/debug/idbroker
echo "-- on SQLite"
(cd tests/interop && python -m pytest -q -p no:cacheprovider)
echo "-- on PostgreSQL"
(cd tests/interop && IDBROKER_TEST_POSTGRES=$pg_admin python -m pytest -q -p no:cacheprovider)
echo "== all suites passed"
