"""Growth benchmark: the release binary over databases of size N, 10 N and
100 N (users, group members, policy attachments, managed policies, MFA
devices, replay-cache entries, sign-in failures of a password spray, audit
rows), each request timed REPEAT times from a client on this machine (median),
then the ratio per 10x. A request whose cost does not grow with the data
shows ratios near 1; a full traversal is reported per item returned.
Usage: bench_growth.py BIN DATABASES BASE REPEAT [PG_ADMIN_URL]"""
import json, os, re, socket, statistics, subprocess, sys, tempfile, time
import boto3, requests

BIN, DATABASES, BASE, REPEAT = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
PG_ADMIN = sys.argv[5] if len(sys.argv) > 5 else ""
EXAMPLE = os.path.join(os.path.dirname(BIN), "examples", "saml_responses")
ACCOUNT = "111122223333"

SEED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
INSERT INTO principals (id, account_id, kind, name, name_key, path, arn, created_at)
SELECT 'AIDAGROWTH' || PAD, '{acct}', 'user', 'user' || PAD, 'user' || PAD, '/', 'arn:aws:iam::{acct}:user/user' || PAD, 0 FROM n;
INSERT INTO principals (id, account_id, kind, name, name_key, path, arn, created_at)
VALUES ('AGPAGROWTHBIG', '{acct}', 'group', 'big', 'big', '/', 'arn:aws:iam::{acct}:group/big', 0);
INSERT INTO group_members (group_id, user_id, user_name_key)
SELECT 'AGPAGROWTHBIG', id, name_key FROM principals WHERE id LIKE 'AIDAGROWTH%';
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {policies})
INSERT INTO managed_policies (arn, id, account_id, name, name_key, path, description, default_version, next_version, created_at, updated_at)
SELECT 'arn:aws:iam::{acct}:policy/p' || PAD, 'ANPAGROWTH' || PAD, '{acct}', 'p' || PAD, 'p' || PAD, '/', NULL, 'v1', 2, 0, 0 FROM n;
INSERT INTO policy_versions (policy_arn, version_id, document, created_at)
SELECT arn, 'v1', '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}]}}', 0 FROM managed_policies WHERE id LIKE 'ANPAGROWTH%';
INSERT INTO policy_attachments (principal_id, policy_arn)
SELECT id, 'arn:aws:iam::{acct}:policy/p0000000' FROM principals WHERE id LIKE 'AIDAGROWTH%';
INSERT INTO attachment_counts (account_id, policy_arn, attached) VALUES ('{acct}', 'arn:aws:iam::{acct}:policy/p0000000', {users});
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {policies})
INSERT INTO mfa_devices (serial, account_id, path, sealed_seed, user_id, root_user, enabled_at, created_at, last_step)
SELECT 'arn:aws:iam::{acct}:mfa/m' || PAD, '{acct}', '/', 'x', NULL, 0, NULL, 0, NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
INSERT INTO saml_replay (issuer, assertion_id, expires_at) SELECT 'https://idp.load.test/saml', 'seeded' || i, {future} FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
INSERT INTO signin_failures (throttle_key, failed_at) SELECT 'uu:iam:{acct}:user' || PAD, {now} FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
INSERT INTO audit_events (event_time, event_name, event_source, account_id, principal_arn, error_code, request_id, body)
SELECT {now}, 'GetUser', 'iam.amazonaws.com', '{acct}', NULL, NULL, 'seeded' || i, '{{}}' FROM n;
-- Statistics, as a database that grew by use has them (PostgreSQL's
-- autovacuum analyses after bulk changes; right after a bulk load the
-- planner would otherwise guess).
ANALYZE;
"""


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def seed(db, url, users):
    now = int(time.time())
    sql = SEED.format(users=users, policies=max(users // 10, 1), acct=ACCOUNT, now=now, future=now + 86400)
    if db == "sqlite":
        sql = sql.replace("PAD", "printf('%07d', i)")
        subprocess.run(["sqlite3", url.removeprefix("sqlite://")], input=sql, text=True, check=True)
    else:
        sql = sql.replace("PAD", "lpad(i::text, 7, '0')")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True,
                       stdout=subprocess.DEVNULL)


def median_ms(f, repeat=REPEAT):
    f()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def run(db, users):
    work = tempfile.mkdtemp(prefix="idbroker-growth.")
    port = free_port()
    if db == "sqlite":
        url = f"sqlite://{work}/idbroker.db"
    else:
        name = f"growth_{users}"
        subprocess.run(["psql", "-q", PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    env = dict(os.environ, IDBROKER__SERVER__LISTEN=f"127.0.0.1:{port}", IDBROKER__SERVER__DATA_DIR=f"{work}/data",
               IDBROKER__SERVER__PUBLIC_URL="http://127.0.0.1:8080", IDBROKER__DATABASE__URL=url,
               IDBROKER__LOG__LEVEL="error", IDBROKER__STS__SESSIONS_PER_PRINCIPAL_PER_HOUR="0")
    creds = json.loads(subprocess.run([BIN, "init", "--account-id", ACCOUNT, "--admin-user", "admin"], env=env,
                                      check=True, capture_output=True, text=True).stdout)
    seed(db, url, users)
    subprocess.run([EXAMPLE, work, str(REPEAT + 1)], check=True)
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(f"{base}/readyz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        kw = dict(endpoint_url=base, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                  aws_secret_access_key=creds["SecretAccessKey"])
        iam, sts = boto3.client("iam", **kw), boto3.client("sts", **kw)
        provider = iam.create_saml_provider(Name="LoadIdp", SAMLMetadataDocument=open(f"{work}/metadata.xml").read())["SAMLProviderArn"]
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]}
        iam.create_role(RoleName="SamlLoad", AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_user(UserName="sprayed")
        iam.create_login_profile(UserName="sprayed", Password="Correct-Horse-9")
        bodies = iter(open(f"{work}/bodies.txt").read().split())
        middle = f"user{users // 2:07d}"
        shared = f"arn:aws:iam::{ACCOUNT}:policy/p0000000"
        web = requests.Session()

        def signin_refused():
            page = web.get(f"{base}/signin").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            r = web.post(f"{base}/signin", data={"csrf": csrf, "account": ACCOUNT, "username": "sprayed", "password": "wrong"},
                         headers={"Origin": base})
            assert r.status_code in (401, 403, 429, 200), r.status_code

        def exchange():
            r = requests.post(base + "/", data=next(bodies), headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert r.ok, r.text

        ops = {
            "ListUsers first page (100)": lambda: iam.list_users(MaxItems=100),
            "GetGroup first page (100 of all users)": lambda: iam.get_group(GroupName="big", MaxItems=100),
            "ListPolicies Local first page (100)": lambda: iam.list_policies(Scope="Local", MaxItems=100),
            "ListEntitiesForPolicy first page (100)": lambda: iam.list_entities_for_policy(PolicyArn=shared, MaxItems=100),
            "GetAccountAuthorizationDetails first page (100)": lambda: iam.get_account_authorization_details(MaxItems=100),
            "ListVirtualMFADevices first page (100)": lambda: iam.list_virtual_mfa_devices(MaxItems=100),
            "GetUser": lambda: iam.get_user(UserName=middle),
            "GetCallerIdentity": lambda: sts.get_caller_identity(),
            "AssumeRoleWithSAML (replay cache of N)": exchange,
            "console sign-in refused (N failures sprayed)": signin_refused,
        }
        out = {name: median_ms(f) for name, f in ops.items()}
        t = time.perf_counter()
        listed = sum(len(p["Users"]) for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1000}))
        out["ListUsers full traversal, per 1000 users"] = (time.perf_counter() - t) * 1e3 / listed * 1000
        return out
    finally:
        server.terminate(); server.wait()
        subprocess.run(["rm", "-rf", work])


for db in DATABASES:
    sizes = [BASE, BASE * 10, BASE * 100]
    results = []
    for n in sizes:
        print(f"{db}: {n} users ...", file=sys.stderr, flush=True)
        results.append(run(db, n))
    print(f"\n{db} (median ms; ratio per 10x)")
    print(f"{'request':<50}" + "".join(f"{n:>10}" for n in sizes) + f"{'x10':>8}{'x100':>8}")
    for op in results[0]:
        ms = [r[op] for r in results]
        print(f"{op:<50}" + "".join(f"{m:>10.2f}" for m in ms) + f"{ms[1] / ms[0]:>8.2f}{ms[2] / ms[0]:>8.2f}")
