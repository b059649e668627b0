//! The SAML side of idbroker; the only module (with `idp`) that uses samael.
//! `trust` checks identity-provider metadata; `xml` (the one parser), `c14n`,
//! `dsig` and `response` turn a signed Response into a `VerifiedAssertion`.
mod c14n;
mod claimed;
mod dsig;
mod response;
mod sp;
mod trust;
pub mod xml;
mod xmlenc;

pub use claimed::{claimed_facts, ClaimedFacts};
pub use response::{verify_response, Decryption, ServiceEndpoint, TrustedIdp, VerifiedAssertion};
pub use sp::{claimed_identity, claimed_issuer, redirect_binding, ClaimedIdentity, ServiceProviderUrls};
pub(crate) use trust::check_certificate;
pub use trust::{
    signed_part, signing_key, validate_idp_metadata, verify_signed_metadata, IdpMetadata, MetadataError,
    MetadataMemo,
};
pub use xmlenc::{certificate_key, decryption_key, seal as encrypt_assertion, ContentCipher};

/// The bounds every SAML message is read within (verified or only claimed).
const MESSAGE_LIMITS: xml::Limits = xml::Limits { max_depth: 48, max_elements: 4096, max_attributes: 32 };

fn structure(what: &'static str) -> SamlError {
    SamlError::Structure(what)
}

/// The element children of `id`; text other than white space beside them is refused.
fn element_children(doc: &xml::Document, id: usize) -> Result<Vec<usize>, SamlError> {
    doc.element_children_only(id).ok_or(structure("text beside elements"))
}

/// Why a SAML message was refused. `check()` names the failed check for the
/// audit record; clients only get a short message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("message is too large")]
    TooLarge,
    #[error("message is not well-formed: {0}")]
    NotWellFormed(xml::XmlError),
    #[error("message is malformed: {0}")]
    Structure(&'static str),
    #[error("message is not signed")]
    Unsigned,
    #[error("signature is invalid")]
    Signature,
    #[error("signature algorithm is not allowed")]
    Algorithm,
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
    #[error("assertion has no usable Subject NameID")]
    Subject,
    #[error("assertion must have exactly one AuthnStatement")]
    AuthnStatement,
    #[error("assertion was already used")]
    Replay,
    #[error("response does not answer a request of this browser")]
    InResponseTo,
    /// One answer for every failure to open an encrypted assertion, and for
    /// everything wrong with its plaintext until a signature vouches for it.
    #[error("encrypted assertion could not be decrypted")]
    Encryption,
    #[error("encryption algorithm is not allowed")]
    EncryptionAlgorithm,
    #[error("assertion is not encrypted, and this provider requires it")]
    NotEncrypted,
}

impl From<xml::XmlError> for SamlError {
    fn from(e: xml::XmlError) -> Self {
        SamlError::NotWellFormed(e)
    }
}

impl SamlError {
    /// The failure code of design.md ("Failure codes"): the same in the
    /// audit event, the console's error page and the assertion debugger.
    pub fn check(&self) -> &'static str {
        match self {
            SamlError::TooLarge | SamlError::NotWellFormed(_) | SamlError::Structure(_) => "structure",
            SamlError::Unsigned | SamlError::Signature => "signature",
            SamlError::Algorithm => "algorithm",
            SamlError::Status => "status",
            SamlError::Destination => "destination",
            SamlError::Issuer => "issuer",
            SamlError::Audience => "audience",
            SamlError::Recipient => "recipient",
            SamlError::Expired | SamlError::NotYetValid => "time-window",
            SamlError::Subject => "subject",
            SamlError::AuthnStatement => "authn-statement",
            SamlError::Replay => "replay",
            SamlError::InResponseTo => "in-response-to",
            SamlError::Encryption | SamlError::EncryptionAlgorithm | SamlError::NotEncrypted => "encryption",
        }
    }
}
