//! Condition operators, with `...IfExists` and the `ForAnyValue:` / `ForAllValues:`
//! set qualifiers, evaluated as the IAM reference describes:
//! operators are AND-ed, keys AND-ed, a key's values OR-ed; a missing key makes a
//! positive operator false and a negated one true.
use super::context::RequestContext;
use super::glob::{arn_like, glob_match};
use super::{variables, PolicyError};
use chrono::{DateTime, Utc};
use serde_json::Value;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_date_path_agrees_with_rfc3339() {
        for s in ["2026-11-27T12:00:00Z", "2000-02-29T23:59:59Z", "1970-01-01T00:00:00Z"] {
            assert_eq!(parse_utc_seconds(s), Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc()), "{s}");
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27 12:00:00Z",
            "2026-11-27T12:00:00+01:00",
        ] {
            assert_eq!(parse_utc_seconds(bad), None, "{bad}");
        }
        assert!(parse_date("2026-11-27T12:00:00+01:00").is_some());
    }
}

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
    values: Vec<PolicyValue>,
    values_have_variables: bool,
}

/// A condition value, parsed once when the policy is parsed for the operators
/// that compare numbers, dates or networks.
#[derive(Debug, Clone)]
struct PolicyValue {
    text: String,
    number: Option<f64>,
    date: Option<DateTime<Utc>>,
    net: Option<ipnet::IpNet>,
}

impl PolicyValue {
    fn new(op: Operator, text: String) -> PolicyValue {
        use Operator::*;
        let number = match op {
            NumericEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => text.parse().ok(),
            _ => None,
        };
        let date = match op {
            DateEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
                parse_date(&text)
            }
            _ => None,
        };
        let net = if op == IpAddress { parse_net(&text) } else { None };
        PolicyValue { text, number, date, net }
    }
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
    let ops = v.as_object().ok_or_else(|| PolicyError::new("Condition must be an object"))?;
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
        let keys = keys
            .as_object()
            .ok_or_else(|| PolicyError::new(format!("Condition {op_name} must map keys to values")))?;
        for (key, values) in keys {
            let values = value_strings(values).ok_or_else(|| {
                PolicyError::new(format!("Condition {op_name} has an invalid value for {key}"))
            })?;
            check_values(operator, &values, op_name)?;
            let values_have_variables = variables_enabled && values.iter().any(|v| v.contains("${"));
            let values = values.into_iter().map(|v| PolicyValue::new(operator, v)).collect();
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
    let bad = |v: &str| PolicyError::new(format!("Invalid value `{v}` for condition operator {op_name}"));
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

/// `YYYY-MM-DDTHH:MM:SSZ`, the form AWS (and idbroker) put in `aws:CurrentTime`,
/// parsed without the general RFC 3339 machinery: it is on every decision that
/// tests a date.
fn parse_utc_seconds(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc())
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_utc_seconds(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    s.parse::<i64>().ok().and_then(|secs| DateTime::from_timestamp(secs, 0))
}

fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn compare(op: Operator, request: &str, policy: &PolicyValue) -> bool {
    use std::cmp::Ordering::*;
    let num = || request.parse::<f64>().ok()?.partial_cmp(&policy.number?);
    let date = || Some(parse_date(request)?.cmp(&policy.date?));
    match op {
        Operator::StringEquals => request == policy.text,
        Operator::StringEqualsIgnoreCase => request.to_lowercase() == policy.text.to_lowercase(),
        Operator::StringLike => glob_match(&policy.text, request, false),
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
        Operator::Bool => request.eq_ignore_ascii_case(&policy.text),
        Operator::BinaryEquals => request == policy.text,
        Operator::IpAddress => match (request.parse::<std::net::IpAddr>(), policy.net) {
            (Ok(ip), Some(net)) => net.contains(&ip),
            _ => false,
        },
        Operator::ArnLike => arn_like(&policy.text, request),
        Operator::Null => false,
    }
}

impl ConditionBlock {
    pub fn evaluate(&self, ctx: &RequestContext) -> bool {
        let present = ctx.values(&self.key).filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            // `Null: true` asks that the key be absent.
            let wants_absent = self.values.iter().any(|v| v.text.eq_ignore_ascii_case("true"));
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
                    variables::substitute(&p.text, ctx, glob)
                        .is_some_and(|t| compare(self.operator, request, &PolicyValue::new(self.operator, t)))
                })
            } else {
                self.values.iter().any(|p| compare(self.operator, request, p))
            };
            any != self.negated
        };
        match self.qualifier {
            SetQualifier::ForAllValues => request_values.iter().all(|v| matches_one(v)),
            SetQualifier::Single | SetQualifier::ForAnyValue => request_values.iter().any(|v| matches_one(v)),
        }
    }
}
