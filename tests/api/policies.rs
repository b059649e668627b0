//! Inline and managed policies, versions, attachments and the simulator.
use crate::helpers::*;

const READ: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}"#;
const LIST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}"#;
const ARN: &str = "arn:aws:iam::111122223333:policy/readers";

#[tokio::test]
async fn inline_policies_round_trip_url_encoded() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.grant("bob", "read", READ).await;
    let r = app.admin(&[("Action", "GetUserPolicy"), ("UserName", "bob"), ("PolicyName", "read")]).await;
    r.ok();
    let encoded = r.text("PolicyDocument").unwrap();
    assert!(encoded.starts_with("%7B"), "{encoded}");
    assert_eq!(decode_document(&encoded), serde_json::from_str::<serde_json::Value>(READ).unwrap());
    let r = app.admin(&[("Action", "ListUserPolicies"), ("UserName", "bob")]).await;
    assert_eq!(r.all("member"), vec!["read"]);
    let r = app
        .admin(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "bad"),
            ("PolicyDocument", r#"{"Statement":[]}"#),
        ])
        .await;
    r.err(400, "MalformedPolicyDocument");
    app.admin(&[("Action", "GetUserPolicy"), ("UserName", "bob"), ("PolicyName", "bad")])
        .await
        .err(404, "NoSuchEntity");
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetUser","Resource":[{}]}}]}}"#,
        (0..60)
            .map(|i| format!("\"arn:aws:iam::111122223333:user/some-long-user-name-{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    app.admin(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "bob"),
        ("PolicyName", "big"),
        ("PolicyDocument", &big),
    ])
    .await
    .err(409, "LimitExceeded");
    app.admin(&[("Action", "DeleteUserPolicy"), ("UserName", "bob"), ("PolicyName", "read")]).await.ok();
    app.admin(&[("Action", "DeleteUserPolicy"), ("UserName", "bob"), ("PolicyName", "read")])
        .await
        .err(404, "NoSuchEntity");
}

#[tokio::test]
async fn managed_policies_have_at_most_five_versions() {
    let app = spawn_app().await;
    let r =
        app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "readers"), ("PolicyDocument", READ)]).await;
    r.ok();
    assert_eq!(r.text("Arn").as_deref(), Some(ARN));
    assert_eq!(r.text("DefaultVersionId").as_deref(), Some("v1"));
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "Readers"), ("PolicyDocument", READ)])
        .await
        .err(409, "EntityAlreadyExists");
    for i in 2..=5 {
        let r = app
            .admin(&[("Action", "CreatePolicyVersion"), ("PolicyArn", ARN), ("PolicyDocument", LIST)])
            .await;
        r.ok();
        assert_eq!(r.text("VersionId"), Some(format!("v{i}")));
    }
    app.admin(&[("Action", "CreatePolicyVersion"), ("PolicyArn", ARN), ("PolicyDocument", LIST)])
        .await
        .err(409, "LimitExceeded");
    app.admin(&[("Action", "DeletePolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v1")])
        .await
        .err(409, "DeleteConflict");
    app.admin(&[("Action", "SetDefaultPolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v3")]).await.ok();
    app.admin(&[("Action", "SetDefaultPolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v9")])
        .await
        .err(404, "NoSuchEntity");
    app.admin(&[("Action", "DeletePolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v1")]).await.ok();
    let r = app
        .admin(&[
            ("Action", "CreatePolicyVersion"),
            ("PolicyArn", ARN),
            ("PolicyDocument", READ),
            ("SetAsDefault", "true"),
        ])
        .await;
    assert_eq!(r.text("VersionId").as_deref(), Some("v6"));
    let r = app.admin(&[("Action", "GetPolicy"), ("PolicyArn", ARN)]).await;
    assert_eq!(r.text("DefaultVersionId").as_deref(), Some("v6"));
    let r = app.admin(&[("Action", "ListPolicyVersions"), ("PolicyArn", ARN)]).await;
    assert_eq!(r.all("VersionId").len(), 5);
    let r = app.admin(&[("Action", "GetPolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v3")]).await;
    assert_eq!(decode_document(&r.text("Document").unwrap())["Statement"][0]["Action"], "iam:List*");
    assert_eq!(r.text("IsDefaultVersion").as_deref(), Some("false"));
    app.admin(&[("Action", "GetPolicyVersion"), ("PolicyArn", ARN), ("VersionId", "latest")])
        .await
        .err(400, "ValidationError");
}

#[tokio::test]
async fn the_default_version_is_what_grants() {
    let app = spawn_app().await;
    let bob = app.user_with_key("bob").await;
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "readers"), ("PolicyDocument", READ)]).await.ok();
    app.admin(&[("Action", "AttachUserPolicy"), ("UserName", "bob"), ("PolicyArn", ARN)]).await.ok();
    app.iam(&bob, &[("Action", "GetUser")]).await.ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    app.admin(&[
        ("Action", "CreatePolicyVersion"),
        ("PolicyArn", ARN),
        ("PolicyDocument", LIST),
        ("SetAsDefault", "true"),
    ])
    .await
    .ok();
    app.iam(&bob, &[("Action", "ListUsers")]).await.ok();
    app.iam(&bob, &[("Action", "GetUser")]).await.err(403, "AccessDenied");
    let r = app.admin(&[("Action", "ListEntitiesForPolicy"), ("PolicyArn", ARN)]).await;
    assert_eq!(r.all("UserName"), vec!["bob"]);
    app.admin(&[("Action", "DeletePolicy"), ("PolicyArn", ARN)]).await.err(409, "DeleteConflict");
    app.admin(&[("Action", "DetachUserPolicy"), ("UserName", "bob"), ("PolicyArn", ARN)]).await.ok();
    app.admin(&[("Action", "DetachUserPolicy"), ("UserName", "bob"), ("PolicyArn", ARN)])
        .await
        .err(404, "NoSuchEntity");
    app.iam(&bob, &[("Action", "ListUsers")]).await.err(403, "AccessDenied");
    // Two versions remain, so the policy cannot go yet.
    app.admin(&[("Action", "DeletePolicy"), ("PolicyArn", ARN)]).await.err(409, "DeleteConflict");
    app.admin(&[("Action", "DeletePolicyVersion"), ("PolicyArn", ARN), ("VersionId", "v1")]).await.ok();
    app.admin(&[("Action", "DeletePolicy"), ("PolicyArn", ARN)]).await.ok();
}

#[tokio::test]
async fn attachments_are_limited_and_checked() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[
        ("Action", "AttachUserPolicy"),
        ("UserName", "bob"),
        ("PolicyArn", "arn:aws:iam::aws:policy/NoSuchPolicy"),
    ])
    .await
    .err(404, "NoSuchEntity");
    for i in 0..10 {
        let name = format!("p{i}");
        app.admin(&[("Action", "CreatePolicy"), ("PolicyName", &name), ("PolicyDocument", READ)]).await.ok();
        let arn = format!("arn:aws:iam::111122223333:policy/{name}");
        app.admin(&[("Action", "AttachUserPolicy"), ("UserName", "bob"), ("PolicyArn", &arn)]).await.ok();
    }
    app.admin(&[
        ("Action", "AttachUserPolicy"),
        ("UserName", "bob"),
        ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ])
    .await
    .err(409, "LimitExceeded");
    let r = app.admin(&[("Action", "ListAttachedUserPolicies"), ("UserName", "bob")]).await;
    assert_eq!(r.all("PolicyArn").len(), 10);
    let r = app.admin(&[("Action", "ListPolicies"), ("Scope", "Local"), ("OnlyAttached", "true")]).await;
    assert_eq!(r.all("PolicyName").len(), 10);
    let r = app.admin(&[("Action", "ListPolicies"), ("Scope", "AWS")]).await;
    assert!(r.all("PolicyName").contains(&"AdministratorAccess".to_string()));
}

#[tokio::test]
async fn the_simulator_reports_decisions_and_deciding_statements() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.grant("bob", "read", READ).await;
    let r = app
        .admin(&[
            ("Action", "SimulatePrincipalPolicy"),
            ("PolicySourceArn", "arn:aws:iam::111122223333:user/bob"),
            ("ActionNames.member.1", "iam:GetUser"),
            ("ActionNames.member.2", "iam:DeleteUser"),
        ])
        .await;
    r.ok();
    assert_eq!(r.all("EvalDecision"), vec!["allowed", "implicitDeny"]);
    assert_eq!(r.all("SourcePolicyId"), vec!["arn:aws:iam::111122223333:user/bob/read"]);
    let r = app
        .admin(&[
            ("Action", "SimulateCustomPolicy"),
            ("PolicyInputList.member.1", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#),
            ("ActionNames.member.1", "s3:GetObject"),
            ("ContextEntries.member.1.ContextKeyName", "aws:SecureTransport"),
            ("ContextEntries.member.1.ContextKeyValues.member.1", "true"),
            ("ContextEntries.member.1.ContextKeyType", "boolean"),
        ])
        .await;
    assert_eq!(r.all("EvalDecision"), vec!["allowed"]);
    let r = app
        .admin(&[
            ("Action", "GetContextKeysForCustomPolicy"),
            ("PolicyInputList.member.1", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"x"}}}]}"#),
        ])
        .await;
    assert_eq!(r.all("member"), vec!["aws:username"]);
}
