//! Console sign-in: browser sessions kept on the server (sealed, in the
//! database, so any node serves them and logout ends them everywhere),
//! sign-in throttling (also shared through the database), CSRF tokens and same-origin redirect targets. Plain
//! Rust: the web layer turns these into cookies and pages.
pub mod admin;
pub mod cli;
pub mod idp_logout;
mod idp_session;
mod kept;
pub mod login;
pub mod saml_signin;
mod sessions;
pub mod signin;
mod throttle;

pub use idp_session::{IdpCookie, IdpSessions};
pub use kept::KeptAssertions;
pub use sessions::{ConsoleSession, Opened, PendingRoles, Sessions, SignInMethod, WebSession, CLI_APPROVAL};
pub use throttle::Throttle;

use crate::crypto;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("stored session is unreadable")]
    Corrupt,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A CSRF token bound to `binding` (a pre-login cookie or a session id) and
/// to the form's purpose.
pub fn csrf_token(key: &[u8], purpose: &str, binding: &str) -> String {
    hex::encode(crypto::hmac_sha256(key, format!("{purpose}\n{binding}").as_bytes()))
}

pub fn csrf_ok(key: &[u8], purpose: &str, binding: &str, token: &str) -> bool {
    crypto::constant_time_eq(csrf_token(key, purpose, binding).as_bytes(), token.as_bytes())
}

/// A redirect target after sign-in: only a path on this origin, at most 80
/// bytes (SAML's RelayState limit). Anything else means "the console".
pub fn same_origin_path(target: &str) -> Option<&str> {
    let ok = target.len() <= 80
        && target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && !target.to_ascii_lowercase().contains("%2f%2f")
        && target.chars().all(|c| c.is_ascii_graphic());
    ok.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_are_redirect_targets() {
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "https:evil.test",
            "/%2f%2fevil.test",
            "javascript:alert(1)",
            "/console\r\nSet-Cookie: x=1",
            "/ space",
            "",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad}");
        }
        assert_eq!(same_origin_path(&format!("/{}", "a".repeat(80))), None);
        assert_eq!(same_origin_path("/console?tab=creds"), Some("/console?tab=creds"));
    }

    #[test]
    fn csrf_tokens_bind_purpose_and_binding() {
        let key = [7u8; 32];
        let t = csrf_token(&key, "login", "cookie-a");
        assert!(csrf_ok(&key, "login", "cookie-a", &t));
        assert!(!csrf_ok(&key, "login", "cookie-b", &t));
        assert!(!csrf_ok(&key, "logout", "cookie-a", &t));
        assert!(!csrf_ok(&key, "login", "cookie-a", ""));
    }
}
