//! The trust decision: may this principal become this role? Shared by
//! AssumeRole (a principal with policies of its own) and AssumeRoleWithSAML
//! (a federated provider, which has none; the console's role picker goes
//! through it): the condition keys a session adds, the actions the trust
//! policy must allow for them, and the role's settings that may shape an
//! answer only once the trust policy has allowed.
use super::Sts;
use super::StsError;
use crate::domain::{Arn, EntityKind, Principal};
use crate::iam::policy::{self, Decision, NamedPolicy, PolicyKind, PolicySet, RequestContext};
use crate::iam::{Caller, CallerKind};
use crate::store::{Found, StoreError};

/// The session's tags and source identity, as the trust policy sees them.
pub(super) fn set_session_keys(
    ctx: &mut RequestContext,
    tags: &[(String, String)],
    transitive: &[String],
    source_identity: Option<&str>,
) {
    for (k, v) in tags {
        ctx.set(&format!("aws:RequestTag/{k}"), v.clone());
    }
    if !tags.is_empty() {
        ctx.set_all("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect());
        ctx.set_all("sts:TransitiveTagKeys", transitive.to_vec());
    }
    if let Some(s) = source_identity {
        ctx.set("sts:SourceIdentity", s);
    }
}

/// What the trust policy must allow: the assume action, `sts:TagSession` for
/// a tagged session and `sts:SetSourceIdentity` for one with a source identity.
pub(super) fn actions(assume: &'static str, tagged: bool, sourced: bool) -> Vec<&'static str> {
    let mut actions = vec![assume];
    if tagged {
        actions.push("sts:TagSession");
    }
    if sourced {
        actions.push("sts:SetSourceIdentity");
    }
    actions
}

/// A federated principal's trust decision: the role's trust policy alone
/// must grant every one of `actions`.
pub(super) fn federated_allowed(
    sts: &Sts,
    role: &Principal,
    ctx: &RequestContext,
    actions: &[&str],
) -> Result<bool, StsError> {
    let trust =
        sts.iam.parse_policy(role.trust_policy.as_deref().unwrap_or_default(), PolicyKind::Resource)?;
    let set =
        PolicySet { resource: Some(NamedPolicy { id: &role.arn, policy: &trust }), ..Default::default() };
    let mut ctx = ctx.clone();
    Ok(actions.iter().all(|action| {
        ctx.set_action(action);
        let e = policy::evaluate(&set, &ctx);
        e.allowed() && e.resource_grant.is_some()
    }))
}

/// AssumeRole's trust decision: the role's trust policy must allow the caller every one
/// of `actions` (`sts:AssumeRole`, `sts:TagSession`, ...), and when it grants
/// only to the caller's account, or the role is in another account, the
/// caller's own policies must allow them too. The caller's side is loaded once.
pub(super) async fn caller_allowed(
    sts: &Sts,
    caller: &Caller,
    role: &Principal,
    base: &RequestContext,
    actions: &[&str],
) -> Result<bool, StsError> {
    let trust_doc = role.trust_policy.as_deref().unwrap_or_default();
    let trust = sts.iam.parse_policy(trust_doc, PolicyKind::Resource)?;
    let trust_named = NamedPolicy { id: &role.arn, policy: &trust };
    // The caller's own side: its policies, boundary and session policies.
    let session = match caller.session() {
        Some(s) => sts.iam.session_policies(s).await?,
        None => vec![],
    };
    let own = match &caller.kind {
        CallerKind::User(u) => Some(u.clone()),
        CallerKind::Session(s) => sts.store.get_principal_by_id(&s.pid).await.found()?,
        CallerKind::Root => None,
    };
    let Some(own) = own else { return Ok(false) };
    let loaded = sts.iam.policies_of(&own).await?;
    let caller_side = PolicySet {
        identity: loaded.identity.iter().map(|(id, p)| NamedPolicy { id, policy: p }).collect(),
        boundary: loaded.boundary.as_ref().map(|(id, p)| NamedPolicy { id, policy: p }),
        session: session.iter().map(|(id, p)| NamedPolicy { id, policy: p }).collect(),
        resource: None,
    };
    let same_account = role.account_id == caller.account_id;
    let both = PolicySet { resource: Some(trust_named), ..caller_side.clone() };
    let trust_only = PolicySet { resource: Some(trust_named), ..Default::default() };
    let mut ctx = base.clone();
    for action in actions {
        ctx.set_action(action);
        let allowed = if same_account {
            let e = policy::evaluate(&both, &ctx);
            e.allowed() && e.resource_grant.is_some()
        } else {
            // Across accounts both sides decide on their own.
            let t = policy::evaluate(&trust_only, &ctx);
            t.decision != Decision::ExplicitDeny
                && t.resource_grant.is_some()
                && policy::evaluate(&caller_side, &ctx).allowed()
        };
        if !allowed {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The role a RoleArn names, or AccessDenied (as AWS answers, so role names
/// cannot be probed).
pub(super) async fn role_of(sts: &Sts, caller: &Caller, role_arn: &str) -> Result<Principal, StsError> {
    let denied = || {
        StsError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.arn
        ))
    };
    let arn = Arn::parse(role_arn)
        .filter(|a| a.service == "iam")
        .ok_or_else(|| StsError::validation("roleArn", role_arn, "Member must be the ARN of a role"))?;
    let Some(("role", name)) = arn.resource_type_and_name() else {
        return Err(StsError::validation("roleArn", role_arn, "Member must be the ARN of a role"));
    };
    match sts.store.get_principal(&arn.account, EntityKind::Role, name).await {
        Ok(role) if role.arn == role_arn => Ok(role),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(denied()),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn exceeds_max_session_duration(role_max: i64) -> StsError {
    StsError::Validation(format!(
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role ({role_max})."
    ))
}
