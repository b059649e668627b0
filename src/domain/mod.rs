//! Pure data with its invariants: ids, names and ARNs in AWS's shapes.
mod arn;
mod client_address;
mod entities;
mod ids;
mod public_url;
mod session;

pub use arn::{Arn, ADMINISTRATOR_ACCESS, AWS_MANAGED_POLICY_PREFIX};
pub use client_address::TrustedProxies;
pub use entities::{
    AccessKey, Account, AssertionEncryptionMode, LoginProfile, ManagedPolicy, MfaDevice, PolicyVersion,
    Principal, ProviderKey, ProviderSettings, SamlProvider, Tag,
};
pub use ids::{
    account_of_temporary_key, is_name_char, temporary_access_key_id, validate_name, AccountId, EntityKind,
    IamPath, IdError, NameRule, ACCESS_KEY_PREFIX_LONG_TERM, ACCESS_KEY_PREFIX_TEMPORARY,
};
pub use public_url::PublicUrl;
pub use session::{SessionClaims, SessionKind, SESSION_AUDIENCE, SESSION_TOKEN_TYPE};

/// A SAML provider tagged so accepts only responses to its own requests.
pub const TAG_REQUIRE_SP_INITIATED: &str = "idbroker:RequireSPInitiated";
/// A SAML provider tagged so has RSA-SHA1 signatures accepted (refused otherwise).
pub const TAG_ALLOW_SHA1_SIGNATURES: &str = "idbroker:AllowSHA1Signatures";
/// Every `idbroker:` tag key idbroker acts on; any other is refused, since a
/// misspelt switch would otherwise be stored and silently do nothing.
pub const IDBROKER_TAG_KEYS: &[&str] = &[
    TAG_REQUIRE_SP_INITIATED,
    TAG_ALLOW_SHA1_SIGNATURES,
    TAG_METADATA_URL,
    TAG_METADATA_SIGNING_CERTIFICATE,
];
/// With a metadata URL: the SHA-256 (hex) of the certificate the fetched
/// metadata must be signed with.
pub const TAG_METADATA_SIGNING_CERTIFICATE: &str = "idbroker:MetadataSigningCertificateSHA256";
/// A SAML provider tagged so has its metadata fetched again from this https
/// URL on a schedule (the IdP's certificate rollovers are picked up).
pub const TAG_METADATA_URL: &str = "idbroker:MetadataURL";

/// The name of the SAML provider every account has for the built-in IdP.
pub const BUILTIN_PROVIDER: &str = "idbroker";

/// A time in UTC seconds as AWS writes it (`2026-12-02T07:00:00Z`).
pub fn iso_time(secs: i64) -> String {
    // Seconds within chrono's range (every time idbroker keeps) always convert.
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
