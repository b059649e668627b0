//! Issuing a Response: RSA-SHA256 over a SHA-256 digest, addressed to one SP
//! and ACS, valid for five minutes.
//!
//! The document is written directly in its Exclusive XML Canonicalization
//! form (no whitespace, namespaces declared where exc-c14n renders them,
//! attributes in canonical order, c14n's escapes), so the bytes written are
//! the bytes digested: the digest and the SignedInfo signature are computed
//! here with the key loaded once, instead of re-parsing the document and
//! re-loading the key for every assertion. Every value passes `text` or
//! `attr`, which drop characters XML cannot carry and escape the rest: a
//! directory value can never add markup to a signed assertion. idbroker's own
//! SP verifies these responses with xmlsec in every sign-in test.
use super::{IdentityProvider, IdpError, SamlStatus, SpEncryption};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
const LIFETIME_SECONDS: i64 = 300;
pub(super) const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(super) const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Who the assertion is about and what it grants.
pub struct Subject<'a> {
    /// The directory's canonical user name (the session name, and the
    /// persistent NameID).
    pub name_id: &'a str,
    /// The NameID as issued, in `name_id_format`.
    pub issued_name_id: &'a str,
    pub name_id_format: &'a str,
    /// The AuthnContextClassRef: how the user signed in.
    pub authn_class: &'a str,
    /// The AuthnStatement's SessionIndex, which Single Logout names.
    pub session_index: &'a str,
    /// `role-arn,provider-arn` pairs.
    pub roles: &'a [String],
    pub tags: &'a [(String, String)],
}

fn legal(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// A value in canonical form, illegal characters dropped. c14n escapes `&`,
/// `<` and CR everywhere; `>` in text; `"`, TAB and LF in attribute values.
fn canonical(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| legal(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\r' => out.push_str("&#xD;"),
            '>' if !in_attribute => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\t' if in_attribute => out.push_str("&#x9;"),
            '\n' if in_attribute => out.push_str("&#xA;"),
            c => out.push(c),
        }
    }
    out
}

/// Element text in canonical form.
pub(super) fn text(s: &str) -> String {
    canonical(s, false)
}

/// An attribute value in canonical form.
pub(super) fn attr(s: &str) -> String {
    canonical(s, true)
}

/// AWS's RoleSessionName alphabet; anything else becomes `_`.
fn session_name(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if crate::domain::is_name_char(c) { c } else { '_' }).take(64).collect();
    while s.len() < 2 {
        s.push('_');
    }
    s
}

pub(super) fn instant(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn attribute(out: &mut String, name: &str, values: &[String]) {
    out.push_str(&format!(
        r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">"#,
        attr(&format!("{ATTR}{name}"))
    ));
    for v in values {
        out.push_str(&format!("<saml:AttributeValue>{}</saml:AttributeValue>", text(v)));
    }
    out.push_str("</saml:Attribute>");
}

/// Where an issued Response goes, and how its Assertion is protected.
#[derive(Clone, Copy)]
pub struct Addressee<'a> {
    /// The SP's entity id (the Audience).
    pub audience: &'a str,
    pub acs_url: &'a str,
    pub in_response_to: Option<&'a str>,
    /// The Assertion carries a signature of its own too (for SPs that want it).
    pub sign_assertion: bool,
    /// The Assertion is signed, then encrypted to the SP.
    pub encrypt_to: Option<&'a SpEncryption>,
}

impl IdentityProvider {
    /// A signed Response for `subject`, for the SP `to`; returns the XML text.
    pub fn issue(
        &self,
        subject: &Subject<'_>,
        to: &Addressee<'_>,
        now: DateTime<Utc>,
    ) -> Result<String, IdpError> {
        let Addressee { audience, acs_url, in_response_to, sign_assertion, encrypt_to } = *to;
        let (issued, until) = (instant(now), instant(now + Duration::seconds(LIFETIME_SECONDS)));
        let assertion_id = format!("_a{}", crate::crypto::random_token(20));
        let answers = in_response_to.map(|id| format!(r#" InResponseTo="{}""#, attr(id))).unwrap_or_default();
        let issuer = text(&self.entity_id);

        let mut assertion = format!(
            r#"<saml:Assertion xmlns:saml="{SAML}" ID="{assertion_id}" IssueInstant="{issued}" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer>"#
        );
        let issuer_end = assertion.len();
        assertion += &format!(
            concat!(
                r#"<saml:Subject>"#,
                r#"<saml:NameID Format="{format}">{name}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
                r#"<saml:SubjectConfirmationData{answers} NotOnOrAfter="{until}" Recipient="{acs}"></saml:SubjectConfirmationData>"#,
                r#"</saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction>"#,
                r#"<saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{id}"><saml:AuthnContext>"#,
                r#"<saml:AuthnContextClassRef>{class}</saml:AuthnContextClassRef>"#,
                r#"</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>"#
            ),
            id = attr(subject.session_index),
            issued = issued,
            name = text(subject.issued_name_id),
            format = attr(subject.name_id_format),
            class = text(subject.authn_class),
            answers = answers,
            until = until,
            acs = attr(acs_url),
            audience = text(audience),
        );
        attribute(&mut assertion, "Role", subject.roles);
        attribute(&mut assertion, "RoleSessionName", &[session_name(subject.name_id)]);
        attribute(&mut assertion, "SessionDuration", &[self.session_duration.to_string()]);
        for (key, value) in subject.tags {
            attribute(&mut assertion, &format!("PrincipalTag:{key}"), std::slice::from_ref(value));
        }
        assertion.push_str("</saml:AttributeStatement></saml:Assertion>");
        // An encrypted Assertion is signed itself too: an SP reads it after
        // decryption, apart from the Response around it.
        if sign_assertion || encrypt_to.is_some() {
            // The Assertion is canonical on its own (it declares its prefix);
            // its Signature goes right after its Issuer, as the schema wants.
            let signature = self.enveloped_signature(&assertion_id, &assertion)?;
            assertion.insert_str(issuer_end, &signature);
        }
        if let Some(sp) = encrypt_to {
            let (key, cipher) = sp
                .parts()
                .ok_or_else(|| IdpError::Signing("the SP's encryption certificate is unusable".into()))?;
            assertion = crate::saml::encrypt_assertion(assertion.as_bytes(), &key, cipher)
                .map_err(|e| IdpError::Signing(e.to_string()))?;
        }

        let status =
            r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode>"#;
        self.signed_response(acs_url, in_response_to, status, &assertion, now)
    }

    /// A signed Response without an assertion, answering the SP's request at
    /// `acs_url` with a non-success `status`.
    pub fn refuse(
        &self,
        acs_url: &str,
        in_response_to: Option<&str>,
        status: SamlStatus,
        now: DateTime<Utc>,
    ) -> Result<String, IdpError> {
        let (top, second) = status.codes();
        let status = format!(
            r#"<samlp:StatusCode Value="{top}"><samlp:StatusCode Value="{second}"></samlp:StatusCode></samlp:StatusCode><samlp:StatusMessage>{}</samlp:StatusMessage>"#,
            text(status.message())
        );
        self.signed_response(acs_url, in_response_to, &status, "", now)
    }

    /// The Response around `status` and `assertion` (canonical text), signed.
    fn signed_response(
        &self,
        acs_url: &str,
        in_response_to: Option<&str>,
        status: &str,
        assertion: &str,
        now: DateTime<Utc>,
    ) -> Result<String, IdpError> {
        let response_id = format!("_r{}", crate::crypto::random_token(20));
        let answers = in_response_to.map(|id| format!(r#" InResponseTo="{}""#, attr(id))).unwrap_or_default();
        let open = format!(
            r#"<samlp:Response xmlns:samlp="{SAMLP}" Destination="{}" ID="{response_id}"{answers} IssueInstant="{}" Version="2.0">"#,
            attr(acs_url),
            instant(now)
        );
        let head = format!(r#"<saml:Issuer xmlns:saml="{SAML}">{}</saml:Issuer>"#, text(&self.entity_id));
        let tail = format!(r#"<samlp:Status>{status}</samlp:Status>{assertion}</samlp:Response>"#);
        let signature = self.enveloped_signature(&response_id, &format!("{open}{head}{tail}"))?;
        Ok(format!("{open}{head}{signature}{tail}"))
    }

    /// The `ds:Signature` for the element `id` whose canonical form, without
    /// this signature, is `canonical`: the enveloped-signature transform
    /// removes the Signature, so the digest covers exactly that text.
    pub(super) fn enveloped_signature(&self, id: &str, canonical: &str) -> Result<String, IdpError> {
        let digest = crate::crypto::sha256(canonical.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD;
        let signed_info = format!(
            concat!(
                r#"<ds:SignedInfo{ns}><ds:CanonicalizationMethod Algorithm="{c14n}"></ds:CanonicalizationMethod>"#,
                r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod>"#,
                r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
                r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform>"#,
                r#"<ds:Transform Algorithm="{c14n}"></ds:Transform></ds:Transforms>"#,
                r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>"#,
                r#"<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"#
            ),
            ns = "{ns}",
            c14n = EXC_C14N,
            id = id,
            digest = b64.encode(digest),
        );
        // Canonicalised on its own, SignedInfo carries the ds namespace itself.
        let canonical_signed_info = signed_info.replace("{ns}", &format!(r#" xmlns:ds="{DS}""#));
        let keys = self.keys();
        let signature = keys.active.sign_sha256(canonical_signed_info.as_bytes())?;
        Ok(format!(
            r#"<ds:Signature xmlns:ds="{DS}">{}<ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
            signed_info.replace("{ns}", ""),
            b64.encode(signature),
            b64.encode(&keys.active_certificate),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_keep_to_aws_alphabet() {
        assert_eq!(session_name("alice"), "alice");
        assert_eq!(session_name("Érin Zoë"), "_rin_Zo_");
        assert_eq!(session_name("a"), "a_");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn values_are_escaped_the_canonical_way_and_illegal_characters_dropped() {
        assert_eq!(text("a\u{1}b\u{FFFF}c\td"), "abc\td");
        assert_eq!(text("</x>&\r\""), "&lt;/x&gt;&amp;&#xD;\"");
        assert_eq!(attr("a\u{1}\"<>\t\n"), "a&quot;&lt;>&#x9;&#xA;");
    }

    #[test]
    fn issued_responses_and_assertions_verify_with_the_published_certificate() {
        let key = crate::crypto::SigningKey::generate("test").unwrap();
        let idp = IdentityProvider::new(
            &crate::domain::PublicUrl::parse("https://idb.test").unwrap(),
            std::sync::Arc::new(crate::crypto::Shared::new(crate::idp::IdpKeys::new(key, &[]).unwrap())),
            vec![],
            3600,
        );
        let roles =
            ["arn:aws:iam::111122223333:role/Dev,arn:aws:iam::111122223333:saml-provider/idbroker"
                .to_owned()];
        let tags = [("title".to_owned(), "</saml:AttributeValue>&\"".to_owned())];
        let subject = Subject {
            name_id: "bob<&>",
            issued_name_id: "bob<&>",
            name_id_format: crate::idp::NameIdFormat::Persistent.uri(),
            authn_class: crate::idp::options::PASSWORD_PROTECTED_TRANSPORT,
            session_index: "_s1",
            roles: &roles,
            tags: &tags,
        };
        let now = chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap();
        let issue_to = |sign_assertion, encrypt_to: Option<&SpEncryption>| {
            let to = Addressee {
                audience: "https://idb.test/saml/metadata",
                acs_url: "https://idb.test/saml/acs",
                in_response_to: Some("_q\"1"),
                sign_assertion,
                encrypt_to,
            };
            idp.issue(&subject, &to, now).unwrap()
        };
        let issue = |sign_assertion| issue_to(sign_assertion, None);
        let trusted = crate::saml::TrustedIdp {
            entity_id: idp.entity_id.clone(),
            signing_keys: vec![crate::saml::signing_key(&idp.keys().active_certificate).unwrap()],
            allows_sha1: false,
            decryption: Default::default(),
        };
        let sp = crate::saml::ServiceEndpoint {
            audiences: vec!["https://idb.test/saml/metadata".into()],
            recipients: vec!["https://idb.test/saml/acs".into()],
            max_bytes: 100_000,
            clock_skew: Duration::seconds(60),
        };
        let xml = issue(false);
        assert_eq!(xml.matches("<ds:Signature ").count(), 1);
        let verified = crate::saml::verify_response(&xml, &trusted, &sp, now).unwrap();
        assert_eq!(verified.name_id(), "bob<&>");
        assert_eq!(verified.in_response_to(), Some("_q\"1"));
        assert_eq!(
            verified.attribute(&format!("{ATTR}PrincipalTag:title")).unwrap(),
            ["</saml:AttributeValue>&\""]
        );
        // One byte changed anywhere signed, and it no longer verifies.
        let forged = xml.replace("bob&lt;&amp;&gt;", "admin");
        assert!(crate::saml::verify_response(&forged, &trusted, &sp, now).is_err());

        // Signed twice: both signatures verify, and the Assertion's holds on
        // its own once the Response's is taken away.
        let both = issue(true);
        assert_eq!(both.matches("<ds:Signature ").count(), 2);
        assert_eq!(crate::saml::verify_response(&both, &trusted, &sp, now).unwrap().name_id(), "bob<&>");
        let (start, end) = (both.find("<ds:Signature ").unwrap(), both.find("</ds:Signature>").unwrap());
        let assertion_only = format!("{}{}", &both[..start], &both[end + "</ds:Signature>".len()..]);
        assert_eq!(assertion_only.matches("<ds:Signature ").count(), 1);
        let verified = crate::saml::verify_response(&assertion_only, &trusted, &sp, now).unwrap();
        assert_eq!(verified.name_id(), "bob<&>");
        let forged = assertion_only.replace("bob&lt;&amp;&gt;", "admin");
        assert!(crate::saml::verify_response(&forged, &trusted, &sp, now).is_err());

        // Encrypted to an SP (GCM by default, CBC for one that lists only
        // it): no claim in clear, and the SP's key opens a signed Assertion.
        let cert =
            openssl::x509::X509::from_pem(include_bytes!("../../tests/keys/encryption/sp-a.crt")).unwrap();
        let key = crate::saml::decryption_key(include_str!("../../tests/keys/encryption/sp-a.key")).unwrap();
        let decrypting = crate::saml::TrustedIdp {
            decryption: crate::saml::Decryption { keys: vec![key], required: true },
            ..trusted
        };
        for (listed, method) in [
            (vec![], "xmlenc11#aes256-gcm"),
            (vec!["http://www.w3.org/2001/04/xmlenc#aes128-cbc"], "xmlenc#aes128-cbc"),
        ] {
            let encryption = SpEncryption::new(&cert.to_der().unwrap(), &listed).unwrap();
            let sealed = issue_to(false, Some(&encryption));
            assert!(
                sealed.contains(method) && !sealed.contains("bob&lt;") && !sealed.contains("<saml:Assertion")
            );
            let verified = crate::saml::verify_response(&sealed, &decrypting, &sp, now).unwrap();
            assert_eq!(verified.name_id(), "bob<&>");
        }
        // Only an RSA certificate can be encrypted to.
        let (ec_key, _) = (
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
            )
            .unwrap(),
            (),
        );
        let ec_key = openssl::pkey::PKey::from_ec_key(ec_key).unwrap();
        let mut builder = openssl::x509::X509::builder().unwrap();
        builder.set_pubkey(&ec_key).unwrap();
        builder.sign(&ec_key, openssl::hash::MessageDigest::sha256()).unwrap();
        assert!(SpEncryption::new(&builder.build().to_der().unwrap(), &[]).is_err());
    }
}
