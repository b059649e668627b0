//! The audit events of the browser flows (console/), typed: each flow says
//! what happened with a name and, for a refusal, a stable code; the web layer
//! adds where the request came from (audit/mod.rs's `AuditEvent`).
use serde_json::Value;

/// What a browser flow records.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowEvent {
    pub name: FlowEventName,
    /// The user as named (typed, or as the directory or IdP knows them).
    pub user: Option<String>,
    pub refusal: Option<(RefusalCode, String)>,
    /// The account the event concerns, when it is known.
    pub account_id: Option<String>,
    /// Who the event's session acts as, once one is open.
    pub principal: Option<FlowPrincipal>,
    /// What was asked (CloudTrail's `requestParameters`).
    pub parameters: Value,
    pub details: Value,
}

/// A console session's principal, as the event's `userIdentity` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPrincipal {
    /// CloudTrail's identity type: `Root`, `IAMUser`, `AssumedRole`.
    pub kind: &'static str,
    pub arn: String,
    pub account_id: String,
    pub access_key_id: String,
}

impl FlowEvent {
    pub fn success(name: FlowEventName, user: &str, details: Value) -> FlowEvent {
        FlowEvent {
            name,
            user: Some(user.to_owned()),
            refusal: None,
            account_id: None,
            principal: None,
            parameters: Value::Null,
            details,
        }
    }

    pub fn refused(
        name: FlowEventName,
        user: Option<&str>,
        code: RefusalCode,
        message: impl Into<String>,
        details: Value,
    ) -> FlowEvent {
        FlowEvent {
            name,
            user: user.map(str::to_owned),
            refusal: Some((code, message.into())),
            account_id: None,
            principal: None,
            parameters: Value::Null,
            details,
        }
    }
}

/// The events of the browser flows (CloudTrail's `eventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEventName {
    /// A password or code at the built-in IdP's login.
    DirectoryLogin,
    /// An AuthnRequest at the built-in IdP.
    IdpAuthnRequest,
    /// A Response at idbroker's ACS.
    ConsoleSAMLLogin,
    /// A console session opened (or refused), any sign-in method.
    ConsoleLogin,
    ConsoleLogout,
    /// Credentials granted to (or refused for) the command line, in the
    /// browser or by password.
    CliGrant,
    /// The command line redeeming its code.
    CliRedeem,
    /// Single Logout at the built-in IdP.
    IdpLogout,
}

impl FlowEventName {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowEventName::DirectoryLogin => "DirectoryLogin",
            FlowEventName::IdpAuthnRequest => "IdpAuthnRequest",
            FlowEventName::ConsoleSAMLLogin => "ConsoleSAMLLogin",
            FlowEventName::ConsoleLogin => "ConsoleLogin",
            FlowEventName::ConsoleLogout => "ConsoleLogout",
            FlowEventName::CliGrant => "CommandLineGrant",
            FlowEventName::CliRedeem => "CommandLineRedeem",
            FlowEventName::IdpLogout => "IdpLogout",
        }
    }
}

/// Why a browser flow refused (the event's `errorCode`), stable for
/// searches and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    Throttled,
    InvalidCredentials,
    InvalidMFACode,
    DirectoryUnavailable,
    /// Signed in, but no role is mapped to the user.
    NoRoleMapped,
    AuthnRequestRefused,
    /// A SAML Response that failed a check (the check is in the details).
    InvalidIdentityToken,
    /// A valid Response that offers no usable role.
    NoRole,
    /// An IAM user's or the root user's password sign-in.
    FailedAuthentication,
    /// The role does not accept this sign-in (its trust policy, its settings).
    AccessDenied,
    ExpiredToken,
    /// A command-line code that is unknown, used, expired or not matched by its verifier.
    InvalidGrant,
    /// A logout for no session of this browser.
    NoSession,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Throttled => "Throttled",
            RefusalCode::InvalidCredentials => "InvalidCredentials",
            RefusalCode::InvalidMFACode => "InvalidMFACode",
            RefusalCode::DirectoryUnavailable => "DirectoryUnavailable",
            RefusalCode::NoRoleMapped => "NoRoleMapped",
            RefusalCode::AuthnRequestRefused => "AuthnRequestRefused",
            RefusalCode::InvalidIdentityToken => "InvalidIdentityToken",
            RefusalCode::NoRole => "NoRole",
            RefusalCode::FailedAuthentication => "FailedAuthentication",
            RefusalCode::AccessDenied => "AccessDenied",
            RefusalCode::ExpiredToken => "ExpiredTokenException",
            RefusalCode::InvalidGrant => "InvalidGrant",
            RefusalCode::NoSession => "NoSession",
        }
    }
}

/// Where a flow records its events: the web layer's recorder in service
/// (which adds the request's origin), a `Vec` in tests.
pub trait FlowAudit {
    fn record(&mut self, event: FlowEvent);
}

impl FlowAudit for Vec<FlowEvent> {
    fn record(&mut self, event: FlowEvent) {
        self.push(event);
    }
}
