//! idbroker as a SAML service provider: its metadata, the AuthnRequests it
//! sends by the HTTP-Redirect binding (signed, RSA-SHA256), and finding which
//! IdP a response claims to come from before it is verified.
use crate::crypto::{KeyError, SigningKey};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::write::DeflateEncoder;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::io::Write;

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// Everything but RFC 3986's unreserved characters: clients that normalise
/// URLs leave such an encoding as it is, so the signed octets survive.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Where idbroker's SP lives.
#[derive(Debug, Clone)]
pub struct ServiceProviderUrls {
    pub entity_id: String,
    pub acs_url: String,
}

impl ServiceProviderUrls {
    pub fn new(public_url: &crate::domain::PublicUrl) -> ServiceProviderUrls {
        ServiceProviderUrls { entity_id: public_url.sp_entity_id(), acs_url: public_url.acs() }
    }

    pub fn metadata(&self, signing_certificate_der: &[u8]) -> String {
        let cert = base64::engine::general_purpose::STANDARD.encode(signing_certificate_der);
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">"#,
                r#"<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>"#,
                r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
            ),
            entity = crate::query::xml_escape(&self.entity_id),
            cert = cert,
            acs = crate::query::xml_escape(&self.acs_url),
        )
    }

    /// A signed AuthnRequest to `sso_url` by the Redirect binding: the URL to
    /// send the browser to. `request_id` must be unique and unguessable.
    pub fn redirect_url(
        &self,
        key: &SigningKey,
        sso_url: &str,
        request_id: &str,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, KeyError> {
        let xml = format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" "#,
                r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{issuer}</saml:Issuer>"#,
                r#"<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#
            ),
            id = crate::query::xml_escape(request_id),
            instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
            dest = crate::query::xml_escape(sso_url),
            acs = crate::query::xml_escape(&self.acs_url),
            issuer = crate::query::xml_escape(&self.entity_id),
        );
        redirect_binding(key, sso_url, "SAMLRequest", &xml, relay_state)
    }
}

/// The Issuer a Response claims, read without trusting it: only to choose
/// which registered providers' keys to verify it with. Read by the same
/// strict parser as the verification; a message it refuses claims nothing.
/// A message sent by the HTTP-Redirect binding: `xml` deflated and encoded
/// as `param` (`SAMLRequest` or `SAMLResponse`) on `endpoint`, with the
/// RelayState, signed RSA-SHA256 over the query as SAML bindings 3.4.4.1 says.
pub fn redirect_binding(
    key: &SigningKey,
    endpoint: &str,
    param: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String, KeyError> {
    let mut deflater = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater.write_all(xml.as_bytes()).map_err(|e| KeyError::from_io(&e))?;
    let deflated = deflater.finish().map_err(|e| KeyError::from_io(&e))?;
    let encode = |s: &str| utf8_percent_encode(s, QUERY_VALUE).to_string();
    let mut query =
        format!("{param}={}", encode(&base64::engine::general_purpose::STANDARD.encode(deflated)));
    if let Some(relay) = relay_state {
        query.push_str(&format!("&RelayState={}", encode(relay)));
    }
    query.push_str(&format!("&SigAlg={}", encode(RSA_SHA256)));
    let signature = key.sign_sha256(query.as_bytes())?;
    query.push_str(&format!(
        "&Signature={}",
        encode(&base64::engine::general_purpose::STANDARD.encode(signature))
    ));
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!("{endpoint}{separator}{query}"))
}

pub fn claimed_issuer(xml: &str) -> Option<String> {
    let doc = super::xml::parse(xml, super::MESSAGE_LIMITS).ok()?;
    let issuer = doc.child_elements(0).find(|e| doc.element(*e).local == "Issuer")?;
    Some(doc.text(issuer)?.trim().to_owned())
}

/// Who a Response claims to be about, read without trusting it: for the
/// audit record only (a refused assertion is still recorded with its claims).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClaimedIdentity {
    pub issuer: Option<String>,
    pub name_id: Option<String>,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
}

pub fn claimed_identity(xml: &str) -> ClaimedIdentity {
    const ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";
    let mut out = ClaimedIdentity::default();
    let Ok(doc) = super::xml::parse(xml, super::MESSAGE_LIMITS) else { return out };
    let text = |e: usize| {
        let t = doc.text(e)?;
        let t: String = t.trim().chars().take(256).collect();
        (!t.is_empty()).then_some(t)
    };
    for (e, element) in doc.elements.iter().enumerate() {
        let slot = match element.local {
            "Issuer" => &mut out.issuer,
            "NameID" => &mut out.name_id,
            "Attribute" => {
                let value = doc.child_elements(e).next();
                match doc.attribute(e, "Name").and_then(|n| n.strip_prefix(ATTR)) {
                    Some("RoleSessionName") if out.session_name.is_none() => {
                        out.session_name = value.and_then(text)
                    }
                    Some("SourceIdentity") if out.source_identity.is_none() => {
                        out.source_identity = value.and_then(text)
                    }
                    _ => {}
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = text(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_claimed_issuer() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Issuer>https://idp.test/x</saml:Issuer></samlp:Response>"#;
        assert_eq!(claimed_issuer(xml).as_deref(), Some("https://idp.test/x"));
        assert_eq!(claimed_issuer("<a/>"), None);
    }

    #[test]
    fn reads_the_claimed_identity_for_the_audit() {
        let xml = r#"<Response><Issuer>idp</Issuer><Assertion><Issuer>idp</Issuer><Subject><NameID>alice</NameID></Subject><AttributeStatement><Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><AttributeValue>alice-s</AttributeValue></Attribute><Attribute Name="https://aws.amazon.com/SAML/Attributes/SourceIdentity"><AttributeValue>alice@corp</AttributeValue></Attribute></AttributeStatement></Assertion></Response>"#;
        let c = claimed_identity(xml);
        assert_eq!(c.issuer.as_deref(), Some("idp"));
        assert_eq!(c.name_id.as_deref(), Some("alice"));
        assert_eq!(c.session_name.as_deref(), Some("alice-s"));
        assert_eq!(c.source_identity.as_deref(), Some("alice@corp"));
    }
}
