//! Rows kept in memory (SAML providers, roles: store/cache.rs) follow every
//! change: on the node that made it at once, on another node sharing the
//! database within the change counter's poll. Each test first makes a node
//! read (and keep) the rows, then changes them.
use crate::helpers::*;
use crate::saml::{exchange, exchange_on, refused, second_node, setup, TO};
use crate::test_idp::TestIdp;

const DENY_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithSAML"}]}"#;

#[tokio::test]
async fn a_changed_trust_policy_is_in_force_for_the_next_exchange() {
    let (app, idp) = setup().await;
    exchange(&app, &idp.response(&TO, epoch(), |_| {})).await.ok();
    app.admin(&[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "SamlDev"), ("PolicyDocument", DENY_ALL)])
        .await
        .ok();
    refused(&exchange(&app, &idp.response(&TO, epoch(), |_| {})).await, 403, "AccessDenied");
}

#[tokio::test]
async fn a_deleted_role_or_provider_is_gone_for_the_next_exchange() {
    let (app, idp) = setup().await;
    exchange(&app, &idp.response(&TO, epoch(), |_| {})).await.ok();
    app.admin(&[("Action", "DeleteRolePolicy"), ("RoleName", "SamlDev"), ("PolicyName", "list")]).await.ok();
    app.admin(&[("Action", "DeleteRole"), ("RoleName", "SamlDev")]).await.ok();
    refused(&exchange(&app, &idp.response(&TO, epoch(), |_| {})).await, 403, "AccessDenied");

    let (app, idp) = setup().await;
    exchange(&app, &idp.response(&TO, epoch(), |_| {})).await.ok();
    app.admin(&[("Action", "DeleteSAMLProvider"), ("SAMLProviderArn", TO.provider)]).await.ok();
    refused(&exchange(&app, &idp.response(&TO, epoch(), |_| {})).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn new_provider_metadata_is_in_force_for_the_next_exchange() {
    let (app, old_idp) = setup().await;
    exchange(&app, &old_idp.response(&TO, epoch(), |_| {})).await.ok();
    // The IdP's key is replaced: the old one no longer verifies.
    let new_idp = TestIdp::new("https://idp.corp.test/saml");
    let metadata = new_idp.metadata().replacen(
        "><md:IDPSSODescriptor",
        &format!(" {}><md:IDPSSODescriptor", " ".repeat(1000)),
        1,
    );
    app.admin(&[
        ("Action", "UpdateSAMLProvider"),
        ("SAMLProviderArn", TO.provider),
        ("SAMLMetadataDocument", &metadata),
    ])
    .await
    .ok();
    refused(&exchange(&app, &old_idp.response(&TO, epoch(), |_| {})).await, 400, "InvalidIdentityToken");
    exchange(&app, &new_idp.response(&TO, epoch(), |_| {})).await.ok();
}

/// A second node on the same database keeps its own rows; a change made on
/// the first reaches it through the shared change counter, without a restart.
#[tokio::test]
async fn another_nodes_change_is_in_force_within_one_poll() {
    let (app, idp) = setup().await;
    let node2 = second_node(&app).await;
    let on_node2 = |xml: String| {
        let (app, node2) = (&app, node2.clone());
        async move { exchange_on(app, &node2, &xml).await.0 }
    };
    // Node 2 reads the provider and the role, and keeps them.
    for _ in 0..2 {
        assert_eq!(on_node2(idp.response(&TO, epoch(), |_| {})).await, 200);
    }
    app.admin(&[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "SamlDev"), ("PolicyDocument", DENY_ALL)])
        .await
        .ok();
    // Within a few polls (250 ms each), node 2 refuses; it never takes longer.
    let deadline = std::time::Instant::now() + idbroker::store::CHANGE_POLL * 8;
    loop {
        let status = on_node2(idp.response(&TO, epoch(), |_| {})).await;
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(std::time::Instant::now() < deadline, "node 2 still uses the old trust policy");
        tokio::time::sleep(idbroker::store::CHANGE_POLL / 5).await;
    }
}

/// Many exchanges of one assertion at once, grouped into commits together:
/// exactly one gets credentials.
#[tokio::test]
async fn one_assertion_sent_many_times_at_once_is_accepted_once() {
    let (app, idp) = setup().await;
    let app = std::sync::Arc::new(app);
    let xml = std::sync::Arc::new(idp.response(&TO, epoch(), |_| {}));
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (app, xml) = (app.clone(), xml.clone());
        tasks.push(tokio::spawn(async move { exchange(&app, &xml).await.status }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
}

/// The same, at the store: uses queued together share one commit and one
/// statement, in which an id is still taken once.
#[tokio::test]
async fn uses_of_one_id_in_one_group_are_first_once() {
    let app = spawn_app().await;
    let store = idbroker::store::Store::connect(&app.settings.database.url, 2).await.unwrap();
    // After the app's clock, so its sweeper leaves these entries alone.
    let t0 = epoch().timestamp() + 3600;
    let using = |id: &str| idbroker::store::AssertionUse {
        issuer: "https://idp.test".into(),
        assertion_id: id.into(),
        expires_at: t0 + 200,
        now: t0 + 100,
    };
    let ids = ["_a", "_b", "_a", "_c", "_b", "_a"];
    let answers =
        futures_util::future::join_all(ids.iter().map(|id| store.record_assertion_use(using(id)))).await;
    let answers: Vec<bool> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, [true, true, false, true, false, false]);
}
