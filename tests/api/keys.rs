//! Signing keys live in the database: a node in an empty folder serves with
//! the database and the master key alone, a key rolls over in three steps on
//! every node without a restart, and the key files of an earlier version
//! move into the database.
use crate::helpers::{epoch, spawn_app, Keys, TestApp};
use base64::Engine;
use idbroker::keys::{KeyPurpose, KeyRing};
use std::sync::Arc;
use std::time::Duration;

/// A node with the app's database and master key, in an empty data folder.
pub(crate) async fn node_in_an_empty_folder(app: &TestApp) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = app.settings.clone();
    settings.server.master_key_file = app.settings.server.data_dir.join("master.key").display().to_string();
    settings.server.data_dir = dir.path().join("data");
    let node = idbroker::startup::Application::build(&settings, Arc::new(app.clock.clone())).await.unwrap();
    let base = format!("http://127.0.0.1:{}", node.port());
    tokio::spawn(node.run());
    (base, dir)
}

pub(crate) async fn get_at(app: &TestApp, base: &str, path: &str) -> String {
    app.client.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap()
}

/// The keys as another process (a command, another node) opens them.
async fn ring(app: &TestApp) -> Arc<KeyRing> {
    idbroker::startup::services(&app.settings, Arc::new(app.clock.clone())).await.unwrap().keys
}

fn kids(jwks: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(jwks).unwrap();
    v["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

/// The certificates of an IdP metadata document, in order.
fn certificates(metadata: &str) -> Vec<String> {
    metadata.split("<ds:X509Certificate>").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
}

/// Waits (a few change polls at most) until `check` holds on every node.
pub(crate) async fn on_every_node(app: &TestApp, nodes: &[&str], path: &str, check: impl Fn(&str) -> bool) {
    for _ in 0..100 {
        let mut all = true;
        for base in nodes {
            all &= check(&get_at(app, base, path).await);
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} did not change on every node");
}

fn token_kid(keys: &Keys) -> String {
    let token = keys.token.as_deref().unwrap();
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap())
            .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_node_in_an_empty_folder_serves_with_the_database_and_the_master_key() {
    let app = spawn_app().await;
    let (b, dir) = node_in_an_empty_folder(&app).await;
    assert_eq!(
        get_at(&app, &b, "/.well-known/jwks.json").await,
        get_at(&app, &app.base, "/.well-known/jwks.json").await
    );
    assert_eq!(
        certificates(&get_at(&app, &b, "/idp/metadata").await),
        certificates(&get_at(&app, &app.base, "/idp/metadata").await)
    );
    // Credentials issued by one node work on the other.
    let session = app.sts(&app.admin, &[("Action", "GetSessionToken")]).await;
    session.ok();
    let creds = Keys::from_credentials(&session);
    app.sts_at(&b, &creds, &[("Action", "GetCallerIdentity")]).await.ok();
    // Nothing was written to its folder but what SQLite needs elsewhere: no key files.
    let files: Vec<_> =
        std::fs::read_dir(dir.path().join("data")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(files.is_empty(), "{files:?}");
}

#[tokio::test]
async fn keys_roll_over_in_three_steps_on_every_node_without_a_restart() {
    let app = spawn_app().await;
    let (b, _dir) = node_in_an_empty_folder(&app).await;
    let nodes = [app.base.as_str(), b.as_str()];
    let ring = ring(&app).await;
    let now = epoch().timestamp();
    let before = Keys::from_credentials(app.sts(&app.admin, &[("Action", "GetSessionToken")]).await.ok());
    let old_token_kid = token_kid(&before);
    let old_cert = certificates(&get_at(&app, &app.base, "/idp/metadata").await)[0].clone();

    // 1. Published: announced everywhere, signing nothing yet.
    let token_kid_new = ring.publish(KeyPurpose::SessionToken, now).await.unwrap();
    let idp_kid_new = ring.publish(KeyPurpose::Idp, now).await.unwrap();
    on_every_node(&app, &nodes, "/.well-known/jwks.json", |j| kids(j).contains(&token_kid_new)).await;
    on_every_node(&app, &nodes, "/idp/metadata", |m| {
        certificates(m).len() == 2 && certificates(m)[0] == old_cert
    })
    .await;
    let still_old =
        Keys::from_credentials(app.sts_at(&b, &app.admin, &[("Action", "GetSessionToken")]).await.ok());
    assert_eq!(token_kid(&still_old), old_token_kid);

    // 2. Activated: the new keys sign, on every node; the old ones still verify.
    ring.activate(&token_kid_new, now).await.unwrap();
    ring.activate(&idp_kid_new, now).await.unwrap();
    on_every_node(&app, &nodes, "/idp/metadata", |m| {
        certificates(m).len() == 2 && certificates(m)[0] != old_cert
    })
    .await;
    for _ in 0..100 {
        let r = app.sts_at(&b, &app.admin, &[("Action", "GetSessionToken")]).await;
        if token_kid(&Keys::from_credentials(r.ok())) == token_kid_new {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh =
        Keys::from_credentials(app.sts_at(&b, &app.admin, &[("Action", "GetSessionToken")]).await.ok());
    assert_eq!(token_kid(&fresh), token_kid_new);
    app.sts(&before, &[("Action", "GetCallerIdentity")]).await.ok();

    // 3. Retired: the old keys go; what they signed no longer verifies.
    let active_cannot_go = ring.retire(&token_kid_new, now).await;
    assert!(matches!(active_cannot_go, Err(idbroker::keys::KeyRingError::WrongState(_))));
    ring.retire(&old_token_kid, now).await.unwrap();
    on_every_node(&app, &nodes, "/.well-known/jwks.json", |j| kids(j) == [token_kid_new.clone()]).await;
    app.sts_at(&b, &before, &[("Action", "GetCallerIdentity")]).await.err(403, "InvalidClientTokenId");
    app.sts(&fresh, &[("Action", "GetCallerIdentity")]).await.ok();
    let listed = ring.list().await.unwrap();
    assert_eq!(listed.iter().filter(|k| k.state == "active").count(), 2);
    assert!(listed.iter().any(|k| k.kid == old_token_kid && k.state == "retired"));
    let unknown = ring.activate("000000000000-none", now).await;
    assert!(matches!(unknown, Err(idbroker::keys::KeyRingError::WrongState(_))));
}

#[tokio::test]
async fn key_files_of_an_earlier_version_move_into_the_database() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = app.settings.clone();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.database.url = format!("sqlite://{}/fresh.db", dir.path().display());
    // As an earlier version left them: a master key and sealed key files.
    let master_bytes = idbroker::config::master_key_bytes(&settings, || vec![5u8; 32]).unwrap();
    let master = idbroker::crypto::MasterKey::from_bytes(&master_bytes).unwrap();
    let folder = dir.path().join("token-keys");
    for kid in ["000000000100-aaaa", "000000000200-bbbb"] {
        let pem = idbroker::crypto::generate_token_key_pem().unwrap();
        let sealed = master.seal(pem.as_bytes(), &format!("token-key:{kid}"));
        idbroker::config::write_key_file(&folder, &format!("{kid}.key"), &sealed).unwrap();
    }
    let ring = idbroker::startup::services(&settings, Arc::new(app.clock.clone())).await.unwrap().keys;
    let tokens: Vec<_> = ring.list().await.unwrap().into_iter().filter(|k| k.purpose == "token").collect();
    let states: Vec<_> = tokens.iter().map(|k| (k.kid.as_str(), k.state.as_str())).collect();
    assert_eq!(states, [("000000000100-aaaa", "published"), ("000000000200-bbbb", "active")]);
    assert_eq!(ring.list().await.unwrap().iter().filter(|k| k.purpose == "idp").count(), 1, "a new IdP key");
}

#[tokio::test]
async fn operators_roll_a_key_over_through_the_api_as_their_policies_allow() {
    let app = crate::helpers::spawn_app_with("[server]\noperator_accounts = [\"111122223333\"]\n").await;
    let (b, _dir) = node_in_an_empty_folder(&app).await;
    let nodes = [app.base.as_str(), b.as_str()];
    let old_cert = certificates(&get_at(&app, &app.base, "/idp/metadata").await)[0].clone();

    // A user of the operator account whose policies do not allow it: refused.
    let plain = app.user_with_key("keeper").await;
    app.iam(&plain, &[("Action", "PublishSigningKey"), ("Purpose", "idp")]).await.err(403, "AccessDenied");
    app.grant(
        "keeper",
        "rotate",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"idbroker:*SigningKey*","Resource":"*"}]}"#,
    )
    .await;

    // 1. Published: in the metadata of every node, not signing yet.
    let published = app.iam(&plain, &[("Action", "PublishSigningKey"), ("Purpose", "idp")]).await;
    let kid = published.ok().text("KeyId").unwrap();
    on_every_node(&app, &nodes, "/idp/metadata", |m| {
        certificates(m).len() == 2 && certificates(m)[0] == old_cert
    })
    .await;
    let listed = app.iam(&plain, &[("Action", "ListSigningKeys")]).await;
    assert!(listed.ok().body.contains(&format!("<KeyId>{kid}</KeyId>")), "{}", listed.body);
    // The idp key in force before.
    let members: Vec<&str> = listed.body.split("<member>").skip(1).collect();
    let old =
        members.iter().find(|m| m.contains("<Purpose>idp</Purpose>") && m.contains("<State>active</State>"));
    let old_kid = old.unwrap().split("<KeyId>").nth(1).unwrap().split('<').next().unwrap().to_owned();

    // 2. Activated, 3. the old one retired: seen on every node.
    app.iam(&plain, &[("Action", "ActivateSigningKey"), ("KeyId", &kid)]).await.ok();
    on_every_node(&app, &nodes, "/idp/metadata", |m| certificates(m)[0] != old_cert).await;
    app.iam(&plain, &[("Action", "RetireSigningKey"), ("KeyId", &kid)]).await.err(400, "InvalidInput");
    app.iam(&plain, &[("Action", "RetireSigningKey"), ("KeyId", &old_kid)]).await.ok();
    on_every_node(&app, &nodes, "/idp/metadata", |m| !certificates(m).contains(&old_cert)).await;
    app.iam(&plain, &[("Action", "PublishSigningKey"), ("Purpose", "other")]).await.err(400, "InvalidInput");
    let event = app.audit_event(|e| e["eventName"] == "ActivateSigningKey").await;
    assert_eq!(event["requestParameters"]["KeyId"], kid.as_str());
}

#[tokio::test]
async fn accounts_that_are_not_operators_cannot_touch_the_keys() {
    // Without operator accounts, not even an account's administrator can.
    let app = spawn_app().await;
    app.admin(&[("Action", "ListSigningKeys")]).await.err(403, "AccessDenied");
    let refused = app.admin(&[("Action", "PublishSigningKey"), ("Purpose", "token")]).await;
    refused.err(403, "AccessDenied");
    assert!(refused.body.contains("operator accounts"), "{}", refused.body);
    assert_eq!(ring(&app).await.list().await.unwrap().len(), 2, "nothing published");
}
