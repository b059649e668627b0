//! The account password policy and the check of a new password against it.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub max_password_age: Option<u32>,
    pub password_reuse_prevention: Option<u32>,
    pub hard_expiry: bool,
}

const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

impl PasswordPolicy {
    /// Checks a new password. With no policy set, IAM's default applies: at least
    /// eight characters and three of the four character classes.
    pub fn check(policy: Option<&PasswordPolicy>, password: &str) -> Result<(), String> {
        let len = password.chars().count();
        let upper = password.chars().any(|c| c.is_ascii_uppercase());
        let lower = password.chars().any(|c| c.is_ascii_lowercase());
        let digit = password.chars().any(|c| c.is_ascii_digit());
        let symbol = password.chars().any(|c| SYMBOLS.contains(c) || !c.is_ascii_alphanumeric());
        if len > 128 {
            return Err("Password must be at most 128 characters.".into());
        }
        let Some(p) = policy else {
            let classes = [upper, lower, digit, symbol].iter().filter(|b| **b).count();
            if len < 8 || classes < 3 {
                return Err(
                    "Password does not conform to the account password policy: at least 8 characters \
                            and three of uppercase, lowercase, numbers and symbols."
                        .into(),
                );
            }
            return Ok(());
        };
        let mut missing = Vec::new();
        if len < p.minimum_password_length as usize {
            missing.push(format!("at least {} characters", p.minimum_password_length));
        }
        for (required, present, what) in [
            (p.require_symbols, symbol, "a symbol"),
            (p.require_numbers, digit, "a number"),
            (p.require_uppercase_characters, upper, "an uppercase letter"),
            (p.require_lowercase_characters, lower, "a lowercase letter"),
        ] {
            if required && !present {
                missing.push(what.to_owned());
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Password does not conform to the account password policy: it needs {}.",
                missing.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            minimum_password_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: false,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: false,
        }
    }

    #[test]
    fn default_policy_wants_eight_characters_and_three_classes() {
        assert!(PasswordPolicy::check(None, "Abcdefg1").is_ok());
        assert!(PasswordPolicy::check(None, "abcdefg1").is_err());
        assert!(PasswordPolicy::check(None, "Ab1!").is_err());
    }

    #[test]
    fn a_set_policy_names_what_is_missing() {
        let p = policy();
        assert!(PasswordPolicy::check(Some(&p), "long-enough-1").is_ok());
        let err = PasswordPolicy::check(Some(&p), "short1").unwrap_err();
        assert!(err.contains("12 characters") && err.contains("symbol"), "{err}");
        assert!(PasswordPolicy::check(Some(&p), &"a1!".repeat(50)).is_err());
    }
}
