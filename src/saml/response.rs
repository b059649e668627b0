//! Validation of a SAML Response from a trusted identity provider, producing a
//! `VerifiedAssertion`: the only way to get one. Order: strict structure check,
//! signature verification with the provider's metadata keys only (xmlsec via
//! samael, algorithms on an allow-list), then every protocol check on the
//! verified content alone, with idbroker's clock.
use super::strict::{self, Shape};
use super::SamlError;
use chrono::{DateTime, Duration, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response};

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// An assertion issued longer ago than this is refused (besides its own expiry).
const MAX_ASSERTION_AGE_SECONDS: i64 = 600;

/// An identity provider idbroker trusts: from a registered SAML provider.
pub struct TrustedIdp {
    pub entity_id: String,
    /// DER of the signing certificates in its metadata; never a key from a message.
    pub signing_certificates: Vec<Vec<u8>>,
    /// RSA-SHA1 signatures with SHA-1 digests are accepted from this IdP (an
    /// explicit opt-in for IdPs that cannot do better; refused otherwise).
    pub allows_sha1: bool,
}

/// Where idbroker expects to be named in a response.
pub struct ServiceEndpoint {
    /// Accepted `Audience` values (our SP entity id, and AWS's if the provider opts in).
    pub audiences: Vec<String>,
    /// Accepted `Recipient` / `Destination` values (our ACS URL, ...).
    pub recipients: Vec<String>,
    pub max_bytes: usize,
    pub clock_skew: Duration,
}

/// A checked assertion. Its fields can only be set by `verify_response`.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    issuer: String,
    assertion_id: String,
    name_id: String,
    name_id_format: Option<String>,
    recipient: String,
    in_response_to: Option<String>,
    not_on_or_after: DateTime<Utc>,
    session_not_on_or_after: Option<DateTime<Utc>>,
    attributes: Vec<(String, Vec<String>)>,
}

impl VerifiedAssertion {
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn assertion_id(&self) -> &str {
        &self.assertion_id
    }
    pub fn name_id(&self) -> &str {
        &self.name_id
    }
    pub fn name_id_format(&self) -> Option<&str> {
        self.name_id_format.as_deref()
    }
    /// The `Recipient` of the bearer confirmation (AWS's `Audience` result).
    pub fn recipient(&self) -> &str {
        &self.recipient
    }
    /// The request this answers (None for an IdP-initiated response).
    pub fn in_response_to(&self) -> Option<&str> {
        self.in_response_to.as_deref()
    }
    /// The earliest of the Conditions' and the confirmation's NotOnOrAfter:
    /// the replay cache keeps the assertion id until then.
    pub fn not_on_or_after(&self) -> DateTime<Utc> {
        self.not_on_or_after
    }
    pub fn session_not_on_or_after(&self) -> Option<DateTime<Utc>> {
        self.session_not_on_or_after
    }
    /// The values of an attribute, by exact name.
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
    pub fn attributes(&self) -> &[(String, Vec<String>)] {
        &self.attributes
    }
}

/// SHA-2 RSA and ECDSA, and RSA-SHA1 only where the IdP is allowed it.
/// Never HMAC, DSA or MD5.
fn allowed_algorithms(idp: &TrustedIdp) -> Vec<AllowedSignatureAlgorithm> {
    use AllowedSignatureAlgorithm::*;
    let mut allowed = vec![RsaSha256, RsaSha384, RsaSha512, EcdsaSha256, EcdsaSha384, EcdsaSha512];
    if idp.allows_sha1 {
        allowed.push(RsaSha1);
    }
    allowed
}

/// Whether a response names a SHA-1 algorithm, so that the opt-in is looked
/// up only then. Spelled any other way (character references), the name is
/// missed and the response is held to SHA-2: it fails closed.
pub fn names_sha1(xml: &str) -> bool {
    xml.contains("xmldsig#rsa-sha1") || xml.contains("xmldsig#sha1")
}

/// Validates a SAML Response (XML text) for `sp` from `idp`, at `now`.
pub fn verify_response(
    xml: &str,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    let Shape { signatures, response_signed, sp_name_qualifiers } =
        strict::check(xml, sp.max_bytes, idp.allows_sha1)?;
    if sp_name_qualifiers.iter().any(|q| !sp.audiences.contains(q)) {
        return Err(SamlError::Audience);
    }
    if signatures == 0 {
        return Err(SamlError::Unsigned);
    }
    if idp.signing_certificates.is_empty() {
        return Err(SamlError::Signature);
    }
    let certs: Vec<CertificateDer> =
        idp.signing_certificates.iter().cloned().map(CertificateDer::from).collect();
    let algorithms = allowed_algorithms(idp);
    // With one signature, read exactly the bytes xmlsec digested (PreDigest):
    // the strictest reduction, and several times cheaper than rebuilding the
    // verified tree. A Response signed twice (Response and Assertion) needs the
    // tree reduction.
    let mode = if signatures == 1 { ReduceMode::PreDigest } else { ReduceMode::ValidateAndMarkNoAncestors };
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(xml, &certs, mode, Some(&algorithms))
        .map_err(|_| SamlError::Signature)?;

    // Only what the signature covered is read from here on.
    let assertion = if response_signed {
        let response = reduced
            .parse::<Response>()
            .map_err(|_| SamlError::Malformed("signed Response is not readable"))?;
        check_envelope(&response, idp, sp, true)?;
        let answered = response.in_response_to.clone();
        (response.assertion.ok_or(SamlError::AssertionCount)?, answered)
    } else {
        // The Assertion alone is signed: the reduced document is the Assertion,
        // or a bare Response shell around it.
        let assertion = match reduced.parse::<Assertion>() {
            Ok(a) => a,
            Err(_) => {
                reduced.parse::<Response>().ok().and_then(|r| r.assertion).ok_or(SamlError::Signature)?
            }
        };
        // The unsigned envelope is still held to the same rules: stricter, never looser.
        let envelope = xml.parse::<Response>().map_err(|_| SamlError::Malformed("unreadable Response"))?;
        check_envelope(&envelope, idp, sp, false)?;
        (assertion, envelope.in_response_to)
    };
    let (assertion, answered) = assertion;
    let verified = check_assertion(assertion, idp, sp, now)?;
    // The Response and its confirmation must not answer different requests.
    if answered.is_some() && answered != verified.in_response_to {
        return Err(SamlError::InResponseTo);
    }
    Ok(verified)
}

fn check_envelope(
    r: &Response,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    signed: bool,
) -> Result<(), SamlError> {
    if r.version != "2.0" {
        return Err(SamlError::Malformed("version other than 2.0"));
    }
    let status = r.status.as_ref().and_then(|s| s.status_code.value.as_deref());
    if status != Some(SUCCESS) {
        return Err(SamlError::Status);
    }
    match &r.destination {
        Some(d) if sp.recipients.iter().any(|ok| ok == d) => {}
        None if !signed => {}
        _ => return Err(SamlError::Destination),
    }
    if let Some(issuer) = &r.issuer {
        check_issuer(issuer, idp)?;
    }
    Ok(())
}

fn check_issuer(issuer: &samael::schema::Issuer, idp: &TrustedIdp) -> Result<(), SamlError> {
    let format_ok = issuer.format.as_deref().is_none_or(|f| f == ENTITY_FORMAT);
    if issuer.value.as_deref() != Some(idp.entity_id.as_str()) || !format_ok {
        return Err(SamlError::Issuer);
    }
    Ok(())
}

fn check_assertion(
    a: Assertion,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    let skew = sp.clock_skew;
    if a.version != "2.0" {
        return Err(SamlError::Malformed("version other than 2.0"));
    }
    check_issuer(&a.issuer, idp)?;
    if a.issue_instant > now + skew
        || a.issue_instant + Duration::seconds(MAX_ASSERTION_AGE_SECONDS) + skew < now
    {
        return Err(SamlError::Expired);
    }
    let subject = a.subject.ok_or(SamlError::NoNameId)?;
    let name_id = subject.name_id.filter(|n| !n.value.trim().is_empty()).ok_or(SamlError::NoNameId)?;
    // One bearer confirmation for us must be fully valid.
    let mut confirmed: Option<(String, DateTime<Utc>, Option<String>)> = None;
    let mut failure = SamlError::Recipient;
    for c in subject.subject_confirmations.unwrap_or_default() {
        if c.method.as_deref() != Some(BEARER) {
            continue;
        }
        let Some(data) = c.subject_confirmation_data else { continue };
        let (Some(recipient), Some(until)) = (data.recipient, data.not_on_or_after) else { continue };
        if !sp.recipients.contains(&recipient) {
            continue;
        }
        if now >= until + skew {
            failure = SamlError::Expired;
        } else if data.not_before.is_some_and(|nb| now + skew < nb) {
            failure = SamlError::NotYetValid;
        } else {
            confirmed = Some((recipient, until, data.in_response_to));
            break;
        }
    }
    let (recipient, confirmation_until, in_response_to) = confirmed.ok_or(failure)?;
    let conditions = a.conditions.ok_or(SamlError::Audience)?;
    if conditions.not_before.is_some_and(|nb| now + skew < nb) {
        return Err(SamlError::NotYetValid);
    }
    let conditions_until = conditions.not_on_or_after.ok_or(SamlError::Expired)?;
    if now >= conditions_until + skew {
        return Err(SamlError::Expired);
    }
    let restrictions = conditions.audience_restrictions.unwrap_or_default();
    let for_us =
        |r: &samael::schema::AudienceRestriction| r.audience.iter().any(|au| sp.audiences.contains(au));
    if restrictions.is_empty() || !restrictions.iter().all(for_us) {
        return Err(SamlError::Audience);
    }
    let authn = a.authn_statements.unwrap_or_default();
    if authn.len() > 1 {
        return Err(SamlError::Malformed("more than one AuthnStatement"));
    }
    let session_not_on_or_after = authn.first().and_then(|s| s.session_not_on_or_after);
    if session_not_on_or_after.is_some_and(|t| t <= now) {
        return Err(SamlError::Expired);
    }
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for statement in a.attribute_statements.unwrap_or_default() {
        for attr in statement.attributes {
            let Some(name) = attr.name else { continue };
            if attributes.iter().any(|(n, _)| *n == name) {
                return Err(SamlError::Malformed("duplicate attribute"));
            }
            let values = attr.values.into_iter().filter_map(|v| v.value).collect();
            attributes.push((name, values));
        }
    }
    Ok(VerifiedAssertion {
        issuer: idp.entity_id.clone(),
        assertion_id: a.id,
        name_id: name_id.value,
        name_id_format: name_id.format,
        recipient,
        in_response_to,
        not_on_or_after: conditions_until.min(confirmation_until),
        session_not_on_or_after,
        attributes,
    })
}
