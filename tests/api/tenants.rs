//! Tenant isolation (issue: authorise before lookups). A second account must
//! learn nothing about the first one's roles, providers and policies from any
//! STS answer: the trust decision (and for SAML the verified assertion) comes
//! before every check that reads the resource, and another account's managed
//! policy is never a session policy.
use crate::helpers::*;
use crate::saml::{exchange_with, setup, TO};

const ROLE_A: &str = "arn:aws:iam::111122223333:role/Private";
const MISSING_A: &str = "arn:aws:iam::111122223333:role/NoSuchRole";
const POLICY_A: &str = "arn:aws:iam::111122223333:policy/PrivatePolicy";
const MISSING_POLICY_A: &str = "arn:aws:iam::111122223333:policy/NoSuchPolicy";
const B: &str = "999988887777";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The answer without its request id: two answers that differ only there
/// tell the caller nothing.
fn answer(r: &Reply) -> (u16, String) {
    let id_at = r.body.find("<RequestId>").map(|i| i + 11);
    let body = match id_at {
        Some(i) => format!("{}{}", &r.body[..i], &r.body[i + r.body[i..].find('<').unwrap()..]),
        None => r.body.clone(),
    };
    (r.status, body)
}

/// Account A (the app's) with a role trusting only itself (MaxSessionDuration
/// 3600) and a customer managed policy; account B's administrator keys.
async fn two_tenants() -> (TestApp, Keys) {
    let app = spawn_app().await;
    let trust_self = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;
    app.admin(&[("Action", "CreateRole"), ("RoleName", "Private"), ("AssumeRolePolicyDocument", trust_self)])
        .await
        .ok();
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "PrivatePolicy"), ("PolicyDocument", ALLOW_ALL)])
        .await
        .ok();
    let idbroker::startup::Services { store, iam, .. } =
        idbroker::startup::services(&app.settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let other = iam.create_account(B, "admin").await.unwrap();
    store.close().await;
    (app, Keys::long_term(other.access_key_id, other.secret_access_key))
}

#[tokio::test]
async fn assume_role_answers_alike_for_a_missing_role_and_one_that_does_not_trust_you() {
    let (app, b) = two_tenants().await;
    let asks: [&[(&str, &str)]; 4] = [
        &[],
        &[("DurationSeconds", "7200")],
        &[("PolicyArns.member.1.arn", MISSING_POLICY_A)],
        &[("PolicyArns.member.1.arn", POLICY_A), ("DurationSeconds", "43200")],
    ];
    for extra in asks {
        let ask = |role: &'static str| {
            let mut pairs = vec![("Action", "AssumeRole"), ("RoleSessionName", "probe"), ("RoleArn", role)];
            pairs.extend_from_slice(extra);
            pairs
        };
        let existing = app.sts(&b, &ask(ROLE_A)).await;
        let missing = app.sts(&b, &ask(MISSING_A)).await;
        existing.err(403, "AccessDenied");
        let missing = answer(&missing).1.replace(MISSING_A, ROLE_A);
        assert_eq!(answer(&existing).1, missing, "{extra:?}");
    }
}

#[tokio::test]
async fn unsigned_assume_role_with_saml_tells_nothing_about_providers_or_policies() {
    let (app, _idp) = setup().await;
    app.admin(&[("Action", "CreatePolicy"), ("PolicyName", "PrivatePolicy"), ("PolicyDocument", ALLOW_ALL)])
        .await
        .ok();
    let junk =
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_x\" Version=\"2.0\"/>";
    let unsigned_well_formed = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_x\" Version=\"2.0\"><saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a\" Version=\"2.0\"/></samlp:Response>";
    for xml in ["not xml", junk, unsigned_well_formed] {
        let with_policy = |arn: &'static str| [("PolicyArns.member.1.arn", arn)];
        let exists = exchange_with(&app, xml, TO.role, TO.provider, &with_policy(POLICY_A)).await;
        let missing = exchange_with(&app, xml, TO.role, TO.provider, &with_policy(MISSING_POLICY_A)).await;
        assert_eq!(answer(&exists), answer(&missing), "policy ARN probe with {xml}");
        assert!(exists.status == 400, "{}", exists.body);
        let other_provider = "arn:aws:iam::111122223333:saml-provider/NoSuchProvider";
        let provider_missing = exchange_with(&app, xml, TO.role, other_provider, &[]).await;
        let provider_exists = exchange_with(&app, xml, TO.role, TO.provider, &[]).await;
        assert_eq!(answer(&provider_exists), answer(&provider_missing), "provider probe with {xml}");
    }
}

#[tokio::test]
async fn another_accounts_managed_policy_is_never_a_session_policy() {
    let (app, b) = two_tenants().await;
    // B's own role, trusting B; B's caller may assume it.
    let trust_b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;
    app.iam(&b, &[("Action", "CreateRole"), ("RoleName", "Mine"), ("AssumeRolePolicyDocument", trust_b)])
        .await
        .ok();
    let mine = "arn:aws:iam::999988887777:role/Mine";
    let assume = |policy: &'static str| {
        [
            ("Action", "AssumeRole"),
            ("RoleArn", mine),
            ("RoleSessionName", "s1"),
            ("PolicyArns.member.1.arn", policy),
        ]
    };
    let foreign = app.sts(&b, &assume(POLICY_A)).await;
    foreign.err(400, "InvalidParameterValue");
    // Exactly the answer for a policy that does not exist.
    let missing = app.sts(&b, &assume(MISSING_POLICY_A)).await;
    assert_eq!(answer(&foreign).1.replace(POLICY_A, "P"), answer(&missing).1.replace(MISSING_POLICY_A, "P"));
    // AWS managed policies are allowed, as on AWS.
    app.sts(&b, &assume("arn:aws:iam::aws:policy/ReadOnlyAccess")).await.ok();
    // GetFederationToken: the same rule for the caller's own account.
    let federation =
        [("Action", "GetFederationToken"), ("Name", "partner"), ("PolicyArns.member.1.arn", POLICY_A)];
    app.sts(&b, &federation).await.err(400, "InvalidParameterValue");
}

#[tokio::test]
async fn a_verified_assertion_cannot_bring_another_accounts_session_policy() {
    let (app, idp) = setup().await;
    let idbroker::startup::Services { store, iam, .. } =
        idbroker::startup::services(&app.settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let other = iam.create_account(B, "admin").await.unwrap();
    store.close().await;
    let b = Keys::long_term(other.access_key_id, other.secret_access_key);
    let foreign = "arn:aws:iam::999988887777:policy/TheirPolicy";
    app.iam(&b, &[("Action", "CreatePolicy"), ("PolicyName", "TheirPolicy"), ("PolicyDocument", ALLOW_ALL)])
        .await
        .ok();
    let xml = idp.response(&TO, epoch(), |_| {});
    let r = exchange_with(&app, &xml, TO.role, TO.provider, &[("PolicyArns.member.1.arn", foreign)]).await;
    r.err(400, "InvalidParameterValue");
    // Refused before the replay cache: the same response still buys credentials.
    exchange_with(&app, &xml, TO.role, TO.provider, &[]).await.ok();
}

/// An action, the parameter naming another account's resource, an existing
/// and a missing value for it, and the other parameters.
type Probe<'a> = (&'a str, &'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Every IAM action that names a resource by ARN or id, called by account B
/// with account A's: an existing resource and a missing one get the same
/// answer (apart from the request id and the name itself), always a refusal,
/// and account A's resources are unchanged afterwards.
#[tokio::test]
async fn every_iam_action_answers_alike_for_another_accounts_resources_and_missing_ones() {
    let (app, b) = two_tenants().await;
    let saml_idp = crate::test_idp::TestIdp::new("https://idp.tenant-a.test/saml");
    let metadata = saml_idp.metadata().replacen(
        "><md:IDPSSODescriptor",
        &format!(" {}><md:IDPSSODescriptor", " ".repeat(1000)),
        1,
    );
    app.admin(&[("Action", "CreateSAMLProvider"), ("Name", "CorpA"), ("SAMLMetadataDocument", &metadata)])
        .await
        .ok();
    app.user_with_key("alice").await;
    let alice_key =
        app.admin(&[("Action", "ListAccessKeys"), ("UserName", "alice")]).await.all("AccessKeyId")[0].clone();
    app.admin(&[("Action", "CreateVirtualMFADevice"), ("VirtualMFADeviceName", "alice-mfa")]).await.ok();
    // Account B's own entities, the targets of attach and boundary calls.
    for (action, name_param, name) in
        [("CreateUser", "UserName", "bob"), ("CreateGroup", "GroupName", "devs")]
    {
        app.iam(&b, &[("Action", action), (name_param, name)]).await.ok();
    }
    let trust_b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;
    app.iam(&b, &[("Action", "CreateRole"), ("RoleName", "Mine"), ("AssumeRolePolicyDocument", trust_b)])
        .await
        .ok();

    let provider_a = "arn:aws:iam::111122223333:saml-provider/CorpA";
    let mfa_a = "arn:aws:iam::111122223333:mfa/alice-mfa";
    let user_a = "arn:aws:iam::111122223333:user/alice";
    let policy = |action: &'static str, extra: &'static [(&'static str, &'static str)]| {
        (action, "PolicyArn", POLICY_A, MISSING_POLICY_A, extra)
    };
    let cases: Vec<Probe> = vec![
        policy("GetPolicy", &[]),
        policy("GetPolicyVersion", &[("VersionId", "v1")]),
        policy("ListPolicyVersions", &[]),
        policy("ListEntitiesForPolicy", &[]),
        policy("CreatePolicyVersion", &[("PolicyDocument", ALLOW_ALL), ("SetAsDefault", "true")]),
        policy("SetDefaultPolicyVersion", &[("VersionId", "v1")]),
        policy("DeletePolicyVersion", &[("VersionId", "v1")]),
        policy("DeletePolicy", &[]),
        policy("ListPolicyTags", &[]),
        policy("TagPolicy", &[("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")]),
        policy("UntagPolicy", &[("TagKeys.member.1", "k")]),
        policy("AttachUserPolicy", &[("UserName", "bob")]),
        policy("AttachGroupPolicy", &[("GroupName", "devs")]),
        policy("AttachRolePolicy", &[("RoleName", "Mine")]),
        policy("DetachUserPolicy", &[("UserName", "bob")]),
        policy("DetachGroupPolicy", &[("GroupName", "devs")]),
        policy("DetachRolePolicy", &[("RoleName", "Mine")]),
        (
            "PutUserPermissionsBoundary",
            "PermissionsBoundary",
            POLICY_A,
            MISSING_POLICY_A,
            &[("UserName", "bob")],
        ),
        (
            "PutRolePermissionsBoundary",
            "PermissionsBoundary",
            POLICY_A,
            MISSING_POLICY_A,
            &[("RoleName", "Mine")],
        ),
        ("CreateUser", "PermissionsBoundary", POLICY_A, MISSING_POLICY_A, &[("UserName", "bounded")]),
        (
            "GetSAMLProvider",
            "SAMLProviderArn",
            provider_a,
            "arn:aws:iam::111122223333:saml-provider/NoSuch",
            &[],
        ),
        (
            "DeleteSAMLProvider",
            "SAMLProviderArn",
            provider_a,
            "arn:aws:iam::111122223333:saml-provider/NoSuch",
            &[],
        ),
        (
            "ListSAMLProviderTags",
            "SAMLProviderArn",
            provider_a,
            "arn:aws:iam::111122223333:saml-provider/NoSuch",
            &[],
        ),
        (
            "TagSAMLProvider",
            "SAMLProviderArn",
            provider_a,
            "arn:aws:iam::111122223333:saml-provider/NoSuch",
            &[("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")],
        ),
        ("DeleteVirtualMFADevice", "SerialNumber", mfa_a, "arn:aws:iam::111122223333:mfa/nosuch", &[]),
        ("ListMFADeviceTags", "SerialNumber", mfa_a, "arn:aws:iam::111122223333:mfa/nosuch", &[]),
        (
            "EnableMFADevice",
            "SerialNumber",
            mfa_a,
            "arn:aws:iam::111122223333:mfa/nosuch",
            &[("UserName", "bob"), ("AuthenticationCode1", "123456"), ("AuthenticationCode2", "654321")],
        ),
        (
            "DeactivateMFADevice",
            "SerialNumber",
            mfa_a,
            "arn:aws:iam::111122223333:mfa/nosuch",
            &[("UserName", "bob")],
        ),
        ("UpdateAccessKey", "AccessKeyId", &alice_key, "AKIAZZZZZZZZZZZZZZZZ", &[("Status", "Inactive")]),
        ("DeleteAccessKey", "AccessKeyId", &alice_key, "AKIAZZZZZZZZZZZZZZZZ", &[]),
        ("GetAccessKeyLastUsed", "AccessKeyId", &alice_key, "AKIAZZZZZZZZZZZZZZZZ", &[]),
        (
            "SimulatePrincipalPolicy",
            "PolicySourceArn",
            user_a,
            "arn:aws:iam::111122223333:user/nosuch",
            &[("ActionNames.member.1", "iam:ListUsers")],
        ),
        (
            "GetContextKeysForPrincipalPolicy",
            "PolicySourceArn",
            user_a,
            "arn:aws:iam::111122223333:user/nosuch",
            &[],
        ),
    ];
    for (action, param, existing, missing, extra) in cases {
        let call = |value: &str| {
            let mut pairs = vec![("Action", action), (param, value)];
            pairs.extend_from_slice(extra);
            let pairs: Vec<(String, String)> =
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let (app, b) = (&app, b.clone());
            async move {
                let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.iam(&b, &pairs).await
            }
        };
        let (to_existing, to_missing) = (call(existing).await, call(missing).await);
        assert_ne!(to_existing.status, 200, "{action} on another account's resource: {}", to_existing.body);
        let (status, body) = answer(&to_missing);
        assert_eq!(answer(&to_existing), (status, body.replace(missing, existing)), "{action}");
    }
    // Nothing of account A changed.
    app.admin(&[("Action", "GetPolicyVersion"), ("PolicyArn", POLICY_A), ("VersionId", "v1")]).await.ok();
    let versions = app.admin(&[("Action", "ListPolicyVersions"), ("PolicyArn", POLICY_A)]).await;
    assert_eq!(versions.all("VersionId"), ["v1"]);
    app.admin(&[("Action", "GetSAMLProvider"), ("SAMLProviderArn", provider_a)]).await.ok();
    let keys = app.admin(&[("Action", "ListAccessKeys"), ("UserName", "alice")]).await;
    assert_eq!(keys.all("Status"), ["Active"]);
    let devices = app.admin(&[("Action", "ListVirtualMFADevices")]).await;
    assert_eq!(devices.all("SerialNumber"), [mfa_a]);
    assert!(app.admin(&[("Action", "ListPolicyTags"), ("PolicyArn", POLICY_A)]).await.all("Key").is_empty());
}
