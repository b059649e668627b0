//! Service providers registered by their metadata (AWS's, for example).
use super::{Acs, ServiceProvider, SloEndpoint, SpEncryption};
use crate::saml::{check_certificate, MetadataError};
use samael::metadata::EntityDescriptor;

const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// Reads SP metadata (AWS publishes its own): entity id, https POST ACS
/// URLs, the signing certificate when it signs requests, and whether it wants
/// its assertions signed.
pub fn parse_sp_metadata(xml: &str) -> Result<ServiceProvider, MetadataError> {
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(MetadataError::Doctype);
    }
    let entity = xml.parse::<EntityDescriptor>().map_err(|e| MetadataError::Malformed(e.to_string()))?;
    let entity_id = entity.entity_id.clone().filter(|e| !e.is_empty()).ok_or(MetadataError::NoEntityId)?;
    let descriptors = entity.sp_sso_descriptors.unwrap_or_default();
    let mut endpoints: Vec<_> = descriptors
        .iter()
        .flat_map(|d| d.assertion_consumer_services.iter())
        .filter(|s| s.binding == POST_BINDING && s.location.starts_with("https://"))
        .collect();
    // The default first: the one marked so, else the first listed (SAML metadata 2.2.3).
    endpoints.sort_by_key(|s| s.is_default != Some(true));
    let acs: Vec<Acs> = endpoints.iter().map(|s| Acs { index: s.index, url: s.location.clone() }).collect();
    if acs.is_empty() {
        return Err(MetadataError::Malformed("no https HTTP-POST AssertionConsumerService".into()));
    }
    let signs = descriptors.iter().any(|d| d.authn_requests_signed == Some(true));
    let signing_certificate = if signs {
        let certificate = descriptors
            .iter()
            .flat_map(|d| d.key_descriptors.iter().flatten())
            .filter(|k| k.key_use.as_deref().is_none_or(|u| u == "signing"))
            .flat_map(|k| k.key_info.x509_data.iter().flat_map(|x| x.certificates.iter()))
            .next()
            .ok_or(MetadataError::NoSigningCertificate)?;
        Some(check_certificate(certificate)?)
    } else {
        None
    };
    let sign_assertions = descriptors.iter().any(|d| d.want_assertions_signed == Some(true));
    // Encrypted assertions only for an SP that says so: a KeyDescriptor
    // without `use` serves signing too, and many SPs cannot decrypt.
    let encryption = match descriptors
        .iter()
        .flat_map(|d| d.key_descriptors.iter().flatten())
        .find(|k| k.key_use.as_deref() == Some("encryption"))
    {
        None => None,
        Some(k) => {
            let certificate = k.key_info.x509_data.iter().flat_map(|x| x.certificates.iter()).next().ok_or(
                MetadataError::Malformed("an encryption KeyDescriptor without a certificate".into()),
            )?;
            let listed: Vec<&str> =
                k.encryption_methods.iter().flatten().map(|m| m.algorithm.as_str()).collect();
            Some(
                SpEncryption::new(&check_certificate(certificate)?, &listed)
                    .map_err(MetadataError::Malformed)?,
            )
        }
    };
    // Single Logout: the Redirect binding when offered, else POST.
    let slo_services: Vec<_> =
        descriptors.iter().flat_map(|d| d.single_logout_services.iter().flatten()).collect();
    let slo = [REDIRECT_BINDING, POST_BINDING].iter().find_map(|binding| {
        let s = slo_services.iter().find(|s| s.binding == *binding && s.location.starts_with("https://"))?;
        Some(SloEndpoint {
            url: s.location.clone(),
            response_url: s.response_location.clone(),
            post: *binding == POST_BINDING,
        })
    });
    Ok(ServiceProvider { entity_id, acs, signing_certificate, sign_assertions, slo, encryption })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aws_shaped_sp_metadata() {
        let m = parse_sp_metadata(include_str!("../../tests/fixtures/aws-sp-metadata.xml")).unwrap();
        assert_eq!(m.entity_id, "urn:amazon:webservices");
        assert_eq!(m.acs[0].url, "https://signin.aws.amazon.com/saml");
        assert_eq!(m.acs.len(), 2);
        assert!(m.signing_certificate.is_none());
        assert!(m.sign_assertions, "AWS's metadata asks for signed assertions");
        assert!(matches!(parse_sp_metadata("<!DOCTYPE x><x/>"), Err(MetadataError::Doctype)));
        assert!(m.encryption.is_none(), "no KeyDescriptor use=\"encryption\": nothing is encrypted");
    }

    /// An SP with a `KeyDescriptor use="encryption"` gets encrypted
    /// assertions, with the best content cipher it lists.
    #[test]
    fn an_encryption_key_descriptor_asks_for_encrypted_assertions() {
        let pem = include_str!("../../tests/keys/encryption/sp-a.crt");
        let cert: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let metadata = |methods: &str| {
            format!(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.test">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"#
            )
        };
        let method =
            |methods: &str| parse_sp_metadata(&metadata(methods)).unwrap().encryption.unwrap().method;
        assert_eq!(method(""), "http://www.w3.org/2009/xmlenc11#aes256-gcm");
        let cbc_only = r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/><md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#;
        assert_eq!(method(cbc_only), "http://www.w3.org/2001/04/xmlenc#aes256-cbc");
        let both = r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>"#;
        assert_eq!(method(both), "http://www.w3.org/2009/xmlenc11#aes128-gcm");
    }
}
