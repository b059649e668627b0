//! The built-in IdP's service providers at run time: registered, updated and
//! removed without a restart, by metadata document or by entity id and ACS
//! URLs; stored in the database and in force on every node within a change
//! poll.
use super::{OperatorApi, Output, RefreshFailure};
use crate::iam::{Caller, IamError};
use crate::idp::{parse_sp_metadata, to_stored, Acs, RegistryError, ServiceProvider, SpEncryption};
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

/// What a request registers: the SP, and the metadata document and URL it came from.
struct Registration {
    sp: ServiceProvider,
    metadata: Option<String>,
    url: Option<String>,
}

fn sign_assertions(p: &Params) -> Result<bool, IamError> {
    match p.get("SignAssertions") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(IamError::InvalidInput(format!("SignAssertions `{other}` must be true or false"))),
    }
}

/// `EncryptionCertificate` (PEM): assertions for the SP are encrypted to it
/// (AES-256-GCM), whatever its metadata says.
fn encryption(p: &Params) -> Result<Option<SpEncryption>, IamError> {
    let Some(pem) = p.get("EncryptionCertificate") else { return Ok(None) };
    let der = openssl::x509::X509::from_pem(pem.as_bytes())
        .and_then(|c| c.to_der())
        .map_err(|_| IamError::InvalidInput("EncryptionCertificate must be one PEM certificate".into()))?;
    SpEncryption::new(&der, &[]).map(Some).map_err(IamError::InvalidInput)
}

fn from_metadata(document: &str) -> Result<ServiceProvider, String> {
    if document.len() > 100_000 {
        return Err("the metadata is longer than 100,000 characters".into());
    }
    parse_sp_metadata(document).map_err(|e| e.to_string())
}

/// An SP given by entity id and ACS URLs (and a signing certificate).
fn from_fields(p: &Params) -> Result<ServiceProvider, IamError> {
    let entity_id = p.required_string("EntityId", 1, 1024)?.to_owned();
    let urls = p.list("AssertionConsumerServiceURLs");
    if urls.is_empty() || urls.len() > 16 {
        return Err(IamError::InvalidInput(
            "give 1 to 16 AssertionConsumerServiceURLs, a SAMLMetadataDocument or a MetadataURL".into(),
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
            Some(openssl::x509::X509::from_pem(pem.as_bytes()).and_then(|c| c.to_der()).map_err(|_| {
                IamError::InvalidInput("SigningCertificate must be one PEM certificate".into())
            })?)
        }
    };
    Ok(ServiceProvider {
        entity_id,
        acs,
        signing_certificate,
        sign_assertions: false,
        slo: None,
        encryption: None,
    })
}

impl OperatorApi {
    /// `CreateServiceProvider` (`create`) or `UpdateServiceProvider`.
    pub(super) async fn put_service_provider(&self, caller: &Caller, p: &Params, create: bool) -> Output {
        let action = if create { "CreateServiceProvider" } else { "UpdateServiceProvider" };
        self.allow(caller, action).await?;
        let Registration { mut sp, metadata, url } = self.registration(p).await?;
        sp.sign_assertions |= sign_assertions(p)?;
        if let Some(encryption) = encryption(p)? {
            sp.encryption = Some(encryption);
        }
        if self.idp.is_configured(&sp.entity_id) {
            return Err(RegistryError::Configured(sp.entity_id).into());
        }
        let now = self.clock.now().timestamp();
        let mut stored = to_stored(&sp, metadata, now);
        stored.refreshed_at = url.as_ref().map(|_| now);
        stored.metadata_url = url;
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

    /// The SP a request describes: by metadata URL (fetched now), by
    /// metadata document, or by entity id and ACS URLs.
    async fn registration(&self, p: &Params) -> Result<Registration, IamError> {
        if let Some(url) = p.get("MetadataURL") {
            let document =
                self.fetcher.text(url).await.map_err(|e| {
                    IamError::InvalidInput(format!("Could not fetch metadata from {url}: {e}"))
                })?;
            let sp = from_metadata(&document)
                .map_err(|e| IamError::InvalidInput(format!("Could not parse the metadata at {url}: {e}")))?;
            return Ok(Registration { sp, metadata: Some(document), url: Some(url.to_owned()) });
        }
        if let Some(document) = p.get("SAMLMetadataDocument") {
            let sp = from_metadata(document)
                .map_err(|e| IamError::InvalidInput(format!("Could not parse metadata: {e}")))?;
            return Ok(Registration { sp, metadata: Some(document.to_owned()), url: None });
        }
        Ok(Registration { sp: from_fields(p)?, metadata: None, url: None })
    }

    /// Fetches again the metadata of every SP registered by URL. A document
    /// that changed replaces the registration (on every node); one that
    /// cannot be fetched or read, names another entity, or drops the signing
    /// certificate the SP had, leaves the last good registration in force
    /// and is returned, for the metric, the log and the audit.
    pub async fn refresh_service_providers(&self) -> Result<Vec<RefreshFailure>, StoreError> {
        let mut failures = Vec::new();
        let mut changed = false;
        for stored in self.store.service_providers().await? {
            let Some(url) = stored.metadata_url.clone() else { continue };
            let now = self.clock.now().timestamp();
            let fetched = match self.fetcher.text(&url).await {
                Ok(document) => from_metadata(&document).map(|sp| (document, sp)),
                Err(e) => Err(e.to_string()),
            };
            let checked = fetched.and_then(|(document, sp)| {
                if sp.entity_id != stored.entity_id {
                    Err(format!("the document now names another entity, {}", sp.entity_id))
                } else if stored.signing_certificate.is_some() && sp.signing_certificate.is_none() {
                    Err("the document no longer has the signing certificate the SP's requests verify with"
                        .into())
                } else {
                    Ok((document, sp))
                }
            });
            match checked {
                Ok((document, _)) if stored.metadata.as_deref() == Some(document.as_str()) => {
                    self.store.note_refresh(&stored.entity_id, None, now).await?;
                }
                Ok((document, mut sp)) => {
                    sp.sign_assertions |= stored.sign_assertions;
                    let mut fresh = to_stored(&sp, Some(document), now);
                    fresh.metadata_url = Some(url);
                    fresh.refreshed_at = Some(now);
                    fresh.created_at = stored.created_at;
                    self.store.update_service_provider(&fresh).await?;
                    changed = true;
                }
                Err(error) => {
                    self.store.note_refresh(&stored.entity_id, Some(&error), now).await?;
                    failures.push(RefreshFailure { subject: stored.entity_id, url, error });
                }
            }
        }
        if changed {
            self.idp.reload_service_providers(&self.store).await?;
        }
        Ok(failures)
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
        let stored = self.store.service_providers().await?;
        let members = self
            .idp
            .all_service_providers()
            .into_iter()
            .map(|(sp, registered)| {
                let acs = sp.acs.iter().map(|a| Member::Text(a.url.clone())).collect();
                let mut fields = vec![
                    text("EntityId", sp.entity_id.clone()),
                    Node::List("AssertionConsumerServiceURLs", acs),
                    text("SignsRequests", sp.signing_certificate.is_some().to_string()),
                    text("SignAssertions", sp.sign_assertions.to_string()),
                    text("Source", if registered { "database" } else { "configuration" }),
                ];
                // Its assertions are encrypted: with what, to which certificate.
                if let Some(e) = &sp.encryption {
                    fields.push(text("EncryptionMethod", e.method.clone()));
                    fields.push(text("EncryptionCertificateSHA256", e.fingerprint()));
                }
                // Registered by URL: where from, and how the last refresh went.
                if let Some(row) =
                    stored.iter().find(|r| r.entity_id == sp.entity_id && r.metadata_url.is_some())
                {
                    fields.extend(row.metadata_url.clone().map(|u| text("MetadataURL", u)));
                    fields
                        .extend(row.refreshed_at.map(|t| text("RefreshedDate", crate::domain::iso_time(t))));
                    fields.extend(row.refresh_error.clone().map(|e| text("RefreshError", e)));
                }
                Member::Struct(fields)
            })
            .collect();
        Ok(Some(vec![Node::List("ServiceProviders", members)]))
    }
}
