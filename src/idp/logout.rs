//! Single Logout messages (SAML core 3.7; bindings 3.4 and 3.5): the
//! LogoutRequests and LogoutResponses SPs send, checked as AuthnRequests are
//! (a registered issuer), always signed (SAML profiles 4.4.4.1: else any
//! page could sign a user out by naming them), so only SPs with a registered
//! signing certificate take part,
//! and the IdP's own, signed: by the query for the Redirect binding, by an
//! XML signature for POST.
use super::request::{
    bad, base64_decode, decode_param, inflate, raw_param, relay_state, verify_post, verify_redirect,
};
use super::response::{attr, instant, text, SAML, SAMLP};
use super::{IdentityProvider, IdpError, ServiceProvider, SloEndpoint};
use base64::Engine;
use chrono::{DateTime, Utc};
use samael::schema::{LogoutRequest, LogoutResponse};

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const PARTIAL: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A LogoutRequest from an SP: its id (for the response), and whom it names.
#[derive(Debug)]
pub struct LogoutRequestIn {
    pub id: String,
    pub sp: ServiceProvider,
    pub name_id: String,
    pub relay_state: Option<String>,
}

/// An SP's answer to the IdP's LogoutRequest.
#[derive(Debug)]
pub struct LogoutResponseIn {
    pub in_response_to: String,
    pub sp_entity_id: String,
    pub success: bool,
}

#[derive(Debug)]
pub enum SloMessage {
    Request(LogoutRequestIn),
    Response(LogoutResponseIn),
}

/// A message of the IdP's, as the browser carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Redirect(String),
    /// An auto-posted form: `field` (SAMLRequest or SAMLResponse) to `url`.
    Post {
        url: String,
        field: &'static str,
        value: String,
        relay_state: Option<String>,
    },
}

/// Who the IdP asks an SP to sign out.
pub struct LogoutSubject<'a> {
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub session_index: &'a str,
}

fn issuer_of(issuer: Option<&samael::schema::Issuer>) -> Option<&str> {
    issuer.and_then(|i| i.value.as_deref())
}

fn parse(idp: &IdentityProvider, field: &str, xml: &str) -> Result<(SloMessage, ServiceProvider), IdpError> {
    if xml.len() > MAX_MESSAGE_BYTES {
        return Err(bad("the logout message is too large"));
    }
    if xml.to_ascii_uppercase().contains("<!DOCTYPE") {
        return Err(bad("the logout message contains a DOCTYPE"));
    }
    let slo_url = idp.slo_url();
    let message = if field == "SAMLRequest" {
        let r: LogoutRequest = xml.parse().map_err(|_| bad("the SAMLRequest is not a LogoutRequest"))?;
        let issuer = issuer_of(r.issuer.as_ref()).ok_or(IdpError::UnknownServiceProvider)?;
        let sp = idp.service_provider(issuer).ok_or(IdpError::UnknownServiceProvider)?;
        if r.destination.as_deref().is_some_and(|d| d != slo_url) {
            return Err(bad("the LogoutRequest is addressed to another IdP"));
        }
        let name_id =
            r.name_id.as_ref().map(|n| n.value.clone()).ok_or(bad("the LogoutRequest names no one"))?;
        let id =
            r.id.filter(|i| !i.is_empty() && i.len() <= 256).ok_or(bad("the LogoutRequest has no ID"))?;
        (SloMessage::Request(LogoutRequestIn { id, sp: sp.clone(), name_id, relay_state: None }), sp)
    } else {
        let r: LogoutResponse = xml.parse().map_err(|_| bad("the SAMLResponse is not a LogoutResponse"))?;
        let issuer = issuer_of(r.issuer.as_ref()).ok_or(IdpError::UnknownServiceProvider)?;
        let sp = idp.service_provider(issuer).ok_or(IdpError::UnknownServiceProvider)?;
        if r.destination.as_deref().is_some_and(|d| d != slo_url) {
            return Err(bad("the LogoutResponse is addressed to another IdP"));
        }
        let code = r.status.as_ref().and_then(|s| s.status_code.value.clone());
        let in_response_to = r.in_response_to.ok_or(bad("the LogoutResponse answers nothing"))?;
        let response = LogoutResponseIn {
            in_response_to,
            sp_entity_id: sp.entity_id.clone(),
            success: code.as_deref() == Some(SUCCESS),
        };
        (SloMessage::Response(response), sp)
    };
    Ok(message)
}

/// A logout message by the Redirect binding; `query` is the raw query string.
pub fn parse_slo_redirect(idp: &IdentityProvider, query: &str) -> Result<SloMessage, IdpError> {
    let field = if raw_param(query, "SAMLRequest")?.is_some() { "SAMLRequest" } else { "SAMLResponse" };
    let raw = raw_param(query, field)?.ok_or(bad("no SAMLRequest or SAMLResponse"))?;
    let xml = inflate(&base64_decode(&decode_param(raw)?)?)?;
    let (mut message, sp) = parse(idp, field, &xml)?;
    verify_redirect(&idp.request_certificates(&sp).ok_or(IdpError::Signature)?, query, field)?;
    if let SloMessage::Request(r) = &mut message {
        r.relay_state = relay_state(raw_param(query, "RelayState")?.map(decode_param).transpose()?)?;
    }
    Ok(message)
}

/// A logout message by the POST binding (form fields already decoded).
pub fn parse_slo_post(
    idp: &IdentityProvider,
    field: &str,
    value: &str,
    relay: Option<String>,
) -> Result<SloMessage, IdpError> {
    let xml = String::from_utf8(base64_decode(value)?).map_err(|_| bad("the message is not UTF-8"))?;
    let (_, sp) = parse(idp, field, &xml)?;
    let certs = idp.request_certificates(&sp).ok_or(IdpError::Signature)?;
    // Read again from exactly what the signature covers.
    let (mut message, _) = parse(idp, field, &verify_post(&certs, &xml)?)?;
    if let SloMessage::Request(r) = &mut message {
        r.relay_state = relay_state(relay)?;
    }
    Ok(message)
}

impl IdentityProvider {
    /// The IdP's SingleLogoutService.
    pub fn slo_url(&self) -> String {
        self.sso_url.replace("/idp/sso", "/idp/slo")
    }

    /// The IdP's LogoutRequest `id` asking `sp` to sign `subject` out.
    pub fn logout_request(
        &self,
        sp: &SloEndpoint,
        subject: &LogoutSubject<'_>,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, IdpError> {
        let open = format!(
            r#"<samlp:LogoutRequest xmlns:samlp="{SAMLP}" Destination="{}" ID="{}" IssueInstant="{}" Version="2.0">"#,
            attr(&sp.url),
            attr(id),
            instant(now)
        );
        let head = format!(r#"<saml:Issuer xmlns:saml="{SAML}">{}</saml:Issuer>"#, text(&self.entity_id));
        let tail = format!(
            r#"<saml:NameID xmlns:saml="{SAML}" Format="{}">{}</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>"#,
            attr(subject.name_id_format),
            text(subject.name_id),
            text(subject.session_index)
        );
        self.outgoing(&sp.url, sp.post, "SAMLRequest", id, [open, head, tail], None)
    }

    /// The IdP's LogoutResponse to the SP's request `in_response_to`.
    pub fn logout_response(
        &self,
        sp: &SloEndpoint,
        in_response_to: &str,
        partial: bool,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, IdpError> {
        let url = sp.response_url.clone().unwrap_or_else(|| sp.url.clone());
        let id = format!("_l{}", crate::crypto::random_token(20));
        let open = format!(
            r#"<samlp:LogoutResponse xmlns:samlp="{SAMLP}" Destination="{}" ID="{id}" InResponseTo="{}" IssueInstant="{}" Version="2.0">"#,
            attr(&url),
            attr(in_response_to),
            instant(now)
        );
        let head = format!(r#"<saml:Issuer xmlns:saml="{SAML}">{}</saml:Issuer>"#, text(&self.entity_id));
        let status = if partial {
            format!(
                r#"<samlp:StatusCode Value="{SUCCESS}"><samlp:StatusCode Value="{PARTIAL}"></samlp:StatusCode></samlp:StatusCode>"#
            )
        } else {
            format!(r#"<samlp:StatusCode Value="{SUCCESS}"></samlp:StatusCode>"#)
        };
        let tail = format!(r#"<samlp:Status>{status}</samlp:Status></samlp:LogoutResponse>"#);
        self.outgoing(&url, sp.post, "SAMLResponse", &id, [open, head, tail], relay_state)
    }

    /// A message written in canonical form as `[open, issuer, rest]`: by the
    /// Redirect binding, signed over the query; by POST, with an enveloped
    /// signature after the Issuer.
    fn outgoing(
        &self,
        url: &str,
        post: bool,
        field: &'static str,
        id: &str,
        [open, head, tail]: [String; 3],
        relay_state: Option<&str>,
    ) -> Result<Outgoing, IdpError> {
        if !post {
            let keys = self.keys();
            let xml = format!("{open}{head}{tail}");
            let url = crate::saml::redirect_binding(&keys.active, url, field, &xml, relay_state)?;
            return Ok(Outgoing::Redirect(url));
        }
        let signature = self.enveloped_signature(id, &format!("{open}{head}{tail}"))?;
        let xml = format!("{open}{head}{signature}{tail}");
        Ok(Outgoing::Post {
            url: url.to_owned(),
            field,
            value: base64::engine::general_purpose::STANDARD.encode(xml),
            relay_state: relay_state.map(str::to_owned),
        })
    }
}
