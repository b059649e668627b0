//! argon2id password hashes. Verification of an unknown user still runs argon2
//! against a fixed dummy hash, so timing does not reveal which names exist.
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// A PHC-format argon2id hash string, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id minimum: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> PasswordHash {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string());
    // Hashing only fails for out-of-range parameters, which are fixed above.
    PasswordHash(hash.unwrap_or_default())
}

const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2f0Yl2a3b4pcDs7OWp5gSmmC5r2mJd9l9xYB8E4HG8A";

/// Verifies `password` against `stored`, or against a dummy hash when there is
/// no stored hash, so both paths cost the same.
pub fn verify_password(password: &str, stored: Option<&PasswordHash>) -> bool {
    let (phc, real) = match stored {
        Some(h) => (h.0.as_str(), true),
        None => (DUMMY_HASH, false),
    };
    let Ok(parsed) = argon2::PasswordHash::new(phc) else {
        return false;
    };
    let ok = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("correct horse");
        assert!(h.0.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("correct horse ", Some(&h)));
        assert!(!verify_password("correct horse", None));
        assert!(!verify_password("x", Some(&PasswordHash("garbage".into()))));
    }
}
