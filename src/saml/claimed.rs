//! What a Response says about itself, read without trusting it: for the
//! assertion debugger's explanations only ("the IdP signs with a certificate
//! that is not in the metadata"), never for a decision. Read by the same
//! strict parser as the verification; a message it refuses says nothing.
use super::xml::XML_SPACE;
use base64::Engine;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClaimedFacts {
    pub issuer: Option<String>,
    pub destination: Option<String>,
    pub status: Option<String>,
    pub issue_instant: Option<String>,
    pub not_before: Option<String>,
    /// The Conditions' NotOnOrAfter.
    pub not_on_or_after: Option<String>,
    pub audiences: Vec<String>,
    pub recipients: Vec<String>,
    pub signature_methods: Vec<String>,
    /// DER of each certificate a signature's KeyInfo carries.
    pub signing_certificates: Vec<Vec<u8>>,
    pub encrypted: bool,
}

pub fn claimed_facts(xml: &str) -> ClaimedFacts {
    let mut out = ClaimedFacts::default();
    let Ok(doc) = super::xml::parse(xml, super::MESSAGE_LIMITS) else { return out };
    let text = |e: usize| doc.text(e).map(|t| t.trim_matches(XML_SPACE).to_owned()).filter(|t| !t.is_empty());
    let mut inside_signature = vec![false; doc.elements.len()];
    for (e, element) in doc.elements.iter().enumerate() {
        let parent_signed = element.parent.is_some_and(|p| inside_signature[p]);
        inside_signature[e] = parent_signed || element.local == "Signature";
        match element.local {
            "Response" if e == 0 => {
                out.destination = doc.attribute(e, "Destination").map(str::to_owned);
            }
            "Issuer" if out.issuer.is_none() => out.issuer = text(e),
            "StatusCode" if out.status.is_none() => out.status = doc.attribute(e, "Value").map(str::to_owned),
            "Assertion" => out.issue_instant = doc.attribute(e, "IssueInstant").map(str::to_owned),
            "Conditions" => {
                out.not_before = doc.attribute(e, "NotBefore").map(str::to_owned);
                out.not_on_or_after = doc.attribute(e, "NotOnOrAfter").map(str::to_owned);
            }
            "Audience" => out.audiences.extend(text(e)),
            "SubjectConfirmationData" => {
                out.recipients.extend(doc.attribute(e, "Recipient").map(str::to_owned))
            }
            "SignatureMethod" => {
                out.signature_methods.extend(doc.attribute(e, "Algorithm").map(str::to_owned))
            }
            "X509Certificate" if parent_signed => {
                let compact: Option<String> =
                    text(e).map(|t| t.chars().filter(|c| !XML_SPACE.contains(c)).collect());
                if let Some(der) =
                    compact.and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
                {
                    out.signing_certificates.push(der);
                }
            }
            "EncryptedAssertion" => out.encrypted = true,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_response_claims_without_trusting_it() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Destination="https://idb/saml/acs"><saml:Issuer>idp</saml:Issuer><ds:Signature><ds:SignedInfo><ds:SignatureMethod Algorithm="rsa-sha1"/></ds:SignedInfo><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AQID</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/></samlp:Status><saml:Assertion IssueInstant="2026-01-01T00:00:00Z"><saml:Subject><saml:SubjectConfirmation><saml:SubjectConfirmationData Recipient="https://sp/acs"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="a" NotOnOrAfter="b"><saml:AudienceRestriction><saml:Audience>https://sp</saml:Audience></saml:AudienceRestriction></saml:Conditions></saml:Assertion></samlp:Response>"#;
        let f = claimed_facts(xml);
        assert_eq!(f.issuer.as_deref(), Some("idp"));
        assert_eq!(f.destination.as_deref(), Some("https://idb/saml/acs"));
        assert_eq!(f.status.as_deref(), Some("urn:oasis:names:tc:SAML:2.0:status:Requester"));
        assert_eq!((f.not_before.as_deref(), f.not_on_or_after.as_deref()), (Some("a"), Some("b")));
        assert_eq!(
            (f.audiences, f.recipients),
            (vec!["https://sp".to_owned()], vec!["https://sp/acs".to_owned()])
        );
        assert_eq!(
            (f.signature_methods, f.signing_certificates),
            (vec!["rsa-sha1".to_owned()], vec![vec![1, 2, 3]])
        );
        assert_eq!(claimed_facts("<not-closed>"), ClaimedFacts::default());
    }
}
