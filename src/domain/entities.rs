//! IAM entities as stored. Times are UTC seconds since the epoch.
use super::ids::EntityKind;

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: String,
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
    pub account_id: String,
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
        account_id: &str,
        kind: EntityKind,
        name: &str,
        path: &str,
        now: i64,
    ) -> Principal {
        Principal {
            id,
            account_id: account_id.to_owned(),
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
    pub account_id: String,
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
    pub account_id: String,
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
    pub account_id: String,
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    /// The IdP's entityID from the metadata (the ACS finds providers by it).
    pub entity_id: String,
    pub valid_until: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}
