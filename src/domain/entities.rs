//! IAM entities as stored. Times are UTC seconds since the epoch.
use super::ids::{AccountId, EntityKind};

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: AccountId,
    pub alias: Option<String>,
    pub root_email: String,
    pub root_password_hash: String,
    /// JSON of the account password policy, when one is set.
    pub password_policy: Option<String>,
    pub created_at: i64,
}

/// A user, group or role: the three IAM entities that hold policies.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    pub account_id: AccountId,
    pub kind: EntityKind,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created_at: i64,
    pub description: Option<String>,
    pub trust_policy: Option<String>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    pub password_last_used: Option<i64>,
}

impl Principal {
    /// A new user, group or role of `account_id` at `path`, with its ARN.
    pub fn new(
        id: String,
        account_id: &AccountId,
        kind: EntityKind,
        name: &str,
        path: &str,
        now: i64,
    ) -> Principal {
        Principal {
            id,
            account_id: account_id.clone(),
            kind,
            name: name.to_owned(),
            path: path.to_owned(),
            arn: super::Arn::iam(account_id, kind.as_str(), path, name),
            created_at: now,
            description: None,
            trust_policy: None,
            max_session_duration: None,
            permissions_boundary: None,
            password_last_used: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub arn: String,
    pub id: String,
    /// A 12-digit account, or `aws` for AWS managed policies.
    pub account_id: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub default_version: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub attachment_count: i64,
}

#[derive(Debug, Clone)]
pub struct PolicyVersion {
    pub policy_arn: String,
    pub version_id: String,
    pub document: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: AccountId,
    /// `None` for the root user's keys.
    pub user_id: Option<String>,
    pub sealed_secret: String,
    pub active: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LoginProfile {
    pub user_id: String,
    pub password_hash: String,
    /// Earlier password hashes, newest first.
    pub password_history: Vec<String>,
    pub reset_required: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct MfaDevice {
    pub serial: String,
    pub account_id: AccountId,
    pub path: String,
    pub sealed_seed: String,
    /// The user it is enabled for; `Some("")` would never occur: root is `root_user`.
    pub user_id: Option<String>,
    pub root_user: bool,
    pub enabled_at: Option<i64>,
    pub created_at: i64,
    /// The last TOTP step accepted, so a code is never accepted twice.
    pub last_step: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SamlProvider {
    pub arn: String,
    pub account_id: AccountId,
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    /// The IdP's entityID from the metadata (the ACS finds providers by it).
    pub entity_id: String,
    pub valid_until: Option<i64>,
    pub created_at: i64,
    /// Read with the provider; written as its `idbroker:` tags.
    pub settings: ProviderSettings,
    pub encryption_mode: AssertionEncryptionMode,
    /// The keys that decrypt its assertions, oldest first (at most two).
    pub private_keys: Vec<ProviderKey>,
}

/// AWS's `AssertionEncryptionMode`: whether assertions in clear are taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssertionEncryptionMode {
    #[default]
    Allowed,
    Required,
}

impl AssertionEncryptionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AssertionEncryptionMode::Allowed => "Allowed",
            AssertionEncryptionMode::Required => "Required",
        }
    }

    pub fn parse(s: &str) -> Option<AssertionEncryptionMode> {
        match s {
            "Allowed" => Some(AssertionEncryptionMode::Allowed),
            "Required" => Some(AssertionEncryptionMode::Required),
            _ => None,
        }
    }
}

/// A private key that decrypts a provider's assertions, sealed with the
/// master key (`ProviderKey::seal_context`); its id is what AWS shows.
#[derive(Clone)]
pub struct ProviderKey {
    pub key_id: String,
    pub sealed: String,
    pub created_at: i64,
}

impl ProviderKey {
    /// The associated data a key is sealed with: a sealed key moved to
    /// another id does not open.
    pub fn seal_context(key_id: &str) -> String {
        format!("saml-provider-key:{key_id}")
    }
}

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// A SAML provider's switches. AWS's API has no field for them, so they are
/// set as `idbroker:` tags (TagSAMLProvider, any AWS client) and read here,
/// in one place, into typed settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    /// Only responses to idbroker's own requests: no IdP-initiated sign-in.
    pub require_sp_initiated: bool,
    /// RSA-SHA1 signatures accepted (refused otherwise).
    pub allow_sha1_signatures: bool,
    /// Where its metadata is fetched again from (https).
    pub metadata_url: Option<String>,
    /// The SHA-256 (hex) of the certificate that must sign that metadata.
    pub metadata_signing_certificate: Option<String>,
}

impl ProviderSettings {
    /// The settings a provider's tags spell: a switch is on when its key is
    /// spelt exactly so and its value is `true`.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> ProviderSettings {
        let mut settings = ProviderSettings::default();
        for (key, value) in tags {
            let on = value == "true";
            match key {
                super::TAG_REQUIRE_SP_INITIATED => settings.require_sp_initiated = on,
                super::TAG_ALLOW_SHA1_SIGNATURES => settings.allow_sha1_signatures = on,
                super::TAG_METADATA_URL => settings.metadata_url = Some(value.to_owned()),
                super::TAG_METADATA_SIGNING_CERTIFICATE => {
                    settings.metadata_signing_certificate = Some(value.to_owned())
                }
                _ => {}
            }
        }
        settings
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_switches_are_read_from_exactly_spelt_tags_set_to_true() {
        let read = |tags: &[(&str, &str)]| ProviderSettings::from_tags(tags.iter().copied());
        assert_eq!(read(&[]), ProviderSettings::default());
        let both = read(&[("idbroker:RequireSPInitiated", "true"), ("idbroker:AllowSHA1Signatures", "true")]);
        assert!(both.require_sp_initiated && both.allow_sha1_signatures);
        assert_eq!(read(&[("idbroker:requirespinitiated", "true")]), ProviderSettings::default());
        assert_eq!(read(&[("idbroker:RequireSPInitiated", "TRUE")]), ProviderSettings::default());
        assert_eq!(read(&[("idbroker:AllowSHA1Signatures", "false")]), ProviderSettings::default());
    }
}
