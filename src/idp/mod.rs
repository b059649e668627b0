//! The built-in identity provider: employees sign in with their directory
//! password, and idbroker issues a signed SAML Response for a registered
//! service provider (its own SP always; others from configuration).
//! `request` validates AuthnRequests, `roles` maps directory groups to AWS
//! `Role` pairs, `response` builds and signs the Response.
mod request;
mod response;
pub mod roles;
pub mod second_factor;
mod sp_metadata;

pub use request::{parse_post, parse_redirect, SsoRequest};
pub use response::Subject;
pub use sp_metadata::parse_sp_metadata;

use crate::crypto::{KeyError, SigningKey};
use base64::Engine;

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// An AuthnRequest was refused; the text is safe to show.
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the AuthnRequest's signature is missing or invalid")]
    Signature,
    #[error("the service provider is not registered")]
    UnknownServiceProvider,
    #[error("the AssertionConsumerService URL is not registered for this service provider")]
    UnregisteredAcs,
    #[error("signing failed: {0}")]
    Signing(String),
}

impl From<KeyError> for IdpError {
    fn from(e: KeyError) -> Self {
        IdpError::Signing(e.to_string())
    }
}

/// A service provider allowed to receive assertions.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub entity_id: String,
    pub acs_urls: Vec<String>,
    /// When set, AuthnRequests must be signed with this certificate's key (DER).
    pub signing_certificate: Option<Vec<u8>>,
    /// The Assertion is signed too, not only the Response.
    pub sign_assertions: bool,
}

/// The built-in IdP: its identity, key, and the SPs it serves.
pub struct IdentityProvider {
    pub entity_id: String,
    pub sso_url: String,
    key: SigningKey,
    cert_der: Vec<u8>,
    /// Every certificate published in metadata (the active one first), so a
    /// rotation does not break responses signed just before it.
    published: Vec<Vec<u8>>,
    service_providers: Vec<ServiceProvider>,
    pub session_duration: i64,
}

impl IdentityProvider {
    /// `keys` holds the signing keys, newest first; the newest signs.
    pub fn new(
        public_url: &crate::domain::PublicUrl,
        keys: Vec<SigningKey>,
        service_providers: Vec<ServiceProvider>,
        session_duration: i64,
    ) -> Result<IdentityProvider, IdpError> {
        let mut published = Vec::new();
        for k in &keys {
            published.push(k.certificate_der()?);
        }
        let key = keys.into_iter().next().ok_or(IdpError::Signing("no IdP signing key".into()))?;
        Ok(IdentityProvider {
            entity_id: public_url.join("/idp/metadata"),
            sso_url: public_url.join("/idp/sso"),
            cert_der: key.certificate_der()?,
            key,
            published,
            service_providers,
            session_duration,
        })
    }

    pub fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider> {
        self.service_providers.iter().find(|sp| sp.entity_id == entity_id)
    }

    /// The key idbroker's SP signs AuthnRequests with (the same key pair).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// IDPSSODescriptor metadata with the signing certificates.
    pub fn metadata(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let keys: String = self
            .published
            .iter()
            .map(|c| {
                format!(
                    r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                    b64.encode(c)
                )
            })
            .collect();
        let sso = crate::query::xml_escape(&self.sso_url);
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">"#,
                r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}"#,
                r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
                r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>"#,
                r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}"/>"#,
                r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
            ),
            entity = crate::query::xml_escape(&self.entity_id),
            keys = keys,
            sso = sso,
        )
    }
}
