//! Users, groups and roles: the life cycle with AWS's errors.
use crate::helpers::*;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn user_life_cycle() {
    let app = spawn_app().await;
    let r = app.admin(&[("Action", "CreateUser"), ("UserName", "alice"), ("Path", "/eng/")]).await;
    r.ok();
    assert_eq!(r.text("Arn").unwrap(), "arn:aws:iam::111122223333:user/eng/alice");
    assert_eq!(r.text("UserId").unwrap().len(), 21);
    // Names are unique without regard to case.
    app.admin(&[("Action", "CreateUser"), ("UserName", "ALICE")]).await.err(409, "EntityAlreadyExists");
    let r = app.admin(&[("Action", "GetUser"), ("UserName", "Alice")]).await;
    r.ok();
    assert_eq!(r.text("UserName").as_deref(), Some("alice"));
    let r = app.admin(&[("Action", "ListUsers"), ("PathPrefix", "/eng/")]).await;
    assert_eq!(r.all("UserName"), vec!["alice"]);
    app.admin(&[
        ("Action", "UpdateUser"),
        ("UserName", "alice"),
        ("NewUserName", "alicia"),
        ("NewPath", "/ops/"),
    ])
    .await
    .ok();
    app.admin(&[("Action", "GetUser"), ("UserName", "alice")]).await.err(404, "NoSuchEntity");
    let r = app.admin(&[("Action", "GetUser"), ("UserName", "alicia")]).await;
    assert_eq!(r.text("Arn").unwrap(), "arn:aws:iam::111122223333:user/ops/alicia");
    app.admin(&[("Action", "DeleteUser"), ("UserName", "alicia")]).await.ok();
    app.admin(&[("Action", "DeleteUser"), ("UserName", "alicia")]).await.err(404, "NoSuchEntity");
}

#[tokio::test]
async fn bad_names_and_paths_are_validation_errors() {
    let app = spawn_app().await;
    for bad in ["", "has space", "a/b", &"x".repeat(65)] {
        app.admin(&[("Action", "CreateUser"), ("UserName", bad)]).await.err(400, "ValidationError");
    }
    app.admin(&[("Action", "CreateUser")]).await.err(400, "ValidationError");
    app.admin(&[("Action", "CreateUser"), ("UserName", "ok"), ("Path", "no-slash")])
        .await
        .err(400, "ValidationError");
    app.admin(&[("Action", "ListUsers"), ("MaxItems", "0")]).await.err(400, "ValidationError");
    app.admin(&[("Action", "NoSuchAction")]).await.err(400, "InvalidAction");
    let r = app.admin(&[("Action", "ListUsers")]).await;
    assert_eq!(r.all("UserName"), vec!["admin"]);
}

#[tokio::test]
async fn a_user_that_holds_things_cannot_be_deleted() {
    let app = spawn_app().await;
    app.user_with_key("bob").await;
    let r = app.admin(&[("Action", "DeleteUser"), ("UserName", "bob")]).await;
    r.err(409, "DeleteConflict");
    assert!(r.text("Message").unwrap().contains("access keys"));
    let keys = app.admin(&[("Action", "ListAccessKeys"), ("UserName", "bob")]).await;
    let id = keys.text("AccessKeyId").unwrap();
    app.admin(&[("Action", "DeleteAccessKey"), ("UserName", "bob"), ("AccessKeyId", &id)]).await.ok();
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "g")]).await.ok();
    app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "g"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "DeleteUser"), ("UserName", "bob")]).await.err(409, "DeleteConflict");
    app.admin(&[("Action", "DeleteGroup"), ("GroupName", "g")]).await.err(409, "DeleteConflict");
    app.admin(&[("Action", "RemoveUserFromGroup"), ("GroupName", "g"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "DeleteUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "DeleteGroup"), ("GroupName", "g")]).await.ok();
}

#[tokio::test]
async fn pagination_walks_every_user_once() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.admin(&[("Action", "CreateUser"), ("UserName", &format!("u{i}"))]).await.ok();
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut pairs = vec![("Action", "ListUsers"), ("MaxItems", "3")];
        if let Some(m) = &marker {
            pairs.push(("Marker", m));
        }
        let r = app.admin(&pairs).await;
        r.ok();
        seen.extend(r.all("UserName"));
        if r.text("IsTruncated").as_deref() == Some("false") {
            break;
        }
        marker = r.text("Marker");
    }
    assert_eq!(seen.len(), 8);
    seen.dedup();
    assert_eq!(seen.len(), 8);
}

/// Pages resume after the last name shown (not at an offset): users added or
/// removed meanwhile neither repeat nor hide the others; a Marker is opaque,
/// refused when altered, and good only for the list and account it came from.
#[tokio::test]
async fn keyset_pages_are_stable_and_markers_cannot_be_forged() {
    let app = spawn_app().await;
    for name in ["b", "d", "f", "h", "j"] {
        app.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
    }
    let list = |marker: Option<String>| {
        let app = &app;
        async move {
            let mut pairs =
                vec![("Action".to_owned(), "ListUsers".to_owned()), ("MaxItems".into(), "2".into())];
            pairs.extend(marker.map(|m| ("Marker".to_owned(), m)));
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.admin(&pairs).await
        }
    };
    let first = list(None).await;
    assert_eq!(first.all("UserName"), ["admin", "b"]);
    let marker = first.text("Marker").unwrap();
    // Meanwhile "a" (before the page) and "e" are created, "d" is deleted.
    app.admin(&[("Action", "CreateUser"), ("UserName", "a")]).await.ok();
    app.admin(&[("Action", "CreateUser"), ("UserName", "e")]).await.ok();
    app.admin(&[("Action", "DeleteUser"), ("UserName", "d")]).await.ok();
    let mut seen = first.all("UserName");
    let mut next = Some(marker.clone());
    while let Some(m) = next {
        let r = list(Some(m)).await;
        seen.extend(r.all("UserName"));
        next = r.text("Marker");
    }
    assert_eq!(seen, ["admin", "b", "e", "f", "h", "j"]);

    // Altered, or used on another list: refused.
    let mut altered = marker.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    list(Some(String::from_utf8(altered).unwrap())).await.err(400, "InvalidInput");
    list(Some("m2".into())).await.err(400, "InvalidInput");
    app.admin(&[("Action", "ListRoles"), ("Marker", &marker)]).await.err(400, "InvalidInput");
}

#[tokio::test]
async fn groups_and_membership() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "devs")]).await.ok();
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "devs")]).await.err(409, "EntityAlreadyExists");
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "devs"), ("UserName", "bob")]).await.ok();
    app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "nope"), ("UserName", "bob")])
        .await
        .err(404, "NoSuchEntity");
    let r = app.admin(&[("Action", "GetGroup"), ("GroupName", "devs")]).await;
    assert_eq!(r.all("UserName"), vec!["bob"]);
    let r = app.admin(&[("Action", "ListGroupsForUser"), ("UserName", "bob")]).await;
    assert_eq!(r.all("GroupName"), vec!["devs"]);
    for i in 0..9 {
        let g = format!("g{i}");
        app.admin(&[("Action", "CreateGroup"), ("GroupName", &g)]).await.ok();
        app.admin(&[("Action", "AddUserToGroup"), ("GroupName", &g), ("UserName", "bob")]).await.ok();
    }
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "eleventh")]).await.ok();
    app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "eleventh"), ("UserName", "bob")])
        .await
        .err(409, "LimitExceeded");
}

#[tokio::test]
async fn role_life_cycle() {
    let app = spawn_app().await;
    let r = app
        .admin(&[
            ("Action", "CreateRole"),
            ("RoleName", "Dev"),
            ("AssumeRolePolicyDocument", TRUST),
            ("Description", "developers"),
        ])
        .await;
    r.ok();
    assert!(r.text("RoleId").unwrap().starts_with("AROA"));
    assert_eq!(r.text("MaxSessionDuration").as_deref(), Some("3600"));
    let doc = decode_document(&r.text("AssumeRolePolicyDocument").unwrap());
    assert_eq!(doc["Statement"][0]["Action"], "sts:AssumeRole");
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Bad"), ("AssumeRolePolicyDocument", "{}")])
        .await
        .err(400, "MalformedPolicyDocument");
    let no_principal =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Bad"), ("AssumeRolePolicyDocument", no_principal)])
        .await
        .err(400, "MalformedPolicyDocument");
    for bad in ["3599", "43201", "x"] {
        app.admin(&[("Action", "UpdateRole"), ("RoleName", "Dev"), ("MaxSessionDuration", bad)])
            .await
            .err(400, "ValidationError");
    }
    app.admin(&[("Action", "UpdateRole"), ("RoleName", "Dev"), ("MaxSessionDuration", "43200")]).await.ok();
    let r = app.admin(&[("Action", "GetRole"), ("RoleName", "Dev")]).await;
    assert_eq!(r.text("MaxSessionDuration").as_deref(), Some("43200"));
    assert_eq!(r.text("Description").as_deref(), Some("developers"));
    let new_trust = TRUST.replace("root", "user/admin");
    app.admin(&[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "Dev"), ("PolicyDocument", &new_trust)])
        .await
        .ok();
    let r = app.admin(&[("Action", "GetRole"), ("RoleName", "Dev")]).await;
    assert!(decode_document(&r.text("AssumeRolePolicyDocument").unwrap()).to_string().contains("user/admin"));
    app.admin(&[
        ("Action", "AttachRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ])
    .await
    .ok();
    app.admin(&[("Action", "DeleteRole"), ("RoleName", "Dev")]).await.err(409, "DeleteConflict");
    app.admin(&[
        ("Action", "DetachRolePolicy"),
        ("RoleName", "Dev"),
        ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ])
    .await
    .ok();
    app.admin(&[("Action", "DeleteRole"), ("RoleName", "Dev")]).await.ok();
    let r = app.admin(&[("Action", "ListRoles")]).await;
    assert!(r.all("RoleName").is_empty());
}

#[tokio::test]
async fn tags_follow_iam_rules() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateUser"), ("UserName", "bob")]).await.ok();
    app.admin(&[
        ("Action", "TagUser"),
        ("UserName", "bob"),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "ops"),
    ])
    .await
    .ok();
    app.admin(&[
        ("Action", "TagUser"),
        ("UserName", "bob"),
        ("Tags.member.1.Key", "TEAM"),
        ("Tags.member.1.Value", "dev"),
    ])
    .await
    .ok();
    let r = app.admin(&[("Action", "ListUserTags"), ("UserName", "bob")]).await;
    assert_eq!(r.all("Key"), vec!["TEAM"]);
    assert_eq!(r.all("Value"), vec!["dev"]);
    app.admin(&[
        ("Action", "TagUser"),
        ("UserName", "bob"),
        ("Tags.member.1.Key", "aws:x"),
        ("Tags.member.1.Value", "1"),
    ])
    .await
    .err(400, "InvalidInput");
    let mut pairs: Vec<(String, String)> =
        vec![("Action".into(), "TagUser".into()), ("UserName".into(), "bob".into())];
    for i in 1..=50 {
        pairs.push((format!("Tags.member.{i}.Key"), format!("k{i}")));
        pairs.push((format!("Tags.member.{i}.Value"), "v".into()));
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.admin(&refs).await.err(409, "LimitExceeded");
    app.admin(&[("Action", "UntagUser"), ("UserName", "bob"), ("TagKeys.member.1", "team")]).await.ok();
    let r = app.admin(&[("Action", "ListUserTags"), ("UserName", "bob")]).await;
    assert!(r.all("Key").is_empty());
}
