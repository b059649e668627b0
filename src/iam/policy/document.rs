//! Parsing a policy document with the checks IAM applies before it stores one.
use super::condition::{parse_conditions, ConditionBlock};
use super::context::PrincipalType;
use super::glob::PatternShape;
use super::PolicyError;
use serde_json::{Map, Value};

/// Identity policies have no Principal; resource policies (a role's trust policy)
/// must have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Identity,
    Resource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// Pattern text with any backslash doubled (see `glob`); actions lower-cased.
    pub text: String,
    pub has_variables: bool,
    pub shape: PatternShape,
}

#[derive(Debug, Clone)]
pub(super) enum PrincipalSpec {
    Anyone,
    Of(Vec<(PrincipalType, String)>),
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub(super) principal: Option<(PrincipalSpec, bool)>,
    pub(super) actions: (Vec<Pattern>, bool),
    pub(super) resources: Option<(Vec<Pattern>, bool)>,
    pub conditions: Vec<ConditionBlock>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Statement {
    /// Whether this statement allows and names `value` as a principal of
    /// `kind` (a trust policy naming a SAML provider, say).
    pub fn allows_named(&self, kind: PrincipalType, value: &str) -> bool {
        let named = match &self.principal {
            Some((PrincipalSpec::Of(list), false)) => list.iter().any(|(k, v)| *k == kind && v == value),
            _ => false,
        };
        self.effect == Effect::Allow && named
    }
}

const MAX_POLICY_CHARS: usize = 131_072;

impl Policy {
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        if text.chars().count() > MAX_POLICY_CHARS {
            return Err(PolicyError::new("Policy document is too large"));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError::new(format!("Syntax errors in policy: {e}")))?;
        let obj = value.as_object().ok_or_else(|| PolicyError::new("Syntax errors in policy"))?;
        for key in obj.keys() {
            if !["Version", "Id", "Statement"].contains(&key.as_str()) {
                return Err(PolicyError::new(format!("Syntax errors in policy: unknown field `{key}`")));
            }
        }
        let variables_enabled = match obj.get("Version") {
            Some(Value::String(v)) if v == "2012-10-17" => true,
            Some(Value::String(v)) if v == "2008-10-17" => false,
            None => false,
            Some(_) => return Err(PolicyError::new("The policy must contain a valid version string")),
        };
        let statements = match obj.get("Statement") {
            Some(Value::Array(items)) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => return Err(PolicyError::new("Policy document must contain at least one Statement")),
        };
        let statements = statements
            .into_iter()
            .map(|s| parse_statement(s, kind, variables_enabled))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// The condition keys this policy tests, lower-cased and without duplicates.
    pub fn context_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> =
            self.statements.iter().flat_map(|s| s.conditions.iter().map(|c| c.key.clone())).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| PolicyError::new(format!("{what} must be strings")))
            })
            .collect(),
        _ => Err(PolicyError::new(format!("{what} must be a string or a non-empty list of strings"))),
    }
}

fn one_of<'a>(
    obj: &'a Map<String, Value>,
    yes: &str,
    no: &str,
) -> Result<Option<(&'a Value, bool)>, PolicyError> {
    match (obj.get(yes), obj.get(no)) {
        (Some(_), Some(_)) => Err(PolicyError::new(format!("Statement cannot have both {yes} and {no}"))),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

fn patterns(values: Vec<String>, lower: bool, variables_enabled: bool) -> Vec<Pattern> {
    values
        .into_iter()
        .map(|v| {
            let v = if lower { v.to_ascii_lowercase() } else { v };
            let text = v.replace('\\', "\\\\");
            Pattern {
                has_variables: variables_enabled && v.contains("${"),
                shape: PatternShape::of(&text),
                text,
            }
        })
        .collect()
}

fn parse_statement(v: &Value, kind: PolicyKind, variables_enabled: bool) -> Result<Statement, PolicyError> {
    let obj = v.as_object().ok_or_else(|| PolicyError::new("Statement must be an object"))?;
    for key in obj.keys() {
        let known = [
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ];
        if !known.contains(&key.as_str()) {
            return Err(PolicyError::new(format!("Syntax errors in policy: unknown field `{key}`")));
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) if s.chars().all(|c| c.is_ascii_alphanumeric()) => Some(s.clone()),
        Some(_) => return Err(PolicyError::new("Statement IDs (SID) must be alpha-numeric")),
    };
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(PolicyError::new("Statement must have Effect Allow or Deny")),
    };
    let (action_values, not_action) = one_of(obj, "Action", "NotAction")?
        .ok_or_else(|| PolicyError::new("Policy statement must contain actions."))?;
    let actions = strings(action_values, "Action")?;
    for a in &actions {
        if a != "*" && !a.split_once(':').is_some_and(|(svc, act)| !svc.is_empty() && !act.is_empty()) {
            return Err(PolicyError::new(format!(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (`{a}`)"
            )));
        }
    }
    let resources = match one_of(obj, "Resource", "NotResource")? {
        Some((v, not)) => Some((patterns(strings(v, "Resource")?, false, variables_enabled), not)),
        None if kind == PolicyKind::Identity => {
            return Err(PolicyError::new("Policy statement must contain resources."))
        }
        None => None,
    };
    let principal = match (one_of(obj, "Principal", "NotPrincipal")?, kind) {
        (Some(_), PolicyKind::Identity) => {
            return Err(PolicyError::new("Policy document should not specify a principal."))
        }
        (None, PolicyKind::Resource) => return Err(PolicyError::new("Missing required field Principal")),
        (None, PolicyKind::Identity) => None,
        (Some((v, not)), PolicyKind::Resource) => Some((parse_principal(v)?, not)),
    };
    let conditions = match obj.get("Condition") {
        Some(c) => parse_conditions(c, variables_enabled)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        actions: (patterns(actions, true, false), not_action),
        resources,
        conditions,
    })
}

fn parse_principal(v: &Value) -> Result<PrincipalSpec, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::Anyone),
        Value::Object(map) if !map.is_empty() => {
            let mut out = Vec::new();
            for (kind, values) in map {
                let t = match kind.as_str() {
                    "AWS" => PrincipalType::Aws,
                    "Federated" => PrincipalType::Federated,
                    "Service" => PrincipalType::Service,
                    _ => return Err(PolicyError::new(format!("Invalid principal type `{kind}`"))),
                };
                for value in strings(values, "Principal")? {
                    if value != "*" && value.contains(['*', '?']) {
                        return Err(PolicyError::new(
                            "Invalid principal in policy: wildcards are not allowed",
                        ));
                    }
                    out.push((t, value));
                }
            }
            Ok(PrincipalSpec::Of(out))
        }
        _ => Err(PolicyError::new("Invalid principal in policy")),
    }
}
