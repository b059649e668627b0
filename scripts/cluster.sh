#!/usr/bin/env bash
# A cluster on one machine, on loopback: a private PostgreSQL, NODES idbroker
# nodes (default 3) each in an empty folder, sharing only the database and the
# master key (IDBROKER_MASTER_KEY), and HAProxy in front of them (health-checked
# on /readyz; server.trusted_proxies names it, so the client's address reaches
# the audit and aws:SourceIp).
#
#   scripts/cluster.sh start DIR [NODES]   start everything; DIR/cluster.env says where
#   scripts/cluster.sh stop DIR            stop everything
#   scripts/cluster.sh kill-node DIR N     kill -9 node N
#   scripts/cluster.sh start-node DIR N    (re)start node N
#   scripts/cluster.sh pg-stop DIR         stop PostgreSQL (fast shutdown)
#   scripts/cluster.sh pg-start DIR        start it again
#
# IDBROKER_BIN names the binary (default target/release/idbroker, built when
# missing). IDBROKER__* variables in the environment reach every node (a
# directory, say); NODE_ENV_<N> adds a prefix command for node N (e.g.
# NODE_ENV_3="faketime -f +180s" to run one node's clock three minutes ahead);
# CLUSTER_PUBLIC_URL replaces the nodes' public URL (default: the proxy's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cmd=${1:?start|stop|kill-node|start-node|pg-stop|pg-start}
dir=${2:?cluster folder}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# PostgreSQL runs as its own user beneath this folder.
chmod 755 "$dir"
bin=${IDBROKER_BIN:-$root/target/release/idbroker}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() {
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.05
  done
  echo "cluster.sh: nothing ready on port $1" >&2
  return 1
}

start_node() {
  local n=$1 port
  port=$(sed -n "s/^NODE_${n}_PORT=//p" "$dir/cluster.env")
  local prefix_var="NODE_ENV_$n"
  # shellcheck disable=SC2086
  env IDBROKER__SERVER__LISTEN="127.0.0.1:$port" \
    IDBROKER__SERVER__DATA_DIR="$dir/node$n" \
    IDBROKER__SERVER__PUBLIC_URL="${CLUSTER_PUBLIC_URL:-http://127.0.0.1:$FRONT_PORT}" \
    IDBROKER__SERVER__TRUSTED_PROXIES='["127.0.0.1/32"]' \
    IDBROKER__DATABASE__URL="$DATABASE_URL" \
    IDBROKER_MASTER_KEY="$MASTER_KEY" \
    IDBROKER__LOG__LEVEL="${IDBROKER__LOG__LEVEL:-warn}" \
    ${!prefix_var:-} "$bin" serve >>"$dir/node$n.log" 2>&1 &
  echo $! >"$dir/node$n.pid"
  wait_ready "$port"
}

load_env() {
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
}

case $cmd in
  start)
    nodes=${3:-3}
    [[ -x $bin ]] || cargo build --release --locked -q --bin idbroker
    command -v haproxy >/dev/null || { echo "cluster.sh: needs haproxy (scripts/setup.sh --test)" >&2; exit 1; }
    pg_port=$(free_port)
    scripts/pg.sh start "$dir/pg" "$pg_port"
    DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    MASTER_KEY=$(head -c 32 /dev/urandom | base64)
    FRONT_PORT=$(free_port)
    {
      echo "NODES=$nodes"
      echo "PG_PORT=$pg_port"
      echo "DATABASE_URL=$DATABASE_URL"
      echo "MASTER_KEY=$MASTER_KEY"
      echo "FRONT_PORT=$FRONT_PORT"
      for n in $(seq "$nodes"); do echo "NODE_${n}_PORT=$(free_port)"; done
    } >"$dir/cluster.env"
    chmod 600 "$dir/cluster.env"
    load_env
    # The account, once, on the shared database (like any node would).
    env IDBROKER__SERVER__DATA_DIR="$dir/init" IDBROKER__DATABASE__URL="$DATABASE_URL" IDBROKER_MASTER_KEY="$MASTER_KEY" \
      IDBROKER__LOG__LEVEL=warn "$bin" init --account-id 111122223333 --admin-user admin >"$dir/admin.json"
    chmod 600 "$dir/admin.json"
    for n in $(seq "$nodes"); do start_node "$n"; done
    {
      printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n'
      printf '  timeout server 30s\n  retries 2\n  option redispatch\n'
      printf 'frontend edge\n  bind 127.0.0.1:%s\n  option forwardfor\n  default_backend idbroker\n' "$FRONT_PORT"
      printf 'backend idbroker\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n'
      for n in $(seq "$nodes"); do
        port=$(sed -n "s/^NODE_${n}_PORT=//p" "$dir/cluster.env")
        printf '  server node%s 127.0.0.1:%s check inter 300 fall 2 rise 2\n' "$n" "$port"
      done
    } >"$dir/haproxy.cfg"
    haproxy -D -p "$dir/haproxy.pid" -f "$dir/haproxy.cfg"
    wait_ready "$FRONT_PORT"
    echo "cluster: http://127.0.0.1:$FRONT_PORT ($nodes nodes, PostgreSQL on $pg_port); admin keys in $dir/admin.json"
    ;;
  stop)
    load_env
    [[ -f $dir/haproxy.pid ]] && kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
    for n in $(seq "$NODES"); do
      [[ -f $dir/node$n.pid ]] && kill "$(cat "$dir/node$n.pid")" 2>/dev/null || true
    done
    for n in $(seq "$NODES"); do
      [[ -f $dir/node$n.pid ]] || continue
      pid=$(cat "$dir/node$n.pid")
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    scripts/pg.sh stop "$dir/pg"
    ;;
  kill-node)
    load_env
    kill -9 "$(cat "$dir/node${3:?node}.pid")"
    ;;
  start-node)
    load_env
    start_node "${3:?node}"
    ;;
  pg-stop)
    scripts/pg.sh stop "$dir/pg"
    ;;
  pg-start)
    load_env
    scripts/pg.sh start "$dir/pg" "$PG_PORT"
    ;;
  *) echo "usage: cluster.sh start|stop|kill-node|start-node|pg-stop|pg-start DIR [N]" >&2; exit 2 ;;
esac
