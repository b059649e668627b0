//! All cryptography idbroker does itself: sealing secrets at rest, password
//! hashing, random identifiers and secrets, HMAC and constant-time comparison.
mod password;
mod random;
mod seal;
mod session_token;
mod signing_key;
mod totp;

pub use password::{hash_password, verify_password, PasswordHash};
pub use random::{access_key_id, random_chars, random_password, random_token, secret_access_key, unique_id};
pub use seal::{MasterKey, SealError};
pub use session_token::{generate_token_key_pem, TokenError, TokenKeys, TOKEN_ISSUER};
pub use signing_key::{
    certificate_days_left, certificate_not_after, verify_sha256, verify_signature, KeyError, SigningKey,
};
pub use totp::{Totp, TotpError};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    // INVARIANT: Hmac::new_from_slice only fails for fixed-size-key MACs.
    std::process::abort()
}

/// A value every request reads and a rare change replaces whole (signing
/// keys rolled over): readers take a snapshot, a writer swaps it.
pub struct Shared<T>(std::sync::RwLock<std::sync::Arc<T>>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Shared<T> {
        Shared(std::sync::RwLock::new(std::sync::Arc::new(value)))
    }

    pub fn get(&self) -> std::sync::Arc<T> {
        // A writer that panicked left a whole value behind: use it.
        match self.0.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, value: T) {
        let value = std::sync::Arc::new(value);
        match self.0.write() {
            Ok(mut v) => *v = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest as _;
    sha1::Sha1::digest(data).into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
