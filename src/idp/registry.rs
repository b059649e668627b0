//! Service providers registered at run time: stored in the database (every
//! node reads them again when the change counter moves) beside idbroker's
//! own SP and the configuration's, which cannot be changed at run time.
use super::{Acs, IdentityProvider, ServiceProvider};
use crate::store::{Store, StoreError, StoredServiceProvider};
use base64::Engine;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Invalid(String),
    #[error("the service provider {0} is in the configuration file; change it there")]
    Configured(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAcs {
    index: usize,
    url: String,
}

/// A stored registration as the IdP uses it.
fn from_stored(s: &StoredServiceProvider) -> Result<ServiceProvider, RegistryError> {
    let acs: Vec<StoredAcs> =
        serde_json::from_str(&s.acs).map_err(|e| RegistryError::Invalid(format!("stored ACS list: {e}")))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signing_certificate = match &s.signing_certificate {
        Some(c) => Some(b64.decode(c).map_err(|_| RegistryError::Invalid("stored certificate".into()))?),
        None => None,
    };
    Ok(ServiceProvider {
        entity_id: s.entity_id.clone(),
        acs: acs.into_iter().map(|a| Acs { index: a.index, url: a.url }).collect(),
        signing_certificate,
        sign_assertions: s.sign_assertions,
        slo: s.slo.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        encryption: match &s.encryption {
            Some(j) => Some(
                serde_json::from_str(j).map_err(|_| RegistryError::Invalid("stored encryption".into()))?,
            ),
            None => None,
        },
    })
}

/// An SP as stored, with the metadata it came from.
pub fn to_stored(sp: &ServiceProvider, metadata: Option<String>, now: i64) -> StoredServiceProvider {
    let acs: Vec<StoredAcs> =
        sp.acs.iter().map(|a| StoredAcs { index: a.index, url: a.url.clone() }).collect();
    StoredServiceProvider {
        entity_id: sp.entity_id.clone(),
        acs: serde_json::to_string(&acs).unwrap_or_else(|_| "[]".into()),
        signing_certificate: sp
            .signing_certificate
            .as_ref()
            .map(|c| base64::engine::general_purpose::STANDARD.encode(c)),
        sign_assertions: sp.sign_assertions,
        slo: sp.slo.as_ref().and_then(|e| serde_json::to_string(e).ok()),
        encryption: sp.encryption.as_ref().and_then(|e| serde_json::to_string(e).ok()),
        metadata,
        metadata_url: None,
        refreshed_at: None,
        refresh_error: None,
        created_at: now,
        updated_at: now,
    }
}

impl IdentityProvider {
    /// Whether `entity_id` is idbroker's own SP or one of the configuration's.
    pub fn is_configured(&self, entity_id: &str) -> bool {
        self.configured.iter().any(|sp| sp.entity_id == entity_id)
    }

    /// Reads the registered SPs again: in force at once on this node. A
    /// registration that no longer reads is skipped and logged.
    pub async fn reload_service_providers(&self, store: &Store) -> Result<(), StoreError> {
        let mut all = self.configured.clone();
        for stored in store.service_providers().await? {
            if self.is_configured(&stored.entity_id) {
                continue;
            }
            match from_stored(&stored) {
                Ok(sp) => all.push(sp),
                Err(e) => {
                    tracing::error!(entity_id = stored.entity_id, error = %e, "a registered service provider cannot be read")
                }
            }
        }
        self.service_providers.set(all);
        Ok(())
    }

    /// Every SP the IdP serves now: `(SP, registered at run time)`.
    pub fn all_service_providers(&self) -> Vec<(ServiceProvider, bool)> {
        self.service_providers
            .get()
            .iter()
            .map(|sp| (sp.clone(), !self.is_configured(&sp.entity_id)))
            .collect()
    }
}
