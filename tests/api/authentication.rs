//! SigV4 authentication against the running service: every failure gets AWS's
//! code and status and changes nothing.
use crate::helpers::*;

const LIST: &[(&str, &str)] = &[("Version", "2010-05-08"), ("Action", "ListUsers")];

async fn user_count(app: &TestApp) -> usize {
    let r = app.admin(&[("Action", "ListUsers")]).await;
    r.ok();
    r.all("UserName").len()
}

#[tokio::test]
async fn a_correctly_signed_request_is_served() {
    let app = spawn_app().await;
    let r = app.sts(&app.admin.clone(), &[("Action", "GetCallerIdentity")]).await;
    r.ok();
    assert_eq!(r.text("Arn").unwrap(), format!("arn:aws:iam::{ACCOUNT}:user/admin"));
    assert_eq!(r.text("Account").unwrap(), ACCOUNT);
    assert!(r.text("UserId").unwrap().starts_with("AIDA"));
    assert!(r.body.contains("xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""));
}

#[tokio::test]
async fn unsigned_and_malformed_requests_are_refused() {
    let app = spawn_app().await;
    let create = form(&[("Version", "2010-05-08"), ("Action", "CreateUser"), ("UserName", "mallory")]);
    app.raw(&create, &[]).await.err(403, "MissingAuthenticationToken");
    app.raw(&create, &[("authorization", "AWS4-HMAC-SHA256 Credential=x")])
        .await
        .err(400, "IncompleteSignature");
    app.raw(&create, &[("authorization", "Basic YWRtaW46YWRtaW4=")]).await.err(400, "IncompleteSignature");
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn unknown_keys_and_wrong_secrets_are_refused() {
    let app = spawn_app().await;
    let body = form(&[("Version", "2010-05-08"), ("Action", "CreateUser"), ("UserName", "mallory")]);
    let unknown = Keys::long_term("AKIAAAAAAAAAAAAAAAAA".into(), app.admin.secret.clone());
    app.signed("iam", &unknown, &body, 0).await.err(403, "InvalidClientTokenId");
    let wrong = Keys::long_term(app.admin.id.clone(), "x".repeat(40));
    let r = app.signed("iam", &wrong, &body, 0).await;
    r.err(403, "SignatureDoesNotMatch");
    // The response never echoes what the signature should have been.
    assert!(!r.body.contains(&app.admin.secret));
    let temporary = Keys::long_term("ASIAAAAAAAAAAAAAAAAA".into(), app.admin.secret.clone());
    app.signed("iam", &temporary, &body, 0).await.err(403, "InvalidClientTokenId");
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn a_body_changed_after_signing_is_refused() {
    let app = spawn_app().await;
    let signed_body = form(&[("Version", "2010-05-08"), ("Action", "CreateUser"), ("UserName", "bob")]);
    let (authorization, date) = app.sign("iam", &app.admin, &signed_body, 0);
    let sent = form(&[("Version", "2010-05-08"), ("Action", "CreateUser"), ("UserName", "mallory")]);
    app.raw(&sent, &[("authorization", &authorization), ("x-amz-date", &date)])
        .await
        .err(403, "SignatureDoesNotMatch");
    // The same signature on the body it was made for works.
    app.raw(&signed_body, &[("authorization", &authorization), ("x-amz-date", &date)]).await.ok();
    assert_eq!(user_count(&app).await, 2);
}

#[tokio::test]
async fn requests_outside_fifteen_minutes_are_expired() {
    let app = spawn_app().await;
    let body = form(LIST);
    app.signed("iam", &app.admin, &body, -15 * 60).await.ok();
    app.signed("iam", &app.admin, &body, 15 * 60).await.ok();
    app.signed("iam", &app.admin, &body, -15 * 60 - 1).await.err(400, "RequestExpired");
    app.signed("iam", &app.admin, &body, 15 * 60 + 1).await.err(400, "RequestExpired");
    // A request signed now and replayed after the window is refused.
    let (authorization, date) = app.sign("iam", &app.admin, &body, 0);
    app.clock.advance(chrono::Duration::minutes(16));
    app.raw(&body, &[("authorization", &authorization), ("x-amz-date", &date)])
        .await
        .err(400, "RequestExpired");
}

#[tokio::test]
async fn the_scope_must_name_this_service_and_region() {
    let app = spawn_app().await;
    let body = form(LIST);
    // Signed for STS but sent to IAM.
    app.signed("sts", &app.admin, &body, 0).await.err(403, "SignatureDoesNotMatch");
    let (authorization, date) = app.sign("iam", &app.admin, &body, 0);
    let other_region = authorization.replace("/us-east-1/", "/eu-west-1/");
    app.raw(&body, &[("authorization", &other_region), ("x-amz-date", &date)])
        .await
        .err(403, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn host_must_be_signed() {
    let app = spawn_app().await;
    let body = form(LIST);
    let (authorization, date) = app.sign("iam", &app.admin, &body, 0);
    let without_host = authorization.replace("content-type;host;x-amz-date", "content-type;x-amz-date");
    app.raw(&body, &[("authorization", &without_host), ("x-amz-date", &date)])
        .await
        .err(400, "IncompleteSignature");
}

#[tokio::test]
async fn inactive_and_deleted_keys_stop_working() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let whoami = [("Action", "GetCallerIdentity")];
    app.sts(&bob, &whoami).await.ok();
    app.admin(&[
        ("Action", "UpdateAccessKey"),
        ("UserName", "bob"),
        ("AccessKeyId", &bob.id),
        ("Status", "Inactive"),
    ])
    .await
    .ok();
    app.sts(&bob, &whoami).await.err(403, "InvalidClientTokenId");
    app.admin(&[
        ("Action", "UpdateAccessKey"),
        ("UserName", "bob"),
        ("AccessKeyId", &bob.id),
        ("Status", "Active"),
    ])
    .await
    .ok();
    app.sts(&bob, &whoami).await.ok();
    app.admin(&[("Action", "DeleteAccessKey"), ("UserName", "bob"), ("AccessKeyId", &bob.id)]).await.ok();
    app.sts(&bob, &whoami).await.err(403, "InvalidClientTokenId");
}
