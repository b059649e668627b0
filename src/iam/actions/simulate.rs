//! The policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the
//! context-key listings, answered by the same evaluation that guards every call.
use super::{short_list_page, Ctx, Output};
use crate::domain::{Arn, EntityKind, Principal};
use crate::iam::policy::{self, Decision, NamedPolicy, Policy, PolicyKind, PolicySet, RequestContext};
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use std::sync::Arc;

/// Identity policies given inline in the request (`PolicyInputList.member.N`).
fn input_policies(c: &Ctx<'_>, param: &str) -> Result<Vec<(String, Arc<Policy>)>, IamError> {
    c.p.list(param)
        .into_iter()
        .enumerate()
        .map(|(i, doc)| Ok((format!("{param}.{}", i + 1), c.svc.parse_policy(doc, PolicyKind::Identity)?)))
        .collect()
}

async fn source_principal(c: &Ctx<'_>) -> Result<Principal, IamError> {
    let arn = c.p.required_string("PolicySourceArn", 20, 2048)?;
    let parsed = Arn::parse(arn).filter(|a| a.service == "iam" && a.account == c.account());
    let (kind, name) = match parsed.as_ref().and_then(|a| a.resource_type_and_name()) {
        Some(("user", n)) => (EntityKind::User, n.to_owned()),
        Some(("group", n)) => (EntityKind::Group, n.to_owned()),
        Some(("role", n)) => (EntityKind::Role, n.to_owned()),
        _ => {
            return Err(IamError::InvalidInput(format!(
                "Invalid PolicySourceArn `{arn}`: must name a user, group or role of this account."
            )))
        }
    };
    c.principal(kind, &name).await
}

fn context_entries(c: &Ctx<'_>, ctx: &mut RequestContext) {
    for i in 1.. {
        let Some(name) = c.p.get(&format!("ContextEntries.member.{i}.ContextKeyName")) else {
            break;
        };
        let values = c.p.list(&format!("ContextEntries.member.{i}.ContextKeyValues"));
        ctx.set_all(name, values.into_iter().map(str::to_owned).collect());
    }
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Allow => "allowed",
        Decision::ExplicitDeny => "explicitDeny",
        Decision::ImplicitDeny(_) => "implicitDeny",
    }
}

fn simulate(
    c: &Ctx<'_>,
    identity: &[(String, Arc<Policy>)],
    boundary: &[(String, Arc<Policy>)],
    user: Option<&Principal>,
) -> Output {
    let actions = c.p.list("ActionNames");
    if actions.is_empty() {
        return Err(IamError::Validation(
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let mut resources = c.p.list("ResourceArns");
    if resources.is_empty() {
        resources.push("*");
    }
    let keys: Vec<String> = identity.iter().chain(boundary).flat_map(|(_, p)| p.context_keys()).collect();
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let mut ctx = RequestContext::new(action, resource);
            if let Some(u) = user {
                ctx.set("aws:username", u.name.clone());
                ctx.set("aws:userid", u.id.clone());
            }
            context_entries(c, &mut ctx);
            let set = PolicySet {
                identity: identity.iter().map(|(id, p)| NamedPolicy { id, policy: p }).collect(),
                boundary: boundary.first().map(|(id, p)| NamedPolicy { id, policy: p }),
                ..Default::default()
            };
            let e = policy::evaluate(&set, &ctx);
            let mut missing: Vec<String> = keys.iter().filter(|k| ctx.values(k).is_none()).cloned().collect();
            missing.sort();
            missing.dedup();
            let matched = e
                .deciding
                .iter()
                .map(|m| {
                    Member::Struct(vec![
                        text("SourcePolicyId", m.policy_id),
                        text("SourcePolicyType", "IAM Policy"),
                    ])
                })
                .collect();
            results.push(vec![
                text("EvalActionName", *action),
                text("EvalResourceName", *resource),
                text("EvalDecision", decision_name(&e.decision)),
                Node::List("MatchedStatements", matched),
                Node::List("MissingContextValues", missing.into_iter().map(Member::Text).collect()),
            ]);
        }
    }
    // Results keep the order of the request's actions and resources.
    let results: Vec<(usize, Vec<Node>)> = results.into_iter().enumerate().collect();
    short_list_page(
        c,
        "EvaluationResults",
        results,
        |(i, _)| format!("{i:06}"),
        |(_, r)| Member::Struct(r.clone()),
    )
}

pub async fn principal(c: &Ctx<'_>) -> Output {
    let source = source_principal(c).await?;
    c.allow("iam:SimulatePrincipalPolicy", &source.arn).await?;
    let loaded = c.svc.policies_of(&source).await?;
    let mut identity = loaded.identity;
    identity.extend(input_policies(c, "PolicyInputList")?);
    let mut boundary: Vec<_> = input_policies(c, "PermissionsBoundaryPolicyInputList")?;
    boundary.extend(loaded.boundary);
    let user = (source.kind == EntityKind::User).then_some(&source);
    simulate(c, &identity, &boundary, user)
}

pub async fn custom(c: &Ctx<'_>) -> Output {
    c.allow("iam:SimulateCustomPolicy", "*").await?;
    let identity = input_policies(c, "PolicyInputList")?;
    if identity.is_empty() {
        return Err(IamError::Validation(
            "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    let boundary = input_policies(c, "PermissionsBoundaryPolicyInputList")?;
    simulate(c, &identity, &boundary, None)
}

fn key_list(policies: &[(String, Arc<Policy>)]) -> Output {
    let mut keys: Vec<String> = policies.iter().flat_map(|(_, p)| p.context_keys()).collect();
    keys.sort();
    keys.dedup();
    Ok(Some(vec![Node::List("ContextKeyNames", keys.into_iter().map(Member::Text).collect())]))
}

pub async fn context_keys_principal(c: &Ctx<'_>) -> Output {
    let source = source_principal(c).await?;
    c.allow("iam:GetContextKeysForPrincipalPolicy", &source.arn).await?;
    let loaded = c.svc.policies_of(&source).await?;
    let mut all = loaded.identity;
    all.extend(loaded.boundary);
    all.extend(input_policies(c, "PolicyInputList")?);
    key_list(&all)
}

pub async fn context_keys_custom(c: &Ctx<'_>) -> Output {
    c.allow("iam:GetContextKeysForCustomPolicy", "*").await?;
    key_list(&input_policies(c, "PolicyInputList")?)
}
