//! Service providers registered by their metadata (AWS's, for example).
use super::{Acs, ServiceProvider, SloEndpoint};
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
    Ok(ServiceProvider { entity_id, acs, signing_certificate, sign_assertions, slo })
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
    }
}
