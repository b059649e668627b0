//! The company directory (LDAP / Active Directory) behind a trait: checks a
//! user's password and resolves who they are and which groups they are in.
//! `ldap` is the real implementation (the only module that knows ldap3);
//! `memory` is an in-memory directory for fast tests of the logic above it.
mod ldap;
mod memory;

pub use ldap::LdapDirectory;
pub use memory::MemoryDirectory;

use futures_util::future::BoxFuture;

/// The longest user name or password accepted; longer input never reaches the directory.
pub const MAX_INPUT_BYTES: usize = 256;

/// A user whose password the directory accepted. Only a `Directory` makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    /// The directory's stored name (uid / sAMAccountName), never what was typed.
    pub username: String,
    pub display_name: Option<String>,
    /// `mail`, for SPs that ask for an emailAddress NameID.
    pub email: Option<String>,
    /// Every group the user is in, directly or through nesting.
    pub groups: Vec<Group>,
    /// The configured tag attributes that the entry has, with their first value.
    pub attributes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub dn: String,
    pub name: String,
}

/// Why a sign-in was refused. The user always sees the same answer; the
/// reason goes to the audit record only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    EmptyPassword,
    InputTooLong,
    UnknownUser,
    AmbiguousUser,
    WrongPassword,
    Disabled,
    Locked,
    Expired,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::EmptyPassword => "empty-password",
            Refusal::InputTooLong => "input-too-long",
            Refusal::UnknownUser => "unknown-user",
            Refusal::AmbiguousUser => "ambiguous-user",
            Refusal::WrongPassword => "wrong-password",
            Refusal::Disabled => "disabled",
            Refusal::Locked => "locked",
            Refusal::Expired => "expired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("sign-in refused ({})", .0.as_str())]
    Refused(Refusal),
    /// The directory could not be reached or answered unexpectedly.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// The directory answered, but these settings cannot work with it (the
    /// service account's bind is refused, its TLS certificate is not trusted):
    /// waiting will not help, so start-up stops on it.
    #[error("directory settings do not work: {0}")]
    Misconfigured(String),
    #[error("directory is not configured")]
    NotConfigured,
}

/// Checks passwords and resolves users. Object-safe so the web layer can hold
/// any implementation.
pub trait Directory: Send + Sync {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>>;

    /// Who `username` is and every group they are in, looked up as the
    /// service account without their password: the admin console's preview
    /// of the role rules. Nothing here signs anyone in.
    fn lookup<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<DirectoryUser, DirectoryError>>;

    /// Whether the directory answers now (readiness): one round trip as the
    /// service account.
    fn reachable(&self) -> BoxFuture<'_, Result<(), DirectoryError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Checks done before any directory request: an empty or blank password is
/// never sent (a Windows DC treats DN + empty password as an anonymous bind
/// that succeeds), nor is oversized input.
pub fn precheck(username: &str, password: &str) -> Result<(), DirectoryError> {
    if username.len() > MAX_INPUT_BYTES || password.len() > MAX_INPUT_BYTES {
        return Err(DirectoryError::Refused(Refusal::InputTooLong));
    }
    if username.trim().is_empty() || password.trim().is_empty() || password.contains('\0') {
        return Err(DirectoryError::Refused(Refusal::EmptyPassword));
    }
    Ok(())
}

/// The first RDN value of a DN (`cn=AWS-1-Dev,ou=groups,...` → `AWS-1-Dev`).
pub fn rdn_value(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or(dn);
    first.split_once('=').map_or(first, |(_, v)| v).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_nul_passwords_are_refused_before_any_bind() {
        for pw in ["", " ", "\t", "\0secret"] {
            assert!(matches!(precheck("alice", pw), Err(DirectoryError::Refused(Refusal::EmptyPassword))));
        }
        assert!(matches!(precheck("", ""), Err(DirectoryError::Refused(_))));
        assert!(matches!(
            precheck(&"a".repeat(10_000), "x"),
            Err(DirectoryError::Refused(Refusal::InputTooLong))
        ));
        assert!(precheck("alice", "Alpha-Pass-1").is_ok());
    }

    #[test]
    fn rdn_value_takes_the_first_component() {
        assert_eq!(rdn_value("cn=AWS-111122223333-Dev,ou=groups,dc=x"), "AWS-111122223333-Dev");
        assert_eq!(rdn_value("CN=staff,OU=Groups,DC=corp"), "staff");
    }
}
