//! Every list pages by keyset: walked two items at a time, each list shows
//! each item once, also when items are added or removed between pages.
use crate::helpers::{spawn_app, Reply, TestApp, ACCOUNT};

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Walks a list `max_items` at a time; `between` runs after the first page.
async fn walk(app: &TestApp, pairs: &[(&str, &str)], max_items: &str, tag: &str) -> Vec<String> {
    walk_changing(app, pairs, max_items, tag, || async {}).await
}

async fn walk_changing<F, Fut>(
    app: &TestApp,
    pairs: &[(&str, &str)],
    max_items: &str,
    tag: &str,
    between: F,
) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut between = Some(between);
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..100 {
        let mut request: Vec<(&str, &str)> = pairs.to_vec();
        request.push(("MaxItems", max_items));
        if let Some(m) = &marker {
            request.push(("Marker", m));
        }
        let r: Reply = app.admin(&request).await;
        r.ok();
        seen.extend(r.all(tag));
        if r.text("IsTruncated").as_deref() == Some("false") {
            assert!(r.text("Marker").is_none());
            return seen;
        }
        marker = Some(r.text("Marker").expect("a truncated page has a Marker"));
        if let Some(f) = between.take() {
            f().await;
        }
    }
    panic!("the walk did not end");
}

#[tokio::test]
async fn a_groups_members_page_by_name_and_follow_renames() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "devs")]).await.ok();
    for name in ["b", "d", "f", "h"] {
        app.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
        app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "devs"), ("UserName", name)]).await.ok();
    }
    app.admin(&[("Action", "CreateUser"), ("UserName", "outsider")]).await.ok();
    let group = [("Action", "GetGroup"), ("GroupName", "devs")];
    assert_eq!(walk(&app, &group, "3", "UserName").await, ["b", "d", "f", "h"]);

    // A member renamed from "b" to "g" moves to its new place in the order.
    app.admin(&[("Action", "UpdateUser"), ("UserName", "b"), ("NewUserName", "g")]).await.ok();
    let seen = walk_changing(&app, &group, "2", "UserName", || async {
        // After the page "d", "f": "a" joins (before the page), "h" leaves.
        app.admin(&[("Action", "CreateUser"), ("UserName", "a")]).await.ok();
        app.admin(&[("Action", "AddUserToGroup"), ("GroupName", "devs"), ("UserName", "a")]).await.ok();
        app.admin(&[("Action", "RemoveUserFromGroup"), ("GroupName", "devs"), ("UserName", "h")]).await.ok();
    })
    .await;
    assert_eq!(seen, ["d", "f", "g"]);
}

#[tokio::test]
async fn list_policies_walks_aws_then_local_policies_once_each() {
    let app = spawn_app().await;
    let all_at_once = app.admin(&[("Action", "ListPolicies"), ("MaxItems", "1000")]).await;
    let aws = all_at_once.all("PolicyName");
    assert!(aws.len() > 3, "the built-in AWS policies are listed: {aws:?}");
    for name in ["p1", "p2", "p3"] {
        app.admin(&[("Action", "CreatePolicy"), ("PolicyName", name), ("PolicyDocument", ALLOW_ALL)])
            .await
            .ok();
    }
    let mut expected = aws.clone();
    expected.extend(["p1", "p2", "p3"].map(String::from));
    assert_eq!(walk(&app, &[("Action", "ListPolicies")], "2", "PolicyName").await, expected);
    assert_eq!(
        walk(&app, &[("Action", "ListPolicies"), ("Scope", "Local")], "2", "PolicyName").await,
        ["p1", "p2", "p3"]
    );
    let arn = format!("arn:aws:iam::{}:policy/p2", ACCOUNT);
    app.admin(&[("Action", "AttachUserPolicy"), ("UserName", "admin"), ("PolicyArn", &arn)]).await.ok();
    let attached = [("Action", "ListPolicies"), ("Scope", "Local"), ("OnlyAttached", "true")];
    assert_eq!(walk(&app, &attached, "1", "PolicyName").await, ["p2"]);

    // Attachment counts follow attaches and detaches, for the account's
    // policies and AWS's alike.
    let count = |name: &'static str| {
        let app = &app;
        async move {
            let r = app.admin(&[("Action", "ListPolicies"), ("MaxItems", "1000")]).await;
            let at = r.body.find(&format!("<PolicyName>{name}</PolicyName>")).unwrap();
            let tail = &r.body[at..];
            let start = tail.find("<AttachmentCount>").unwrap() + "<AttachmentCount>".len();
            tail[start..start + tail[start..].find('<').unwrap()].parse::<u32>().unwrap()
        }
    };
    assert_eq!(count("p2").await, 1);
    assert_eq!(count("AdministratorAccess").await, 1);
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "g")]).await.ok();
    app.admin(&[("Action", "AttachGroupPolicy"), ("GroupName", "g"), ("PolicyArn", &arn)]).await.ok();
    app.admin(&[("Action", "AttachGroupPolicy"), ("GroupName", "g"), ("PolicyArn", &arn)]).await.ok();
    assert_eq!(count("p2").await, 2);
    app.admin(&[("Action", "DetachUserPolicy"), ("UserName", "admin"), ("PolicyArn", &arn)]).await.ok();
    app.admin(&[("Action", "DetachUserPolicy"), ("UserName", "admin"), ("PolicyArn", &arn)])
        .await
        .err(404, "NoSuchEntity");
    assert_eq!(count("p2").await, 1);
}

#[tokio::test]
async fn entities_for_a_policy_and_authorization_details_page_across_kinds() {
    let app = spawn_app().await;
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "shared"), ("PolicyDocument", ALLOW_ALL)])
        .await
        .ok();
    let arn = format!("arn:aws:iam::{}:policy/shared", ACCOUNT);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    for name in ["u1", "u2", "u3"] {
        app.admin(&[("Action", "CreateUser"), ("UserName", name)]).await.ok();
        app.admin(&[("Action", "AttachUserPolicy"), ("UserName", name), ("PolicyArn", &arn)]).await.ok();
    }
    app.admin(&[("Action", "CreateGroup"), ("GroupName", "g1")]).await.ok();
    app.admin(&[("Action", "AttachGroupPolicy"), ("GroupName", "g1"), ("PolicyArn", &arn)]).await.ok();
    app.admin(&[("Action", "CreateRole"), ("RoleName", "r1"), ("AssumeRolePolicyDocument", trust)])
        .await
        .ok();
    app.admin(&[("Action", "AttachRolePolicy"), ("RoleName", "r1"), ("PolicyArn", &arn)]).await.ok();

    let entities = [("Action", "ListEntitiesForPolicy"), ("PolicyArn", &arn)];
    let mut users = walk(&app, &entities, "2", "UserName").await;
    users.sort();
    assert_eq!(users, ["u1", "u2", "u3"]);
    assert_eq!(walk(&app, &entities, "2", "GroupName").await, ["g1"]);
    assert_eq!(walk(&app, &entities, "2", "RoleName").await, ["r1"]);
    let only_roles = [("Action", "ListEntitiesForPolicy"), ("PolicyArn", &arn), ("EntityFilter", "Role")];
    assert_eq!(walk(&app, &only_roles, "1", "UserName").await, Vec::<String>::new());
    app.admin(&[("Action", "ListEntitiesForPolicy"), ("PolicyArn", &arn), ("EntityFilter", "Nope")])
        .await
        .err(400, "ValidationError");

    let details = [("Action", "GetAccountAuthorizationDetails")];
    let everything = app.admin(&[("Action", "GetAccountAuthorizationDetails"), ("MaxItems", "1000")]).await;
    assert_eq!(everything.text("IsTruncated").as_deref(), Some("false"));
    for (tag, max) in [("UserName", "2"), ("GroupName", "1"), ("RoleName", "3"), ("PolicyName", "2")] {
        assert_eq!(walk(&app, &details, max, tag).await, everything.all(tag), "{tag} paged by {max}");
    }
    assert_eq!(everything.all("UserName"), ["admin", "u1", "u2", "u3"]);
    let roles_only = [("Action", "GetAccountAuthorizationDetails"), ("Filter.member.1", "Role")];
    assert_eq!(walk(&app, &roles_only, "1", "RoleName").await, ["r1"]);
    assert!(walk(&app, &roles_only, "1", "UserName").await.is_empty());
}

#[tokio::test]
async fn virtual_mfa_devices_tags_and_versions_page_by_key() {
    let app = spawn_app().await;
    for name in ["m1", "m2", "m3"] {
        app.admin(&[("Action", "CreateVirtualMFADevice"), ("VirtualMFADeviceName", name)]).await.ok();
    }
    let devices = walk(&app, &[("Action", "ListVirtualMFADevices")], "2", "SerialNumber").await;
    assert_eq!(devices.len(), 3);
    let unassigned = [("Action", "ListVirtualMFADevices"), ("AssignmentStatus", "Unassigned")];
    assert_eq!(walk(&app, &unassigned, "1", "SerialNumber").await, devices);
    let assigned = [("Action", "ListVirtualMFADevices"), ("AssignmentStatus", "Assigned")];
    assert!(walk(&app, &assigned, "1", "SerialNumber").await.is_empty());

    app.admin(&[
        ("Action", "TagUser"),
        ("UserName", "admin"),
        ("Tags.member.1.Key", "b"),
        ("Tags.member.1.Value", "2"),
        ("Tags.member.2.Key", "a"),
        ("Tags.member.2.Value", "1"),
        ("Tags.member.3.Key", "c"),
        ("Tags.member.3.Value", "3"),
    ])
    .await
    .ok();
    assert_eq!(
        walk(&app, &[("Action", "ListUserTags"), ("UserName", "admin")], "2", "Key").await,
        ["a", "b", "c"]
    );

    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "v"), ("PolicyDocument", ALLOW_ALL)]).await.ok();
    let arn = format!("arn:aws:iam::{}:policy/v", ACCOUNT);
    for _ in 0..3 {
        app.admin(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", ALLOW_ALL)])
            .await
            .ok();
    }
    let versions = [("Action", "ListPolicyVersions"), ("PolicyArn", &arn)];
    assert_eq!(walk(&app, &versions, "3", "VersionId").await, ["v4", "v3", "v2", "v1"]);
    // A tag list's Marker is bound to its user.
    let first = app.admin(&[("Action", "ListUserTags"), ("UserName", "admin"), ("MaxItems", "1")]).await;
    let marker = first.text("Marker").unwrap();
    app.admin(&[("Action", "CreateUser"), ("UserName", "other")]).await.ok();
    app.admin(&[("Action", "ListUserTags"), ("UserName", "other"), ("Marker", &marker)])
        .await
        .err(400, "InvalidInput");
}
