//! The SAML side of idbroker; the only module (with `idp`) that uses samael.
//! `trust` checks identity-provider metadata; `strict` and `response` turn a
//! signed Response into a `VerifiedAssertion`.
mod response;
mod sp;
mod strict;
mod trust;

pub use response::{names_sha1, verify_response, ServiceEndpoint, TrustedIdp, VerifiedAssertion};
pub use sp::{claimed_identity, claimed_issuer, ClaimedIdentity, ServiceProviderUrls};
pub(crate) use trust::check_certificate;
pub use trust::{validate_idp_metadata, IdpMetadata, MetadataError};

/// Why a SAML message was refused. `check()` names the failed check for the
/// audit record; clients only get a short message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("message is too large")]
    TooLarge,
    #[error("message is too deep or too wide")]
    TooComplex,
    #[error("message contains a DOCTYPE or an entity")]
    Doctype,
    #[error("message is malformed: {0}")]
    Malformed(&'static str),
    #[error("message is not signed")]
    Unsigned,
    #[error("signature is invalid")]
    Signature,
    #[error("signature algorithm is not allowed")]
    Algorithm,
    #[error("message must contain exactly one assertion")]
    AssertionCount,
    #[error("status is not Success")]
    Status,
    #[error("destination does not match")]
    Destination,
    #[error("issuer does not match the provider")]
    Issuer,
    #[error("audience does not match")]
    Audience,
    #[error("no valid bearer subject confirmation for this recipient")]
    Recipient,
    #[error("assertion has expired")]
    Expired,
    #[error("assertion is not yet valid")]
    NotYetValid,
    #[error("assertion has no NameID")]
    NoNameId,
    #[error("assertion was already used")]
    Replay,
    #[error("response does not answer a request of this browser")]
    InResponseTo,
}

impl SamlError {
    /// A stable name of the check that failed, for audit records.
    pub fn check(&self) -> &'static str {
        match self {
            SamlError::TooLarge => "size",
            SamlError::TooComplex => "structure-limits",
            SamlError::Doctype => "doctype",
            SamlError::Malformed(_) => "structure",
            SamlError::Unsigned => "signature-missing",
            SamlError::Signature => "signature",
            SamlError::Algorithm => "algorithm",
            SamlError::AssertionCount => "assertion-count",
            SamlError::Status => "status",
            SamlError::Destination => "destination",
            SamlError::Issuer => "issuer",
            SamlError::Audience => "audience",
            SamlError::Recipient => "recipient",
            SamlError::Expired => "expiry",
            SamlError::NotYetValid => "not-before",
            SamlError::NoNameId => "name-id",
            SamlError::Replay => "replay",
            SamlError::InResponseTo => "in-response-to",
        }
    }
}
