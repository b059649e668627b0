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
        // RFC 5280 4.1.2.2: a positive integer of at most 20 octets.
        let mut serial = BigNum::new().map_err(err)?;
        serial.rand(159, openssl::bn::MsbOption::ONE, false).map_err(err)?;
        let serial = serial.to_asn1_integer().map_err(err)?;
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

/// A certificate's notAfter, in unix seconds.
pub fn certificate_not_after(certificate: &[u8]) -> Option<i64> {
    let cert = openssl::x509::X509::from_der(certificate).ok()?;
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(cert.not_after()).ok()?;
    Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

/// Verifies `signature` over `data` with the certificate's key and the XML
/// DSig algorithm named `algorithm`: RSA (PKCS #1 v1.5) or ECDSA, with
/// SHA-256, SHA-384 or SHA-512; the key's type must fit the algorithm. An
/// ECDSA signature may be DER or the raw `r || s` of XML DSig.
pub fn verify_signature(certificate: &[u8], algorithm: &str, data: &[u8], signature: &[u8]) -> bool {
    const MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
    let Some(name) = algorithm.strip_prefix(MORE) else { return false };
    let (ecdsa, digest) = match name {
        "rsa-sha256" => (false, MessageDigest::sha256()),
        "rsa-sha384" => (false, MessageDigest::sha384()),
        "rsa-sha512" => (false, MessageDigest::sha512()),
        "ecdsa-sha256" => (true, MessageDigest::sha256()),
        "ecdsa-sha384" => (true, MessageDigest::sha384()),
        "ecdsa-sha512" => (true, MessageDigest::sha512()),
        _ => return false,
    };
    let cert = X509::from_der(certificate).or_else(|_| X509::from_pem(certificate));
    let Ok(key) = cert.and_then(|c| c.public_key()) else { return false };
    let expected = if ecdsa { openssl::pkey::Id::EC } else { openssl::pkey::Id::RSA };
    if key.id() != expected {
        return false;
    }
    let der = match (ecdsa, key.ec_key()) {
        (true, Ok(ec)) => match raw_ecdsa_to_der(&ec, signature) {
            Some(der) => der,
            None => signature.to_vec(),
        },
        _ => signature.to_vec(),
    };
    let Ok(mut verifier) = Verifier::new(digest, &key) else { return false };
    verifier.update(data).is_ok() && verifier.verify(&der).unwrap_or(false)
}

/// XML DSig's ECDSA signature, `r || s` each as wide as the curve's order, as DER.
fn raw_ecdsa_to_der(key: &openssl::ec::EcKey<openssl::pkey::Public>, raw: &[u8]) -> Option<Vec<u8>> {
    let bits = key.group().order_bits() as usize;
    let width = bits.div_ceil(8);
    if raw.len() != 2 * width {
        return None;
    }
    let r = BigNum::from_slice(&raw[..width]).ok()?;
    let s = BigNum::from_slice(&raw[width..]).ok()?;
    openssl::ecdsa::EcdsaSig::from_private_components(r, s).ok()?.to_der().ok()
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

    #[test]
    fn the_serial_number_is_positive_and_at_most_20_octets() {
        for _ in 0..20 {
            let cert = SigningKey::generate("idbroker test").unwrap().cert;
            let serial = cert.serial_number().to_bn().unwrap();
            assert!(!serial.is_negative() && serial.num_bytes() <= 20 && serial.num_bits() > 64);
        }
    }

    /// A self-signed certificate for `key`.
    fn certificate(key: &PKey<Private>) -> Vec<u8> {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "test").unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        b.set_pubkey(key).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build().to_der().unwrap()
    }

    #[test]
    fn rsa_and_ecdsa_signatures_verify_with_the_named_digest_only() {
        const MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let ec = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
        let sign = |key: &PKey<Private>, digest| {
            let mut s = openssl::sign::Signer::new(digest, key).unwrap();
            s.update(b"data").unwrap();
            s.sign_to_vec().unwrap()
        };
        let (rsa_cert, ec_cert) = (certificate(&rsa), certificate(&ec));
        for (name, digest) in [
            ("sha256", MessageDigest::sha256()),
            ("sha384", MessageDigest::sha384()),
            ("sha512", MessageDigest::sha512()),
        ] {
            let rsa_sig = sign(&rsa, digest);
            assert!(verify_signature(&rsa_cert, &format!("{MORE}rsa-{name}"), b"data", &rsa_sig), "{name}");
            assert!(!verify_signature(&rsa_cert, &format!("{MORE}rsa-{name}"), b"other", &rsa_sig));
            assert!(!verify_signature(&rsa_cert, &format!("{MORE}ecdsa-{name}"), b"data", &rsa_sig));
            let ec_der = sign(&ec, digest);
            assert!(verify_signature(&ec_cert, &format!("{MORE}ecdsa-{name}"), b"data", &ec_der), "{name}");
            // The raw r || s of XML DSig verifies as well.
            let parsed = openssl::ecdsa::EcdsaSig::from_der(&ec_der).unwrap();
            let raw = [parsed.r().to_vec_padded(32).unwrap(), parsed.s().to_vec_padded(32).unwrap()].concat();
            assert!(verify_signature(&ec_cert, &format!("{MORE}ecdsa-{name}"), b"data", &raw));
        }
        let sha384_sig = sign(&rsa, MessageDigest::sha384());
        assert!(!verify_signature(&rsa_cert, &format!("{MORE}rsa-sha512"), b"data", &sha384_sig));
        let sha1 = sign(&rsa, MessageDigest::sha1());
        assert!(!verify_signature(&rsa_cert, "http://www.w3.org/2000/09/xmldsig#rsa-sha1", b"data", &sha1));
    }
}
