//! Every action is decided by the policy engine against the caller's policies.
use crate::helpers::*;

const GET_SELF: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys"],"Resource":"arn:aws:iam::111122223333:user/${aws:username}"}]}"#;

#[tokio::test]
async fn a_user_without_policies_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    let r = app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "mallory")]).await;
    r.err(403, "AccessDenied");
    assert!(r.text("Message").unwrap().contains(
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111122223333:user/mallory"
    ));
    app.admin(&[("Action", "GetUser"), ("UserName", "mallory")]).await.err(404, "NoSuchEntity");
    app.iam(&bob, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
}

#[tokio::test]
async fn policy_variables_scope_a_user_to_itself() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "carol")]).await.ok();
    app.grant("bob", "self", GET_SELF).await;
    app.iam(&bob, &[("Action", "GetUser")]).await.ok();
    app.iam(&bob, &[("Action", "GetUser"), ("UserName", "bob")]).await.ok();
    app.iam(&bob, &[("Action", "GetUser"), ("UserName", "carol")]).await.err(403, "AccessDenied");
    app.iam(&bob, &[("Action", "ListAccessKeys")]).await.ok();
}

#[tokio::test]
async fn explicit_deny_beats_administrator_access() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[
        ("Action", "AttachUserPolicy"),
        ("UserName", "bob"),
        ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
    ])
    .await
    .ok();
    app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "u1")]).await.ok();
    app.grant(
        "bob",
        "no-delete",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}"#,
    )
    .await;
    let r = app.iam(&bob, &[("Action", "DeleteUser"), ("UserName", "u1")]).await;
    r.err(403, "AccessDenied");
    assert!(r.text("Message").unwrap().contains("explicit deny"));
    app.admin(&[("Action", "GetUser"), ("UserName", "u1")]).await.ok();
}

#[tokio::test]
async fn group_policies_apply_to_members_only() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "readers")]).await.ok();
    app.admin(&[
        ("Action", "AttachGroupPolicy"),
        ("GroupName", "readers"),
        ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ])
    .await
    .ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "readers"), ("UserName", "bob")]).await.ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.ok();
    app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "x")]).await.err(403, "AccessDenied");
    app.admin(&[("Action", "RemoveUserFromGroup"), ("GroupName", "readers"), ("UserName", "bob")]).await.ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
}

#[tokio::test]
async fn a_permissions_boundary_limits_what_policies_grant() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[
        ("Action", "AttachUserPolicy"),
        ("UserName", "bob"),
        ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
    ])
    .await
    .ok();
    app.admin(&[
        ("Action", "PutUserPermissionsBoundary"),
        ("UserName", "bob"),
        ("PermissionsBoundary", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"),
    ])
    .await
    .ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.ok();
    let r = app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "x")]).await;
    r.err(403, "AccessDenied");
    assert!(r.text("Message").unwrap().contains("permissions boundary"));
    app.admin(&[("Action", "DeleteUserPermissionsBoundary"), ("UserName", "bob")]).await.ok();
    app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "x")]).await.ok();
}

#[tokio::test]
async fn conditions_are_evaluated_on_calls() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    // Only tagged creations, and only with team=ops.
    app.grant(
        "bob",
        "tagged",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateUser","iam:TagUser"],"Resource":"*",
            "Condition":{"StringEquals":{"aws:RequestTag/team":"ops"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}"#,
    )
    .await;
    app.iam(&bob, &[("Action", "CreateUser"), ("UserName", "u1")]).await.err(403, "AccessDenied");
    app.iam(
        &bob,
        &[
            ("Action", "CreateUser"),
            ("UserName", "u1"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "dev"),
        ],
    )
    .await
    .err(403, "AccessDenied");
    app.iam(
        &bob,
        &[
            ("Action", "CreateUser"),
            ("UserName", "u1"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "ops"),
        ],
    )
    .await
    .ok();
}

#[tokio::test]
async fn nothing_crosses_accounts() {
    let app = spawn_app().await;
    let idbroker::startup::Services { store, iam, .. } =
        idbroker::startup::services(&app.settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let other = iam.create_account("999988887777", "admin").await.unwrap();
    store.close().await;
    let other_admin = Keys::long_term(other.access_key_id, other.secret_access_key);
    app.admin(&[("Action", "CreateUser"), ("UserName", "alice")]).await.ok();
    // The other account's administrator sees only its own users.
    let r = app.iam(&other_admin, &[("Action", "ListUsers")]).await;
    r.ok();
    assert_eq!(r.all("UserName"), vec!["admin"]);
    assert!(r.body.contains("999988887777"));
    app.iam(&other_admin, &[("Action", "GetUser"), ("UserName", "alice")]).await.err(404, "NoSuchEntity");
    // A policy ARN of another account cannot be attached.
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "p"), ("PolicyDocument", GET_SELF)]).await.ok();
    app.iam(
        &other_admin,
        &[
            ("Action", "AttachUserPolicy"),
            ("UserName", "admin"),
            ("PolicyArn", "arn:aws:iam::111122223333:policy/p"),
        ],
    )
    .await
    .err(404, "NoSuchEntity");
}
