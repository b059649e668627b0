//! Table-driven tests, each case taken from a rule in AWS's IAM policy reference.
use super::*;

const ACCT: &str = "111122223333";

fn user_ctx(action: &str, resource: &str, keys: &[(&str, &[&str])]) -> RequestContext {
    let mut c = RequestContext::new(action, resource);
    c.set("aws:username", "alice");
    c.set("aws:userid", "AIDAEXAMPLE");
    for (k, v) in keys {
        c.set_all(k, v.iter().map(|s| s.to_string()).collect());
    }
    c
}

fn decide(policies: &[&str], ctx: &RequestContext) -> Decision {
    let parsed: Vec<Policy> =
        policies.iter().map(|p| Policy::parse(p, PolicyKind::Identity).unwrap()).collect();
    let set = PolicySet {
        identity: parsed.iter().map(|p| NamedPolicy { id: "p", policy: p }).collect(),
        ..Default::default()
    };
    evaluate(&set, ctx).decision
}

fn allow(stmt_body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{stmt_body}}}]}}"#)
}

const ALLOW: Decision = Decision::Allow;
const NONE: Decision = Decision::ImplicitDeny(DenyReason::NoAllow);

#[test]
fn action_and_resource_matching() {
    let user = format!("arn:aws:iam::{ACCT}:user/alice");
    let cases: &[(&str, &str, &str, Decision)] = &[
        // (statement body, action, resource, expected)
        (r#""Action":"iam:GetUser","Resource":"*""#, "iam:GetUser", &user, ALLOW),
        (r#""Action":"iam:getuser","Resource":"*""#, "iam:GetUser", &user, ALLOW),
        (r#""Action":"iam:Get*","Resource":"*""#, "iam:GetUser", &user, ALLOW),
        (r#""Action":"iam:Get*","Resource":"*""#, "iam:ListUsers", &user, NONE),
        (r#""Action":"*","Resource":"*""#, "sts:GetCallerIdentity", "*", ALLOW),
        (r#""Action":["iam:ListUsers","iam:GetUser"],"Resource":"*""#, "iam:GetUser", &user, ALLOW),
        (r#""NotAction":"iam:DeleteUser","Resource":"*""#, "iam:GetUser", &user, ALLOW),
        (r#""NotAction":"iam:DeleteUser","Resource":"*""#, "iam:DeleteUser", &user, NONE),
        (r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/*""#, "iam:GetUser", &user, ALLOW),
        (
            r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/*""#,
            "iam:GetRole",
            "arn:aws:iam::111122223333:role/R",
            NONE,
        ),
        (r#""Action":"iam:*","Resource":"arn:aws:iam::999988887777:user/*""#, "iam:GetUser", &user, NONE),
        // Resource ARNs are case-sensitive.
        (r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/Alice""#, "iam:GetUser", &user, NONE),
        (
            r#""Action":"iam:*","NotResource":"arn:aws:iam::111122223333:user/bob""#,
            "iam:GetUser",
            &user,
            ALLOW,
        ),
        (r#""Action":"iam:*","NotResource":"arn:aws:iam::111122223333:user/*""#, "iam:GetUser", &user, NONE),
        // Policy variables.
        (
            r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/${aws:username}""#,
            "iam:GetUser",
            &user,
            ALLOW,
        ),
        (
            r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/${aws:username}""#,
            "iam:GetUser",
            "arn:aws:iam::111122223333:user/bob",
            NONE,
        ),
        (
            r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/${saml:sub}""#,
            "iam:GetUser",
            &user,
            NONE,
        ),
        (
            r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/${saml:sub, 'alice'}""#,
            "iam:GetUser",
            &user,
            ALLOW,
        ),
    ];
    for (body, action, resource, expected) in cases {
        let ctx = user_ctx(action, resource, &[]);
        assert_eq!(&decide(&[&allow(body)], &ctx), expected, "{body} / {action} on {resource}");
    }
}

#[test]
fn variables_are_literal_in_the_2008_version() {
    let p = r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}}"#;
    let ctx = user_ctx("iam:GetUser", "arn:aws:iam::111122223333:user/alice", &[]);
    assert_eq!(decide(&[p], &ctx), NONE);
    let literal = user_ctx("iam:GetUser", "arn:aws:iam::111122223333:user/${aws:username}", &[]);
    assert_eq!(decide(&[p], &literal), ALLOW);
}

#[test]
fn explicit_deny_wins_over_any_allow() {
    let allow_all = allow(r#""Action":"*","Resource":"*""#);
    let deny = r#"{"Version":"2012-10-17","Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"iam:Delete*","Resource":"*"}}"#;
    let ctx = user_ctx("iam:DeleteUser", "arn:aws:iam::111122223333:user/bob", &[]);
    let parsed = [
        Policy::parse(&allow_all, PolicyKind::Identity).unwrap(),
        Policy::parse(deny, PolicyKind::Identity).unwrap(),
    ];
    let set = PolicySet {
        identity: vec![
            NamedPolicy { id: "a", policy: &parsed[0] },
            NamedPolicy { id: "d", policy: &parsed[1] },
        ],
        ..Default::default()
    };
    let e = evaluate(&set, &ctx);
    assert_eq!(e.decision, Decision::ExplicitDeny);
    assert_eq!(e.deciding.len(), 1);
    assert_eq!(e.deciding[0].policy_id, "d");
    assert_eq!(e.deciding[0].sid, Some("NoDelete"));
    // The statements that decided an allow are reported too.
    let ctx = user_ctx("iam:GetUser", "arn:aws:iam::111122223333:user/bob", &[]);
    let e = evaluate(&set, &ctx);
    assert_eq!(e.decision, Decision::Allow);
    assert_eq!(e.deciding[0].policy_id, "a");
}

#[test]
fn default_is_deny() {
    let ctx = user_ctx("iam:GetUser", "*", &[]);
    assert_eq!(decide(&[], &ctx), NONE);
}

#[test]
fn boundary_and_session_policy_limit_identity_allows() {
    let admin = Policy::parse(&allow(r#""Action":"*","Resource":"*""#), PolicyKind::Identity).unwrap();
    let only_get =
        Policy::parse(&allow(r#""Action":"iam:Get*","Resource":"*""#), PolicyKind::Identity).unwrap();
    let only_list =
        Policy::parse(&allow(r#""Action":"iam:List*","Resource":"*""#), PolicyKind::Identity).unwrap();
    let get = user_ctx("iam:GetUser", "*", &[]);
    let delete = user_ctx("iam:DeleteUser", "*", &[]);
    let with_boundary = PolicySet {
        identity: vec![NamedPolicy { id: "admin", policy: &admin }],
        boundary: Some(NamedPolicy { id: "b", policy: &only_get }),
        ..Default::default()
    };
    assert_eq!(evaluate(&with_boundary, &get).decision, ALLOW);
    assert_eq!(evaluate(&with_boundary, &delete).decision, Decision::ImplicitDeny(DenyReason::Boundary));
    // A boundary grants nothing by itself.
    let boundary_only =
        PolicySet { boundary: Some(NamedPolicy { id: "b", policy: &admin }), ..Default::default() };
    assert_eq!(evaluate(&boundary_only, &get).decision, NONE);
    let with_session = PolicySet {
        identity: vec![NamedPolicy { id: "admin", policy: &admin }],
        session: vec![NamedPolicy { id: "s", policy: &only_list }],
        ..Default::default()
    };
    assert_eq!(evaluate(&with_session, &get).decision, Decision::ImplicitDeny(DenyReason::SessionPolicy));
    let list = user_ctx("iam:ListUsers", "*", &[]);
    assert_eq!(evaluate(&with_session, &list).decision, ALLOW);
}

fn trust(principal: &str, cond: &str) -> Policy {
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"{cond}}}]}}"#
    );
    Policy::parse(&text, PolicyKind::Resource).unwrap()
}

fn who(account: &str, ids: &[(PrincipalType, &str)]) -> RequestPrincipal {
    RequestPrincipal { account: account.into(), ids: ids.iter().map(|(t, s)| (*t, s.to_string())).collect() }
}

#[test]
fn resource_policy_principals() {
    let alice = who(ACCT, &[(PrincipalType::Aws, "arn:aws:iam::111122223333:user/alice")]);
    let stranger = who("999988887777", &[(PrincipalType::Aws, "arn:aws:iam::999988887777:user/eve")]);
    let saml = who(ACCT, &[(PrincipalType::Federated, "arn:aws:iam::111122223333:saml-provider/Corp")]);
    let session = who(
        ACCT,
        &[
            (PrincipalType::Aws, "arn:aws:sts::111122223333:assumed-role/R/s1"),
            (PrincipalType::Aws, "arn:aws:iam::111122223333:role/R"),
        ],
    );
    use Grant::*;
    let cases: Vec<(Policy, &RequestPrincipal, Option<Grant>)> = vec![
        (trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, ""), &alice, Some(Caller)),
        (trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, ""), &stranger, None),
        (trust(r#"{"AWS":"111122223333"}"#, ""), &alice, Some(Account)),
        (trust(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, ""), &alice, Some(Account)),
        (trust(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, ""), &stranger, None),
        (trust(r#"{"AWS":"*"}"#, ""), &stranger, Some(Named)),
        (trust(r#""*""#, ""), &saml, Some(Named)),
        (trust(r#"{"Federated":"arn:aws:iam::111122223333:saml-provider/Corp"}"#, ""), &saml, Some(Caller)),
        (trust(r#"{"Federated":"arn:aws:iam::111122223333:saml-provider/Corp"}"#, ""), &alice, None),
        (
            trust(r#"{"AWS":["arn:aws:iam::111122223333:user/bob","111122223333"]}"#, ""),
            &alice,
            Some(Account),
        ),
        (trust(r#"{"AWS":"arn:aws:iam::111122223333:role/R"}"#, ""), &session, Some(Named)),
        (trust(r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"}"#, ""), &session, Some(Caller)),
    ];
    for (i, (policy, principal, expected)) in cases.iter().enumerate() {
        let mut ctx = RequestContext::new("sts:AssumeRole", "arn:aws:iam::111122223333:role/R");
        ctx.principal = Some((*principal).clone());
        let set = PolicySet { resource: Some(NamedPolicy { id: "trust", policy }), ..Default::default() };
        let e = evaluate(&set, &ctx);
        assert_eq!(e.resource_grant, *expected, "case {i}");
        // A grant to the account alone delegates: with no identity policy, no allow.
        assert_eq!(e.allowed(), matches!(expected, Some(Caller | Named)), "case {i}");
    }
}

#[test]
fn a_grant_to_the_account_needs_the_callers_own_allow() {
    let by_account = trust(r#"{"AWS":"111122223333"}"#, "");
    let may_assume =
        Policy::parse(&allow(r#""Action":"sts:AssumeRole","Resource":"*""#), PolicyKind::Identity).unwrap();
    let mut ctx = RequestContext::new("sts:AssumeRole", "arn:aws:iam::111122223333:role/R");
    ctx.principal = Some(who(ACCT, &[(PrincipalType::Aws, "arn:aws:iam::111122223333:user/alice")]));
    let without =
        PolicySet { resource: Some(NamedPolicy { id: "t", policy: &by_account }), ..Default::default() };
    assert_eq!(evaluate(&without, &ctx).decision, NONE);
    let with = PolicySet { identity: vec![NamedPolicy { id: "i", policy: &may_assume }], ..without.clone() };
    assert_eq!(evaluate(&with, &ctx).decision, ALLOW);
}

#[test]
fn not_principal_applies_to_everyone_else() {
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    for (principal, expected) in [
        (who(ACCT, &[(PrincipalType::Aws, "arn:aws:iam::111122223333:user/alice")]), true),
        (who(ACCT, &[(PrincipalType::Aws, "arn:aws:iam::111122223333:user/bob")]), false),
    ] {
        let mut ctx = RequestContext::new("sts:AssumeRole", "arn:aws:iam::111122223333:role/R");
        ctx.principal = Some(principal);
        let set = PolicySet { resource: Some(NamedPolicy { id: "t", policy: &p }), ..Default::default() };
        assert_eq!(evaluate(&set, &ctx).allowed(), expected);
    }
}

#[test]
fn resource_policy_naming_the_caller_is_not_limited_by_its_boundary() {
    let get_only =
        Policy::parse(&allow(r#""Action":"iam:Get*","Resource":"*""#), PolicyKind::Identity).unwrap();
    let by_user = trust(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "");
    let by_account = trust(r#"{"AWS":"111122223333"}"#, "");
    let mut ctx = RequestContext::new("sts:AssumeRole", "arn:aws:iam::111122223333:role/R");
    ctx.principal = Some(who(ACCT, &[(PrincipalType::Aws, "arn:aws:iam::111122223333:user/alice")]));
    let set = |resource| PolicySet {
        resource: Some(NamedPolicy { id: "t", policy: resource }),
        boundary: Some(NamedPolicy { id: "b", policy: &get_only }),
        ..Default::default()
    };
    assert_eq!(evaluate(&set(&by_user), &ctx).decision, ALLOW);
    assert_eq!(evaluate(&set(&by_account), &ctx).decision, NONE);
}

fn cond_decides(condition: &str, keys: &[(&str, &[&str])]) -> bool {
    let body = format!(r#""Action":"iam:GetUser","Resource":"*","Condition":{condition}"#);
    decide(&[&allow(&body)], &user_ctx("iam:GetUser", "*", keys)) == ALLOW
}

/// A condition block, the request's context keys, and whether it matches.
type ConditionCase<'a> = (&'a str, &'a [(&'a str, &'a [&'a str])], bool);

#[test]
fn condition_operators() {
    let cases: &[ConditionCase] = &[
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"ops"}}"#, &[("aws:PrincipalTag/team", &["ops"])], true),
        (
            r#"{"StringEquals":{"aws:PrincipalTag/team":"ops"}}"#,
            &[("aws:PrincipalTag/team", &["Ops"])],
            false,
        ),
        (r#"{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"ops"}}"#, &[("aws:PrincipalTag/team", &["ops"])], true),
        (
            r#"{"StringEquals":{"aws:PrincipalTag/team":["dev","ops"]}}"#,
            &[("aws:PrincipalTag/team", &["ops"])],
            true,
        ),
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"ops"}}"#, &[], false),
        (r#"{"StringNotEquals":{"aws:PrincipalTag/team":"ops"}}"#, &[], true),
        (
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["ops","dev"]}}"#,
            &[("aws:PrincipalTag/team", &["dev"])],
            false,
        ),
        (
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["ops","dev"]}}"#,
            &[("aws:PrincipalTag/team", &["qa"])],
            true,
        ),
        (r#"{"StringEqualsIgnoreCase":{"k":"OPS"}}"#, &[("k", &["ops"])], true),
        (r#"{"StringNotEqualsIgnoreCase":{"k":"OPS"}}"#, &[("k", &["ops"])], false),
        (r#"{"StringLike":{"k":"o*s"}}"#, &[("k", &["oops"])], true),
        (r#"{"StringNotLike":{"k":"o*s"}}"#, &[("k", &["oops"])], false),
        (r#"{"StringEquals":{"k":"${aws:username}"}}"#, &[("k", &["alice"])], true),
        (r#"{"StringLike":{"k":"${aws:username}-*"}}"#, &[("k", &["alice-1"])], true),
        (r#"{"StringEqualsIfExists":{"k":"x"}}"#, &[], true),
        (r#"{"StringEqualsIfExists":{"k":"x"}}"#, &[("k", &["y"])], false),
        (r#"{"NumericLessThan":{"k":"10"}}"#, &[("k", &["9.5"])], true),
        (r#"{"NumericLessThan":{"k":"10"}}"#, &[("k", &["10"])], false),
        (r#"{"NumericLessThanEquals":{"k":"10"}}"#, &[("k", &["10"])], true),
        (r#"{"NumericGreaterThan":{"k":10}}"#, &[("k", &["11"])], true),
        (r#"{"NumericGreaterThanEquals":{"k":"10"}}"#, &[("k", &["9"])], false),
        (r#"{"NumericEquals":{"k":"10"}}"#, &[("k", &["10.0"])], true),
        (r#"{"NumericNotEquals":{"k":"10"}}"#, &[("k", &["10"])], false),
        (r#"{"NumericEquals":{"k":"10"}}"#, &[("k", &["ten"])], false),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            &[("aws:CurrentTime", &["2026-11-27T12:00:00Z"])],
            true,
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            &[("aws:CurrentTime", &["2026-11-27T12:00:00Z"])],
            false,
        ),
        (r#"{"DateEquals":{"k":"2026-11-27T00:00:00Z"}}"#, &[("k", &["1795737600"])], true),
        (r#"{"DateNotEquals":{"k":"2026-11-27T00:00:00Z"}}"#, &[("k", &["1795737600"])], false),
        (r#"{"DateLessThanEquals":{"k":"2026-11-27"}}"#, &[("k", &["2026-11-27T00:00:00Z"])], true),
        (r#"{"DateGreaterThanEquals":{"k":"2026-11-27"}}"#, &[("k", &["2026-11-26T23:59:59Z"])], false),
        (
            r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
            &[("aws:MultiFactorAuthPresent", &["true"])],
            true,
        ),
        (
            r#"{"Bool":{"aws:MultiFactorAuthPresent":true}}"#,
            &[("aws:MultiFactorAuthPresent", &["false"])],
            false,
        ),
        (r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#, &[], false),
        (r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#, &[], true),
        (r#"{"BinaryEquals":{"k":"QmluYXJ5"}}"#, &[("k", &["QmluYXJ5"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.113.7"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &[("aws:SourceIp", &["198.51.100.7"])], false),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#, &[("aws:SourceIp", &["2001:db8::1"])], true),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","10.0.0.1"]}}"#,
            &[("aws:SourceIp", &["10.0.0.1"])],
            false,
        ),
        (
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:role/Dev*"}}"#,
            &[("aws:SourceArn", &["arn:aws:iam::111122223333:role/DevOps"])],
            true,
        ),
        (
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/Dev"}}"#,
            &[("aws:SourceArn", &["arn:aws:iam::111122223333:role/Dev"])],
            true,
        ),
        (
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:iam::*:role/Dev*"}}"#,
            &[("aws:SourceArn", &["arn:aws:iam::111122223333:role/Ops"])],
            true,
        ),
        (r#"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/Dev"}}"#, &[], true),
        (r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, &[], true),
        (r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, &[("aws:TokenIssueTime", &["x"])], false),
        (r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, &[("aws:TokenIssueTime", &["x"])], true),
        // Keys AND-ed, operators AND-ed.
        (r#"{"StringEquals":{"a":"1","b":"2"}}"#, &[("a", &["1"]), ("b", &["2"])], true),
        (r#"{"StringEquals":{"a":"1","b":"2"}}"#, &[("a", &["1"]), ("b", &["3"])], false),
        (r#"{"StringEquals":{"a":"1"},"StringLike":{"b":"x*"}}"#, &[("a", &["1"]), ("b", &["y"])], false),
        // Set qualifiers.
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["c", "b"])], true),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["c"])], false),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}"#, &[], false),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["a", "b"])], true),
        (
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
            &[("aws:TagKeys", &["a", "c"])],
            false,
        ),
        // AWS's documented hazard: ForAllValues is true when the key is missing.
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}"#, &[], true),
        (r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}"#, &[("aws:TagKeys", &["a", "z"])], true),
        (
            r#"{"ForAllValues:StringLike":{"aws:TagKeys":["team-*"]}}"#,
            &[("aws:TagKeys", &["team-a", "team-b"])],
            true,
        ),
    ];
    for (cond, keys, expected) in cases {
        assert_eq!(cond_decides(cond, keys), *expected, "{cond} with {keys:?}");
    }
}

#[test]
fn malformed_documents_are_refused_with_a_reason() {
    let cases = [
        ("not json", "Syntax errors"),
        (r#"{"Version":"2012-10-17"}"#, "Statement"),
        (r#"{"Version":"2019-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#, "version"),
        (r#"{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#, "Effect"),
        (r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}"#, "actions"),
        (r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}"#, "resources"),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"GetUser","Resource":"*"}}"#,
            "vendor",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}"#,
            "both",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            "principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}}"#,
            "Condition type",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a":"x"}}}}"#,
            "Invalid value",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"a":"nope"}}}}"#,
            "Invalid value",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Sid":"has space","Effect":"Allow","Action":"*","Resource":"*"}}"#,
            "SID",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}}"#,
            "Extra",
        ),
    ];
    for (text, reason) in cases {
        let err = Policy::parse(text, PolicyKind::Identity).unwrap_err();
        assert!(err.0.contains(reason), "{text}: {err}");
    }
    let trust_without_principal =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#;
    assert!(Policy::parse(trust_without_principal, PolicyKind::Resource).is_err());
    let wildcard_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:AssumeRole"}}"#;
    assert!(Policy::parse(wildcard_principal, PolicyKind::Resource).is_err());
}

#[test]
fn context_keys_are_listed_once() {
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a"},"Bool":{"aws:SecureTransport":"true"}}},
        {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"AWS:UserName":"b"}}}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    assert_eq!(p.context_keys(), vec!["aws:securetransport", "aws:username"]);
}
