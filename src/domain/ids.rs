use std::fmt;

pub const ACCESS_KEY_PREFIX_LONG_TERM: &str = "AKIA";
pub const ACCESS_KEY_PREFIX_TEMPORARY: &str = "ASIA";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("account id `{0}` must be 12 digits")]
    AccountId(String),
    #[error("{0}")]
    Name(String),
    #[error(
        "path `{0}` must begin and end with / and contain only printable ASCII (at most 512 characters)"
    )]
    Path(String),
}

/// A 12-digit AWS account id. Reads as a `&str` where one is wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl std::ops::Deref for AccountId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AccountId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for AccountId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<AccountId> for String {
    fn eq(&self, other: &AccountId) -> bool {
        *self == other.0
    }
}

impl PartialEq<&AccountId> for AccountId {
    fn eq(&self, other: &&AccountId) -> bool {
        self == *other
    }
}

impl PartialEq<&AccountId> for String {
    fn eq(&self, other: &&AccountId) -> bool {
        *self == other.0
    }
}

impl From<&AccountId> for String {
    fn from(id: &AccountId) -> String {
        id.0.clone()
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.0
    }
}

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_owned()))
        } else {
            Err(IdError::AccountId(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A temporary access key id: `ASIA` and 16 Base32 characters holding the
/// account id (40 bits) and 40 random bits, so the account can be read back
/// from the id alone, as AWS does.
pub fn temporary_access_key_id(account: &AccountId, random40: u64) -> String {
    let account: u128 = account.as_str().parse::<u64>().unwrap_or(0).into();
    let value: u128 = (account << 40) | u128::from(random40 & ((1 << 40) - 1));
    let mut out = String::from(ACCESS_KEY_PREFIX_TEMPORARY);
    for i in (0..16).rev() {
        out.push(KEY_ALPHABET[((value >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// The account a temporary access key id was issued in.
pub fn account_of_temporary_key(id: &str) -> Option<AccountId> {
    let body = id.strip_prefix(ACCESS_KEY_PREFIX_TEMPORARY)?;
    if body.len() != 16 {
        return None;
    }
    let mut value: u128 = 0;
    for b in body.bytes() {
        value = (value << 5) | KEY_ALPHABET.iter().position(|&c| c == b)? as u128;
    }
    AccountId::parse(&format!("{:012}", value >> 40)).ok()
}

/// The kinds of IAM entity, with the unique-id prefix AWS gives each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    User,
    Group,
    Role,
    Policy,
}

impl EntityKind {
    /// The kind as IAM's action and parameter names spell it (`User`, ...).
    pub fn title(self) -> &'static str {
        match self {
            EntityKind::User => "User",
            EntityKind::Group => "Group",
            EntityKind::Role => "Role",
            EntityKind::Policy => "Policy",
        }
    }

    pub fn id_prefix(self) -> &'static str {
        match self {
            EntityKind::User => "AIDA",
            EntityKind::Group => "AGPA",
            EntityKind::Role => "AROA",
            EntityKind::Policy => "ANPA",
        }
    }
    /// The word used in ARNs (`user/`, `group/`, ...) and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
            EntityKind::Policy => "policy",
        }
    }
}

/// Name rules from botocore's IAM model: `[\w+=,.@-]+` up to `max` characters.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    pub what: &'static str,
    pub max: usize,
}

impl NameRule {
    pub const USER: NameRule = NameRule { what: "userName", max: 64 };
    pub const GROUP: NameRule = NameRule { what: "groupName", max: 128 };
    pub const ROLE: NameRule = NameRule { what: "roleName", max: 64 };
    pub const POLICY: NameRule = NameRule { what: "policyName", max: 128 };
    pub const MFA: NameRule = NameRule { what: "virtualMFADeviceName", max: 226 };
    pub const SAML_PROVIDER: NameRule = NameRule { what: "name", max: 128 };
}

/// A character of IAM's and STS's name alphabet, `[\w+=,.@-]`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// Checks a name against `[\w+=,.@-]+` and its length, as IAM does.
pub fn validate_name(rule: NameRule, value: &str) -> Result<(), IdError> {
    if value.is_empty() || value.chars().count() > rule.max || !value.chars().all(is_name_char) {
        return Err(IdError::Name(format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: \
             Member must have length between 1 and {} and match pattern [\\w+=,.@-]+",
            rule.what, rule.max
        )));
    }
    Ok(())
}

/// An IAM path: `/` or `/segment/.../`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPath(String);

impl IamPath {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let printable = s.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if s.len() <= 512 && s.starts_with('/') && s.ends_with('/') && printable && !s.contains("//") {
            Ok(IamPath(s.to_owned()))
        } else {
            Err(IdError::Path(s.to_owned()))
        }
    }
    pub fn root() -> Self {
        IamPath("/".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for IamPath {
    fn default() -> Self {
        Self::root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        for bad in ["11112222333", "1111222233334", "11112222333a", "", "１１１１２２２２３３３３"]
        {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temporary_key_ids_carry_their_account() {
        let acct = AccountId::parse("111122223333").unwrap();
        let id = temporary_access_key_id(&acct, 0xAB_CDEF_1234);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("ASIA"));
        assert_eq!(account_of_temporary_key(&id), Some(acct));
        let zero = AccountId::parse("000000000001").unwrap();
        assert_eq!(account_of_temporary_key(&temporary_access_key_id(&zero, u64::MAX)), Some(zero));
        assert_eq!(account_of_temporary_key("ASIA0000000000000000"), None);
        assert_eq!(account_of_temporary_key("AKIAAAAAAAAAAAAAAAAA"), None);
    }

    #[test]
    fn names_follow_the_iam_pattern() {
        assert!(validate_name(NameRule::USER, "alice.smith+ops@corp,x=y_z-1").is_ok());
        for bad in ["", "a b", "a/b", "a*b", "é", &"a".repeat(65)] {
            assert!(validate_name(NameRule::USER, bad).is_err(), "{bad}");
        }
        assert!(validate_name(NameRule::GROUP, &"a".repeat(128)).is_ok());
    }

    #[test]
    fn paths_begin_and_end_with_a_slash() {
        assert!(IamPath::parse("/").is_ok());
        assert!(IamPath::parse("/division/team/").is_ok());
        for bad in ["", "a/", "/a", "/a b/", "//"] {
            assert!(IamPath::parse(bad).is_err(), "{bad}");
        }
    }
}
