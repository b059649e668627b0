#!/usr/bin/env bash
# Adapted from the team recipe in shared/directory/openldap.sh (kept here so the
# project runs its own directory for tests).
# Private, throw-away OpenLDAP (slapd) test directory for the SAML broker.
#
#   openldap.sh start    install slapd/ldap-utils if missing, create the test
#                        tree on first start, start slapd (idempotent)
#   openldap.sh stop     stop the slapd this script started (by its PID file)
#   openldap.sh status   exit 0 if running, 3 if not
#   openldap.sh env      print shell-sourceable connection variables
#   openldap.sh demo     run the checks listed in README.md (binds, search, memberOf, TLS)
#   openldap.sh reset    stop and delete the data directory (next start is fresh)
#
# Never touches /etc/ldap/slapd.d or the system slapd: everything lives under
# $OPENLDAP_DIR and listens on 127.0.0.1 only.
set -euo pipefail

DIR="${OPENLDAP_DIR:-/tmp/broker-openldap}"
PORT="${OPENLDAP_PORT:-3389}"
LDAPS_PORT="${OPENLDAP_LDAPS_PORT:-3636}"
HOST=127.0.0.1
# slapd -d level while running ("none" = errors only; "stats" or -1 for debugging; output in $DIR/slapd.log)
LOGLEVEL="${OPENLDAP_LOGLEVEL:-none}"

SUFFIX="dc=example,dc=org"
ADMIN_DN="cn=admin,$SUFFIX"
ADMIN_PW="Admin-Pass-0"
SVC_DN="cn=broker-svc,ou=services,$SUFFIX"
SVC_PW="Service-Pass-9"

PIDFILE="$DIR/slapd.pid"
CONF="$DIR/slapd.d"
TLS="$DIR/tls"
SOCK="$DIR/ldapi"
SLAPD=/usr/sbin/slapd

T0="$(date +%s.%N)"
log() { printf '[openldap] %s (+%ss)\n' "$*" "$(awk -v s="$T0" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}')" >&2; }
die() { log "ERROR: $*"; exit 1; }

urlenc_path() { local p="$1"; p="${p//%/%25}"; p="${p//\//%2F}"; p="${p//,/%2C}"; printf '%s' "$p"; }
LDAPI_URL="ldapi://$(urlenc_path "$SOCK")"

# ---------------------------------------------------------------- install
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "packages $* missing and not root: install them with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Do not let the package create /etc/ldap/slapd.d + a system database (and start it).
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  local i
  for i in 1 2 3; do
    # DPkg::Lock::Timeout waits for a concurrent apt/dpkg instead of failing.
    if apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@" >"${TMPDIR:-/tmp}/openldap-apt.$$.log" 2>&1; then
      rm -f "${TMPDIR:-/tmp}/openldap-apt.$$.log"; return 0
    fi
    log "apt-get install failed (try $i), running apt-get update"; tail -5 "${TMPDIR:-/tmp}/openldap-apt.$$.log" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null 2>&1 || true
  done
  die "apt-get install $* failed"
}

ensure_installed() {
  local missing=() p
  for p in slapd ldap-utils openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || { log "installing ${missing[*]}"; apt_install "${missing[@]}"; log "installed"; }
}

# ---------------------------------------------------------------- process helpers
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: the process must be slapd using our config dir.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CONF" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_ready() {
  local i
  for i in $(seq 1 100); do
    if ldapsearch -x -H "ldap://$HOST:$PORT" -b "" -s base -LLL namingContexts >/dev/null 2>&1; then return 0; fi
    if ! running_pid >/dev/null && [ "$i" -gt 5 ]; then break; fi
    sleep 0.1
  done
  log "slapd did not come up; last lines of $DIR/slapd.log:"; tail -20 "$DIR/slapd.log" >&2 || true
  return 1
}

launch() {
  port_busy "$PORT" && die "port $HOST:$PORT already in use (set OPENLDAP_PORT)"
  port_busy "$LDAPS_PORT" && die "port $HOST:$LDAPS_PORT already in use (set OPENLDAP_LDAPS_PORT)"
  rm -f "$SOCK" "$PIDFILE"
  # -d keeps slapd in the foreground (so its output lands in slapd.log); setsid+nohup
  # detach it from this shell. slapd itself writes $PIDFILE (olcPidFile).
  setsid nohup "$SLAPD" -F "$CONF" -d "$LOGLEVEL" \
    -h "ldap://$HOST:$PORT/ ldaps://$HOST:$LDAPS_PORT/ $LDAPI_URL" \
    >>"$DIR/slapd.log" 2>&1 </dev/null &
  wait_ready || die "slapd failed to start"
  log "slapd running, pid $(cat "$PIDFILE"), ldap://$HOST:$PORT ldaps://$HOST:$LDAPS_PORT"
}

# ---------------------------------------------------------------- first-time setup
make_tls() {
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Broker Test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$TLS/ext.cnf"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 3650 -extfile "$TLS/ext.cnf" -out "$TLS/server.crt" 2>/dev/null
  chmod 600 "$TLS"/*.key
}

hash_pw() { slappasswd -h '{SSHA}' -s "$1"; }

write_config_ldif() {
  cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $PIDFILE
olcArgsFile: $DIR/slapd.args
olcTLSCACertificateFile: $TLS/ca.crt
olcTLSCertificateFile: $TLS/server.crt
olcTLSCertificateKeyFile: $TLS/server.key
olcTLSVerifyClient: never

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: {SSHA}
olcSizeLimit: 1000
olcAccess: {0}to * by dn.exact=gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth manage by * break
olcAccess: {1}to dn.base="" by * read
olcAccess: {2}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $DIR/data
olcDbMaxSize: 268435456
olcRootDN: $ADMIN_DN
olcRootPW: $(hash_pw "$ADMIN_PW")
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,cn eq
olcDbIndex: member,memberOf eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfDangling: ignore
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {1}ppolicy
olcPPolicyDefault: cn=default,ou=policies,$SUFFIX
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
EOF
}

# person <uid> <givenName> <sn> <password> [extra ldif lines...]
person() {
  local uid="$1" gn="$2" sn="$3" pw="$4"; shift 4
  cat <<EOF
dn: uid=$uid,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: $uid
cn: $gn $sn
givenName: $gn
sn: $sn
displayName: $gn $sn
mail: $uid@example.org
userPassword: $(hash_pw "$pw")
EOF
  local l; for l in "$@"; do printf '%s\n' "$l"; done
  echo
}

write_data_ldif() {
  cat <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: ou=services,$SUFFIX
objectClass: organizationalUnit
ou: services

dn: ou=policies,$SUFFIX
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$SUFFIX
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
# pwdLockout must be TRUE for pwdAccountLockedTime to be honoured (2.5 ppolicy);
# pwdMaxFailure 0 = no automatic lockout after failed binds (keeps tests repeatable).
pwdLockout: TRUE
pwdMaxFailure: 0
pwdLockoutDuration: 0
pwdAllowUserChange: TRUE

dn: $SVC_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: broker-svc
userPassword: $(hash_pw "$SVC_PW")

EOF
  person alice Alice Anderson 'Alpha-Pass-1' "employeeNumber: 1001" "title: Administrator"
  person bob Bob Brown 'Bravo-Pass-2' "employeeNumber: 1002"
  person carol Carol Clark 'Charlie-Pass-3' "employeeNumber: 1003"
  person dave Dave Davis 'Delta-Pass-4' "employeeNumber: 1004"
  # Non-ASCII name and password (UTF-8 on the wire); base64 in LDIF is done by ldapadd for us.
  person erin 'Érin' 'Zoë-Ünicode' 'Echo-Päss-5' "employeeNumber: 1005"
  # Locked account (ppolicy): pwdAccountLockedTime 000001010000Z = locked until an admin clears it.
  person mallory Mallory Miller 'Mike-Pass-6' "employeeNumber: 1006" "pwdAccountLockedTime: 000001010000Z"
  cat <<EOF
dn: cn=engineering,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: engineering
description: Engineering (nested in staff)
member: uid=carol,ou=people,$SUFFIX
member: uid=dave,ou=people,$SUFFIX

dn: cn=staff,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: staff
description: All staff; contains the engineering group
member: uid=alice,ou=people,$SUFFIX
member: uid=bob,ou=people,$SUFFIX
member: uid=erin,ou=people,$SUFFIX
member: cn=engineering,ou=groups,$SUFFIX

dn: cn=admins,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,$SUFFIX

dn: cn=locked-out,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: locked-out
member: uid=mallory,ou=people,$SUFFIX
EOF
}

initialize() {
  log "creating fresh directory in $DIR"
  if [ -e "$DIR" ]; then
    # Only wipe a directory that this script created (or an empty one).
    [ -f "$DIR/.broker-openldap" ] || [ -z "$(ls -A "$DIR")" ] || die "$DIR exists and was not created by this script"
    rm -rf "$DIR"
  fi
  mkdir -p "$CONF" "$DIR/data"
  touch "$DIR/.broker-openldap"
  chmod 700 "$DIR"
  make_tls
  write_config_ldif > "$DIR/config.ldif"
  slapadd -n0 -F "$CONF" -l "$DIR/config.ldif" >/dev/null
  launch
  # Load data online so the memberof overlay maintains memberOf.
  write_data_ldif > "$DIR/data.ldif"
  ldapadd -x -H "$LDAPI_URL" -D "$ADMIN_DN" -w "$ADMIN_PW" -f "$DIR/data.ldif" >/dev/null
  touch "$DIR/.initialized"
  log "test tree loaded ($SUFFIX)"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  ensure_installed
  if pid="$(running_pid)"; then log "already running, pid $pid"; return 0; fi
  if [ -f "$DIR/.initialized" ]; then launch; else initialize; fi
}

cmd_stop() {
  local pid i
  if ! pid="$(running_pid)"; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid"
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "slapd $pid did not exit in 10s, sending KILL"; kill -KILL "$pid"; fi
  rm -f "$PIDFILE" "$SOCK"
  log "stopped (pid $pid)"
}

cmd_status() {
  if pid="$(running_pid)"; then echo "running pid=$pid ldap://$HOST:$PORT ldaps://$HOST:$LDAPS_PORT dir=$DIR"; return 0; fi
  echo "not running (dir=$DIR)"; return 3
}

cmd_env() {
  # shell-sourceable: eval "$($0 env)"
  local k v
  while IFS='=' read -r k v; do printf "export %s='%s'\n" "$k" "${v//\'/\'\\\'\'}"; done <<EOF
OPENLDAP_URL=ldap://$HOST:$PORT
OPENLDAPS_URL=ldaps://$HOST:$LDAPS_PORT
OPENLDAP_CA_CERT=$TLS/ca.crt
OPENLDAP_BASE_DN=$SUFFIX
OPENLDAP_PEOPLE_DN=ou=people,$SUFFIX
OPENLDAP_GROUPS_DN=ou=groups,$SUFFIX
OPENLDAP_ADMIN_DN=$ADMIN_DN
OPENLDAP_ADMIN_PASSWORD=$ADMIN_PW
OPENLDAP_SERVICE_DN=$SVC_DN
OPENLDAP_SERVICE_PASSWORD=$SVC_PW
EOF
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

cmd_demo() {
  running_pid >/dev/null || die "not running; run: $0 start"
  local U="ldap://$HOST:$PORT" P="ou=people,$SUFFIX" G="ou=groups,$SUFFIX"
  export LDAPTLS_CACERT="$TLS/ca.crt" LDAPTLS_REQCERT=demand
  check "simple bind alice" 0 "^dn:uid=alice," ldapwhoami -x -H "$U" -D "uid=alice,$P" -w 'Alpha-Pass-1'
  check "wrong password -> 49" 49 "Invalid credentials" ldapwhoami -x -H "$U" -D "uid=alice,$P" -w 'wrong'
  check "empty password -> 53 (unauthenticated bind refused)" 53 "unauthenticated bind" \
    ldapwhoami -x -H "$U" -D "uid=alice,$P" -w ''
  check "unknown user -> 49" 49 "Invalid credentials" ldapwhoami -x -H "$U" -D "uid=nobody,$P" -w 'x'
  check "locked mallory (ppolicy) -> 49 + 'Account locked' in the ppolicy response control" 49 "Account locked" \
    ldapwhoami -x -e ppolicy -H "$U" -D "uid=mallory,$P" -w 'Mike-Pass-6'
  check "non-ASCII password (erin)" 0 "^dn:uid=erin," ldapwhoami -x -H "$U" -D "uid=erin,$P" -w 'Echo-Päss-5'
  check "StartTLS bind (CA-verified)" 0 "^dn:uid=bob," ldapwhoami -x -ZZ -H "$U" -D "uid=bob,$P" -w 'Bravo-Pass-2'
  check "LDAPS bind (CA-verified)" 0 "^dn:uid=bob," \
    ldapwhoami -x -H "ldaps://$HOST:$LDAPS_PORT" -D "uid=bob,$P" -w 'Bravo-Pass-2'
  check "service account finds uid=carol, memberOf = engineering" 0 "memberOf: cn=engineering,$G" \
    ldapsearch -x -LLL -H "$U" -D "$SVC_DN" -w "$SVC_PW" -b "$P" "(uid=carol)" dn uid cn mail memberOf
  check "alice reads her own memberOf (staff, admins)" 0 "memberOf: cn=admins,$G" \
    ldapsearch -x -LLL -H "$U" -D "uid=alice,$P" -w 'Alpha-Pass-1' -b "uid=alice,$P" -s base memberOf
  check "nested: groups whose member is the engineering group -> staff (memberOf is direct only)" 0 \
    "^dn: cn=staff,$G" \
    ldapsearch -x -LLL -H "$U" -D "$SVC_DN" -w "$SVC_PW" -b "$G" "(member=cn=engineering,$G)" dn
  check "anonymous search sees no entries (ACL)" 32 "No such object" \
    ldapsearch -x -LLL -H "$U" -b "$P" "(uid=carol)" dn
  echo "demo: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

cmd_reset() {
  cmd_stop
  if [ -e "$DIR" ]; then
    [ -f "$DIR/.broker-openldap" ] || die "$DIR was not created by this script; not deleting"
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
