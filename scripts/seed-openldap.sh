#!/usr/bin/env bash
# Seeds the test OpenLDAP (scripts/openldap.sh; its env exported) with
# tests/fixtures/openldap-seed.ldif, plus a user `many` in 1,200 groups, the
# last one an AWS role group: more than a page (and than slapd's default size
# limit of 500), so finding that role needs paged searches.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OPENLDAP_URL:?export the test OpenLDAP settings: eval \"\$(scripts/openldap.sh env)\"}"
add() { ldapadd -M -x -H "$OPENLDAP_URL" -D "$OPENLDAP_ADMIN_DN" -w "$OPENLDAP_ADMIN_PASSWORD" "$@" >/dev/null; }
# As an administrator would for a broker's service account: no total size
# limit on its paged searches (slapd's default stops them at 1,000 entries).
ldapi="ldapi://$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "${OPENLDAP_DIR:-/tmp/broker-openldap}/ldapi")"
ldapmodify -Y EXTERNAL -H "$ldapi" >/dev/null 2>&1 <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcLimits
olcLimits: dn.exact="$OPENLDAP_SERVICE_DN" size.soft=1000 size.hard=unlimited size.prtotal=unlimited
LDIF
add -f tests/fixtures/openldap-seed.ldif
python3 - "$OPENLDAP_PEOPLE_DN" "$OPENLDAP_GROUPS_DN" <<'PY' | add
import sys
people, groups = sys.argv[1], sys.argv[2]
print(f"dn: uid=many,{people}\nobjectClass: inetOrgPerson\nuid: many\ncn: Many Groups\nsn: Groups\nuserPassword: Many-Pass-1\n")
for i in range(1200):
    print(f"dn: cn=bulk-{i:04d},{groups}\nobjectClass: groupOfNames\ncn: bulk-{i:04d}\nmember: uid=many,{people}\n")
print(f"dn: cn=AWS-111122223333-Bulk,{groups}\nobjectClass: groupOfNames\ncn: AWS-111122223333-Bulk\nmember: uid=many,{people}\n")
PY
