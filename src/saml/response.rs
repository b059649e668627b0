//! Validation of a SAML Response from a trusted identity provider, producing a
//! `VerifiedAssertion`: the only way to get one. The message is parsed once
//! (`xml`, strict, never recovering); each signature is verified over that
//! tree (`dsig`, keys from the provider's metadata only); the claims are then
//! read from the very elements the verified signature covers, and checked
//! with idbroker's clock.
use super::dsig::{self, DSIG_NS};
use super::xml::{self, Document, XML_SPACE};
use super::{element_children, structure, xmlenc, SamlError, MESSAGE_LIMITS};
use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private, Public};

pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SAML_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// An assertion issued longer ago than this is refused (besides its own expiry).
const MAX_ASSERTION_AGE_SECONDS: i64 = 600;

/// An identity provider idbroker trusts: from a registered SAML provider.
pub struct TrustedIdp {
    pub entity_id: String,
    /// The keys of the signing certificates in its metadata; never a key from a message.
    pub signing_keys: Vec<PKey<Public>>,
    /// RSA-SHA1 signatures with SHA-1 digests are accepted from this IdP (an
    /// explicit opt-in for IdPs that cannot do better; refused otherwise).
    pub allows_sha1: bool,
    /// How its assertions may come: in clear, encrypted to these keys, or both.
    pub decryption: Decryption,
}

/// A provider's assertion encryption (AWS's `AssertionEncryptionMode` and
/// its private keys).
#[derive(Default)]
pub struct Decryption {
    /// The keys that open its EncryptedAssertions (two during a rollover);
    /// none: an encrypted assertion is refused.
    pub keys: Vec<PKey<Private>>,
    /// Assertions in clear are refused (`Required`).
    pub required: bool,
}

/// Where idbroker expects to be named in a response.
#[derive(Clone)]
pub struct ServiceEndpoint {
    /// Accepted `Audience` values (our SP entity id, and AWS's if the provider opts in).
    pub audiences: Vec<String>,
    /// Accepted `Recipient` / `Destination` values (our ACS URL, ...).
    pub recipients: Vec<String>,
    pub max_bytes: usize,
    pub clock_skew: Duration,
}

/// A checked assertion. Its fields can only be set by `verify_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The parts of a Response, found by a walk that refuses anything out of place.
struct Layout {
    response: usize,
    response_signature: Option<usize>,
    assertion: Carried,
}

/// How the Response carries its one assertion.
#[derive(Clone, Copy)]
enum Carried {
    Plain(usize),
    Encrypted(usize),
}

/// Validates a SAML Response (XML text) for `sp` from `idp`, at `now`.
pub fn verify_response(
    xml: &str,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    if xml.len() > sp.max_bytes {
        return Err(SamlError::TooLarge);
    }
    let doc = xml::parse(xml, MESSAGE_LIMITS).map_err(SamlError::from)?;
    let layout = layout(&doc)?;
    // A Response signature must verify before anything it covers is read,
    // an encrypted assertion's ciphertext included.
    if let Some(signature) = layout.response_signature {
        dsig::verify(&doc, layout.response, signature, &idp.signing_keys, idp.allows_sha1)?;
    }
    let response_signed = layout.response_signature.is_some();
    let verified = match layout.assertion {
        Carried::Plain(_) if idp.decryption.required => return Err(SamlError::NotEncrypted),
        Carried::Plain(assertion) => checked_assertion(&doc, assertion, response_signed, idp, sp, now)?,
        Carried::Encrypted(encrypted) => {
            if idp.decryption.keys.is_empty() {
                return Err(SamlError::Encryption);
            }
            let opened = xmlenc::open(&doc, encrypted, &idp.decryption.keys)?;
            let text = in_context(&doc, encrypted, &opened.plaintext).ok_or(SamlError::Encryption);
            // Until a signature vouches for the plaintext (the Response's over
            // the ciphertext, or the Assertion's own), every failure is the same
            // one: a padding or parse error must not tell an attacker anything.
            let vouched = text.and_then(|text| {
                let inner = xml::parse(&text, MESSAGE_LIMITS)?;
                let assertion = decrypted_assertion(&inner)?;
                let signature = assertion_signature(&inner, assertion)?;
                if !opened.padding_ok || (signature.is_none() && !response_signed) {
                    return Err(SamlError::Encryption);
                }
                if let Some(signature) = signature {
                    dsig::verify(&inner, assertion, signature, &idp.signing_keys, idp.allows_sha1)?;
                }
                Ok(check_assertion(&inner, assertion, idp, sp, now))
            });
            match vouched {
                Ok(checked) => checked?,
                Err(e) if response_signed => return Err(e),
                Err(_) => return Err(SamlError::Encryption),
            }
        }
    };
    // From here on only verified elements are read, and the unsigned envelope
    // of an Assertion-signed Response is held to the same rules.
    let answered = check_envelope(&doc, layout.response, idp, sp, response_signed)?;
    // The Response and its confirmation must not answer different requests.
    if answered.is_some() && answered != verified.in_response_to {
        return Err(SamlError::InResponseTo);
    }
    Ok(verified)
}

/// A plain Assertion: its own signature (if any) verified, then its claims.
fn checked_assertion(
    doc: &Document,
    assertion: usize,
    response_signed: bool,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    let signature = assertion_signature(doc, assertion)?;
    match signature {
        Some(signature) => dsig::verify(doc, assertion, signature, &idp.signing_keys, idp.allows_sha1)?,
        None if !response_signed => return Err(SamlError::Unsigned),
        None => {}
    }
    check_assertion(doc, assertion, idp, sp, now)
}

/// The Assertion's own signature: a direct child, at most one.
fn assertion_signature(doc: &Document, assertion: usize) -> Result<Option<usize>, SamlError> {
    let mut found = None;
    for child in element_children(doc, assertion)? {
        if doc.is(child, DSIG_NS, "Signature") && found.replace(child).is_some() {
            return Err(structure("two signatures on the Assertion"));
        }
    }
    Ok(found)
}

/// The decrypted plaintext as a document of its own, in the namespaces in
/// scope where it was encrypted (an encrypter serialises the element alone,
/// so prefixes declared on the Response are not in it): a wrapper element
/// redeclares them. Exclusive c14n renders only the prefixes an element
/// uses, so the Assertion's canonical form is the one that was signed.
fn in_context(doc: &Document, encrypted: usize, plaintext: &[u8]) -> Option<String> {
    let plaintext = std::str::from_utf8(plaintext).ok()?;
    let plaintext = match plaintext.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>")? + 2..],
        None => plaintext,
    };
    let mut wrapper = String::from("<decrypted");
    let mut seen: Vec<&str> = Vec::new();
    let mut at = Some(encrypted);
    while let Some(e) = at {
        let element = doc.element(e);
        for (prefix, uri) in &element.declarations {
            if !seen.contains(prefix) {
                seen.push(prefix);
                let name = if prefix.is_empty() { "xmlns".to_owned() } else { format!("xmlns:{prefix}") };
                wrapper.push_str(&format!(" {name}=\"{}\"", escape_attribute(doc.uri(*uri))));
            }
        }
        at = element.parent;
    }
    wrapper.push('>');
    wrapper.push_str(plaintext);
    wrapper.push_str("</decrypted>");
    Some(wrapper)
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// The one Assertion a decrypted wrapper holds, placed as in a Response.
fn decrypted_assertion(doc: &Document) -> Result<usize, SamlError> {
    let [assertion] = element_children(doc, 0)?[..] else {
        return Err(structure("decrypted content is not one element"));
    };
    if !doc.is(assertion, SAML_ASSERTION_NS, "Assertion") {
        return Err(structure("decrypted content is not an Assertion"));
    }
    let signature = assertion_signature(doc, assertion)?;
    check_places(doc, assertion, &[signature])?;
    Ok(assertion)
}

/// Response: Issuer?, Signature?, Extensions?, Status, one Assertion or
/// EncryptedAssertion. A signature anywhere but directly in the Response or
/// the Assertion, or a second assertion anywhere, is refused.
fn layout(doc: &Document) -> Result<Layout, SamlError> {
    let response = 0;
    if !doc.is(response, SAML_PROTOCOL_NS, "Response") {
        return Err(structure("root is not a samlp:Response"));
    }
    let mut response_signature = None;
    let mut assertion = None;
    for child in element_children(doc, response)? {
        let e = doc.element(child);
        match (doc.uri(e.ns), e.local) {
            (SAML_ASSERTION_NS, "Issuer") | (SAML_PROTOCOL_NS, "Status" | "Extensions") => {}
            (DSIG_NS, "Signature") if response_signature.is_none() => response_signature = Some(child),
            (SAML_ASSERTION_NS, "Assertion") if assertion.is_none() => {
                assertion = Some(Carried::Plain(child))
            }
            (SAML_ASSERTION_NS, "EncryptedAssertion") if assertion.is_none() => {
                assertion = Some(Carried::Encrypted(child))
            }
            _ => return Err(structure("unexpected element in the Response")),
        }
    }
    let assertion = assertion.ok_or(structure("no assertion"))?;
    let (carrier, assertion_signature) = match assertion {
        Carried::Plain(a) => (a, assertion_signature(doc, a)?),
        Carried::Encrypted(e) => (e, None),
    };
    check_places(doc, carrier, &[response_signature, assertion_signature])?;
    Ok(Layout { response, response_signature, assertion })
}

/// IDs are unique, signatures sit only at `signatures`, and no element but
/// `assertion` is an assertion or encrypted SAML element.
fn check_places(doc: &Document, assertion: usize, signatures: &[Option<usize>]) -> Result<(), SamlError> {
    let mut ids: Vec<&str> = Vec::new();
    for (i, e) in doc.elements.iter().enumerate() {
        if let Some(id) = doc.attribute(i, "ID") {
            if !is_plain_id(id) || ids.contains(&id) {
                return Err(structure("ID not a unique ASCII NCName"));
            }
            ids.push(id);
        }
        let signature = doc.uri(e.ns) == DSIG_NS && e.local == "Signature";
        if signature && !signatures.contains(&Some(i)) {
            return Err(structure("signature in an unexpected place"));
        }
        let assertion_like =
            matches!(e.local, "Assertion" | "EncryptedAssertion" | "EncryptedAttribute" | "EncryptedID");
        if assertion_like && i != assertion {
            return Err(structure("assertion or encrypted element in an unexpected place"));
        }
    }
    Ok(())
}

/// IdPs use ASCII IDs (`_` and hex, `id` and a UUID); XML 1.0's wider name
/// alphabet (U+FEFF, say) is read differently by other parsers, so refused.
fn is_plain_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn text(doc: &Document, id: usize) -> Result<String, SamlError> {
    let t = doc.text(id).ok_or(structure("element where text was expected"))?;
    Ok(t.trim_matches(XML_SPACE).to_owned())
}

fn time(value: Option<&str>) -> Result<Option<DateTime<Utc>>, SamlError> {
    value
        .map(|v| DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| structure("time is not an xs:dateTime"))
}

fn check_issuer(doc: &Document, issuer: usize, idp: &TrustedIdp) -> Result<(), SamlError> {
    let format_ok = doc.attribute(issuer, "Format").is_none_or(|f| f == ENTITY_FORMAT);
    if text(doc, issuer)? != idp.entity_id || !format_ok {
        return Err(SamlError::Issuer);
    }
    Ok(())
}

/// The Response's own checks; returns its InResponseTo.
fn check_envelope(
    doc: &Document,
    response: usize,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    signed: bool,
) -> Result<Option<String>, SamlError> {
    if doc.attribute(response, "Version") != Some("2.0") {
        return Err(structure("version other than 2.0"));
    }
    let mut status = None;
    for child in doc.child_elements(response) {
        if doc.is(child, SAML_ASSERTION_NS, "Issuer") {
            check_issuer(doc, child, idp)?;
        } else if doc.is(child, SAML_PROTOCOL_NS, "Status") {
            let code = doc.child_elements(child).find(|c| doc.is(*c, SAML_PROTOCOL_NS, "StatusCode"));
            status = code.and_then(|c| doc.attribute(c, "Value"));
        }
    }
    if status != Some(SUCCESS) {
        return Err(SamlError::Status);
    }
    match doc.attribute(response, "Destination") {
        Some(d) if sp.recipients.iter().any(|ok| ok == d) => {}
        None if !signed => {}
        _ => return Err(SamlError::Destination),
    }
    Ok(doc.attribute(response, "InResponseTo").map(str::to_owned))
}

/// The Assertion's children, each in its allowed number.
#[derive(Default)]
struct AssertionParts {
    issuer: Option<usize>,
    subject: Option<usize>,
    conditions: Option<usize>,
    authn: Vec<usize>,
    attribute_statements: Vec<usize>,
}

fn assertion_parts(doc: &Document, assertion: usize) -> Result<AssertionParts, SamlError> {
    let mut parts = AssertionParts::default();
    for child in element_children(doc, assertion)? {
        let e = doc.element(child);
        let slot = match (doc.uri(e.ns), e.local) {
            (SAML_ASSERTION_NS, "Issuer") => &mut parts.issuer,
            (SAML_ASSERTION_NS, "Subject") => &mut parts.subject,
            (SAML_ASSERTION_NS, "Conditions") => &mut parts.conditions,
            (SAML_ASSERTION_NS, "AuthnStatement") => {
                parts.authn.push(child);
                continue;
            }
            (SAML_ASSERTION_NS, "AttributeStatement") => {
                parts.attribute_statements.push(child);
                continue;
            }
            (DSIG_NS, "Signature") | (SAML_ASSERTION_NS, "Advice" | "AuthzDecisionStatement") => continue,
            _ => return Err(structure("unexpected element in the Assertion")),
        };
        if slot.replace(child).is_some() {
            return Err(structure("repeated element in the Assertion"));
        }
    }
    Ok(parts)
}

fn check_assertion(
    doc: &Document,
    assertion: usize,
    idp: &TrustedIdp,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    let skew = sp.clock_skew;
    if doc.attribute(assertion, "Version") != Some("2.0") {
        return Err(structure("version other than 2.0"));
    }
    let parts = assertion_parts(doc, assertion)?;
    check_issuer(doc, parts.issuer.ok_or(SamlError::Issuer)?, idp)?;
    let issued = time(doc.attribute(assertion, "IssueInstant"))?.ok_or(structure("no IssueInstant"))?;
    if issued > now + skew || issued + Duration::seconds(MAX_ASSERTION_AGE_SECONDS) + skew < now {
        return Err(SamlError::Expired);
    }

    let subject = parts.subject.ok_or(SamlError::Subject)?;
    let (name_id, name_id_format) = subject_name(doc, subject, sp)?;
    let (recipient, confirmation_until, in_response_to) = bearer_confirmation(doc, subject, sp, now)?;

    let conditions = parts.conditions.ok_or(SamlError::Audience)?;
    if time(doc.attribute(conditions, "NotBefore"))?.is_some_and(|nb| now + skew < nb) {
        return Err(SamlError::NotYetValid);
    }
    let conditions_until = time(doc.attribute(conditions, "NotOnOrAfter"))?.ok_or(SamlError::Expired)?;
    if now >= conditions_until + skew {
        return Err(SamlError::Expired);
    }
    check_audiences(doc, conditions, sp)?;

    let [authn] = parts.authn[..] else { return Err(SamlError::AuthnStatement) };
    let session_not_on_or_after = time(doc.attribute(authn, "SessionNotOnOrAfter"))?;
    if session_not_on_or_after.is_some_and(|t| t <= now) {
        return Err(SamlError::Expired);
    }
    let attributes = attributes(doc, &parts.attribute_statements)?;
    Ok(VerifiedAssertion {
        issuer: idp.entity_id.clone(),
        assertion_id: doc.attribute(assertion, "ID").ok_or(structure("Assertion without an ID"))?.to_owned(),
        name_id,
        name_id_format,
        recipient,
        in_response_to,
        not_on_or_after: conditions_until.min(confirmation_until),
        session_not_on_or_after,
        attributes,
    })
}

/// The Subject's NameID (value, Format). An SPNameQualifier must name us.
fn subject_name(
    doc: &Document,
    subject: usize,
    sp: &ServiceEndpoint,
) -> Result<(String, Option<String>), SamlError> {
    let mut found = None;
    for child in element_children(doc, subject)? {
        if doc.is(child, SAML_ASSERTION_NS, "NameID") && found.is_none() {
            found = Some(child);
        } else if !doc.is(child, SAML_ASSERTION_NS, "SubjectConfirmation") {
            return Err(SamlError::Subject);
        }
    }
    let name_id = found.ok_or(SamlError::Subject)?;
    if doc.attribute(name_id, "SPNameQualifier").is_some_and(|q| !sp.audiences.iter().any(|a| a == q)) {
        return Err(SamlError::Audience);
    }
    let value = text(doc, name_id)?;
    if value.is_empty() {
        return Err(SamlError::Subject);
    }
    Ok((value, doc.attribute(name_id, "Format").map(str::to_owned)))
}

/// One bearer confirmation for us that is valid now: (Recipient, NotOnOrAfter, InResponseTo).
fn bearer_confirmation(
    doc: &Document,
    subject: usize,
    sp: &ServiceEndpoint,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>, Option<String>), SamlError> {
    let mut failure = SamlError::Recipient;
    for c in doc.child_elements(subject) {
        if !doc.is(c, SAML_ASSERTION_NS, "SubjectConfirmation") || doc.attribute(c, "Method") != Some(BEARER)
        {
            continue;
        }
        let Some(data) =
            doc.child_elements(c).find(|d| doc.is(*d, SAML_ASSERTION_NS, "SubjectConfirmationData"))
        else {
            continue;
        };
        let recipient = doc.attribute(data, "Recipient");
        let Some(recipient) = recipient.filter(|r| sp.recipients.iter().any(|ok| ok == r)) else { continue };
        let Some(until) = time(doc.attribute(data, "NotOnOrAfter"))? else { continue };
        if now >= until + sp.clock_skew {
            failure = SamlError::Expired;
        } else if time(doc.attribute(data, "NotBefore"))?.is_some_and(|nb| now + sp.clock_skew < nb) {
            failure = SamlError::NotYetValid;
        } else {
            return Ok((recipient.to_owned(), until, doc.attribute(data, "InResponseTo").map(str::to_owned)));
        }
    }
    Err(failure)
}

/// Every AudienceRestriction names us; a condition idbroker does not know
/// makes the assertion indeterminate, so it is refused.
fn check_audiences(doc: &Document, conditions: usize, sp: &ServiceEndpoint) -> Result<(), SamlError> {
    let mut restricted = false;
    for c in element_children(doc, conditions)? {
        let e = doc.element(c);
        match (doc.uri(e.ns), e.local) {
            (SAML_ASSERTION_NS, "AudienceRestriction") => {
                restricted = true;
                let mut audiences = doc.child_elements(c);
                if !audiences.any(|a| {
                    doc.is(a, SAML_ASSERTION_NS, "Audience")
                        && text(doc, a).is_ok_and(|t| sp.audiences.contains(&t))
                }) {
                    return Err(SamlError::Audience);
                }
            }
            (SAML_ASSERTION_NS, "OneTimeUse" | "ProxyRestriction") => {}
            _ => return Err(SamlError::Audience),
        }
    }
    if !restricted {
        return Err(SamlError::Audience);
    }
    Ok(())
}

/// Attributes of all AttributeStatements; a name twice is refused.
fn attributes(doc: &Document, statements: &[usize]) -> Result<Vec<(String, Vec<String>)>, SamlError> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for &statement in statements {
        for a in element_children(doc, statement)? {
            if !doc.is(a, SAML_ASSERTION_NS, "Attribute") {
                return Err(structure("unexpected element in an AttributeStatement"));
            }
            let name = doc.attribute(a, "Name").ok_or(structure("Attribute without a Name"))?;
            if out.iter().any(|(n, _)| n == name) {
                return Err(structure("duplicate attribute"));
            }
            let mut values = Vec::new();
            for v in element_children(doc, a)? {
                if !doc.is(v, SAML_ASSERTION_NS, "AttributeValue") {
                    return Err(structure("unexpected element in an Attribute"));
                }
                // A structured value (an element) is not a string: left out.
                if let Ok(value) = text(doc, v) {
                    values.push(value);
                }
            }
            out.push((name.to_owned(), values));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod encrypted;
#[cfg(test)]
mod tests;
