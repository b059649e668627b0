#!/usr/bin/env bash
# Does a burst lose audit events? GetCallerIdentity (signed with long-term
# keys: no database read but the audit write) replayed by wrk at full speed
# against the release binary, then, once the trail has drained, the stored
# events counted against wrk's answered requests. Every 200 must have its
# event; a request refused for lack of room (503, retryable) did nothing and
# is counted in idbroker_audit_refusals_total. AUDIT_QUEUE shrinks the room
# (default 65536) to show the refusals; LOAD_DATABASE_URL runs on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
export IDBROKER__AUDIT__QUEUE=${AUDIT_QUEUE:-65536} IDBROKER__AUDIT__MAX_WAIT_MS=${AUDIT_MAX_WAIT_MS:-2000}
cargo build --release --locked -q --bin idbroker
source scripts/load-server.sh

key=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["AccessKeyId"], c["SecretAccessKey"])' "$creds")
# shellcheck disable=SC2086
"$venv/bin/python" scripts/wrk_signed.py "$port" sts "Action=GetCallerIdentity&Version=2011-06-15" $key >"$work/request.lua"
cat >>"$work/request.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("ANSWERED %d\n", summary.requests))
end
LUA
count_events() {
  local sql="SELECT COUNT(*) FROM audit_events WHERE event_name = 'GetCallerIdentity'"
  if [[ $IDBROKER__DATABASE__URL == sqlite:* ]]; then
    sqlite3 "${IDBROKER__DATABASE__URL#sqlite://}" "$sql"
  else
    psql -qtA "$IDBROKER__DATABASE__URL" -c "$sql"
  fi
}
before=$(count_events)
echo "GetCallerIdentity burst: wrk -t2 -c$CONNECTIONS -d${DURATION}s, database ${IDBROKER__DATABASE__URL%%:*}, audit.queue $IDBROKER__AUDIT__QUEUE"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/request.lua" "http://127.0.0.1:$port/" | tee "$work/wrk.txt"
answered=$(sed -n 's/^ANSWERED //p' "$work/wrk.txt")
refused=$(sed -n 's/^  Non-2xx or 3xx responses: //p' "$work/wrk.txt"); refused=${refused:-0}
# Drained when nothing waits for room and the count stops moving.
last=-1
for _ in $(seq 600); do
  depth=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^idbroker_audit_queue_depth //p')
  now=$(( $(count_events) - before ))
  [[ $depth == 0 && $now == "$last" ]] && break
  last=$now; sleep 0.2
done
metric=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^idbroker_audit_refusals_total //p')
ok=$(( answered - refused ))
echo "answered $answered: $ok with 200, $refused refused (idbroker_audit_refusals_total $metric); events stored $now"
# wrk stops counting at the deadline with up to one request per connection in
# flight; the server answers (and records) those too.
if [[ $now -ge $ok && $now -le $(( answered + CONNECTIONS )) ]]; then
  echo "every answered request has its audit event"
else
  echo "MISSING EVENTS: $(( ok - now ))"; exit 1
fi
