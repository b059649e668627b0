//! Access keys, login profiles and the account password policy.
use crate::helpers::*;

#[tokio::test]
async fn a_user_has_at_most_two_access_keys_and_sees_each_secret_once() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    let first = app.admin(&[("Action", "CreateAccessKey"), ("UserName", "bob")]).await;
    first.ok();
    let id = first.text("AccessKeyId").unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    assert_eq!(first.text("SecretAccessKey").unwrap().len(), 40);
    app.admin(&[("Action", "CreateAccessKey"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "CreateAccessKey"), ("UserName", "bob")]).await.err(409, "LimitExceeded");
    let list = app.admin(&[("Action", "ListAccessKeys"), ("UserName", "bob")]).await;
    assert_eq!(list.all("AccessKeyId").len(), 2);
    assert!(!list.body.contains("SecretAccessKey"));
    let r = app.admin(&[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &id)]).await;
    assert_eq!(r.text("ServiceName").as_deref(), Some("N/A"));
    app.admin(&[
        ("Action", "UpdateAccessKey"),
        ("UserName", "bob"),
        ("AccessKeyId", &id),
        ("Status", "Sideways"),
    ])
    .await
    .err(400, "ValidationError");
    // Another user's key is not bob's to change.
    app.admin(&[("Action", "CreateUser"), ("UserName", "carol")]).await.ok();
    app.admin(&[("Action", "DeleteAccessKey"), ("UserName", "carol"), ("AccessKeyId", &id)])
        .await
        .err(404, "NoSuchEntity");
}

#[tokio::test]
async fn key_use_is_recorded() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    // Even a refused call proves the key was used.
    app.iam(&bob, &[("Action", "GetUser")]).await.err(403, "AccessDenied");
    let r = app.admin(&[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &bob.id)]).await;
    r.ok();
    assert_eq!(r.text("ServiceName").as_deref(), Some("iam"));
    assert_eq!(r.text("Region").as_deref(), Some("us-east-1"));
    assert_eq!(r.text("UserName").as_deref(), Some("bob"));
    assert!(r.text("LastUsedDate").unwrap().starts_with("2026-11-27T12:00"));
}

#[tokio::test]
async fn secrets_are_sealed_at_rest() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let store = idbroker::store::Store::connect(&app.settings.database.url, 1).await.unwrap();
    let key = store.get_access_key(&bob.id).await.unwrap();
    assert!(key.sealed_secret.starts_with("v1:"));
    assert!(!key.sealed_secret.contains(&bob.secret));
    store.close().await;
}

#[tokio::test]
async fn login_profiles_follow_the_password_policy() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "GetAccountPasswordPolicy")]).await.err(404, "NoSuchEntity");
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", "bob"), ("Password", "short")])
        .await
        .err(400, "PasswordPolicyViolation");
    app.admin(&[
        ("Action", "UpdateAccountPasswordPolicy"),
        ("MinimumPasswordLength", "14"),
        ("RequireSymbols", "true"),
        ("AllowUsersToChangePassword", "true"),
    ])
    .await
    .ok();
    let r = app.admin(&[("Action", "GetAccountPasswordPolicy")]).await;
    assert_eq!(r.text("MinimumPasswordLength").as_deref(), Some("14"));
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", "bob"), ("Password", "Abcdefgh1234")])
        .await
        .err(400, "PasswordPolicyViolation");
    let r = app
        .admin(&[
            ("Action", "CreateLoginProfile"),
            ("UserName", "bob"),
            ("Password", "correct-horse-battery"),
            ("PasswordResetRequired", "true"),
        ])
        .await;
    r.ok();
    assert_eq!(r.text("PasswordResetRequired").as_deref(), Some("true"));
    app.admin(&[
        ("Action", "CreateLoginProfile"),
        ("UserName", "bob"),
        ("Password", "correct-horse-battery"),
    ])
    .await
    .err(409, "EntityAlreadyExists");
    // Bob changes his own password, proving the old one.
    let r = app.admin(&[("Action", "CreateAccessKey"), ("UserName", "bob")]).await;
    let bob = Keys::long_term(r.text("AccessKeyId").unwrap(), r.text("SecretAccessKey").unwrap());
    app.iam(
        &bob,
        &[
            ("Action", "ChangePassword"),
            ("OldPassword", "wrong-password-here"),
            ("NewPassword", "another-good-one!"),
        ],
    )
    .await
    .err(403, "AccessDenied");
    app.iam(
        &bob,
        &[
            ("Action", "ChangePassword"),
            ("OldPassword", "correct-horse-battery"),
            ("NewPassword", "another-good-one!"),
        ],
    )
    .await
    .ok();
    let r = app.admin(&[("Action", "GetLoginProfile"), ("UserName", "bob")]).await;
    assert_eq!(r.text("PasswordResetRequired").as_deref(), Some("false"));
    app.admin(&[("Action", "DeleteLoginProfile"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "GetLoginProfile"), ("UserName", "bob")]).await.err(404, "NoSuchEntity");
    app.admin(&[("Action", "DeleteAccountPasswordPolicy")]).await.ok();
    app.admin(&[("Action", "DeleteAccountPasswordPolicy")]).await.err(404, "NoSuchEntity");
}

#[tokio::test]
async fn remembered_passwords_cannot_be_reused() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[
        ("Action", "UpdateAccountPasswordPolicy"),
        ("PasswordReusePrevention", "2"),
        ("AllowUsersToChangePassword", "true"),
    ])
    .await
    .ok();
    app.admin(&[("Action", "CreateLoginProfile"), ("UserName", "bob"), ("Password", "First-password-1")])
        .await
        .ok();
    let r = app.admin(&[("Action", "CreateAccessKey"), ("UserName", "bob")]).await;
    let bob = Keys::long_term(r.text("AccessKeyId").unwrap(), r.text("SecretAccessKey").unwrap());
    let change = |old: &'static str, new: &'static str| {
        let (app, bob) = (&app, bob.clone());
        async move {
            app.iam(&bob, &[("Action", "ChangePassword"), ("OldPassword", old), ("NewPassword", new)]).await
        }
    };
    change("First-password-1", "First-password-1").await.err(400, "PasswordPolicyViolation");
    change("First-password-1", "Second-password-2").await.ok();
    // The last two passwords are remembered; the third one back is not.
    change("Second-password-2", "First-password-1").await.err(400, "PasswordPolicyViolation");
    app.admin(&[("Action", "UpdateLoginProfile"), ("UserName", "bob"), ("Password", "Second-password-2")])
        .await
        .err(400, "PasswordPolicyViolation");
    change("Second-password-2", "Third-password-3").await.ok();
    change("Third-password-3", "First-password-1").await.ok();
}
