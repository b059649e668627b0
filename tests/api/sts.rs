//! STS: temporary credentials from GetSessionToken, GetFederationToken and
//! AssumeRole, used to sign calls; trust policies; tokens that fail.
use crate::helpers::*;
use base64::Engine;

const ROLE: &str = "arn:aws:iam::111122223333:role/Dev";
const LIST_ONLY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}"#;
const ASSUME_ANY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;

fn trust(principal: &str, extra: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":["sts:AssumeRole","sts:TagSession"]{extra}}}]}}"#
    )
}

async fn create_role(app: &TestApp, name: &str, trust: &str, max: &str) {
    app.admin(&[
        ("Action", "CreateRole"),
        ("RoleName", name),
        ("AssumeRolePolicyDocument", trust),
        ("MaxSessionDuration", max),
    ])
    .await
    .ok();
}

async fn assume(app: &TestApp, keys: &Keys, extra: &[(&str, &str)]) -> Reply {
    let mut pairs = vec![("Action", "AssumeRole"), ("RoleArn", ROLE), ("RoleSessionName", "s1")];
    pairs.extend_from_slice(extra);
    app.sts(keys, &pairs).await
}

/// bob, who may assume Dev (trusted by name), which may list.
async fn setup() -> (TestApp, Keys) {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    create_role(&app, "Dev", &trust("arn:aws:iam::111122223333:user/bob", ""), "7200").await;
    app.admin(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyName", "list"),
        ("PolicyDocument", LIST_ONLY),
    ])
    .await
    .ok();
    (app, bob)
}

#[tokio::test]
async fn assumed_role_credentials_act_as_the_role() {
    let (app, bob) = setup().await;
    let r = assume(&app, &bob, &[]).await;
    r.ok();
    let creds = Keys::from_credentials(&r);
    assert!(creds.id.starts_with("ASIA") && creds.id.len() == 20);
    assert_eq!(r.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/s1"));
    assert!(
        r.text("AssumedRoleId").unwrap().starts_with("AROA")
            && r.text("AssumedRoleId").unwrap().ends_with(":s1")
    );
    // The default duration is an hour.
    assert_eq!(r.text("Expiration").as_deref(), Some("2026-11-27T13:00:00Z"));
    let me = app.sts(&creds, &[("Action", "GetCallerIdentity")]).await;
    me.ok();
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/s1"));
    app.iam(&creds, &[("Action", "ListUsers")]).await.ok();
    app.iam(&creds, &[("Action", "CreateUser"), ("UserName", "x")]).await.err(403, "AccessDenied");
    // The account of a temporary key id is readable from it.
    let info =
        app.sts(&app.admin.clone(), &[("Action", "GetAccessKeyInfo"), ("AccessKeyId", &creds.id)]).await;
    assert_eq!(info.text("Account").as_deref(), Some(ACCOUNT));
    let jwks = app.get("/.well-known/jwks.json").await;
    let keys: serde_json::Value = serde_json::from_str(&jwks.body).unwrap();
    assert_eq!(keys["keys"][0]["alg"], "ES256");
}

#[tokio::test]
async fn a_session_policy_narrows_the_role() {
    let (app, bob) = setup().await;
    let get_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#;
    let creds = Keys::from_credentials(assume(&app, &bob, &[("Policy", get_only)]).await.ok());
    app.iam(&creds, &[("Action", "ListRoles")]).await.ok();
    app.iam(&creds, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    // A session policy wider than the role grants nothing more.
    let wide = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let creds = Keys::from_credentials(assume(&app, &bob, &[("Policy", wide)]).await.ok());
    app.iam(&creds, &[("Action", "CreateUser"), ("UserName", "x")]).await.err(403, "AccessDenied");
    assume(&app, &bob, &[("Policy", "{not json")]).await.err(400, "MalformedPolicyDocument");
    assume(&app, &bob, &[("Policy", &"x".repeat(2049))]).await.err(400, "ValidationError");
}

#[tokio::test]
async fn the_trust_policy_decides_who_may_assume() {
    let (app, bob) = setup().await;
    let carol = app.user_with_key("carol").await;
    let r = assume(&app, &carol, &[]).await;
    r.err(403, "AccessDenied");
    assert!(!r.body.contains("SessionToken"));
    // Trust granted to the account delegates to the caller's own policies.
    create_role(&app, "Ops", &trust("arn:aws:iam::111122223333:root", ""), "3600").await;
    let ops = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::111122223333:role/Ops"),
        ("RoleSessionName", "cs"),
    ];
    app.sts(&carol, &ops).await.err(403, "AccessDenied");
    app.grant("carol", "assume", ASSUME_ANY).await;
    app.sts(&carol, &ops).await.ok();
    // Identity permission alone never assumes a role that does not trust you.
    app.grant("bob", "assume", ASSUME_ANY).await;
    create_role(&app, "Closed", &trust("arn:aws:iam::111122223333:user/nobody", ""), "3600").await;
    let closed = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::111122223333:role/Closed"),
        ("RoleSessionName", "cs"),
    ];
    app.sts(&bob, &closed).await.err(403, "AccessDenied");
    // A missing role answers like a refused one.
    let ghost = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::111122223333:role/Ghost"),
        ("RoleSessionName", "cs"),
    ];
    app.sts(&bob, &ghost).await.err(403, "AccessDenied");
    // An administrator of the account may, through its own policies.
    app.sts(&app.admin.clone(), &ops).await.ok();
}

#[tokio::test]
async fn external_id_guards_against_the_confused_deputy() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let cond = r#","Condition":{"StringEquals":{"sts:ExternalId":"tenant-42"}}"#;
    create_role(&app, "Dev", &trust("arn:aws:iam::111122223333:user/bob", cond), "3600").await;
    assume(&app, &bob, &[]).await.err(403, "AccessDenied");
    assume(&app, &bob, &[("ExternalId", "tenant-41")]).await.err(403, "AccessDenied");
    assume(&app, &bob, &[("ExternalId", "tenant-42")]).await.ok();
}

#[tokio::test]
async fn durations_and_names_are_checked() {
    let (app, bob) = setup().await;
    for bad in ["899", "43201", "7201", "x"] {
        assume(&app, &bob, &[("DurationSeconds", bad)]).await.err(400, "ValidationError");
    }
    let r = assume(&app, &bob, &[("DurationSeconds", "7200")]).await;
    assert_eq!(r.text("Expiration").as_deref(), Some("2026-11-27T14:00:00Z"));
    for bad in ["a", &"a".repeat(65), "has space", "a/b", "a:b", "é-x"] {
        app.sts(&bob, &[("Action", "AssumeRole"), ("RoleArn", ROLE), ("RoleSessionName", bad)])
            .await
            .err(400, "ValidationError");
    }
    // Role chaining is limited to an hour.
    create_role(&app, "Next", &trust("arn:aws:iam::111122223333:role/Dev", ""), "43200").await;
    let first = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    let next = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::111122223333:role/Next"),
        ("RoleSessionName", "chain"),
    ];
    let mut long = next.to_vec();
    long.push(("DurationSeconds", "3601"));
    app.sts(&first, &long).await.err(400, "ValidationError");
    let chained = app.sts(&first, &next).await;
    chained.ok();
    assert_eq!(chained.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Next/chain"));
}

#[tokio::test]
async fn expired_altered_and_mismatched_tokens_are_refused() {
    let (app, bob) = setup().await;
    let creds = Keys::from_credentials(assume(&app, &bob, &[("DurationSeconds", "900")]).await.ok());
    let whoami = [("Action", "GetCallerIdentity")];
    app.sts(&creds, &whoami).await.ok();
    // One character of the token changed.
    let token = creds.token.clone().unwrap();
    let mut altered = token.clone().into_bytes();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let forged = Keys { token: Some(String::from_utf8(altered).unwrap()), ..creds.clone() };
    app.sts(&forged, &whoami).await.err(403, "InvalidClientTokenId");
    // Another session's token with this key id.
    let other = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    let mixed = Keys { token: other.token.clone(), ..creds.clone() };
    app.sts(&mixed, &whoami).await.err(403, "InvalidClientTokenId");
    // No token at all.
    let bare = Keys { token: None, ..creds.clone() };
    app.sts(&bare, &whoami).await.err(403, "InvalidClientTokenId");
    // A token sent but left out of the signature.
    let body = form(&[("Version", "2011-06-15"), ("Action", "GetCallerIdentity")]);
    let (authorization, date) = app.sign("sts", &bare, &body, 0);
    app.raw(
        &body,
        &[("authorization", &authorization), ("x-amz-date", &date), ("x-amz-security-token", &token)],
    )
    .await
    .err(400, "IncompleteSignature");
    // A token whose payload is rewritten, keeping the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(b64.decode(parts[1]).unwrap())
        .unwrap()
        .replace("assumed-role/Dev", "assumed-role/Admin");
    let rewritten =
        Keys { token: Some(format!("{}.{}.{}", parts[0], b64.encode(payload), parts[2])), ..creds.clone() };
    app.sts(&rewritten, &whoami).await.err(403, "InvalidClientTokenId");
    // Fifteen minutes on, the session is over.
    app.clock.advance(chrono::Duration::seconds(900));
    app.sts(&creds, &whoami).await.err(400, "ExpiredToken");
    app.sts(&other, &whoami).await.ok();
}

#[tokio::test]
async fn older_sessions_can_be_revoked_on_every_node() {
    let (app, bob) = setup().await;
    let old = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    app.iam(&old, &[("Action", "ListUsers")]).await.ok();
    // AWS's "revoke active sessions": deny tokens issued before now.
    let revoke = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-27T12:00:30Z"}}}]}"#;
    app.admin(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyName", "AWSRevokeOlderSessions"),
        ("PolicyDocument", revoke),
    ])
    .await
    .ok();
    app.iam(&old, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    app.clock.advance(chrono::Duration::seconds(60));
    let new = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    app.iam(&new, &[("Action", "ListUsers")]).await.ok();
}

#[tokio::test]
async fn session_tokens_and_mfa() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.grant("bob", "list", LIST_ONLY).await;
    let r = app.sts(&bob, &[("Action", "GetSessionToken")]).await;
    r.ok();
    assert_eq!(r.text("Expiration").as_deref(), Some("2026-11-28T00:00:00Z"));
    let session = Keys::from_credentials(&r);
    let me = app.sts(&session, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:iam::111122223333:user/bob"));
    // IAM wants MFA with GetSessionToken credentials.
    app.iam(&session, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    app.sts(&session, &[("Action", "GetSessionToken")]).await.err(403, "AccessDenied");
    app.sts(&bob, &[("Action", "GetSessionToken"), ("DurationSeconds", "129601")])
        .await
        .err(400, "ValidationError");
    let wrong = [
        ("Action", "GetSessionToken"),
        ("SerialNumber", "arn:aws:iam::111122223333:mfa/none"),
        ("TokenCode", "123456"),
    ];
    app.sts(&bob, &wrong).await.err(403, "AccessDenied");
}

#[tokio::test]
async fn federation_tokens_carry_a_session_policy() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[
        ("Action", "AttachUserPolicy"),
        ("UserName", "bob"),
        ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
    ])
    .await
    .ok();
    let r =
        app.sts(&bob, &[("Action", "GetFederationToken"), ("Name", "partner"), ("Policy", LIST_ONLY)]).await;
    r.ok();
    assert_eq!(r.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:federated-user/partner"));
    assert_eq!(r.text("FederatedUserId").as_deref(), Some("111122223333:partner"));
    let fed = Keys::from_credentials(&r);
    let me = app.sts(&fed, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:federated-user/partner"));
    // IAM takes no GetFederationToken credentials; nor does AssumeRole.
    app.iam(&fed, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    app.sts(&fed, &[("Action", "AssumeRole"), ("RoleArn", ROLE), ("RoleSessionName", "xs")])
        .await
        .err(403, "AccessDenied");
    app.sts(&bob, &[("Action", "GetFederationToken"), ("Name", "x")]).await.err(400, "ValidationError");
    // A user without permission for GetFederationToken gets none.
    let carol = app.user_with_key("carol").await;
    app.sts(&carol, &[("Action", "GetFederationToken"), ("Name", "partner")]).await.err(403, "AccessDenied");
}

#[tokio::test]
async fn cross_account_needs_both_sides() {
    let app = spawn_app().await;
    let idbroker::startup::Services { store, iam, .. } =
        idbroker::startup::services(&app.settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let other = iam.create_account("999988887777", "admin").await.unwrap();
    store.close().await;
    let other_admin = Keys::long_term(other.access_key_id, other.secret_access_key);
    let bob = app.user_with_key("bob").await;
    // Account B's role trusts account A.
    app.iam(
        &other_admin,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "Shared"),
            ("AssumeRolePolicyDocument", &trust("arn:aws:iam::111122223333:root", "")),
        ],
    )
    .await
    .ok();
    let shared = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::999988887777:role/Shared"),
        ("RoleSessionName", "xs"),
    ];
    app.sts(&bob, &shared).await.err(403, "AccessDenied");
    app.grant("bob", "assume", ASSUME_ANY).await;
    let r = app.sts(&bob, &shared).await;
    r.ok();
    let creds = Keys::from_credentials(&r);
    let me = app.sts(&creds, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Account").as_deref(), Some("999988887777"));
}

#[tokio::test]
async fn session_tags_need_tag_session_and_pass_on_when_transitive() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let no_tags = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"sts:AssumeRole"}]}"#;
    create_role(&app, "Dev", no_tags, "3600").await;
    let tagged = [("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ops")];
    assume(&app, &bob, &tagged).await.err(403, "AccessDenied");
    assume(&app, &bob, &[]).await.ok();
    app.admin(&[
        ("Action", "UpdateAssumeRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyDocument", &trust("arn:aws:iam::111122223333:user/bob", "")),
    ])
    .await
    .ok();
    // The tag is visible to the role's policies as aws:PrincipalTag.
    let by_tag = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ops"}}}]}"#;
    app.admin(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyName", "bytag"),
        ("PolicyDocument", by_tag),
    ])
    .await
    .ok();
    let creds = Keys::from_credentials(assume(&app, &bob, &tagged).await.ok());
    app.iam(&creds, &[("Action", "ListUsers")]).await.ok();
    let untagged = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    app.iam(&untagged, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
}

#[tokio::test]
async fn t10_role_credentials_cannot_widen_themselves() {
    let (app, bob) = setup().await;
    let creds = Keys::from_credentials(assume(&app, &bob, &[]).await.ok());
    // No new credentials from session credentials.
    app.sts(&creds, &[("Action", "GetSessionToken")]).await.err(403, "AccessDenied");
    app.sts(&creds, &[("Action", "GetFederationToken"), ("Name", "x")]).await.err(403, "AccessDenied");
    // No rewriting its own trust or permissions: the role only lists.
    let open = trust("*", "");
    app.iam(&creds, &[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "Dev"), ("PolicyDocument", &open)])
        .await
        .err(403, "AccessDenied");
    let all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    app.iam(
        &creds,
        &[("Action", "PutRolePolicy"), ("RoleName", "Dev"), ("PolicyName", "all"), ("PolicyDocument", all)],
    )
    .await
    .err(403, "AccessDenied");
    app.iam(
        &creds,
        &[
            ("Action", "AttachRolePolicy"),
            ("RoleName", "Dev"),
            ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ],
    )
    .await
    .err(403, "AccessDenied");
    // Nothing changed: the role still only lists, and is who it says it is.
    app.iam(&creds, &[("Action", "CreateUser"), ("UserName", "x")]).await.err(403, "AccessDenied");
    let me = app.sts(&creds, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(me.text("Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/Dev/s1"));
    let r = app.admin(&[("Action", "ListRolePolicies"), ("RoleName", "Dev")]).await;
    assert_eq!(r.all("member"), vec!["list"]);
}

#[tokio::test]
async fn access_denied_carries_a_message_only_this_account_decodes() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let r = app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "mallory")]).await;
    r.err(403, "AccessDenied");
    let message = r.text("Message").unwrap();
    let encoded = message.split("Encoded authorization failure message: ").nth(1).unwrap().to_owned();
    // bob may not decode it; the administrator may.
    app.sts(&bob, &[("Action", "DecodeAuthorizationMessage"), ("EncodedMessage", &encoded)])
        .await
        .err(403, "AccessDenied");
    let d = app
        .sts(&app.admin.clone(), &[("Action", "DecodeAuthorizationMessage"), ("EncodedMessage", &encoded)])
        .await;
    d.ok();
    let text = d.text("DecodedMessage").unwrap().replace("&quot;", "\"");
    let decoded: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(decoded["allowed"], false);
    assert_eq!(decoded["explicitDeny"], false);
    assert_eq!(decoded["context"]["action"], "iam:CreateUser");
    assert_eq!(decoded["context"]["resource"], "arn:aws:iam::111122223333:user/mallory");
    assert_eq!(decoded["context"]["principal"]["arn"], "arn:aws:iam::111122223333:user/bob");
    // Altered, or decoded in another account: not an authorization message.
    // One base64 character inside the sealed bytes, changed.
    let at = encoded.len() - 4;
    let flipped = if &encoded[at..at + 1] == "A" { "B" } else { "A" };
    let altered = format!("{}{flipped}{}", &encoded[..at], &encoded[at + 1..]);
    app.sts(&app.admin.clone(), &[("Action", "DecodeAuthorizationMessage"), ("EncodedMessage", &altered)])
        .await
        .err(400, "InvalidAuthorizationMessageException");
    let idbroker::startup::Services { store, iam, .. } =
        idbroker::startup::services(&app.settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let other = iam.create_account("999988887777", "admin").await.unwrap();
    store.close().await;
    let other = Keys::long_term(other.access_key_id, other.secret_access_key);
    app.sts(&other, &[("Action", "DecodeAuthorizationMessage"), ("EncodedMessage", &encoded)])
        .await
        .err(400, "InvalidAuthorizationMessageException");
}

/// W05: answers with credentials (and every other dynamic answer) are never
/// stored by a browser or proxy; static files keep their caching.
#[tokio::test]
async fn answers_with_secrets_are_never_cached() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let session = app.sts(&bob, &[("Action", "GetSessionToken")]).await;
    session.ok();
    let failed = app.raw("Action=AssumeRoleWithSAML&Version=2011-06-15", &[]).await;
    let federation = app.get("/federation?Action=getSigninToken&Session=x").await;
    let console = app.get("/console").await;
    for r in [&session, &failed, &federation, &console] {
        assert_eq!(
            r.headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{}",
            r.body
        );
        assert_eq!(r.headers.get("pragma").map(|v| v.to_str().unwrap()), Some("no-cache"));
    }
    let style = app.get("/static/style.css").await;
    assert_eq!(style.headers.get("cache-control").unwrap(), "public, max-age=3600");
}

/// R05: ten thousand parameters are refused before any work, with the
/// Query API's error.
#[tokio::test]
async fn r05_a_request_with_too_many_parameters_is_refused() {
    let app = spawn_app().await;
    let many: String = (0..10_000).map(|i| format!("&p{i}=x")).collect();
    let r = app.raw(&format!("Action=GetCallerIdentity&Version=2011-06-15{many}"), &[]).await;
    r.err(400, "MalformedQueryString");
    let bob = app.user_with_key("bob").await;
    let tags: Vec<(String, String)> = (1..=50)
        .flat_map(|i| {
            [
                (format!("Tags.member.{i}.Key"), format!("k{i}")),
                (format!("Tags.member.{i}.Value"), "v".into()),
            ]
        })
        .collect();
    let mut pairs: Vec<(&str, &str)> = vec![("Action", "GetFederationToken"), ("Name", "fifty-tags")];
    pairs.extend(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // The largest real request shape still passes the bound (it may fail on its own merits).
    let r = app.sts(&bob, &pairs).await;
    assert_ne!(r.code().as_deref(), Some("MalformedQueryString"), "{}", r.body);
}

/// One principal's session requests per hour are bounded
/// (`sts.sessions_per_principal_per_hour`): a role's sessions share one
/// budget whatever their names, and the next hour starts afresh.
#[tokio::test]
async fn sessions_per_principal_are_limited_per_hour() {
    let app = spawn_app_with("[sts]\nsessions_per_principal_per_hour = 3\n").await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Ci"), ("AssumeRolePolicyDocument", &trust)])
        .await
        .ok();
    let role = format!("arn:aws:iam::{ACCOUNT}:role/Ci");
    let may_assume = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{role}"}}]}}"#
    );
    app.admin(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "Ci"),
        ("PolicyName", "chain"),
        ("PolicyDocument", &may_assume),
    ])
    .await
    .ok();
    let assume = |name: &'static str| {
        let role = role.clone();
        let app = &app;
        async move {
            let pairs = [("Action", "AssumeRole"), ("RoleArn", role.as_str()), ("RoleSessionName", name)];
            app.sts(&app.admin, &pairs).await
        }
    };
    for name in ["s-a", "s-b", "s-c"] {
        assume(name).await.ok();
    }
    let r = assume("s-d").await;
    r.err(400, "Throttling");
    assert!(r.body.contains("Rate exceeded"), "{}", r.body);
    app.sts(&app.admin, &[("Action", "GetSessionToken")]).await.err(400, "Throttling");

    // The role's sessions share one budget, whatever their names.
    app.clock.advance(chrono::Duration::hours(1));
    let first = Keys::from_credentials(&assume("s-e").await);
    let chained = |name: &'static str| {
        let role = role.clone();
        let (app, first) = (&app, first.clone());
        async move {
            let pairs = [("Action", "AssumeRole"), ("RoleArn", role.as_str()), ("RoleSessionName", name)];
            app.sts(&first, &pairs).await.status
        }
    };
    let statuses = [chained("s-f").await, chained("s-g").await, chained("s-h").await, chained("s-i").await];
    assert_eq!(statuses, [200, 200, 200, 400]);
}
