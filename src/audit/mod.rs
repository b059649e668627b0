//! Audit events, shaped like CloudTrail records. Every authentication, every
//! credential issued and every IAM call (allowed or denied) produces one; it is
//! stored in the database and written as a JSON line to the log (target `audit`).
//! Request parameters are recorded without secrets.
//!
//! Nothing is dropped: a request takes room in the trail (`AuditRoom`) before
//! it does anything, waits for it while the database is behind, and is refused
//! with a retryable error when it cannot get it in time; an event that has room
//! is stored, retried if the database fails, never discarded.
mod export;
mod flow;
mod room;

pub use export::{AuditExport, ExportError};
pub use flow::{FlowAudit, FlowEvent, FlowEventName, FlowPrincipal, RefusalCode};
pub use room::{AuditBehind, AuditReceipt, AuditRoom, AuditTicket};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event_time: DateTime<Utc>,
    pub event_name: String,
    pub event_source: String,
    pub account_id: Option<String>,
    pub principal_arn: Option<String>,
    pub user_identity: Value,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_parameters: Value,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_id: String,
    /// Anything else worth keeping: the check that failed, a root sign-in flag.
    pub additional: Value,
    /// A call that reads and changes nothing (CloudTrail's `readOnly`).
    pub read_only: bool,
}

/// Parameter names whose values never reach an audit record.
const SECRET_PARAMETERS: &[&str] = &[
    "Password",
    "OldPassword",
    "NewPassword",
    "AuthenticationCode1",
    "AuthenticationCode2",
    "TokenCode",
    "SAMLAssertion",
    "SecretAccessKey",
    "SAMLMetadataDocument",
    "AddPrivateKey",
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "PolicyInputList",
];

/// Request parameters as recorded: secrets replaced, long values cut.
pub fn redacted_parameters(params: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in params {
        if k == "Action" || k == "Version" {
            continue;
        }
        let secret = SECRET_PARAMETERS.iter().any(|s| k == s || k.starts_with(&format!("{s}.")));
        let value = if secret {
            Value::String("HIDDEN_DUE_TO_SECURITY_REASONS".into())
        } else if v.chars().count() > 256 {
            Value::String(format!("{}...", v.chars().take(256).collect::<String>()))
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    Value::Object(map)
}

impl AuditEvent {
    /// An event of the deployment's own doing, outside any request and any
    /// account: a command (`source` idbroker.cli, by an `Operator`) or a
    /// scheduled job (idbroker.maintenance, by the `Service`). `refusal` is
    /// the error code and message when it did not succeed.
    pub fn deployment(
        event_time: DateTime<Utc>,
        source: &str,
        identity_type: &str,
        name: &str,
        parameters: Value,
        refusal: Option<(String, Option<String>)>,
    ) -> AuditEvent {
        let (error_code, error_message) = match refusal {
            Some((code, message)) => (Some(code), message),
            None => (None, None),
        };
        AuditEvent {
            event_time,
            event_name: name.into(),
            event_source: source.into(),
            account_id: None,
            principal_arn: None,
            user_identity: json!({ "type": identity_type }),
            source_ip: None,
            user_agent: None,
            request_parameters: parameters,
            error_code,
            error_message,
            request_id: uuid::Uuid::new_v4().to_string(),
            additional: json!({}),
            read_only: false,
        }
    }

    pub fn to_json(&self) -> String {
        json!({
            "eventVersion": "1.08",
            "eventTime": self.event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "eventName": self.event_name,
            "eventSource": self.event_source,
            "recipientAccountId": self.account_id,
            "userIdentity": self.user_identity,
            "sourceIPAddress": self.source_ip,
            "userAgent": self.user_agent,
            "requestParameters": self.request_parameters,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "requestID": self.request_id,
            "additionalEventData": self.additional,
            "readOnly": self.read_only,
        })
        .to_string()
    }
}

/// Whether an IAM or STS action only reads: `Get*`, `List*`, `Simulate*`,
/// `GenerateCredentialReport` aside (it starts work), and STS's
/// `GetCallerIdentity` and `GetAccessKeyInfo`. STS's other `Get*` calls issue
/// credentials, so they are not read-only.
pub fn is_read_only(event_source: &str, action: &str) -> bool {
    match event_source {
        "sts.amazonaws.com" => matches!(action, "GetCallerIdentity" | "GetAccessKeyInfo"),
        "iam.amazonaws.com" => {
            action.starts_with("Get") || action.starts_with("List") || action.starts_with("Simulate")
        }
        _ => false,
    }
}

/// Where audit events go. Recording never fails the request that caused it
/// and never drops the event: the room its ticket holds was taken before the
/// request did anything, and is given back once the event is stored. The
/// receipt says when that is: a request is answered after its events are
/// stored, so a node that dies after answering has lost no record.
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, event: AuditEvent, ticket: AuditTicket) -> AuditReceipt;
}

/// Writes the event as one JSON line to the log, target `audit`.
pub fn log_event(event: &AuditEvent) {
    tracing::info!(target: "audit", "{}", event.to_json());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_record() {
        let params = vec![
            ("Action".to_string(), "CreateLoginProfile".to_string()),
            ("UserName".to_string(), "alice".to_string()),
            ("Password".to_string(), "hunter2-secret".to_string()),
            ("PolicyDocument".to_string(), "{}".to_string()),
        ];
        let v = redacted_parameters(&params).to_string();
        assert!(v.contains("alice"));
        assert!(!v.contains("hunter2"));
        assert!(!v.contains("CreateLoginProfile"));
    }

    #[test]
    fn read_only_calls_are_told_apart() {
        assert!(is_read_only("sts.amazonaws.com", "GetCallerIdentity"));
        assert!(!is_read_only("sts.amazonaws.com", "GetSessionToken"));
        assert!(!is_read_only("sts.amazonaws.com", "GetFederationToken"));
        assert!(is_read_only("iam.amazonaws.com", "ListUsers"));
        assert!(is_read_only("iam.amazonaws.com", "SimulatePrincipalPolicy"));
        assert!(!is_read_only("iam.amazonaws.com", "CreateUser"));
        assert!(!is_read_only("signin.amazonaws.com", "ConsoleLogin"));
    }
}
