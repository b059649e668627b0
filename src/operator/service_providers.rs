//! The built-in IdP's service providers at run time: registered, updated and
//! removed without a restart, by metadata document or by entity id and ACS
//! URLs; stored in the database and in force on every node within a change
//! poll.
use super::{OperatorApi, Output};
use crate::iam::{Caller, IamError};
use crate::idp::{parse_sp_metadata, to_stored, Acs, RegistryError, ServiceProvider};
use crate::query::{text, Member, Node, Params};
use crate::store::StoreError;

impl From<RegistryError> for IamError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Store(e) => IamError::Store(e),
            other => IamError::InvalidInput(other.to_string()),
        }
    }
}

/// The SP a request describes, with the metadata it came in.
fn described(p: &Params) -> Result<(ServiceProvider, Option<String>), IamError> {
    let sign_assertions = match p.get("SignAssertions") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(IamError::InvalidInput(format!("SignAssertions `{other}` must be true or false")))
        }
    };
    if let Some(metadata) = p.get("SAMLMetadataDocument") {
        if metadata.len() > 100_000 {
            return Err(IamError::InvalidInput(
                "SAMLMetadataDocument is longer than 100,000 characters".into(),
            ));
        }
        let mut sp = parse_sp_metadata(metadata)
            .map_err(|e| IamError::InvalidInput(format!("Could not parse metadata: {e}")))?;
        sp.sign_assertions |= sign_assertions;
        return Ok((sp, Some(metadata.to_owned())));
    }
    let entity_id = p.required_string("EntityId", 1, 1024)?.to_owned();
    let urls = p.list("AssertionConsumerServiceURLs");
    if urls.is_empty() || urls.len() > 16 {
        return Err(IamError::InvalidInput(
            "give 1 to 16 AssertionConsumerServiceURLs, or a SAMLMetadataDocument".into(),
        ));
    }
    if let Some(bad) = urls.iter().find(|u| !u.starts_with("https://") || url::Url::parse(u).is_err()) {
        return Err(IamError::InvalidInput(format!(
            "AssertionConsumerServiceURL `{bad}` must be an https URL"
        )));
    }
    let acs = urls.iter().enumerate().map(|(index, url)| Acs { index, url: (*url).to_owned() }).collect();
    let signing_certificate = match p.get("SigningCertificate") {
        None => None,
        Some(pem) => {
            let cert =
                openssl::x509::X509::from_pem(pem.as_bytes()).and_then(|c| c.to_der()).map_err(|_| {
                    IamError::InvalidInput("SigningCertificate must be one PEM certificate".into())
                })?;
            Some(cert)
        }
    };
    Ok((ServiceProvider { entity_id, acs, signing_certificate, sign_assertions }, None))
}

impl OperatorApi {
    /// `CreateServiceProvider` (`create`) or `UpdateServiceProvider`.
    pub(super) async fn put_service_provider(&self, caller: &Caller, p: &Params, create: bool) -> Output {
        let action = if create { "CreateServiceProvider" } else { "UpdateServiceProvider" };
        self.allow(caller, action).await?;
        let (sp, metadata) = described(p)?;
        if self.idp.is_configured(&sp.entity_id) {
            return Err(RegistryError::Configured(sp.entity_id).into());
        }
        let stored = to_stored(&sp, metadata, self.clock.now().timestamp());
        let written = if create {
            self.store.insert_service_provider(&stored).await
        } else {
            self.store.update_service_provider(&stored).await
        };
        match written {
            Err(StoreError::Conflict(_)) => {
                return Err(IamError::EntityAlreadyExists(format!(
                    "Service provider {} already exists.",
                    sp.entity_id
                )))
            }
            Err(StoreError::NotFound(_)) => {
                return Err(IamError::NoSuchEntity(format!(
                    "Service provider {} is not registered.",
                    sp.entity_id
                )))
            }
            r => r?,
        }
        self.idp.reload_service_providers(&self.store).await?;
        Ok(Some(vec![text("EntityId", sp.entity_id)]))
    }

    pub(super) async fn delete_service_provider(&self, caller: &Caller, p: &Params) -> Output {
        self.allow(caller, "DeleteServiceProvider").await?;
        let entity_id = p.required_string("EntityId", 1, 1024)?;
        if self.idp.is_configured(entity_id) {
            return Err(RegistryError::Configured(entity_id.to_owned()).into());
        }
        match self.store.delete_service_provider(entity_id).await {
            Err(StoreError::NotFound(_)) => {
                return Err(IamError::NoSuchEntity(format!(
                    "Service provider {entity_id} is not registered."
                )))
            }
            r => r?,
        }
        self.idp.reload_service_providers(&self.store).await?;
        Ok(None)
    }

    pub(super) async fn list_service_providers(&self, caller: &Caller) -> Output {
        self.allow(caller, "ListServiceProviders").await?;
        let members = self
            .idp
            .all_service_providers()
            .into_iter()
            .map(|(sp, registered)| {
                let acs = sp.acs.iter().map(|a| Member::Text(a.url.clone())).collect();
                Member::Struct(vec![
                    text("EntityId", sp.entity_id),
                    Node::List("AssertionConsumerServiceURLs", acs),
                    text("SignsRequests", sp.signing_certificate.is_some().to_string()),
                    text("SignAssertions", sp.sign_assertions.to_string()),
                    text("Source", if registered { "database" } else { "configuration" }),
                ])
            })
            .collect();
        Ok(Some(vec![Node::List("ServiceProviders", members)]))
    }
}
