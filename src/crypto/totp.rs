//! Virtual MFA: RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps), as authenticator
//! apps and AWS use it. A code is accepted for the current step ±1, and the
//! caller keeps the last accepted step so no code is accepted twice.
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

pub const STEP_SECONDS: i64 = 30;

pub struct Totp(TOTP);

#[derive(Debug, thiserror::Error)]
#[error("invalid TOTP seed or label: {0}")]
pub struct TotpError(String);

impl Totp {
    /// A new random 160-bit seed.
    pub fn generate_seed() -> Vec<u8> {
        let mut seed = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        seed
    }

    pub fn new(seed: Vec<u8>, issuer: &str, account_name: &str) -> Result<Totp, TotpError> {
        let clean = |s: &str| s.replace(':', "/");
        TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS as u64, seed, Some(clean(issuer)), clean(account_name))
            .map(Totp)
            .map_err(|e| TotpError(e.to_string()))
    }

    pub fn step_of(unix_seconds: i64) -> i64 {
        unix_seconds.div_euclid(STEP_SECONDS)
    }

    pub fn code_at_step(&self, step: i64) -> String {
        self.0.generate((step.max(0) * STEP_SECONDS) as u64)
    }

    /// The step within `window` steps of `now_step` whose code is `code`.
    pub fn matching_step(&self, code: &str, now_step: i64, window: i64) -> Option<i64> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (now_step - window..=now_step + window)
            .find(|s| super::constant_time_eq(self.code_at_step(*s).as_bytes(), code.as_bytes()))
    }

    /// The Base32 seed, as AWS's `Base32StringSeed` carries it.
    pub fn seed_base32(&self) -> String {
        self.0.get_secret_base32()
    }

    pub fn qr_png(&self) -> Result<Vec<u8>, TotpError> {
        self.0.get_qr_png().map_err(TotpError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: seed "12345678901234567890", T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let t = Totp::new(b"12345678901234567890".to_vec(), "idbroker", "test").unwrap();
        assert_eq!(t.code_at_step(Totp::step_of(59)), "287082");
        assert_eq!(t.code_at_step(Totp::step_of(1111111109)), "081804");
    }

    #[test]
    fn codes_match_only_within_the_window() {
        let t = Totp::new(Totp::generate_seed(), "idbroker", "alice@111122223333").unwrap();
        let now = 1_000_000;
        assert_eq!(t.matching_step(&t.code_at_step(now), now, 1), Some(now));
        assert_eq!(t.matching_step(&t.code_at_step(now - 1), now, 1), Some(now - 1));
        assert_eq!(t.matching_step(&t.code_at_step(now + 1), now, 1), Some(now + 1));
        assert_eq!(t.matching_step(&t.code_at_step(now - 5), now, 1), None);
        assert_eq!(t.matching_step("12345", now, 1), None);
        assert!(t.qr_png().unwrap().starts_with(b"\x89PNG"));
        assert_eq!(t.seed_base32().len(), 32);
    }
}
