#!/usr/bin/env bash
# A throwaway PostgreSQL for the test suite: `pg.sh start DIR PORT` initialises a
# cluster in DIR (as the postgres user when run as root) and starts it on
# 127.0.0.1:PORT; `pg.sh stop DIR` stops it. Prints nothing else on success.
# PG_OPTIONS adds server options (e.g. "-c shared_preload_libraries=pg_stat_statements").
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?data directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bin/initdb ]] || { echo "pg.sh: PostgreSQL server binaries not found" >&2; exit 1; }

as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    if [[ ! -f $dir/PG_VERSION ]]; then
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >"$dir.initdb.log" 2>&1
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300 ${PG_OPTIONS:-}" start >/dev/null
    ;;
  stop)
    [[ -f $dir/postmaster.pid ]] && as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: pg.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
