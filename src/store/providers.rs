//! SAML identity providers registered in an account.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::{AssertionEncryptionMode, ProviderKey, ProviderSettings, SamlProvider};
use sqlx::any::AnyRow;

/// Providers with their `idbroker:` tags, one row per tag (or one with no
/// tag): read with `providers_of`. `WHERE` and `ORDER BY p.arn` follow.
const SELECT_PROVIDERS: &str = "SELECT p.*, t.tag_key, t.tag_value FROM saml_providers p
     LEFT JOIN tags t ON t.resource = p.arn AND t.key_lower LIKE 'idbroker:%'";

/// The providers of rows from `SELECT_PROVIDERS` in ARN order, each with the
/// settings its tags spell.
fn providers_of(rows: &[AnyRow]) -> Result<Vec<SamlProvider>> {
    let mut out: Vec<(SamlProvider, Vec<(String, String)>)> = Vec::new();
    for row in rows {
        let arn: String = get(row, "arn")?;
        if out.last().is_none_or(|(p, _)| p.arn != arn) {
            out.push((provider(row)?, Vec::new()));
        }
        if let (Some(key), Some(value)) = (opt::<String>(row, "tag_key")?, opt::<String>(row, "tag_value")?) {
            if let Some((_, tags)) = out.last_mut() {
                tags.push((key, value));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(mut p, tags)| {
            p.settings = ProviderSettings::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            p
        })
        .collect())
}

fn provider(row: &AnyRow) -> Result<SamlProvider> {
    Ok(SamlProvider {
        arn: get(row, "arn")?,
        account_id: super::account_id(row)?,
        name: get(row, "name")?,
        uuid: get(row, "uuid")?,
        metadata: get(row, "metadata")?,
        entity_id: get(row, "entity_id")?,
        valid_until: opt(row, "valid_until")?,
        created_at: get(row, "created_at")?,
        settings: ProviderSettings::default(),
        encryption_mode: AssertionEncryptionMode::parse(&get::<String>(row, "assertion_encryption_mode")?)
            .ok_or(StoreError::Corrupt("assertion encryption mode"))?,
        private_keys: Vec::new(),
    })
}

/// What `change_provider_encryption` changes; `None` leaves a part as it is.
pub struct EncryptionChange<'a> {
    pub mode: Option<AssertionEncryptionMode>,
    pub add_key: Option<&'a ProviderKey>,
    pub remove_key: Option<&'a str>,
}

/// When a provider last verified a response, and last refused one (and why).
pub struct ProviderUse {
    pub last_success_at: Option<i64>,
    pub last_failure: Option<(i64, String)>,
}

/// A provider never has more decryption keys than this (AWS's limit).
pub const MAX_PROVIDER_KEYS: usize = 2;

impl Store {
    /// The providers `filter` (on `p`, one parameter) selects, with their
    /// settings and their decryption keys: two queries, whatever the count.
    async fn select_providers(&self, filter: &str, value: &str) -> Result<Vec<SamlProvider>> {
        let rows = sqlx::query(&format!("{SELECT_PROVIDERS} WHERE {filter} ORDER BY p.arn"))
            .bind(value)
            .fetch_all(&self.pool)
            .await?;
        let mut providers = providers_of(&rows)?;
        if providers.is_empty() {
            return Ok(providers);
        }
        let keys = sqlx::query(&format!(
            "SELECT k.* FROM saml_provider_keys k JOIN saml_providers p ON p.arn = k.provider_arn
             WHERE {filter} ORDER BY k.created_at, k.key_id"
        ))
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        for row in &keys {
            let arn: String = get(row, "provider_arn")?;
            let key = ProviderKey {
                key_id: get(row, "key_id")?,
                sealed: get(row, "sealed_key")?,
                created_at: get(row, "created_at")?,
            };
            if let Some(p) = providers.iter_mut().find(|p| p.arn == arn) {
                p.private_keys.push(key);
            }
        }
        Ok(providers)
    }

    pub async fn insert_saml_provider(&self, p: &SamlProvider) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO saml_providers (arn, account_id, name, uuid, metadata, valid_until, created_at, entity_id,
                                         assertion_encryption_mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&p.arn)
        .bind(p.account_id.as_str())
        .bind(&p.name)
        .bind(&p.uuid)
        .bind(&p.metadata)
        .bind(p.valid_until)
        .bind(p.created_at)
        .bind(&p.entity_id)
        .bind(p.encryption_mode.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("SAML provider"))?;
        for key in &p.private_keys {
            insert_key(&mut tx, &p.arn, key).await?;
        }
        self.commit_change(tx).await
    }

    pub async fn get_saml_provider(&self, arn: &str) -> Result<SamlProvider> {
        let key = arn.to_owned();
        if let Some(kept) = self.cache.get(&self.cache.providers, &key) {
            return Ok(kept);
        }
        let seen = self.cache.generation();
        let found = self
            .select_providers("p.arn = $1", arn)
            .await?
            .pop()
            .ok_or(StoreError::NotFound("SAML provider"))?;
        self.cache.put(&self.cache.providers, seen, key, &found);
        Ok(found)
    }

    pub async fn list_saml_providers(&self, account_id: &str) -> Result<Vec<SamlProvider>> {
        self.select_providers("p.account_id = $1", account_id).await
    }

    /// Every account's providers of external IdPs: all but the built-in
    /// IdP's, which every account has (its keys are the key ring's).
    pub async fn external_saml_providers(&self) -> Result<Vec<SamlProvider>> {
        self.select_providers("p.name <> $1", crate::domain::BUILTIN_PROVIDER).await
    }

    /// Notes a response verified (`failed_check` None) or refused by a
    /// provider. Not a change other nodes must read at once: no change count.
    pub async fn note_provider_use(&self, arn: &str, failed_check: Option<&str>, now: i64) -> Result<()> {
        let q = match failed_check {
            None => sqlx::query("UPDATE saml_providers SET last_success_at = $2 WHERE arn = $1")
                .bind(arn)
                .bind(now),
            Some(check) => sqlx::query(
                "UPDATE saml_providers SET last_failure_at = $2, last_failure_check = $3 WHERE arn = $1",
            )
            .bind(arn)
            .bind(now)
            .bind(check),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// A provider's last use, read fresh (it is not a cached change).
    pub async fn saml_provider_use(&self, arn: &str) -> Result<ProviderUse> {
        let row = sqlx::query(
            "SELECT last_success_at, last_failure_at, last_failure_check FROM saml_providers WHERE arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("SAML provider"))?;
        Ok(ProviderUse {
            last_success_at: opt(&row, "last_success_at")?,
            last_failure: opt::<i64>(&row, "last_failure_at")?
                .zip(opt::<String>(&row, "last_failure_check")?),
        })
    }

    /// The provider with this `SAMLProviderUUID` (its own ACS), if any.
    pub async fn saml_provider_by_uuid(&self, uuid: &str) -> Result<Option<SamlProvider>> {
        Ok(self.select_providers("p.uuid = $1", uuid).await?.pop())
    }

    /// Providers whose metadata names this IdP entity id, in every account.
    pub async fn saml_providers_by_entity_id(&self, entity_id: &str) -> Result<Vec<SamlProvider>> {
        self.select_providers("p.entity_id = $1", entity_id).await
    }

    pub async fn update_saml_provider(
        &self,
        arn: &str,
        metadata: &str,
        entity_id: &str,
        valid_until: Option<i64>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE saml_providers SET metadata = $1, valid_until = $2, entity_id = $4 WHERE arn = $3",
        )
        .bind(metadata)
        .bind(valid_until)
        .bind(arn)
        .bind(entity_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("SAML provider"));
        }
        self.commit_change(tx).await
    }

    pub async fn delete_saml_provider(&self, arn: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM saml_providers WHERE arn = $1").bind(arn).execute(&mut *tx).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("SAML provider"));
        }
        sqlx::query("DELETE FROM tags WHERE resource = $1").bind(arn).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM saml_provider_keys WHERE provider_arn = $1")
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        self.commit_change(tx).await
    }

    /// Changes a provider's encryption mode and keys in one transaction:
    /// `NotFound("private key")` for a key it does not have, `Conflict` when
    /// it would hold more than `MAX_PROVIDER_KEYS`.
    pub async fn change_provider_encryption(&self, arn: &str, change: EncryptionChange<'_>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(mode) = change.mode {
            let r = sqlx::query("UPDATE saml_providers SET assertion_encryption_mode = $1 WHERE arn = $2")
                .bind(mode.as_str())
                .bind(arn)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound("SAML provider"));
            }
        }
        if let Some(key_id) = change.remove_key {
            let r = sqlx::query("DELETE FROM saml_provider_keys WHERE key_id = $1 AND provider_arn = $2")
                .bind(key_id)
                .bind(arn)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound("private key"));
            }
        }
        if let Some(key) = change.add_key {
            insert_key(&mut tx, arn, key).await?;
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM saml_provider_keys WHERE provider_arn = $1")
                    .bind(arn)
                    .fetch_one(&mut *tx)
                    .await?;
            if count as usize > MAX_PROVIDER_KEYS {
                return Err(StoreError::Conflict("private key beyond the limit"));
            }
        }
        self.commit_change(tx).await
    }
}

async fn insert_key(tx: &mut super::WriteTx, arn: &str, key: &ProviderKey) -> Result<()> {
    sqlx::query("INSERT INTO saml_provider_keys (key_id, provider_arn, sealed_key, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&key.key_id)
        .bind(arn)
        .bind(&key.sealed)
        .bind(key.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::on_insert("private key"))?;
    Ok(())
}
