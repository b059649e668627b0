//! Secrets at rest (access-key secrets, TOTP seeds, private keys) are sealed with
//! AES-256-GCM under the master key. The associated data binds a sealed value to
//! the row it belongs to, so a sealed secret copied to another row will not open.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

const VERSION: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("master key must be 32 bytes, found {0}")]
    KeyLength(usize),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this master key")]
    Open,
    #[error("sealed value is not the expected JSON")]
    Json,
}

/// The cipher, and a key derived once for HMAC uses (CSRF tokens).
#[derive(Clone)]
pub struct MasterKey(Aes256Gcm, [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::KeyLength(bytes.len()));
        }
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| SealError::KeyLength(bytes.len()))?;
        Ok(MasterKey(cipher, super::hmac_sha256(bytes, b"idbroker csrf tokens")))
    }

    /// A key for CSRF tokens, derived from the master key: every node that
    /// shares the master key accepts the others' tokens.
    pub fn csrf_key(&self) -> [u8; 32] {
        self.1
    }

    pub fn generate_bytes() -> [u8; 32] {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        k
    }

    pub fn seal(&self, plaintext: &[u8], aad: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext, aad: aad.as_bytes() };
        // Encryption with a valid key and a 12-byte nonce does not fail.
        let ct = self.0.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{VERSION}{}", B64.encode(out))
    }

    /// Seals a value as JSON (state carried by a browser, kept in a row).
    pub fn seal_json<T: serde::Serialize + ?Sized>(&self, value: &T, aad: &str) -> Result<String, SealError> {
        let json = serde_json::to_vec(value).map_err(|_| SealError::Json)?;
        Ok(self.seal(&json, aad))
    }

    pub fn open_json<T: serde::de::DeserializeOwned>(&self, sealed: &str, aad: &str) -> Result<T, SealError> {
        serde_json::from_slice(&self.open(sealed, aad)?).map_err(|_| SealError::Json)
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(VERSION).ok_or(SealError::Malformed)?;
        let raw = B64.decode(body).map_err(|_| SealError::Malformed)?;
        if raw.len() < 12 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = raw.split_at(12);
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = MasterKey::from_bytes(&MasterKey::generate_bytes()).unwrap();
        let sealed = key.seal(b"secret", "access-key:AKIA1");
        assert!(!sealed.contains("secret"));
        assert_eq!(key.open(&sealed, "access-key:AKIA1").unwrap(), b"secret");
        assert!(matches!(key.open(&sealed, "access-key:AKIA2"), Err(SealError::Open)));
        let other = MasterKey::from_bytes(&MasterKey::generate_bytes()).unwrap();
        assert!(matches!(other.open(&sealed, "access-key:AKIA1"), Err(SealError::Open)));
        assert!(matches!(key.open("v1:!!", "x"), Err(SealError::Malformed)));
        assert!(MasterKey::from_bytes(&[0u8; 16]).is_err());
    }
}
