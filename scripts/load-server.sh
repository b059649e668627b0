# Sourced by the load scripts: wrk and the client venv when missing, then the
# release binary serving a fresh database (SQLite by default, PostgreSQL with
# LOAD_DATABASE_URL) on a free loopback port, with one account. Sets $root,
# $venv, $work, $port, $creds; stops the server and removes $work on exit.
root=$PWD
command -v wrk >/dev/null || { sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
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
