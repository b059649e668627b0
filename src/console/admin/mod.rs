//! The admin console's use cases, for IdP administrators. Every read and
//! change is the IAM (or operator) API call it mirrors, made as the signed-in
//! principal: the policy engine authorises each page and form with that
//! action, the API's checks apply, and each call is audited as the API call
//! it is. Pages that mirror no AWS call (the sign-in history, the assertion
//! debugger) are authorised with an `idbroker:` action.
mod debugger;
mod events;
mod mappings;
mod providers;

pub use debugger::{CheckOutcome, CheckRow, DebugReport, RoleRow};
pub use events::{EventFilter, EventPage, EventRow};
pub use mappings::{MappingPreview, MappingRow};
pub use providers::{CertificateRow, ProviderDetail, ProviderRow, ProviderSwitches};

use crate::audit::{redacted_parameters, AuditEvent};
use crate::clock::SharedClock;
use crate::iam::{Caller, IamError, IamService, Origin};
use crate::query::{Member, Node, Params};
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// `idbroker:` actions of pages that mirror no AWS call.
pub const LOOKUP_EVENTS: &str = "idbroker:LookupEvents";
pub const DEBUG_RESPONSE: &str = "idbroker:DebugSAMLResponse";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The signed-in session's credentials are no longer valid.
    #[error("your session has ended; sign in again")]
    SignedOut,
    /// An API call refused: its AWS error code and message.
    #[error("{1}")]
    Refused(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<IamError> for AdminError {
    fn from(e: IamError) -> Self {
        match e {
            IamError::Store(s) => AdminError::Store(s),
            IamError::Internal(m) => AdminError::Internal(m),
            // A page shows why; the encoded message is for API clients.
            IamError::AccessDenied(m) => {
                let why = m.split(" Encoded authorization failure message").next().unwrap_or_default();
                AdminError::Refused("AccessDenied", why.to_owned())
            }
            other => AdminError::Refused(other.code().0, other.to_string()),
        }
    }
}

impl AdminError {
    /// The AWS-style code the audit record keeps.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::SignedOut => "ExpiredToken",
            AdminError::Refused(code, _) => code,
            AdminError::Store(_) | AdminError::Internal(_) => "ServiceFailure",
        }
    }

    /// Refused by the policy engine (the page says so, and shows nothing).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, AdminError::Refused("AccessDenied", _))
    }
}

/// The admin console's services, built once in `startup`.
pub struct AdminConsole {
    pub(crate) iam: Arc<IamService>,
    pub(crate) operator: Arc<crate::operator::OperatorApi>,
    pub(crate) sts: Arc<crate::sts::Sts>,
    pub(crate) store: Store,
    pub(crate) clock: SharedClock,
    pub(crate) kept: Arc<super::KeptAssertions>,
    /// For the role rules' preview.
    pub(crate) directory: Option<Arc<dyn crate::directory::Directory>>,
    /// The rules this node applies: read again at once after a change here.
    pub(crate) rules: Arc<crate::idp::roles::RoleRules>,
}

/// An API answer, read by name.
pub struct Reply(pub Vec<Node>);

impl Reply {
    pub fn text(&self, name: &str) -> Option<&str> {
        text_in(&self.0, name)
    }

    /// The struct members of list `name`.
    pub fn structs(&self, name: &str) -> Vec<&[Node]> {
        structs_in(&self.0, name)
    }
}

pub fn text_in<'a>(nodes: &'a [Node], name: &str) -> Option<&'a str> {
    nodes.iter().find_map(|n| match n {
        Node::Text(n, v) if *n == name => Some(v.as_str()),
        _ => None,
    })
}

pub fn structs_in<'a>(nodes: &'a [Node], name: &str) -> Vec<&'a [Node]> {
    nodes
        .iter()
        .find_map(|n| match n {
            Node::List(n, members) if *n == name => Some(
                members
                    .iter()
                    .filter_map(|m| match m {
                        Member::Struct(fields) => Some(fields.as_slice()),
                        Member::Text(_) => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

impl AdminConsole {
    /// Who the browser's console session acts as.
    pub async fn caller(
        &self,
        session: &crate::console::ConsoleSession,
        origin: Origin,
    ) -> Result<Caller, AdminError> {
        self.iam
            .console_caller(&session.access_key_id, &session.session_token, origin)
            .await
            .map_err(|_| AdminError::SignedOut)
    }

    /// One IAM or operator API call as `caller`, with its audit event (made
    /// whatever the outcome; the web layer records it).
    pub async fn call(
        &self,
        caller: &Caller,
        action: &str,
        params: &[(&str, &str)],
    ) -> (Result<Reply, AdminError>, AuditEvent) {
        let mut pairs: Vec<(String, String)> = vec![("Action".into(), action.into())];
        pairs.extend(params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let p = Params::from_pairs(pairs);
        let outcome = self.operator.handle_iam(caller, action, &p).await;
        let failure = outcome.as_ref().err().map(|e| (e.code().0.to_owned(), e.to_string()));
        let source = if crate::operator::ACTIONS.contains(&action) {
            "idbroker.operator"
        } else {
            "iam.amazonaws.com"
        };
        let event = self.audit_event(caller, source, action, &p, failure);
        (outcome.map(|nodes| Reply(nodes.unwrap_or_default())).map_err(AdminError::from), event)
    }

    /// `call` for reads that the page needs whole: the audit event is
    /// pushed into `events` and a refusal is the page's error.
    pub async fn read(
        &self,
        caller: &Caller,
        action: &str,
        params: &[(&str, &str)],
        events: &mut Vec<AuditEvent>,
    ) -> Result<Reply, AdminError> {
        let (outcome, event) = self.call(caller, action, params).await;
        events.push(event);
        outcome
    }

    /// The policy engine's answer for an `idbroker:` action on `resource`.
    pub async fn authorize(&self, caller: &Caller, action: &str, resource: &str) -> Result<(), AdminError> {
        let ctx = self.iam.context_for(caller, action, resource).await?;
        Ok(self.iam.authorize(caller, &ctx).await?)
    }

    fn audit_event(
        &self,
        caller: &Caller,
        source: &str,
        action: &str,
        p: &Params,
        failure: Option<(String, String)>,
    ) -> AuditEvent {
        let (error_code, error_message) = failure.unzip();
        AuditEvent {
            event_time: self.clock.now(),
            event_name: action.to_owned(),
            event_source: source.to_owned(),
            account_id: Some(caller.account_id.to_string()),
            principal_arn: Some(caller.arn.clone()),
            user_identity: caller.audit_identity(),
            source_ip: caller.source_ip.clone(),
            user_agent: Some("idbroker admin console".into()),
            request_parameters: redacted_parameters(p.pairs()),
            error_code,
            error_message,
            request_id: uuid::Uuid::new_v4().to_string(),
            additional: serde_json::Value::Null,
            read_only: crate::audit::is_read_only(source, action),
        }
    }
}
