//! The built-in IdP's service providers at run time: an operator registers,
//! changes and removes one through the API on one node, and another node
//! signs users in to it (or refuses to) without a restart.
use crate::browser::*;
use crate::helpers::*;
use crate::keys::node_in_an_empty_folder;
use std::time::Duration;

const SP: &str = "https://runtime-sp.test/metadata";
const ACS_1: &str = "https://runtime-sp.test/acs";
const ACS_2: &str = "https://runtime-sp.test/acs-2";

fn enc(s: &str) -> String {
    form(&[("", s)]).trim_start_matches('=').to_owned()
}

/// The page an IdP-initiated sign-in to `SP` at `base` ends on, as `bob`.
async fn sign_in_to_sp(base: &str) -> Page {
    let b = Browser::at(base);
    let form = b.follow(b.get(&format!("/idp/login?sp={}", enc(SP))).await).await;
    if form.field("request").is_none() {
        return form;
    }
    b.submit_login(&form, "bob", "Bravo-Pass-2").await
}

/// Retries `check` on the page at `base` for a few change polls.
async fn eventually(base: &str, check: impl Fn(&Page) -> bool) -> Page {
    for _ in 0..100 {
        let page = sign_in_to_sp(base).await;
        if check(&page) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sign_in_to_sp(base).await
}

fn posts_to(page: &Page, acs: &str) -> bool {
    page.field("SAMLResponse").is_some() && page.body.contains(&format!("action=\"{acs}\""))
}

#[tokio::test]
#[ignore = "needs the test directories: scripts/test.sh runs it"]
async fn an_sp_registered_on_one_node_signs_users_in_through_another() {
    let app = directory_app_serving("operator_accounts = [\"111122223333\"]", "", "").await;
    let (other, _dir) = node_in_an_empty_folder(&app).await;
    assert_eq!(sign_in_to_sp(&other).await.status, 400, "not registered yet");

    let created = app
        .admin(&[
            ("Action", "CreateServiceProvider"),
            ("EntityId", SP),
            ("AssertionConsumerServiceURLs.member.1", ACS_1),
            ("SignAssertions", "true"),
        ])
        .await;
    assert_eq!(created.ok().text("EntityId").as_deref(), Some(SP));
    let page = eventually(&other, |p| posts_to(p, ACS_1)).await;
    assert!(posts_to(&page, ACS_1), "{}", page.body);
    let xml = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            page.field("SAMLResponse").unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(xml.contains(&format!("<saml:Audience>{SP}</saml:Audience>")));
    assert_eq!(xml.matches("<ds:Signature ").count(), 2, "SignAssertions: the Assertion signed too");
    app.admin(&[
        ("Action", "CreateServiceProvider"),
        ("EntityId", SP),
        ("AssertionConsumerServiceURLs.member.1", ACS_1),
    ])
    .await
    .err(409, "EntityAlreadyExists");

    // Changed: the new ACS on the other node.
    app.admin(&[
        ("Action", "UpdateServiceProvider"),
        ("EntityId", SP),
        ("AssertionConsumerServiceURLs.member.1", ACS_2),
    ])
    .await
    .ok();
    let page = eventually(&other, |p| posts_to(p, ACS_2)).await;
    assert!(posts_to(&page, ACS_2), "{}", page.body);
    let listed = app.admin(&[("Action", "ListServiceProviders")]).await;
    assert!(
        listed.ok().body.contains(ACS_2) && listed.body.contains("<Source>database</Source>"),
        "{}",
        listed.body
    );
    assert!(listed.body.contains("<Source>configuration</Source>"), "idbroker's own SP is listed too");

    // Removed: the other node refuses it.
    app.admin(&[("Action", "DeleteServiceProvider"), ("EntityId", SP)]).await.ok();
    let gone = eventually(&other, |p| p.status == 400).await;
    assert_eq!(gone.status, 400, "{}", gone.body);
    app.admin(&[("Action", "DeleteServiceProvider"), ("EntityId", SP)]).await.err(404, "NoSuchEntity");
    let event =
        app.audit_event(|e| e["eventName"] == "DeleteServiceProvider" && e["errorCode"].is_null()).await;
    assert_eq!(event["requestParameters"]["EntityId"], SP);
}

#[tokio::test]
async fn registrations_are_checked_and_kept_to_operators() {
    let app = spawn_app_with("[server]\noperator_accounts = [\"111122223333\"]\n").await;
    for (fields, why) in [
        (
            vec![("EntityId", SP), ("AssertionConsumerServiceURLs.member.1", "http://runtime-sp.test/acs")],
            "https",
        ),
        (vec![("EntityId", SP)], "AssertionConsumerServiceURLs"),
        (vec![("SAMLMetadataDocument", "<!DOCTYPE x><x/>")], "metadata"),
        (
            vec![
                ("EntityId", SP),
                ("AssertionConsumerServiceURLs.member.1", ACS_1),
                ("SigningCertificate", "x"),
            ],
            "PEM",
        ),
    ] {
        let mut pairs = vec![("Action", "CreateServiceProvider")];
        pairs.extend(fields);
        let refused = app.admin(&pairs).await;
        refused.err(400, "InvalidInput");
        assert!(refused.body.contains(why), "{why}: {}", refused.body);
    }
    // idbroker's own SP stays as the configuration makes it.
    let own = app
        .admin(&[
            ("Action", "UpdateServiceProvider"),
            ("EntityId", "http://127.0.0.1:8080/saml/metadata"),
            ("AssertionConsumerServiceURLs.member.1", "https://evil.test/acs"),
        ])
        .await;
    own.err(400, "InvalidInput");
    // AWS's own metadata registers as it is.
    let aws = include_str!("../fixtures/aws-sp-metadata.xml");
    let created = app.admin(&[("Action", "CreateServiceProvider"), ("SAMLMetadataDocument", aws)]).await;
    assert_eq!(created.ok().text("EntityId").as_deref(), Some("urn:amazon:webservices"));

    // A user of the operator account needs a policy that allows it.
    let plain = app.user_with_key("plain").await;
    app.iam(&plain, &[("Action", "ListServiceProviders")]).await.err(403, "AccessDenied");
}
