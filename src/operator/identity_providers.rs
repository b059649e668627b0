//! External IdPs' metadata kept current: a SAML provider tagged
//! `idbroker:MetadataURL` has its metadata fetched again on the schedule. A
//! document that validates, names the same entity and has signing keys
//! replaces the provider's (so an IdP's certificate rollover, published as
//! two certificates, then the new one alone, needs no administrator); any
//! other keeps the last good one. Certificates about to expire are counted.
use super::{OperatorApi, RefreshFailure};
use crate::saml::{validate_idp_metadata, verify_signed_metadata};
use crate::store::StoreError;

/// Certificates this close to their end are reported.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How many days the first of a provider's signing certificates to end has left.
#[derive(Debug)]
pub struct ExpiringCertificate {
    pub provider_arn: String,
    pub days_left: i64,
}

impl OperatorApi {
    /// Fetches again the metadata of every provider that names a URL.
    pub async fn refresh_identity_providers(&self) -> Result<Vec<RefreshFailure>, StoreError> {
        let mut failures = Vec::new();
        for provider in self.store.external_saml_providers().await? {
            let Some(url) = provider.settings.metadata_url.clone() else { continue };
            let now = self.clock.now();
            let pin = provider.settings.metadata_signing_certificate.clone();
            let fetched = match self.fetcher.text(&url).await {
                // With a pinned signer, what is read is what its signature covers.
                Ok(document) => match &pin {
                    Some(pin) => verify_signed_metadata(&document, pin).map_err(|e| e.to_string()),
                    None => Ok(document),
                }
                .and_then(|document| {
                    validate_idp_metadata(&document, now)
                        .map(|m| (document, m))
                        .map_err(|e| format!("the metadata does not validate: {e}"))
                }),
                Err(e) => Err(e.to_string()),
            };
            let checked = fetched.and_then(|(document, m)| {
                if m.entity_id != provider.entity_id {
                    Err(format!("the document now names another entity, {}", m.entity_id))
                } else {
                    Ok((document, m))
                }
            });
            match checked {
                Ok((document, _)) if document == provider.metadata => {}
                Ok((document, m)) => {
                    let valid_until = m.valid_until.map(|t| t.timestamp());
                    self.store
                        .update_saml_provider(&provider.arn, &document, &m.entity_id, valid_until)
                        .await?;
                }
                Err(error) => failures.push(RefreshFailure { subject: provider.arn, url, error }),
            }
        }
        Ok(failures)
    }

    /// The days left of each external provider's first signing certificate
    /// to end (a document several providers share is read once).
    pub async fn certificate_days_left(&self) -> Result<Vec<ExpiringCertificate>, StoreError> {
        let now = self.clock.now();
        let mut read: std::collections::HashMap<[u8; 32], Option<i64>> = std::collections::HashMap::new();
        let mut all = Vec::new();
        for provider in self.store.external_saml_providers().await? {
            let soonest =
                *read.entry(crate::crypto::sha256(provider.metadata.as_bytes())).or_insert_with(|| {
                    let m = validate_idp_metadata(&provider.metadata, now).ok()?;
                    let days = m.signing_certificates.iter();
                    days.filter_map(|c| crate::crypto::certificate_days_left(c, now.timestamp())).min()
                });
            if let Some(days_left) = soonest {
                all.push(ExpiringCertificate { provider_arn: provider.arn, days_left });
            }
        }
        Ok(all)
    }
}
