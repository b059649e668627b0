#!/usr/bin/env bash
# Adapted from the team recipe in shared/directory/samba-ad.sh (kept here so the
# project runs its own Samba AD domain controller for tests; needs root).
# Private, throw-away Samba Active Directory domain controller for the SAML broker tests.
#
#   samba-ad.sh start    install Samba if missing, provision a fresh domain on first
#                        start (users, nested groups), start samba (idempotent)
#   samba-ad.sh stop     stop the samba this script started (by its PID file)
#   samba-ad.sh status   exit 0 if running, 3 if not
#   samba-ad.sh env      print shell-sourceable connection variables
#   samba-ad.sh demo     run the checks listed in README.md
#   samba-ad.sh reset    stop and delete the data directory (next start provisions anew)
#
# Runs as root (Samba's AD DC requires it), without systemd, listens on loopback only
# (127.0.0.1 and ::1 by default). LDAP ports are fixed by Samba: 389, 636, 3268, 3269;
# plus Kerberos 88 and kpasswd 464, CLDAP 389/udp. Everything lives under $SAMBA_AD_DIR;
# /etc/samba and the system services are never touched.
set -euo pipefail

DIR="${SAMBA_AD_DIR:-/tmp/broker-samba-ad}"
# "lo" = 127.0.0.1 + ::1. Any other loopback IPv4 works too, e.g. SAMBA_AD_IP=127.0.0.2.
IP="${SAMBA_AD_IP:-127.0.0.1}"
LOGLEVEL="${SAMBA_AD_LOGLEVEL:-0}"
# "no": simple binds allowed over plain LDAP too. "yes" (Samba's own default, like an AD
# with LDAP signing required): simple binds only over LDAPS/StartTLS, else result 8.
STRONG_AUTH="${SAMBA_AD_REQUIRE_STRONG_AUTH:-no}"
# LDAP worker processes (Samba's prefork process model; Samba's default is 4).
PREFORK="${SAMBA_AD_PREFORK_CHILDREN:-4}"

REALM=CORP.EXAMPLE.TEST
DOMAIN=CORP
DNSDOMAIN=corp.example.test
BASE="DC=corp,DC=example,DC=test"
ADMIN_PW="Admin-Pass-0"
SVC_PW="Service-Pass-9"

CONF="$DIR/etc/smb.conf"
PIDFILE="$DIR/run/samba.pid"
TLS="$DIR/tls"
LDAP_PORTS="389 636 3268 3269 88 464"

T0="$(date +%s.%N)"
log() { printf '[samba-ad] %s (+%ss)\n' "$*" "$(awk -v s="$T0" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}')" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$IP" = 127.0.0.1 ] && IFACES=lo || IFACES="$IP/8"
case "$IP" in 127.*) ;; *) die "SAMBA_AD_IP must be a loopback address (127.x.y.z)";; esac

# ---------------------------------------------------------------- install
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "packages $* missing and not root"
  export DEBIAN_FRONTEND=noninteractive
  local i lg="${TMPDIR:-/tmp}/samba-ad-apt.$$.log"
  for i in 1 2 3; do
    # DPkg::Lock::Timeout waits for a concurrent apt/dpkg instead of failing.
    if apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@" >"$lg" 2>&1; then
      rm -f "$lg"; return 0
    fi
    log "apt-get install failed (try $i), running apt-get update"; tail -5 "$lg" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null 2>&1 || true
  done
  die "apt-get install $* failed"
}

ensure_installed() {
  # samba-ad-provision: AD schema files; samba-dsdb-modules: the sam.ldb modules;
  # samba-vfs-modules: acl_xattr, which provision needs to set the sysvol ACLs;
  # ldap-utils/openssl: readiness check, demo, TLS certificate.
  local missing=() p
  for p in samba samba-ad-provision samba-dsdb-modules samba-vfs-modules ldap-utils openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || { log "installing ${missing[*]}"; apt_install "${missing[@]}"; log "installed"; }
}

# ---------------------------------------------------------------- process helpers
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: a samba process started in our directory.
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = samba ] || return 1
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$DIR" ] || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/$IP/$1") 2>/dev/null; }

wait_ready() {
  local i
  for i in $(seq 1 600); do
    if ldapsearch -x -H "ldap://$IP" -b "" -s base -LLL dnsHostName >/dev/null 2>&1 \
       && port_busy 636; then return 0; fi
    if [ "$i" -gt 20 ] && ! running_pid >/dev/null; then break; fi
    sleep 0.1
  done
  log "samba did not come up; last lines of $DIR/log/samba.log:"
  tail -25 "$DIR/log/samba.log" "$DIR/log/stdout.log" >&2 || true
  return 1
}

launch() {
  local p
  for p in $LDAP_PORTS; do
    port_busy "$p" && die "port $IP:$p already in use (another samba/slapd? try SAMBA_AD_IP=127.0.0.2)"
  done
  rm -f "$PIDFILE"
  # --foreground keeps the master attached to our setsid session (its PID is in
  # $PIDFILE); cwd=$DIR lets running_pid recognise it.
  # All fds are redirected on the subshell so nothing keeps the caller's stdout open
  # (a pipe such as `samba-ad.sh start | tee` would otherwise never see EOF).
  (cd "$DIR" && exec setsid samba -s "$CONF" --foreground --no-process-group) \
      >>"$DIR/log/stdout.log" 2>&1 </dev/null &
  wait_ready || die "samba failed to start"
  log "samba running, pid $(cat "$PIDFILE"), ldap://$IP ldaps://$IP:636 (realm $REALM)"
}

# ---------------------------------------------------------------- first-time setup
make_tls() {
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Broker Test AD CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.$DNSDOMAIN" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:dc1.%s,DNS:localhost,IP:%s,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    "$DNSDOMAIN" "$IP" > "$TLS/ext.cnf"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 3650 -extfile "$TLS/ext.cnf" -out "$TLS/server.crt" 2>/dev/null
  chmod 600 "$TLS"/*.key   # samba refuses a key file readable by others
}

st() { samba-tool "$@" -s "$CONF" >/dev/null; }

populate() {
  st domain passwordsettings set --max-pwd-age=0 --min-pwd-age=0   # no expiry in long-lived dev dirs
  st ou create "OU=People"
  st ou create "OU=Groups"
  st ou create "OU=Services"
  # user <sAMAccountName> <password> <given> <surname> [extra samba-tool options]
  user() {
    local u="$1" pw="$2" gn="$3" sn="$4"; shift 4
    st user create "$u" "$pw" --given-name="$gn" --surname="$sn" \
      --mail-address="$u@$DNSDOMAIN" --userou="OU=People" "$@"
  }
  user alice 'Alpha-Pass-1' Alice Anderson --job-title=Administrator
  user bob 'Bravo-Pass-2' Bob Brown
  user carol 'Charlie-Pass-3' Carol Clark
  user dave 'Delta-Pass-4' Dave Davis
  user erin 'Echo-Päss-5' 'Érin' 'Zoë-Ünicode'
  user mallory 'Mike-Pass-6' Mallory Miller            # disabled below   -> bind: 49, data 533
  user frank 'Foxtrot-Pass-7' Frank Fischer --must-change-at-next-login   # -> 49, data 773
  user oscar 'Oscar-Pass-8' Oscar Olsen                # expired below    -> 49, data 701
  st user disable mallory
  st user setexpiry oscar --days=0
  st user create broker-svc "$SVC_PW" --userou="OU=Services" --description="broker search account"

  st group add engineering --groupou="OU=Groups" --description="Engineering (nested in staff)"
  st group add staff --groupou="OU=Groups" --description="All staff; contains engineering"
  st group add admins --groupou="OU=Groups"
  st group add locked-out --groupou="OU=Groups"
  st group addmembers engineering carol,dave
  st group addmembers staff alice,bob,erin,engineering
  st group addmembers admins alice
  st group addmembers locked-out mallory
}

initialize() {
  log "provisioning fresh domain $REALM in $DIR"
  if [ -e "$DIR" ]; then
    [ -f "$DIR/.broker-samba-ad" ] || [ -z "$(ls -A "$DIR")" ] || die "$DIR exists and was not created by this script"
    rm -rf "$DIR"
  fi
  mkdir -p "$DIR/run" "$DIR/log"
  touch "$DIR/.broker-samba-ad"
  chmod 700 "$DIR"
  : > "$DIR/empty.conf"   # provision must not inherit /etc/samba/smb.conf
  samba-tool domain provision -s "$DIR/empty.conf" --targetdir="$DIR" \
    --realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE \
    --host-name=dc1 --adminpass="$ADMIN_PW" --use-rfc2307 \
    --option="interfaces = $IFACES" --option="bind interfaces only = yes" \
    --option="pid directory = $DIR/run" --option="ncalrpc dir = $DIR/run/ncalrpc" \
    --option="winbindd socket directory = $DIR/run/winbindd" \
    --option="ntp signd socket directory = $DIR/run/ntp_signd" \
    --option="log file = $DIR/log/samba.log" --option="logging = file" \
    --option="server services = ldap, cldap, kdc" \
    >"$DIR/log/provision.log" 2>&1 || { tail -20 "$DIR/log/provision.log" >&2; die "provision failed"; }
  log "provisioned; creating TLS certificate, users and groups"
  make_tls
  # Settings that provision does not carry into smb.conf: add them to [global].
  local extra
  extra="$(printf '\t%s\n' \
    "ldap server require strong auth = $STRONG_AUTH" \
    "tls enabled = yes" "tls keyfile = $TLS/server.key" "tls certfile = $TLS/server.crt" "tls cafile = $TLS/ca.crt" \
    "log level = $LOGLEVEL" "max log size = 10000" "prefork children = $PREFORK")"
  awk -v extra="$extra" '{print} /^\[global\]/{print extra}' "$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
  populate
  touch "$DIR/.initialized"
  log "domain provisioned and populated"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "Samba's AD DC must run as root"
  ensure_installed
  if pid="$(running_pid)"; then log "already running, pid $pid"; return 0; fi
  [ -f "$DIR/.initialized" ] || initialize
  launch
}

cmd_stop() {
  local pid i left
  if ! pid="$(running_pid)"; then log "not running"; return 0; fi
  kill -TERM "$pid"
  for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { log "samba $pid did not exit in 15s, sending KILL"; kill -KILL "$pid" || true; }
  # The workers live in the session we created with setsid (session id = master PID).
  for i in $(seq 1 50); do
    left="$(ps -o pid= -s "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ' || true)"
    [ -z "${left// /}" ] && break; sleep 0.1
  done
  if [ -n "${left// /}" ]; then
    log "killing leftover samba workers: $left"
    for i in $left; do kill -KILL "$i" 2>/dev/null || true; done
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

cmd_status() {
  if pid="$(running_pid)"; then echo "running pid=$pid ldap://$IP ldaps://$IP:636 realm=$REALM dir=$DIR"; return 0; fi
  echo "not running (dir=$DIR)"; return 3
}

cmd_env() {
  # shell-sourceable: eval "$($0 env)"
  local k v
  while IFS='=' read -r k v; do printf "export %s='%s'\n" "$k" "${v//\'/\'\\\'\'}"; done <<EOF
SAMBA_AD_URL=ldap://$IP:389
SAMBA_AD_LDAPS_URL=ldaps://$IP:636
SAMBA_AD_GC_URL=ldap://$IP:3268
SAMBA_AD_CA_CERT=$TLS/ca.crt
SAMBA_AD_REALM=$REALM
SAMBA_AD_DOMAIN=$DOMAIN
SAMBA_AD_BASE_DN=$BASE
SAMBA_AD_PEOPLE_DN=OU=People,$BASE
SAMBA_AD_GROUPS_DN=OU=Groups,$BASE
SAMBA_AD_ADMIN_BIND=Administrator@$REALM
SAMBA_AD_ADMIN_PASSWORD=$ADMIN_PW
SAMBA_AD_SERVICE_BIND=broker-svc@$DNSDOMAIN
SAMBA_AD_SERVICE_DN=CN=broker-svc,OU=Services,$BASE
SAMBA_AD_SERVICE_PASSWORD=$SVC_PW
SAMBA_AD_KRB5_CONFIG=$DIR/private/krb5.conf
EOF
}

# Decode AD binary SIDs (base64, as ldapsearch prints them) to S-1-... strings.
sid_decode() {
  python3 -c '
import base64, struct, sys
for b in sys.stdin.read().split():
    d = base64.b64decode(b); n = d[1]
    auth = int.from_bytes(d[2:8], "big")
    subs = struct.unpack("<%dI" % n, d[8:8 + 4 * n])
    print("S-%d-%d%s" % (d[0], auth, "".join("-%d" % s for s in subs)))'
}

# check <description> <expected exit code> <regex the output must match> <command...>
PASSED=0 FAILED=0
check() {
  local what="$1" want_rc="$2" want_re="$3" out rc=0; shift 3
  out="$("$@" 2>&1)" || rc=$?
  if [ "$rc" = "$want_rc" ] && grep -Eq -- "$want_re" <<<"$out"; then
    PASSED=$((PASSED + 1)); echo "ok   $what"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $what (exit $rc, wanted $want_rc and /$want_re/)"
  fi
  sed 's/^/       /' <<<"$out"
}

# Samba has no WhoAmI extended operation: a bind "works" when a search after it returns.
bind_as() { # <url> <bind name> <password> [extra ldapsearch args]
  local url="$1" who="$2" pw="$3"; shift 3
  ldapsearch -LLL -x "$@" -H "$url" -D "$who" -w "$pw" -b "" -s base dnsHostName
}

token_groups() { # <service bind> <password> <user DN>: tokenGroups as "SID name" lines
  local sid
  for sid in $(ldapsearch -LLL -x -H "ldap://$IP" -D "$1" -w "$2" -b "$3" -s base tokenGroups \
               | awk '/^tokenGroups::/{print $2}' | sid_decode); do
    printf '%s %s\n' "$sid" "$(ldapsearch -LLL -x -H "ldap://$IP" -D "$1" -w "$2" -b "<SID=$sid>" -s base \
      sAMAccountName | sed -n 's/^sAMAccountName: //p')"
  done
}

cmd_demo() {
  running_pid >/dev/null || die "not running; run: $0 start"
  local U="ldap://$IP" P="OU=People,$BASE" G="OU=Groups,$BASE" SVC="broker-svc@$DNSDOMAIN"
  export LDAPTLS_CACERT="$TLS/ca.crt" LDAPTLS_REQCERT=demand
  local ok="dnsHostName: dc1"
  check "bind as UPN with REALM suffix alice@$REALM" 0 "$ok" bind_as "$U" "alice@$REALM" 'Alpha-Pass-1'
  check "bind as UPN alice@$DNSDOMAIN" 0 "$ok" bind_as "$U" "alice@$DNSDOMAIN" 'Alpha-Pass-1'
  check "bind as down-level name $DOMAIN\\alice" 0 "$ok" bind_as "$U" "$DOMAIN\\alice" 'Alpha-Pass-1'
  check "bind as DN" 0 "$ok" bind_as "$U" "CN=Alice Anderson,$P" 'Alpha-Pass-1'
  check "bare sAMAccountName is not a bind name -> 49" 49 "data 52e" bind_as "$U" "alice" 'Alpha-Pass-1'
  check "wrong password -> 49, data 52e" 49 "data 52e" bind_as "$U" "alice@$REALM" 'wrong'
  check "unknown user -> 49, data 52e (no 525 leak)" 49 "data 52e" bind_as "$U" "nobody@$REALM" 'x'
  check "empty password -> 49 (a Windows DC would accept it as an anonymous bind!)" 49 "data 52e" \
    bind_as "$U" "alice@$REALM" ''
  check "disabled mallory (userAccountControl 514) -> 49, data 533" 49 "data 533" \
    bind_as "$U" "mallory@$REALM" 'Mike-Pass-6'
  check "frank must change password -> 49, data 773" 49 "data 773" bind_as "$U" "frank@$REALM" 'Foxtrot-Pass-7'
  check "oscar account expired -> 49, data 701" 49 "data 701" bind_as "$U" "oscar@$REALM" 'Oscar-Pass-8'
  check "non-ASCII password and DN (erin)" 0 "$ok" bind_as "$U" "CN=Érin Zoë-Ünicode,$P" 'Echo-Päss-5'
  check "LDAPS 636 (CA-verified)" 0 "$ok" bind_as "ldaps://$IP:636" "bob@$REALM" 'Bravo-Pass-2'
  check "StartTLS on 389 (CA-verified)" 0 "$ok" bind_as "$U" "bob@$REALM" 'Bravo-Pass-2' -ZZ
  check "carol: UPN, sAMAccountName, memberOf (direct only; primary group never listed)" 0 \
    "memberOf: CN=engineering,$G" \
    ldapsearch -LLL -x -H "$U" -D "$SVC" -w "$SVC_PW" -b "$BASE" "(sAMAccountName=carol)" \
      userPrincipalName sAMAccountName mail memberOf userAccountControl objectSid primaryGroupID
  check "mallory userAccountControl = 514 (512 NORMAL_ACCOUNT | 2 ACCOUNTDISABLE)" 0 "userAccountControl: 514" \
    ldapsearch -LLL -x -H "$U" -D "$SVC" -w "$SVC_PW" -b "$P" "(sAMAccountName=mallory)" userAccountControl
  check "tokenGroups of carol: engineering + staff (nested) + Domain Users" 0 "staff" \
    token_groups "$SVC" "$SVC_PW" "CN=Carol Clark,$P"
  check "LDAP_MATCHING_RULE_IN_CHAIN: groups of carol -> engineering, staff" 0 "CN=staff,$G" \
    ldapsearch -LLL -x -H "$U" -D "$SVC" -w "$SVC_PW" -b "$G" \
      "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=Carol Clark,$P))" dn
  check "LDAP_MATCHING_RULE_IN_CHAIN: users in staff, transitively (5)" 0 "sAMAccountName: dave" \
    ldapsearch -LLL -x -H "$U" -D "$SVC" -w "$SVC_PW" -b "$P" \
      "(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=staff,$G))" sAMAccountName
  echo "demo: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

cmd_reset() {
  cmd_stop
  if [ -e "$DIR" ]; then
    [ -f "$DIR/.broker-samba-ad" ] || die "$DIR was not created by this script; not deleting"
    rm -rf "$DIR"; log "deleted $DIR"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  demo) cmd_demo ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|env|demo|reset" >&2; exit 2 ;;
esac
