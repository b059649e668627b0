//! Identifiers and secrets. All come from `rand`'s thread-local CSPRNG
//! (ChaCha, seeded and periodically reseeded from the OS), which costs no
//! system call per character as drawing from the OS directly did.
use rand::Rng;

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn pick(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A unique id in AWS's shape: 4-letter prefix + 17 characters (21 in all).
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", pick(BASE32, 17))
}

/// An access key id: `AKIA`/`ASIA` + 16 characters (20 in all).
pub fn access_key_id(prefix: &str) -> String {
    format!("{prefix}{}", pick(BASE32, 16))
}

/// A 40-character secret access key (240 bits of entropy).
pub fn secret_access_key() -> String {
    pick(SECRET_CHARS, 40)
}

/// `n` characters drawn uniformly from `alphabet` (short codes people type).
pub fn random_chars(alphabet: &[u8], n: usize) -> String {
    pick(alphabet, n)
}

/// A URL-safe random token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    let raw: Vec<u8> = (0..bytes).map(|_| rng.gen()).collect();
    hex::encode(raw)
}

/// A generated password that satisfies any password policy idbroker accepts:
/// upper, lower, digit and symbol, 24 characters.
pub fn random_password() -> String {
    let body = pick(b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 20);
    format!("{body}A7b!")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let id = unique_id("AIDA");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        let k = access_key_id("AKIA");
        assert_eq!(k.len(), 20);
        assert!(k[4..].bytes().all(|b| BASE32.contains(&b)));
        assert_eq!(secret_access_key().len(), 40);
        assert_ne!(secret_access_key(), secret_access_key());
    }
}
