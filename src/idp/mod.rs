//! The built-in identity provider: employees sign in with their directory
//! password, and idbroker issues a signed SAML Response for a registered
//! service provider (its own SP always; others from configuration).
//! `request` validates AuthnRequests, `roles` maps directory groups to AWS
//! `Role` pairs, `response` builds and signs the Response.
mod logout;
mod options;
mod registry;
mod request;
mod response;
pub mod roles;
pub mod second_factor;
mod sp_metadata;

pub use logout::{
    parse_slo_post, parse_slo_redirect, LogoutRequestIn, LogoutResponseIn, LogoutSubject, Outgoing,
    SloMessage,
};
pub use options::{AuthnRequirement, NameIdFormat, RequestOptions, SamlStatus};
pub use registry::{to_stored, RegistryError};
pub use request::{parse_post, parse_redirect, Sso, SsoRequest};
pub use response::{Addressee, Subject};
pub use sp_metadata::parse_sp_metadata;

use crate::crypto::{KeyError, Shared, SigningKey};
use crate::saml::ContentCipher;
use base64::Engine;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// An AuthnRequest was refused; the text is safe to show.
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("the SAML message's signature is missing or invalid")]
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

/// An SP's HTTP-POST AssertionConsumerService and its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs {
    pub index: usize,
    pub url: String,
}

/// Where an SP takes logout messages (its metadata's SingleLogoutService).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SloEndpoint {
    pub url: String,
    /// Where LogoutResponses go, when not to `url`.
    pub response_url: Option<String>,
    /// The HTTP-POST binding (else HTTP-Redirect).
    pub post: bool,
}

/// A service provider allowed to receive assertions.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub entity_id: String,
    /// Its ACS endpoints, the default first.
    pub acs: Vec<Acs>,
    /// When set, AuthnRequests must be signed with this certificate's key (DER).
    pub signing_certificate: Option<Vec<u8>>,
    /// The Assertion is signed too, not only the Response.
    pub sign_assertions: bool,
    /// Single Logout, when the SP takes part.
    pub slo: Option<SloEndpoint>,
    /// Its assertions are encrypted, when it asks for that.
    pub encryption: Option<SpEncryption>,
}

/// How assertions for an SP are encrypted: to the certificate of its
/// metadata's `KeyDescriptor use="encryption"` (or the operator's), with the
/// content cipher it reads (AES-256-GCM unless it lists only CBC).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpEncryption {
    /// Base64 DER of an RSA certificate.
    pub certificate: String,
    /// The content-encryption algorithm's URI.
    pub method: String,
}

impl SpEncryption {
    /// For an RSA certificate (DER), with the best content cipher of those
    /// `listed` (an SP that lists none reads AES-256-GCM).
    pub fn new(certificate: &[u8], listed: &[&str]) -> Result<SpEncryption, String> {
        if crate::saml::certificate_key(certificate).is_none() {
            return Err("the encryption certificate must be an RSA certificate".into());
        }
        let preference = [
            ContentCipher::Aes256Gcm,
            ContentCipher::Aes128Gcm,
            ContentCipher::Aes256Cbc,
            ContentCipher::Aes128Cbc,
        ];
        let known: Vec<ContentCipher> =
            listed.iter().filter_map(|uri| ContentCipher::from_uri(uri)).collect();
        let method = match preference.into_iter().find(|c| known.contains(c)) {
            Some(c) => c,
            None => ContentCipher::Aes256Gcm,
        };
        Ok(SpEncryption {
            certificate: base64::engine::general_purpose::STANDARD.encode(certificate),
            method: method.uri().to_owned(),
        })
    }

    /// The SHA-256 (hex) of the certificate, as operators compare them.
    pub fn fingerprint(&self) -> String {
        let der = base64::engine::general_purpose::STANDARD.decode(&self.certificate).unwrap_or_default();
        crate::crypto::sha256_hex(&der)
    }

    /// The recipient's key and the cipher, for `saml::encrypt_assertion`.
    pub(crate) fn parts(&self) -> Option<(openssl::pkey::PKey<openssl::pkey::Public>, ContentCipher)> {
        let der = base64::engine::general_purpose::STANDARD.decode(&self.certificate).ok()?;
        Some((crate::saml::certificate_key(&der)?, ContentCipher::from_uri(&self.method)?))
    }
}

/// The built-in IdP's keys: the active one signs; the metadata publishes its
/// certificate and those of the keys published beside it (the next key,
/// ahead of its activation; the last one, for responses signed just before).
pub struct IdpKeys {
    pub active: SigningKey,
    pub active_certificate: Vec<u8>,
    /// Every published certificate, the active one first.
    pub published: Vec<Vec<u8>>,
}

impl IdpKeys {
    pub fn new(active: SigningKey, others: &[SigningKey]) -> Result<IdpKeys, IdpError> {
        let active_certificate = active.certificate_der()?;
        let mut published = vec![active_certificate.clone()];
        for k in others {
            published.push(k.certificate_der()?);
        }
        Ok(IdpKeys { active, active_certificate, published })
    }
}

/// The built-in IdP: its identity, keys, and the SPs it serves.
pub struct IdentityProvider {
    pub entity_id: String,
    pub sso_url: String,
    keys: Arc<Shared<IdpKeys>>,
    /// idbroker's own SP, whose requests are signed with the IdP's own keys.
    own_sp: String,
    /// idbroker's own SP and the configuration's: fixed for the process.
    configured: Vec<ServiceProvider>,
    /// Those and the ones registered at run time (registry.rs), replaced
    /// whole when the registrations change.
    service_providers: Shared<Vec<ServiceProvider>>,
    pub session_duration: i64,
}

impl IdentityProvider {
    pub fn new(
        public_url: &crate::domain::PublicUrl,
        keys: Arc<Shared<IdpKeys>>,
        service_providers: Vec<ServiceProvider>,
        session_duration: i64,
    ) -> IdentityProvider {
        IdentityProvider {
            entity_id: public_url.join("/idp/metadata"),
            sso_url: public_url.join("/idp/sso"),
            keys,
            own_sp: public_url.sp_entity_id(),
            service_providers: Shared::new(service_providers.clone()),
            configured: service_providers,
            session_duration,
        }
    }

    pub fn service_provider(&self, entity_id: &str) -> Option<ServiceProvider> {
        self.service_providers.get().iter().find(|sp| sp.entity_id == entity_id).cloned()
    }

    /// The keys as they are now (the active one signs; idbroker's SP signs
    /// its AuthnRequests with it too).
    pub fn keys(&self) -> Arc<IdpKeys> {
        self.keys.get()
    }

    /// The certificates an SP's signed AuthnRequest may verify with: its own,
    /// or for idbroker's SP, any of the IdP's published ones.
    pub(crate) fn request_certificates(&self, sp: &ServiceProvider) -> Option<Vec<Vec<u8>>> {
        if sp.entity_id == self.own_sp {
            return Some(self.keys().published.clone());
        }
        sp.signing_certificate.clone().map(|c| vec![c])
    }

    /// IDPSSODescriptor metadata with the signing certificates.
    pub fn metadata(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let published = self.keys().published.clone();
        let keys: String = published
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
                r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo}"/>"#,
                r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{slo}"/>"#,
                r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
                r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>"#,
                r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}"/>"#,
                r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
            ),
            entity = crate::query::xml_escape(&self.entity_id),
            keys = keys,
            sso = sso,
            slo = crate::query::xml_escape(&self.slo_url()),
        )
    }
}
