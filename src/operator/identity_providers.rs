//! External IdPs' metadata kept current: a SAML provider tagged
//! `idbroker:MetadataURL` has its metadata fetched again on the schedule. A
//! document that validates, names the same entity and has signing keys
//! replaces the provider's (so an IdP's certificate rollover, published as
//! two certificates, then the new one alone, needs no administrator); any
//! other keeps the last good one. Certificates about to expire are counted.
use super::{OperatorApi, RefreshFailure};
use crate::saml::{validate_idp_metadata, verify_signed_metadata, IdpMetadata};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// No provider's metadata is fetched more often than this.
const MIN_REFRESH_SECONDS: i64 = 1;

/// When a provider's metadata is fetched again after `now`: on the schedule,
/// or sooner when the document asks (`cacheDuration`) or would lapse (at half
/// its remaining validity, so a failed fetch has time to be retried).
pub fn next_refresh(schedule_seconds: i64, metadata: Option<&IdpMetadata>, now: DateTime<Utc>) -> i64 {
    let mut wait = schedule_seconds;
    if let Some(m) = metadata {
        if let Some(cache) = m.cache_duration {
            wait = wait.min(cache.num_seconds());
        }
        if let Some(until) = m.valid_until {
            wait = wait.min((until - now).num_seconds() / 2);
        }
    }
    now.timestamp() + wait.max(MIN_REFRESH_SECONDS)
}

/// Certificates this close to their end are reported.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How many days the first of a provider's signing certificates to end has left.
#[derive(Debug)]
pub struct ExpiringCertificate {
    pub provider_arn: String,
    pub days_left: i64,
}

impl OperatorApi {
    /// Fetches again the metadata of every provider that names a URL and is
    /// due (`next_refresh`); returns the failures and when the next is due.
    pub async fn refresh_identity_providers(
        &self,
        schedule_seconds: i64,
    ) -> Result<(Vec<RefreshFailure>, i64), StoreError> {
        let mut failures = Vec::new();
        let now = self.clock.now();
        let mut soonest = now.timestamp() + schedule_seconds;
        for provider in self.store.external_saml_providers().await? {
            let Some(url) = provider.settings.metadata_url.clone() else { continue };
            let due = self.refresh_due.lock().map(|d| d.get(&provider.arn).copied()).unwrap_or_default();
            if let Some(due) = due.filter(|d| *d > now.timestamp()) {
                soonest = soonest.min(due);
                continue;
            }
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
            let next = match checked {
                Ok((document, m)) => {
                    if document != provider.metadata {
                        let valid_until = m.valid_until.map(|t| t.timestamp());
                        self.store
                            .update_saml_provider(&provider.arn, &document, &m.entity_id, valid_until)
                            .await?;
                    }
                    next_refresh(schedule_seconds, Some(&m), now)
                }
                Err(error) => {
                    // Tried again as the metadata in force asks.
                    let kept = validate_idp_metadata(&provider.metadata, now).ok();
                    failures.push(RefreshFailure { subject: provider.arn.clone(), url, error });
                    next_refresh(schedule_seconds, kept.as_ref(), now)
                }
            };
            soonest = soonest.min(next);
            if let Ok(mut due) = self.refresh_due.lock() {
                due.insert(provider.arn, next);
            }
        }
        Ok((failures, soonest))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::IdpMetadata;

    fn metadata(cache: Option<i64>, valid_for: Option<i64>, now: DateTime<Utc>) -> IdpMetadata {
        IdpMetadata {
            entity_id: "https://idp.test".into(),
            valid_until: valid_for.map(|s| now + chrono::Duration::seconds(s)),
            cache_duration: cache.map(chrono::Duration::seconds),
            signing_certificates: vec![],
            signing_keys: vec![],
            redirect_sso_url: None,
        }
    }

    #[test]
    fn metadata_is_fetched_again_as_its_document_asks() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t = now.timestamp();
        assert_eq!(next_refresh(3600, None, now), t + 3600);
        assert_eq!(next_refresh(3600, Some(&metadata(None, None, now)), now), t + 3600);
        // cacheDuration shorter than the schedule wins; longer does not.
        assert_eq!(next_refresh(3600, Some(&metadata(Some(300), None, now)), now), t + 300);
        assert_eq!(next_refresh(3600, Some(&metadata(Some(86_400), None, now)), now), t + 3600);
        // Half the time left before validUntil, so a failure can be retried.
        assert_eq!(next_refresh(3600, Some(&metadata(None, Some(1200), now)), now), t + 600);
        // Never more often than once a second.
        assert_eq!(next_refresh(3600, Some(&metadata(Some(0), Some(1), now)), now), t + 1);
    }
}
