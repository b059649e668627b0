#!/usr/bin/env bash
# Directory sign-ins per second through /idp/login -> /saml/acs -> console
# session, against the test OpenLDAP, next to that OpenLDAP's raw bind rate
# measured in the same run. Needs a running seeded OpenLDAP (as scripts/test.sh
# starts; export its `scripts/openldap.sh env`) and target/interop-venv (boto3).
#   scripts/bench-signin.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-16}
seconds=${2:-10}
: "${OPENLDAP_URL:?export the test OpenLDAP settings: eval \"\$(scripts/openldap.sh env)\"}"
cargo build --release --locked --bin idbroker --example signin_load
work=$(mktemp -d /tmp/idbroker-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export IDBROKER__SERVER__LISTEN=127.0.0.1:$port IDBROKER__SERVER__PUBLIC_URL=http://127.0.0.1:$port \
  IDBROKER__SERVER__DATA_DIR=$work/data IDBROKER__DATABASE__URL=${BENCH_DATABASE_URL:-sqlite://$work/data/db.sqlite} \
  IDBROKER__LOG__LEVEL=warn IDBROKER__DIRECTORY__URL=$OPENLDAP_URL IDBROKER__DIRECTORY__STARTTLS=true \
  IDBROKER__DIRECTORY__CA_FILE=$OPENLDAP_CA_CERT \
  IDBROKER__DIRECTORY__BIND_DN=$OPENLDAP_SERVICE_DN IDBROKER__DIRECTORY__BIND_PASSWORD=$OPENLDAP_SERVICE_PASSWORD \
  IDBROKER__DIRECTORY__USER_BASE_DN=$OPENLDAP_PEOPLE_DN IDBROKER__DIRECTORY__GROUP_BASE_DN=$OPENLDAP_GROUPS_DN
creds=$(target/release/idbroker init --account-id 111122223333 --admin-user admin)
target/release/idbroker serve & pid=$!
trap 'kill $pid; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
CREDS=$creds URL=http://127.0.0.1:$port target/interop-venv/bin/python - <<'PY'
import json, os, boto3
c = json.loads(os.environ["CREDS"])
iam = boto3.client("iam", endpoint_url=os.environ["URL"], region_name="us-east-1",
                   aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"])
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML",
         "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/idbroker"}}]}
iam.create_role(RoleName="Dev", AssumeRolePolicyDocument=json.dumps(trust))
PY
target/release/examples/signin_load signin "http://127.0.0.1:$port" bob Bravo-Pass-2 "$connections" "$seconds"
target/release/examples/signin_load bind "$OPENLDAP_URL" "uid=bob,$OPENLDAP_PEOPLE_DN" Bravo-Pass-2 4 "$seconds"
CA_FILE=$OPENLDAP_CA_CERT target/release/examples/signin_load connect-bind "$OPENLDAP_URL" "uid=bob,$OPENLDAP_PEOPLE_DN" Bravo-Pass-2 4 "$seconds"
