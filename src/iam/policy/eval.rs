//! Evaluation: default deny, an explicit Deny anywhere wins, otherwise an Allow
//! from an identity policy or the resource policy is needed, and every limiter
//! present (permissions boundary, session policy) must allow too.
use super::document::{Effect, Pattern, Policy, PrincipalSpec, Statement};
use super::glob::{arn_glob, arn_like, glob_match, PatternShape};
use super::variables;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    Aws,
    Federated,
    Service,
}

/// Who is asking, as a resource policy's `Principal` sees it.
#[derive(Debug, Clone)]
pub struct RequestPrincipal {
    pub account: String,
    /// The first entry is the principal's own ARN; further entries are the ARNs it
    /// also answers to (an assumed-role session also answers to its role's ARN).
    pub ids: Vec<(PrincipalType, String)>,
}

/// The request as policies see it. Condition keys are case-insensitive, so they
/// are stored lower-cased; a key may carry several values.
#[derive(Debug, Clone)]
pub struct RequestContext {
    action: String,
    pub resource: String,
    pub principal: Option<RequestPrincipal>,
    keys: Vec<(String, Vec<String>)>,
}

impl RequestContext {
    pub fn new(action: &str, resource: &str) -> Self {
        RequestContext {
            action: action.to_ascii_lowercase(),
            resource: resource.to_owned(),
            principal: None,
            keys: Vec::new(),
        }
    }

    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set_all(key, vec![value.into()]);
    }

    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        let key = key.to_ascii_lowercase();
        match self.keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = values,
            None => self.keys.push((key, values)),
        }
    }

    pub fn values(&self, lower_key: &str) -> Option<&[String]> {
        self.keys.iter().find(|(k, _)| k == lower_key).map(|(_, v)| v.as_slice())
    }

    /// The value of a single-valued key, looked up case-insensitively.
    pub fn single_value(&self, key: &str) -> Option<&str> {
        let v = self.keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        match v.1.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }
}

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
    pub session: Option<NamedPolicy<'a>>,
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
}

impl Evaluation<'_> {
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

fn any_pattern(patterns: &[Pattern], mut matches: impl FnMut(&Pattern) -> bool) -> bool {
    patterns.iter().any(|p| matches(p))
}

/// How a statement's Principal matched: not at all, or by naming the caller itself.
fn principal_matches(spec: &PrincipalSpec, who: Option<&RequestPrincipal>) -> Option<bool> {
    let who = who?;
    let own = who.ids.first().map(|(_, arn)| arn.as_str());
    match spec {
        PrincipalSpec::Anyone => Some(false),
        PrincipalSpec::Of(list) => {
            let mut hit = None;
            for (t, v) in list {
                let account_root = *t == PrincipalType::Aws
                    && (v == &who.account
                        || v.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root"))
                            == Some(&who.account));
                let wildcard = *t == PrincipalType::Aws
                    && v == "*"
                    && who.ids.iter().any(|(k, _)| *k == PrincipalType::Aws);
                if account_root || wildcard || who.ids.iter().any(|(k, id)| k == t && id == v) {
                    let direct = Some(v.as_str()) == own;
                    hit = Some(hit.unwrap_or(false) || direct);
                }
            }
            hit
        }
    }
}

impl Statement {
    /// Whether this statement applies to the request; `Some(direct)` tells whether
    /// its Principal named the caller's own ARN (always false without a Principal).
    fn applies(&self, ctx: &RequestContext) -> Option<bool> {
        let (actions, not_action) = &self.actions;
        let action_hit = any_pattern(actions, |p| match p.shape {
            PatternShape::Anything => true,
            PatternShape::Literal => p.text == ctx.action,
            PatternShape::Glob { .. } => glob_match(&p.text, &ctx.action, false),
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
        let direct = match &self.principal {
            None => false,
            Some((spec, not_principal)) => {
                match (principal_matches(spec, ctx.principal.as_ref()), not_principal) {
                    (Some(direct), false) => direct,
                    (None, true) if ctx.principal.is_some() => false,
                    _ => return None,
                }
            }
        };
        if self.conditions.iter().all(|c| c.evaluate(ctx)) {
            Some(direct)
        } else {
            None
        }
    }
}

#[derive(Default)]
struct Tally<'a> {
    allow: Vec<MatchedStatement<'a>>,
    deny: Vec<MatchedStatement<'a>>,
    direct_allow: bool,
}

impl<'a> Tally<'a> {
    fn scan(&mut self, named: &NamedPolicy<'a>, ctx: &RequestContext) {
        for (i, s) in named.policy.statements.iter().enumerate() {
            if let Some(direct) = s.applies(ctx) {
                let m = MatchedStatement {
                    policy_id: named.id,
                    statement: i,
                    sid: s.sid.as_deref(),
                    effect_allow: s.effect == Effect::Allow,
                };
                match s.effect {
                    Effect::Allow => {
                        self.direct_allow |= direct;
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
    let session = scan_one(&set.session);

    let mut denies = identity.deny;
    for t in [&resource, &boundary, &session].into_iter().flatten() {
        denies.extend(t.deny.iter().cloned());
    }
    if !denies.is_empty() {
        return Evaluation { decision: Decision::ExplicitDeny, deciding: denies };
    }
    let boundary_ok = boundary.as_ref().is_none_or(|t| !t.allow.is_empty());
    let session_ok = session.as_ref().is_none_or(|t| !t.allow.is_empty());
    let limits_ok = boundary_ok && session_ok;
    let resource_allow = resource.map(|t| (t.direct_allow, t.allow)).unwrap_or_default();

    let decision = match (identity.allow.is_empty(), resource_allow.1.is_empty(), limits_ok) {
        // A resource policy that names the caller itself is not limited by the
        // caller's boundary or session policy (AWS's evaluation logic).
        (_, false, _) if resource_allow.0 => Decision::Allow,
        (false, _, true) | (_, false, true) => Decision::Allow,
        (true, true, _) => Decision::ImplicitDeny(DenyReason::NoAllow),
        _ if !boundary_ok => Decision::ImplicitDeny(DenyReason::Boundary),
        _ => Decision::ImplicitDeny(DenyReason::SessionPolicy),
    };
    let deciding = if decision == Decision::Allow {
        identity.allow.into_iter().chain(resource_allow.1).collect()
    } else {
        Vec::new()
    };
    Evaluation { decision, deciding }
}
