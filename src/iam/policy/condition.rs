//! Condition operators, with `...IfExists` and the `ForAnyValue:` / `ForAllValues:`
//! set qualifiers, evaluated as the IAM reference describes:
//! operators are AND-ed, keys AND-ed, a key's values OR-ed; a missing key makes a
//! positive operator false and a negated one true.
use super::eval::RequestContext;
use super::glob::{arn_like, glob_match};
use super::{variables, PolicyError};
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

/// One `operator: { key: values }` entry, already split per key.
#[derive(Debug, Clone)]
pub struct ConditionBlock {
    pub operator: Operator,
    negated: bool,
    if_exists: bool,
    qualifier: SetQualifier,
    /// Lower-cased: condition keys are case-insensitive.
    pub key: String,
    values: Vec<String>,
    values_have_variables: bool,
}

fn parse_operator(name: &str) -> Option<(Operator, bool)> {
    use Operator::*;
    Some(match name {
        "StringEquals" => (StringEquals, false),
        "StringNotEquals" => (StringEquals, true),
        "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
        "StringLike" => (StringLike, false),
        "StringNotLike" => (StringLike, true),
        "NumericEquals" => (NumericEquals, false),
        "NumericNotEquals" => (NumericEquals, true),
        "NumericLessThan" => (NumericLessThan, false),
        "NumericLessThanEquals" => (NumericLessThanEquals, false),
        "NumericGreaterThan" => (NumericGreaterThan, false),
        "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
        "DateEquals" => (DateEquals, false),
        "DateNotEquals" => (DateEquals, true),
        "DateLessThan" => (DateLessThan, false),
        "DateLessThanEquals" => (DateLessThanEquals, false),
        "DateGreaterThan" => (DateGreaterThan, false),
        "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
        "Bool" => (Bool, false),
        "BinaryEquals" => (BinaryEquals, false),
        "IpAddress" => (IpAddress, false),
        "NotIpAddress" => (IpAddress, true),
        "ArnEquals" | "ArnLike" => (ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (ArnLike, true),
        "Null" => (Null, false),
        _ => return None,
    })
}

fn value_strings(v: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => None,
        other => one(other).map(|s| vec![s]),
    }
}

/// Parses a statement's `Condition` object into blocks, one per operator and key.
pub(super) fn parse_conditions(
    v: &Value,
    variables_enabled: bool,
) -> Result<Vec<ConditionBlock>, PolicyError> {
    let ops = v
        .as_object()
        .ok_or_else(|| PolicyError::new("Condition must be an object"))?;
    let mut blocks = Vec::new();
    for (op_name, keys) in ops {
        let (qualifier, rest) = if let Some(r) = op_name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = op_name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, op_name.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) if b != "Null" => (b, true),
            _ => (rest, false),
        };
        let (operator, negated) = parse_operator(base)
            .ok_or_else(|| PolicyError::new(format!("Invalid Condition type : {op_name}")))?;
        let keys = keys.as_object().ok_or_else(|| {
            PolicyError::new(format!("Condition {op_name} must map keys to values"))
        })?;
        for (key, values) in keys {
            let values = value_strings(values).ok_or_else(|| {
                PolicyError::new(format!(
                    "Condition {op_name} has an invalid value for {key}"
                ))
            })?;
            check_values(operator, &values, op_name)?;
            let values_have_variables =
                variables_enabled && values.iter().any(|v| v.contains("${"));
            blocks.push(ConditionBlock {
                operator,
                negated,
                if_exists,
                qualifier,
                key: key.to_ascii_lowercase(),
                values,
                values_have_variables,
            });
        }
    }
    Ok(blocks)
}

fn check_values(op: Operator, values: &[String], op_name: &str) -> Result<(), PolicyError> {
    let bad = |v: &str| {
        PolicyError::new(format!(
            "Invalid value `{v}` for condition operator {op_name}"
        ))
    };
    for v in values {
        let ok = match op {
            Operator::NumericEquals
            | Operator::NumericLessThan
            | Operator::NumericLessThanEquals
            | Operator::NumericGreaterThan
            | Operator::NumericGreaterThanEquals => v.contains("${") || v.parse::<f64>().is_ok(),
            Operator::DateEquals
            | Operator::DateLessThan
            | Operator::DateLessThanEquals
            | Operator::DateGreaterThan
            | Operator::DateGreaterThanEquals => v.contains("${") || parse_date(v).is_some(),
            Operator::Bool | Operator::Null => {
                v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
            }
            Operator::IpAddress => parse_net(v).is_some(),
            _ => true,
        };
        if !ok {
            return Err(bad(v));
        }
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    s.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn compare(op: Operator, request: &str, policy: &str) -> bool {
    use std::cmp::Ordering::*;
    let num = || {
        Some(
            request
                .parse::<f64>()
                .ok()?
                .partial_cmp(&policy.parse::<f64>().ok()?)?,
        )
    };
    let date = || Some(parse_date(request)?.cmp(&parse_date(policy)?));
    match op {
        Operator::StringEquals => request == policy,
        Operator::StringEqualsIgnoreCase => request.to_lowercase() == policy.to_lowercase(),
        Operator::StringLike => glob_match(policy, request, false),
        Operator::NumericEquals => num() == Some(Equal),
        Operator::NumericLessThan => num() == Some(Less),
        Operator::NumericLessThanEquals => matches!(num(), Some(Less | Equal)),
        Operator::NumericGreaterThan => num() == Some(Greater),
        Operator::NumericGreaterThanEquals => matches!(num(), Some(Greater | Equal)),
        Operator::DateEquals => date() == Some(Equal),
        Operator::DateLessThan => date() == Some(Less),
        Operator::DateLessThanEquals => matches!(date(), Some(Less | Equal)),
        Operator::DateGreaterThan => date() == Some(Greater),
        Operator::DateGreaterThanEquals => matches!(date(), Some(Greater | Equal)),
        Operator::Bool => request.eq_ignore_ascii_case(policy),
        Operator::BinaryEquals => request == policy,
        Operator::IpAddress => match (request.parse::<std::net::IpAddr>(), parse_net(policy)) {
            (Ok(ip), Some(net)) => net.contains(&ip),
            _ => false,
        },
        Operator::ArnLike => arn_like(policy, request),
        Operator::Null => false,
    }
}

impl ConditionBlock {
    pub fn evaluate(&self, ctx: &RequestContext) -> bool {
        let present = ctx.values(&self.key).filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            // `Null: true` asks that the key be absent.
            let wants_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return wants_absent == present.is_none();
        }
        let Some(request_values) = present else {
            return match self.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => self.if_exists,
                SetQualifier::Single => self.if_exists || self.negated,
            };
        };
        let matches_one = |request: &str| -> bool {
            let any = if self.values_have_variables {
                let glob = matches!(self.operator, Operator::StringLike | Operator::ArnLike);
                self.values.iter().any(|p| {
                    variables::substitute(p, ctx, glob)
                        .is_some_and(|p| compare(self.operator, request, &p))
                })
            } else {
                self.values
                    .iter()
                    .any(|p| compare(self.operator, request, p))
            };
            any != self.negated
        };
        match self.qualifier {
            SetQualifier::ForAllValues => request_values.iter().all(|v| matches_one(v)),
            SetQualifier::Single | SetQualifier::ForAnyValue => {
                request_values.iter().any(|v| matches_one(v))
            }
        }
    }
}
