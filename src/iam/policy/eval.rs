//! Evaluation: default deny, an explicit Deny anywhere wins, otherwise an Allow
//! from an identity policy or the resource policy is needed, and every limiter
//! present (permissions boundary, session policy) must allow too.
use super::context::{PrincipalType, RequestContext, RequestPrincipal};
use super::document::{Effect, Pattern, Policy, PrincipalSpec, Statement};
use super::glob::{arn_glob, arn_like, glob_match, PatternShape};
use super::variables;

#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    /// What the caller calls this policy (an ARN or `user/alice/inline-name`).
    pub id: &'a str,
    pub policy: &'a Policy,
}

/// Everything that bears on one request in one account.
#[derive(Debug, Default, Clone)]
pub struct PolicySet<'a> {
    pub identity: Vec<NamedPolicy<'a>>,
    pub resource: Option<NamedPolicy<'a>>,
    pub boundary: Option<NamedPolicy<'a>>,
    /// Session policies (inline and managed): when present, one must allow.
    pub session: Vec<NamedPolicy<'a>>,
}

/// A statement that applied, borrowed from the policies evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement<'a> {
    pub policy_id: &'a str,
    pub statement: usize,
    pub sid: Option<&'a str>,
    pub effect_allow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// No statement allows the request.
    NoAllow,
    /// An identity policy allows it, but the permissions boundary does not.
    Boundary,
    /// An identity policy allows it, but the session policy does not.
    SessionPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny(DenyReason),
}

/// The decision and the statements that decided it: the Deny statements for an
/// explicit deny, the Allow statements for an allow, none for an implicit deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<'a> {
    pub decision: Decision,
    pub deciding: Vec<MatchedStatement<'a>>,
    /// How an allowing statement of the resource policy named the caller, if one did.
    pub resource_grant: Option<Grant>,
}

impl Evaluation<'_> {
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

fn any_pattern(patterns: &[Pattern], matches: impl FnMut(&Pattern) -> bool) -> bool {
    patterns.iter().any(matches)
}

/// How a resource policy's Principal named the caller, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// By its account (`111122223333` or `arn:aws:iam::111122223333:root`): the
    /// account delegates, so the caller's identity policies must allow too.
    Account,
    /// By an ARN it answers to other than its own (an assumed-role session by
    /// its role's ARN), or by `*`.
    Named,
    /// By the caller's own ARN.
    Caller,
}

fn principal_matches(spec: &PrincipalSpec, who: Option<&RequestPrincipal>) -> Option<Grant> {
    let who = who?;
    let own = who.ids.first().map(|(_, arn)| arn.as_str());
    match spec {
        PrincipalSpec::Anyone => Some(Grant::Named),
        PrincipalSpec::Of(list) => {
            let mut best = None;
            for (t, v) in list {
                let grant = if *t == PrincipalType::Aws && v == "*" {
                    who.ids.iter().any(|(k, _)| *k == PrincipalType::Aws).then_some(Grant::Named)
                } else if *t == PrincipalType::Aws
                    && (v == &who.account || crate::domain::Arn::account_of_root(v) == Some(&who.account))
                {
                    Some(Grant::Account)
                } else if Some(v.as_str()) == own && who.ids.first().is_some_and(|(k, _)| k == t) {
                    Some(Grant::Caller)
                } else if who.ids.iter().any(|(k, id)| k == t && id == v) {
                    Some(Grant::Named)
                } else {
                    None
                };
                best = best.max(grant);
            }
            best
        }
    }
}

impl Statement {
    /// Whether this statement applies to the request, and how its Principal named
    /// the caller (`None` inside when it has no Principal: identity policies).
    fn applies(&self, ctx: &RequestContext) -> Option<Option<Grant>> {
        let (actions, not_action) = &self.actions;
        let action_hit = any_pattern(actions, |p| match p.shape {
            PatternShape::Anything => true,
            PatternShape::Literal => p.text == ctx.action(),
            PatternShape::Glob { .. } => glob_match(&p.text, ctx.action(), false),
        });
        if action_hit == *not_action {
            return None;
        }
        if let Some((resources, not_resource)) = &self.resources {
            let hit = any_pattern(resources, |p| match p.shape {
                _ if p.has_variables => {
                    variables::substitute(&p.text, ctx, true).is_some_and(|t| arn_like(&t, &ctx.resource))
                }
                PatternShape::Anything => true,
                PatternShape::Literal => p.text == ctx.resource,
                PatternShape::Glob { arn_parts } => arn_glob(&p.text, &ctx.resource, arn_parts),
            });
            if hit == *not_resource {
                return None;
            }
        }
        let grant = match &self.principal {
            None => None,
            Some((spec, not_principal)) => {
                match (principal_matches(spec, ctx.principal.as_ref()), not_principal) {
                    (Some(grant), false) => Some(grant),
                    (None, true) if ctx.principal.is_some() => Some(Grant::Named),
                    _ => return None,
                }
            }
        };
        if self.conditions.iter().all(|c| c.evaluate(ctx)) {
            Some(grant)
        } else {
            None
        }
    }
}

#[derive(Default)]
struct Tally<'a> {
    allow: Vec<MatchedStatement<'a>>,
    deny: Vec<MatchedStatement<'a>>,
    /// The strongest way an Allow statement's Principal named the caller.
    grant: Option<Grant>,
}

impl<'a> Tally<'a> {
    fn scan(&mut self, named: &NamedPolicy<'a>, ctx: &RequestContext) {
        for (i, s) in named.policy.statements.iter().enumerate() {
            if let Some(grant) = s.applies(ctx) {
                let m = MatchedStatement {
                    policy_id: named.id,
                    statement: i,
                    sid: s.sid.as_deref(),
                    effect_allow: s.effect == Effect::Allow,
                };
                match s.effect {
                    Effect::Allow => {
                        self.grant = self.grant.max(grant);
                        self.allow.push(m)
                    }
                    Effect::Deny => self.deny.push(m),
                }
            }
        }
    }
}

pub fn evaluate<'a>(set: &PolicySet<'a>, ctx: &RequestContext) -> Evaluation<'a> {
    let mut identity = Tally::default();
    for p in &set.identity {
        identity.scan(p, ctx);
    }
    let scan_one = |p: &Option<NamedPolicy<'a>>| {
        p.as_ref().map(|p| {
            let mut t = Tally::default();
            t.scan(p, ctx);
            t
        })
    };
    let resource = scan_one(&set.resource);
    let boundary = scan_one(&set.boundary);
    let session = (!set.session.is_empty()).then(|| {
        let mut t = Tally::default();
        for p in &set.session {
            t.scan(p, ctx);
        }
        t
    });

    let mut denies = identity.deny;
    for t in [&resource, &boundary, &session].into_iter().flatten() {
        denies.extend(t.deny.iter().cloned());
    }
    if !denies.is_empty() {
        return Evaluation { decision: Decision::ExplicitDeny, deciding: denies, resource_grant: None };
    }
    let boundary_ok = boundary.as_ref().is_none_or(|t| !t.allow.is_empty());
    let session_ok = session.as_ref().is_none_or(|t| !t.allow.is_empty());
    let limits_ok = boundary_ok && session_ok;
    let (resource_grant, resource_allow) = resource.map(|t| (t.grant, t.allow)).unwrap_or_default();
    let identity_allows = !identity.allow.is_empty();
    let allowed = match resource_grant {
        // A resource policy naming the caller itself is not limited by the
        // caller's boundary or session policy (AWS's evaluation logic).
        Some(Grant::Caller) => true,
        Some(Grant::Named) => limits_ok,
        // Granted to the account: the caller's own policies decide.
        Some(Grant::Account) | None => identity_allows && limits_ok,
    };
    let decision = if allowed {
        Decision::Allow
    } else if !identity_allows && resource_grant.is_none_or(|g| g == Grant::Account) {
        Decision::ImplicitDeny(DenyReason::NoAllow)
    } else if !boundary_ok {
        Decision::ImplicitDeny(DenyReason::Boundary)
    } else {
        Decision::ImplicitDeny(DenyReason::SessionPolicy)
    };
    let deciding = if decision == Decision::Allow {
        identity.allow.into_iter().chain(resource_allow).collect()
    } else {
        Vec::new()
    };
    Evaluation { decision, deciding, resource_grant }
}
