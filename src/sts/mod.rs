//! STS: temporary credentials. `actions` serves the STS Query API, `saml`
//! AssumeRoleWithSAML, `trust` decides who may become a role, `session` makes
//! credentials and tokens.
mod actions;
mod saml;
mod session;
mod trust;

pub use actions::ACTIONS;
pub use saml::{
    BrowserAssertion, FirstUseRecorded, RoleSession, SamlClaims, SessionAsk, TrustedRole, CLOCK_SKEW_SECONDS,
};
pub use session::{CredentialIssuer, Issued};

use crate::clock::SharedClock;
use crate::domain::{PublicUrl, SamlProvider};
use crate::iam::{IamError, IamService};
use crate::saml::{MetadataMemo, ServiceEndpoint};
use crate::store::Store;
use std::sync::Arc;

/// The STS and what it touches, each named: IAM's policies (trust and session
/// policies are judged by the same engine), the store (roles, providers, the
/// replay cache, issuance counts), the credential issuer, and what a SAML
/// Response is verified against.
pub struct Sts {
    iam: Arc<IamService>,
    store: Store,
    issuer: CredentialIssuer,
    /// Our SP's audience and recipient, limits and clock skew.
    endpoint: ServiceEndpoint,
    public_url: PublicUrl,
    /// Providers' metadata, checked once per document.
    metadata: MetadataMemo,
    clock: SharedClock,
    /// `sts.sessions_per_principal_per_hour` (0: no limit).
    session_limit: u32,
    /// Providers' decryption keys, opened and parsed once (by key id).
    decryption_keys: crate::memo::Memo<String, openssl::pkey::PKey<openssl::pkey::Private>>,
    /// When this node last noted each provider's use, by (ARN, verified).
    use_noted: std::sync::Mutex<std::collections::HashMap<(String, bool), i64>>,
}

/// A provider's last use is written at most this often per outcome and node.
const USE_NOTE_SECONDS: i64 = 60;

/// Providers' private keys kept parsed in memory (two per provider at most).
const DECRYPTION_KEY_MEMO_LIMIT: usize = 1024;

/// Distinct metadata documents kept checked in memory.
const METADATA_MEMO_LIMIT: usize = 4096;

impl Sts {
    pub fn new(
        iam: Arc<IamService>,
        store: Store,
        issuer: CredentialIssuer,
        public_url: &PublicUrl,
        clock: SharedClock,
        session_limit: u32,
    ) -> Sts {
        Sts {
            iam,
            store,
            issuer,
            endpoint: saml::verification_endpoint(public_url),
            public_url: public_url.clone(),
            metadata: MetadataMemo::new(METADATA_MEMO_LIMIT),
            clock,
            session_limit,
            decryption_keys: crate::memo::Memo::new(DECRYPTION_KEY_MEMO_LIMIT),
            use_noted: Default::default(),
        }
    }

    /// Notes that a response verified with `provider`, or failed `check`
    /// (for the admin console's "last use"); a failure to write is logged.
    pub(crate) async fn note_provider_use(&self, provider: &SamlProvider, check: Option<&str>) {
        let now = self.clock.now().timestamp();
        let key = (provider.arn.clone(), check.is_none());
        let due = match self.use_noted.lock() {
            Ok(mut noted) => match noted.get(&key) {
                Some(t) if now - t < USE_NOTE_SECONDS => false,
                _ => {
                    noted.insert(key, now);
                    true
                }
            },
            Err(_) => false,
        };
        if due {
            if let Err(e) = self.store.note_provider_use(&provider.arn, check, now).await {
                tracing::warn!(error = %e, provider = %provider.arn, "could not note the provider's use");
            }
        }
    }
}

/// STS failures, one variant per AWS error code a client may see.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("{0}")]
    InvalidAction(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidAuthorizationMessage(String),
    /// A refused SAML assertion; `check` names the failed check for the audit.
    #[error("{message}")]
    InvalidIdentityToken { message: String, check: &'static str },
    #[error("Token has expired")]
    ExpiredTokenException { check: &'static str },
    /// AssumeRoleWithSAML refused for the role: `check` is `role` or
    /// `trust-policy` (design.md's codes), `reason` says which case, for the
    /// audit only; the caller sees one answer for all of them.
    #[error("Not authorized to perform sts:AssumeRoleWithSAML")]
    SamlDenied { check: &'static str, reason: &'static str },
    /// Too many sessions for one principal this hour.
    #[error("Rate exceeded")]
    Throttling,
    #[error("{0}")]
    Iam(#[source] IamError),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl StsError {
    /// AWS's wording for a parameter that breaks a constraint.
    pub(crate) fn validation(field: &str, value: &str, constraint: &str) -> StsError {
        StsError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    pub fn code(&self) -> (&'static str, u16) {
        match self {
            StsError::InvalidAction(_) => ("InvalidAction", 400),
            StsError::Validation(_) => ("ValidationError", 400),
            StsError::AccessDenied(_) | StsError::SamlDenied { .. } => ("AccessDenied", 403),
            StsError::MalformedPolicyDocument(_) => ("MalformedPolicyDocument", 400),
            StsError::InvalidParameterValue(_) => ("InvalidParameterValue", 400),
            StsError::InvalidAuthorizationMessage(_) => ("InvalidAuthorizationMessageException", 400),
            StsError::InvalidIdentityToken { .. } => ("InvalidIdentityToken", 400),
            StsError::ExpiredTokenException { .. } => ("ExpiredTokenException", 400),
            StsError::Throttling => ("Throttling", 400),
            StsError::Iam(e) => e.code(),
            StsError::Internal(_) => ("InternalFailure", 500),
        }
    }
}

impl StsError {
    /// The check a refused assertion failed, for the audit record.
    pub fn failed_check(&self) -> Option<&'static str> {
        match self {
            StsError::InvalidIdentityToken { check, .. }
            | StsError::ExpiredTokenException { check }
            | StsError::SamlDenied { check, .. } => Some(check),
            _ => None,
        }
    }

    /// Why a role was refused to a verified assertion, for the audit record.
    pub fn denial_reason(&self) -> Option<&'static str> {
        match self {
            StsError::SamlDenied { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

impl From<IamError> for StsError {
    fn from(e: IamError) -> Self {
        match e {
            IamError::AccessDenied(m) => StsError::AccessDenied(m),
            IamError::MalformedPolicyDocument(m) => StsError::MalformedPolicyDocument(m),
            IamError::Validation(m) => StsError::Validation(m),
            other => StsError::Iam(other),
        }
    }
}

impl From<crate::store::StoreError> for StsError {
    fn from(e: crate::store::StoreError) -> Self {
        StsError::Iam(e.into())
    }
}

impl From<crate::query::ParamError> for StsError {
    fn from(e: crate::query::ParamError) -> Self {
        StsError::Validation(e.0)
    }
}
