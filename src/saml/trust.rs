//! Checks an identity provider's metadata document before it is registered as a
//! SAML provider: an IDPSSODescriptor with at least one signing certificate
//! whose key is RSA of at least 2048 bits or EC, and a `validUntil` (if any) in
//! the future.
use chrono::{DateTime, Utc};
use openssl::pkey::{Id, PKey, Public};
use openssl::x509::X509;
use samael::metadata::EntityDescriptor;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata must be UTF-8 without a byte-order mark")]
    Encoding,
    #[error("metadata must not contain a DOCTYPE or entity declarations")]
    Doctype,
    #[error("metadata is not a valid EntityDescriptor: {0}")]
    Malformed(String),
    #[error("metadata has no entityID")]
    NoEntityId,
    #[error("metadata has no IDPSSODescriptor")]
    NoIdpDescriptor,
    #[error("metadata has no signing certificate")]
    NoSigningCertificate,
    #[error("signing certificate is not valid X.509: {0}")]
    BadCertificate(String),
    #[error("signing key must be RSA of at least 2048 bits or EC, found {0}")]
    WeakKey(String),
    #[error("metadata expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("metadata is not signed by the pinned certificate: {0}")]
    NotSignedByPin(String),
}

/// What idbroker keeps from validated metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub valid_until: Option<DateTime<Utc>>,
    /// How long a copy may be kept before it is fetched again (`cacheDuration`).
    pub cache_duration: Option<chrono::Duration>,
    /// DER of each signing certificate.
    pub signing_certificates: Vec<Vec<u8>>,
    /// Their public keys, decoded once (verification takes them from here).
    pub signing_keys: Vec<PKey<Public>>,
    /// The HTTP-Redirect SingleSignOnService location, for SP-initiated sign-in.
    pub redirect_sso_url: Option<String>,
}

const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// A metadata document that must be signed by the certificate whose SHA-256
/// (hex) is `pinned`: the certificate in its Signature's KeyInfo must be that
/// one, and the signature must verify with it. Returns the document as the
/// signature covers it, to be read from there.
pub fn verify_signed_metadata(xml: &str, pinned: &str) -> Result<String, MetadataError> {
    let refused = |why: &str| MetadataError::NotSignedByPin(why.to_owned());
    let limits = super::xml::Limits { max_depth: 32, max_elements: 100_000, max_attributes: 64 };
    let doc = super::xml::parse(xml, limits).map_err(|e| MetadataError::Malformed(e.to_string()))?;
    let child = |parent: usize, local: &str| doc.child_elements(parent).find(|c| doc.is(*c, DS, local));
    let certificate = child(0, "Signature")
        .and_then(|s| child(s, "KeyInfo"))
        .and_then(|k| child(k, "X509Data"))
        .and_then(|x| child(x, "X509Certificate"))
        .and_then(|c| doc.text(c))
        .ok_or_else(|| refused("it carries no signature with a certificate"))?;
    let compact: String = certificate.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
        .map_err(|_| refused("its certificate is not base64"))?;
    if !crate::crypto::sha256_hex(&der).eq_ignore_ascii_case(pinned.trim()) {
        return Err(refused("it is signed by another certificate"));
    }
    signed_part(xml, &[der]).ok_or_else(|| refused("its signature does not verify"))
}

/// The part of a document that an enveloped XML signature by one of `certs`
/// (DER) covers, as it was signed (xmlsec; RSA or ECDSA over SHA-2), or
/// `None` when there is no such signature.
pub fn signed_part(xml: &str, certs: &[Vec<u8>]) -> Option<String> {
    use samael::crypto::{
        AllowedSignatureAlgorithm as A, CertificateDer, Crypto, CryptoProvider, ReduceMode,
    };
    let algorithms =
        [A::RsaSha256, A::RsaSha384, A::RsaSha512, A::EcdsaSha256, A::EcdsaSha384, A::EcdsaSha512];
    let certs: Vec<_> = certs.iter().cloned().map(CertificateDer::from).collect();
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::PreDigest,
        Some(&algorithms),
    )
    .ok()
}

/// Metadata documents already checked, by SHA-256 of the text: a provider's
/// document is parsed and its certificates decoded once, not per sign-in.
pub struct MetadataMemo(crate::memo::Memo<[u8; 32], IdpMetadata>);

impl MetadataMemo {
    pub fn new(limit: usize) -> Self {
        MetadataMemo(crate::memo::Memo::new(limit))
    }

    /// `document`, checked once; its validUntil is checked on every use.
    pub fn trusted(
        &self,
        document: &str,
        now: DateTime<Utc>,
    ) -> Result<std::sync::Arc<IdpMetadata>, MetadataError> {
        let digest = crate::crypto::sha256(document.as_bytes());
        let metadata = self.0.get_or_try(digest, || validate_idp_metadata(document, now))?;
        match metadata.valid_until {
            Some(t) if t <= now => Err(MetadataError::Expired(t)),
            _ => Ok(metadata),
        }
    }
}

const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

const MIN_RSA_BITS: u32 = 2048;

/// An `xs:duration` as metadata writes `cacheDuration` (`PT1H`, `P1D`,
/// `P0Y0M0DT6H0M0.5S`): positive, months as 30 days and years as 365.
fn xs_duration(text: &str) -> Option<chrono::Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut seconds = 0f64;
    for (part, units) in [
        (date, &[('Y', 31_536_000f64), ('M', 2_592_000.0), ('D', 86_400.0)][..]),
        (time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)][..]),
    ] {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            // Designators in order, each once, each after a number.
            let (_, size) = allowed.by_ref().find(|(u, _)| *u == c)?;
            seconds += number.parse::<f64>().ok()? * size;
            number.clear();
        }
        if !number.is_empty() {
            return None;
        }
    }
    (1.0..1e10).contains(&seconds).then(|| chrono::Duration::seconds(seconds as i64))
}

pub fn validate_idp_metadata(xml: &str, now: DateTime<Utc>) -> Result<IdpMetadata, MetadataError> {
    if xml.starts_with('\u{feff}') {
        return Err(MetadataError::Encoding);
    }
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(MetadataError::Doctype);
    }
    let entity = xml.parse::<EntityDescriptor>().map_err(|e| MetadataError::Malformed(e.to_string()))?;
    let entity_id = entity.entity_id.clone().filter(|e| !e.is_empty()).ok_or(MetadataError::NoEntityId)?;
    let descriptors = entity.idp_sso_descriptors.as_deref().unwrap_or_default();
    if descriptors.is_empty() {
        return Err(MetadataError::NoIdpDescriptor);
    }
    let mut certificates = Vec::new();
    for d in descriptors {
        for kd in d.key_descriptors.iter().filter(|k| k.key_use.as_deref().is_none_or(|u| u == "signing")) {
            for b64 in kd.key_info.x509_data.iter().flat_map(|x| x.certificates.iter()) {
                certificates.push(check_certificate(b64)?);
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    let valid_until = entity.valid_until.or_else(|| descriptors.iter().filter_map(|d| d.valid_until).min());
    if let Some(t) = valid_until {
        if t <= now {
            return Err(MetadataError::Expired(t));
        }
    }
    let redirect_sso_url = descriptors
        .iter()
        .flat_map(|d| d.single_sign_on_services.iter())
        .find(|s| s.binding == REDIRECT_BINDING)
        .map(|s| s.location.clone())
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
    let signing_keys = certificates.iter().map(|der| signing_key(der)).collect::<Result<_, _>>()?;
    // A cacheDuration that does not read is ignored: the schedule applies.
    let cache_duration = entity.cache_duration.as_deref().and_then(xs_duration);
    Ok(IdpMetadata {
        entity_id,
        valid_until,
        cache_duration,
        signing_certificates: certificates,
        signing_keys,
        redirect_sso_url,
    })
}

/// The public key of a certificate (DER) that `check_certificate` accepted.
pub fn signing_key(der: &[u8]) -> Result<PKey<Public>, MetadataError> {
    X509::from_der(der).and_then(|c| c.public_key()).map_err(|e| MetadataError::BadCertificate(e.to_string()))
}

/// A base64 certificate from metadata, as DER, if its key is strong enough.
pub(crate) fn check_certificate(b64: &str) -> Result<Vec<u8>, MetadataError> {
    use base64::Engine;
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| MetadataError::BadCertificate(e.to_string()))?;
    let cert = X509::from_der(&der).map_err(|e| MetadataError::BadCertificate(e.to_string()))?;
    let key = cert.public_key().map_err(|e| MetadataError::BadCertificate(e.to_string()))?;
    match key.id() {
        Id::RSA if key.bits() >= MIN_RSA_BITS => Ok(der),
        Id::RSA => Err(MetadataError::WeakKey(format!("RSA {} bits", key.bits()))),
        Id::EC => Ok(der),
        other => Err(MetadataError::WeakKey(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::xs_duration;

    #[test]
    fn cache_durations_read_as_metadata_writes_them() {
        let seconds = |t: &str| xs_duration(t).map(|d| d.num_seconds());
        assert_eq!(seconds("PT1H"), Some(3600));
        assert_eq!(seconds("P1D"), Some(86_400));
        assert_eq!(seconds("P0Y0M0DT6H0M0.5S"), Some(21_600));
        assert_eq!(seconds("PT30M"), Some(1800));
        assert_eq!(seconds("P1M"), Some(2_592_000));
        for bad in ["", "P", "1H", "PT", "PT1", "PTH", "PT1H1H", "PT1S1M", "P1H", "-PT1H", "PT0S"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
    }
}
