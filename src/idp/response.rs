//! Issuing a Response: built as samael's schema types, signed with RSA-SHA256
//! and a SHA-256 digest, addressed to exactly one SP and ACS, valid for five
//! minutes. samael writes element text as already escaped (XML attributes it
//! does escape), so every text value goes through `xml_text` first: a
//! directory value can never add markup to a signed assertion.
use super::{IdentityProvider, IdpError};
use chrono::{DateTime, Duration, Utc};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef, AuthnStatement,
    Conditions, Issuer, Response, Status, StatusCode, Subject as SamlSubject, SubjectConfirmation,
    SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;

const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
const LIFETIME_SECONDS: i64 = 300;

/// Who the assertion is about and what it grants.
pub struct Subject<'a> {
    /// The directory's canonical user name.
    pub name_id: &'a str,
    /// `role-arn,provider-arn` pairs.
    pub roles: &'a [String],
    pub tags: &'a [(String, String)],
}

/// Element text for samael: characters XML 1.0 cannot carry (control
/// characters, U+FFFE/U+FFFF) dropped, markup characters escaped.
fn xml_text(s: &str) -> String {
    super::xml_escape(&xml_attribute(s))
}

/// An XML attribute value (quick-xml escapes these itself): only illegal characters dropped.
fn xml_attribute(s: &str) -> String {
    s.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}'))
        .collect()
}

/// AWS's RoleSessionName alphabet; anything else becomes `_`.
fn session_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) { c } else { '_' })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('_');
    }
    s
}

fn attribute(name: &str, values: impl IntoIterator<Item = String>) -> Attribute {
    Attribute {
        friendly_name: None,
        name: Some(xml_attribute(&format!("{ATTR}{name}"))),
        name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:uri".into()),
        values: values
            .into_iter()
            .map(|v| AttributeValue { attribute_type: Some("xs:string".into()), value: Some(xml_text(&v)) })
            .collect(),
    }
}

impl IdentityProvider {
    /// A signed Response for `subject`, for the SP `audience` at `acs_url`;
    /// returns the XML text.
    pub fn issue(
        &self,
        subject: &Subject<'_>,
        audience: &str,
        acs_url: &str,
        in_response_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, IdpError> {
        let until = now + Duration::seconds(LIFETIME_SECONDS);
        let issuer = Issuer { value: Some(xml_text(&self.entity_id)), ..Default::default() };
        let response_id = format!("_r{}", crate::crypto::random_token(20));
        let assertion_id = format!("_a{}", crate::crypto::random_token(20));
        let mut attributes = vec![
            attribute("Role", subject.roles.iter().cloned()),
            attribute("RoleSessionName", [session_name(subject.name_id)]),
            attribute("SessionDuration", [self.session_duration.to_string()]),
        ];
        for (key, value) in subject.tags {
            attributes.push(attribute(&format!("PrincipalTag:{key}"), [value.clone()]));
        }
        let assertion = Assertion {
            id: assertion_id.clone(),
            issue_instant: now,
            version: "2.0".into(),
            issuer: issuer.clone(),
            signature: None,
            subject: Some(SamlSubject {
                name_id: Some(SubjectNameID {
                    format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()),
                    value: xml_text(subject.name_id),
                }),
                subject_confirmations: Some(vec![SubjectConfirmation {
                    method: Some("urn:oasis:names:tc:SAML:2.0:cm:bearer".into()),
                    name_id: None,
                    subject_confirmation_data: Some(SubjectConfirmationData {
                        not_before: None,
                        not_on_or_after: Some(until),
                        recipient: Some(acs_url.to_owned()),
                        in_response_to: in_response_to.map(xml_attribute),
                        address: None,
                        content: None,
                    }),
                }]),
            }),
            conditions: Some(Conditions {
                not_before: Some(now),
                not_on_or_after: Some(until),
                audience_restrictions: Some(vec![AudienceRestriction { audience: vec![xml_text(audience)] }]),
                one_time_use: None,
                proxy_restriction: None,
            }),
            authn_statements: Some(vec![AuthnStatement {
                authn_instant: Some(now),
                session_index: Some(assertion_id),
                session_not_on_or_after: None,
                subject_locality: None,
                authn_context: Some(AuthnContext {
                    value: Some(AuthnContextClassRef {
                        value: Some(
                            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
                        ),
                    }),
                }),
            }]),
            attribute_statements: Some(vec![AttributeStatement { attributes }]),
        };
        let mut signature = Signature::template(&response_id, &CertificateDer::from(self.cert_der.clone()));
        for reference in &mut signature.signed_info.reference {
            reference.digest_method.algorithm = DigestAlgorithm::Sha256;
        }
        let response = Response {
            id: response_id,
            in_response_to: in_response_to.map(xml_attribute),
            version: "2.0".into(),
            issue_instant: now,
            destination: Some(acs_url.to_owned()),
            consent: None,
            issuer: Some(issuer),
            signature: Some(signature),
            status: Some(Status {
                status_code: StatusCode { value: Some("urn:oasis:names:tc:SAML:2.0:status:Success".into()) },
                status_message: None,
                status_detail: None,
            }),
            encrypted_assertion: None,
            assertion: Some(assertion),
        };
        let xml = response.to_string().map_err(|e| IdpError::Signing(e.to_string()))?;
        Crypto::sign_xml(xml, &self.key_der).map_err(|e| IdpError::Signing(e.to_string()))
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
    fn illegal_xml_characters_are_dropped_and_markup_escaped() {
        assert_eq!(xml_text("a\u{1}b\u{FFFF}c\td"), "abc\td");
        assert_eq!(xml_text("</x>&"), "&lt;/x&gt;&amp;");
        assert_eq!(xml_attribute("a\u{1}\"b"), "a\"b");
    }
}
