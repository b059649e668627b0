//! SAML identity providers registered in an account.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::{ProviderSettings, SamlProvider};
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
    })
}

impl Store {
    pub async fn insert_saml_provider(&self, p: &SamlProvider) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO saml_providers (arn, account_id, name, uuid, metadata, valid_until, created_at, entity_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&p.arn)
        .bind(p.account_id.as_str())
        .bind(&p.name)
        .bind(&p.uuid)
        .bind(&p.metadata)
        .bind(p.valid_until)
        .bind(p.created_at)
        .bind(&p.entity_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::on_insert("SAML provider"))?;
        self.commit_change(tx).await
    }

    pub async fn get_saml_provider(&self, arn: &str) -> Result<SamlProvider> {
        let key = arn.to_owned();
        if let Some(kept) = self.cache.get(&self.cache.providers, &key) {
            return Ok(kept);
        }
        let seen = self.cache.generation();
        let rows = sqlx::query(&format!("{SELECT_PROVIDERS} WHERE p.arn = $1 ORDER BY p.arn"))
            .bind(arn)
            .fetch_all(&self.pool)
            .await?;
        let found = providers_of(&rows)?.pop().ok_or(StoreError::NotFound("SAML provider"))?;
        self.cache.put(&self.cache.providers, seen, key, &found);
        Ok(found)
    }

    pub async fn list_saml_providers(&self, account_id: &str) -> Result<Vec<SamlProvider>> {
        let rows = sqlx::query(&format!("{SELECT_PROVIDERS} WHERE p.account_id = $1 ORDER BY p.arn"))
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        providers_of(&rows)
    }

    /// Every account's providers of external IdPs: all but the built-in
    /// IdP's, which every account has (its keys are the key ring's).
    pub async fn external_saml_providers(&self) -> Result<Vec<SamlProvider>> {
        let rows = sqlx::query(&format!("{SELECT_PROVIDERS} WHERE p.name <> $1 ORDER BY p.arn"))
            .bind(crate::domain::BUILTIN_PROVIDER)
            .fetch_all(&self.pool)
            .await?;
        providers_of(&rows)
    }

    /// Providers whose metadata names this IdP entity id, in every account.
    pub async fn saml_providers_by_entity_id(&self, entity_id: &str) -> Result<Vec<SamlProvider>> {
        let rows = sqlx::query(&format!("{SELECT_PROVIDERS} WHERE p.entity_id = $1 ORDER BY p.arn"))
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
        providers_of(&rows)
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
        self.commit_change(tx).await
    }
}
