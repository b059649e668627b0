//! idbroker's SAML signing key: RSA-2048 with a self-signed certificate, made
//! at first start. It signs the built-in IdP's Responses and the SP's
//! AuthnRequests (Redirect binding, RSA-SHA256).
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl KeyError {
    pub fn from_io(e: &std::io::Error) -> KeyError {
        KeyError(e.to_string())
    }
}

fn err(e: impl std::fmt::Display) -> KeyError {
    KeyError(e.to_string())
}

pub struct SigningKey {
    key: PKey<Private>,
    cert: X509,
}

impl SigningKey {
    /// A new key and a certificate for `subject`, valid for ten years.
    pub fn generate(subject: &str) -> Result<SigningKey, KeyError> {
        let key = PKey::from_rsa(Rsa::generate(2048).map_err(err)?).map_err(err)?;
        let mut name = X509NameBuilder::new().map_err(err)?;
        name.append_entry_by_text("CN", subject).map_err(err)?;
        let name = name.build();
        let mut b = X509Builder::new().map_err(err)?;
        b.set_version(2).map_err(err)?;
        let serial = crate::crypto::random_token(16);
        let serial = BigNum::from_slice(serial.as_bytes()).and_then(|n| n.to_asn1_integer()).map_err(err)?;
        b.set_serial_number(&serial).map_err(err)?;
        b.set_subject_name(&name).map_err(err)?;
        b.set_issuer_name(&name).map_err(err)?;
        b.set_pubkey(&key).map_err(err)?;
        let (from, until) =
            (Asn1Time::days_from_now(0).map_err(err)?, Asn1Time::days_from_now(3650).map_err(err)?);
        b.set_not_before(&from).map_err(err)?;
        b.set_not_after(&until).map_err(err)?;
        b.sign(&key, MessageDigest::sha256()).map_err(err)?;
        Ok(SigningKey { key, cert: b.build() })
    }

    /// The key and certificate as one PEM text (for sealing at rest).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let key = self.key.private_key_to_pem_pkcs8().map_err(err)?;
        let cert = self.cert.to_pem().map_err(err)?;
        Ok(format!("{}{}", String::from_utf8_lossy(&key), String::from_utf8_lossy(&cert)))
    }

    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let key = PKey::private_key_from_pem(pem.as_bytes()).map_err(err)?;
        let cert = X509::from_pem(pem.as_bytes()).map_err(err)?;
        Ok(SigningKey { key, cert })
    }

    pub fn certificate_der(&self) -> Result<Vec<u8>, KeyError> {
        self.cert.to_der().map_err(err)
    }

    /// RSA-SHA256 (PKCS#1 v1.5) signature of `data`.
    pub fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).map_err(err)?;
        signer.update(data).map_err(err)?;
        signer.sign_to_vec().map_err(err)
    }
}

/// Checks an RSA-SHA256 signature with the key of a DER or PEM certificate.
/// Whole days from `now` (seconds since the epoch) to a DER certificate's
/// notAfter; negative once it has passed. `None` for what is not a certificate.
pub fn certificate_days_left(certificate: &[u8], now: i64) -> Option<i64> {
    let cert = openssl::x509::X509::from_der(certificate).ok()?;
    let now = openssl::asn1::Asn1Time::from_unix(now).ok()?;
    let diff = now.diff(cert.not_after()).ok()?;
    Some(i64::from(diff.days))
}

pub fn verify_sha256(certificate: &[u8], data: &[u8], signature: &[u8]) -> bool {
    let cert = X509::from_der(certificate).or_else(|_| X509::from_pem(certificate));
    let Ok(key) = cert.and_then(|c| c.public_key()) else { return false };
    let Ok(mut verifier) = Verifier::new(MessageDigest::sha256(), &key) else { return false };
    verifier.update(data).is_ok() && verifier.verify(signature).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_survives_pem() {
        let key = SigningKey::generate("idbroker test").unwrap();
        let again = SigningKey::from_pem(&key.to_pem().unwrap()).unwrap();
        let sig = again.sign_sha256(b"SAMLRequest=x&SigAlg=y").unwrap();
        let cert = key.certificate_der().unwrap();
        assert!(verify_sha256(&cert, b"SAMLRequest=x&SigAlg=y", &sig));
        assert!(!verify_sha256(&cert, b"SAMLRequest=z&SigAlg=y", &sig));
    }
}
