//! AuthnRequests to the built-in IdP, by the HTTP-Redirect and HTTP-POST
//! bindings. The issuer must be a registered SP and the ACS (by URL or
//! index) one of its own; SPs with a signing certificate must sign
//! (Redirect: RSA or ECDSA with SHA-256/384/512 over the query parameters
//! exactly as received; POST: an XML signature with the same algorithms).
//! Inflation is capped, so a deflate bomb costs nothing.
use super::options::{options, RequestOptions, SamlStatus};
use super::{IdentityProvider, IdpError};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use samael::schema::AuthnRequest;
use std::io::Read;

const MAX_REQUEST_BYTES: usize = 64 * 1024;
const MAX_RELAY_STATE: usize = 80;
const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const SKEW_SECONDS: i64 = 180;

/// A checked request: where to send the assertion, what to echo, and what
/// the SP asked of the sign-in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoRequest {
    pub sp_entity_id: String,
    pub acs_url: String,
    pub request_id: Option<String>,
    pub relay_state: Option<String>,
    #[serde(default)]
    pub options: RequestOptions,
}

/// What to do with a checked request.
#[derive(Debug)]
pub enum Sso {
    /// Sign the user in.
    SignIn(SsoRequest),
    /// Answer the SP at once with this status (IsPassive, a NameID format or
    /// authentication context the IdP cannot meet, Scoping).
    Refuse(SsoRequest, SamlStatus),
}

pub(super) fn bad(what: &'static str) -> IdpError {
    IdpError::BadRequest(what)
}

/// The raw (still percent-encoded) value of a query parameter that must
/// appear at most once.
pub(super) fn raw_param<'q>(query: &'q str, name: &str) -> Result<Option<&'q str>, IdpError> {
    let mut found = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == name {
            if found.is_some() {
                return Err(bad("a SAML parameter is repeated"));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

pub(super) fn decode_param(raw: &str) -> Result<String, IdpError> {
    let plus_as_space = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| bad("a SAML parameter is not UTF-8"))
}

pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>, IdpError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > MAX_REQUEST_BYTES * 2 {
        return Err(bad("the SAMLRequest is too large"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| bad("the SAMLRequest is not base64"))
}

/// Raw DEFLATE, refusing output beyond the cap instead of producing it.
pub(super) fn inflate(data: &[u8]) -> Result<String, IdpError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| bad("the SAMLRequest does not inflate"))?;
    if out.len() > MAX_REQUEST_BYTES {
        return Err(bad("the SAMLRequest is too large"));
    }
    String::from_utf8(out).map_err(|_| bad("the SAMLRequest is not UTF-8"))
}

pub(super) fn relay_state(value: Option<String>) -> Result<Option<String>, IdpError> {
    match value {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(bad("RelayState is longer than 80 bytes")),
        other => Ok(other.filter(|r| !r.is_empty())),
    }
}

/// An AuthnRequest by the Redirect binding; `query` is the raw query string.
pub fn parse_redirect(idp: &IdentityProvider, query: &str, now: DateTime<Utc>) -> Result<Sso, IdpError> {
    let raw_request = raw_param(query, "SAMLRequest")?.ok_or(bad("the SAMLRequest is missing"))?;
    let raw_relay = raw_param(query, "RelayState")?;
    let xml = inflate(&base64_decode(&decode_param(raw_request)?)?)?;
    let request = parse_xml(&xml)?;
    let sp = check(idp, &request, now)?;
    if let Some(certs) = idp.request_certificates(&sp) {
        verify_redirect(&certs, query, "SAMLRequest")?;
    }
    finish(&sp, request, &xml, relay_state(raw_relay.map(decode_param).transpose()?)?)
}

/// The signature of a Redirect-binding message (`param` is SAMLRequest or
/// SAMLResponse) by one of `certs`: over the parameters in this order, as
/// received.
pub(super) fn verify_redirect(certs: &[Vec<u8>], query: &str, param: &str) -> Result<(), IdpError> {
    let raw_message = raw_param(query, param)?.ok_or(IdpError::Signature)?;
    let raw_relay = raw_param(query, "RelayState")?;
    let (Some(alg), Some(signature)) = (raw_param(query, "SigAlg")?, raw_param(query, "Signature")?) else {
        return Err(IdpError::Signature);
    };
    let algorithm = decode_param(alg)?;
    let mut signed = format!("{param}={raw_message}");
    if let Some(r) = raw_relay {
        signed.push_str(&format!("&RelayState={r}"));
    }
    signed.push_str(&format!("&SigAlg={alg}"));
    let signature = base64_decode(&decode_param(signature)?).map_err(|_| IdpError::Signature)?;
    let verifies =
        |cert: &Vec<u8>| crate::crypto::verify_signature(cert, &algorithm, signed.as_bytes(), &signature);
    if !certs.iter().any(verifies) {
        return Err(IdpError::Signature);
    }
    Ok(())
}

/// A POST-binding message's XML signature by one of `certs`: the message as
/// the signature covers it, read from there.
pub(super) fn verify_post(certs: &[Vec<u8>], xml: &str) -> Result<String, IdpError> {
    crate::saml::signed_part(xml, certs).ok_or(IdpError::Signature)
}

/// An AuthnRequest by the POST binding (form fields already decoded).
pub fn parse_post(
    idp: &IdentityProvider,
    saml_request: &str,
    relay: Option<String>,
    now: DateTime<Utc>,
) -> Result<Sso, IdpError> {
    let xml =
        String::from_utf8(base64_decode(saml_request)?).map_err(|_| bad("the SAMLRequest is not UTF-8"))?;
    let request = parse_xml(&xml)?;
    let sp = check(idp, &request, now)?;
    let (request, xml) = match idp.request_certificates(&sp) {
        None => (request, xml),
        Some(certs) => {
            // Read the request again from exactly what the signature covers.
            let reduced = verify_post(&certs, &xml)?;
            let signed = parse_xml(&reduced)?;
            check(idp, &signed, now)?;
            (signed, reduced)
        }
    };
    finish(&sp, request, &xml, relay_state(relay)?)
}

fn parse_xml(xml: &str) -> Result<AuthnRequest, IdpError> {
    if xml.len() > MAX_REQUEST_BYTES {
        return Err(bad("the SAMLRequest is too large"));
    }
    let upper = xml.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(bad("the SAMLRequest contains a DOCTYPE"));
    }
    xml.parse::<AuthnRequest>().map_err(|_| bad("the SAMLRequest is not an AuthnRequest"))
}

fn check(
    idp: &IdentityProvider,
    r: &AuthnRequest,
    now: DateTime<Utc>,
) -> Result<super::ServiceProvider, IdpError> {
    if r.version != "2.0" {
        return Err(bad("the AuthnRequest's version is not 2.0"));
    }
    if r.id.is_empty() || r.id.len() > 256 {
        return Err(bad("the AuthnRequest's ID is not valid"));
    }
    let issuer =
        r.issuer.as_ref().and_then(|i| i.value.as_deref()).ok_or(IdpError::UnknownServiceProvider)?;
    let sp = idp.service_provider(issuer).ok_or(IdpError::UnknownServiceProvider)?;
    if r.destination.as_deref().is_some_and(|d| d != idp.sso_url) {
        return Err(bad("the AuthnRequest is addressed to another IdP"));
    }
    let skew = Duration::seconds(SKEW_SECONDS);
    if r.issue_instant > now + skew || r.issue_instant + Duration::seconds(300) + skew < now {
        return Err(bad("the AuthnRequest has expired"));
    }
    if r.protocol_binding.as_deref().is_some_and(|b| b != POST_BINDING) {
        return Err(bad("only the HTTP-POST response binding is supported"));
    }
    Ok(sp)
}

/// The ACS the request names, by URL or by index, or the SP's default; only
/// ones registered for the SP.
fn acs_url(sp: &super::ServiceProvider, r: &AuthnRequest) -> Result<String, IdpError> {
    let found = match (&r.assertion_consumer_service_url, r.assertion_consumer_service_index) {
        (Some(_), Some(_)) => return Err(bad("the AuthnRequest names its ACS both by URL and by index")),
        (Some(url), None) => sp.acs.iter().find(|a| a.url == *url),
        (None, Some(index)) => sp.acs.iter().find(|a| a.index == index),
        (None, None) => sp.acs.first(),
    };
    found.map(|a| a.url.clone()).ok_or(IdpError::UnregisteredAcs)
}

/// Whether the request carries a Scoping element (samael does not read it).
fn has_scoping(xml: &str) -> Result<bool, IdpError> {
    let limits = crate::saml::xml::Limits { max_depth: 32, max_elements: 10_000, max_attributes: 64 };
    let doc =
        crate::saml::xml::parse(xml, limits).map_err(|_| bad("the SAMLRequest is not well-formed XML"))?;
    let scoped = doc.child_elements(0).any(|c| doc.is(c, "urn:oasis:names:tc:SAML:2.0:protocol", "Scoping"));
    Ok(scoped)
}

fn finish(
    sp: &super::ServiceProvider,
    r: AuthnRequest,
    xml: &str,
    relay_state: Option<String>,
) -> Result<Sso, IdpError> {
    let mut request = SsoRequest {
        sp_entity_id: sp.entity_id.clone(),
        acs_url: acs_url(sp, &r)?,
        request_id: Some(r.id.clone()),
        relay_state,
        options: RequestOptions::default(),
    };
    match options(&r, has_scoping(xml)?) {
        Ok(options) => {
            request.options = options;
            Ok(Sso::SignIn(request))
        }
        Err(status) => Ok(Sso::Refuse(request, status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::{Acs, ServiceProvider};

    fn request(attributes: &str, inner: &str) -> (AuthnRequest, String) {
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0" IssueInstant="2026-12-02T12:00:00Z"{attributes}><saml:Issuer>sp</saml:Issuer>{inner}</samlp:AuthnRequest>"#
        );
        (xml.parse().unwrap(), xml)
    }

    #[test]
    fn the_acs_is_a_registered_one_by_url_or_index_or_the_default() {
        let sp = ServiceProvider {
            entity_id: "sp".into(),
            acs: vec![
                Acs { index: 3, url: "https://sp/a".into() },
                Acs { index: 1, url: "https://sp/b".into() },
            ],
            signing_certificate: None,
            sign_assertions: false,
            encryption: None,
            slo: None,
        };
        let acs = |attributes: &str| acs_url(&sp, &request(attributes, "").0);
        assert_eq!(acs("").unwrap(), "https://sp/a");
        assert_eq!(acs(r#" AssertionConsumerServiceIndex="1""#).unwrap(), "https://sp/b");
        assert_eq!(acs(r#" AssertionConsumerServiceURL="https://sp/b""#).unwrap(), "https://sp/b");
        assert!(matches!(acs(r#" AssertionConsumerServiceIndex="2""#), Err(IdpError::UnregisteredAcs)));
        assert!(matches!(
            acs(r#" AssertionConsumerServiceURL="https://evil/""#),
            Err(IdpError::UnregisteredAcs)
        ));
        let both = r#" AssertionConsumerServiceIndex="1" AssertionConsumerServiceURL="https://sp/b""#;
        assert!(matches!(acs(both), Err(IdpError::BadRequest(_))));
    }

    #[test]
    fn scoping_is_found_in_the_protocol_namespace_only() {
        let scoped = request("", r#"<samlp:Scoping ProxyCount="1"></samlp:Scoping>"#).1;
        assert!(has_scoping(&scoped).unwrap());
        let other = request("", r#"<x:Scoping xmlns:x="urn:other"></x:Scoping>"#).1;
        assert!(!has_scoping(&other).unwrap());
        assert!(!has_scoping(&request("", "").1).unwrap());
    }
}
