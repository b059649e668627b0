//! SAML identity providers registered in an account.
use super::{get, opt, Result, Store, StoreError};
use crate::domain::SamlProvider;
use sqlx::any::AnyRow;

pub(super) fn provider(row: &AnyRow) -> Result<SamlProvider> {
    Ok(SamlProvider {
        arn: get(row, "arn")?,
        account_id: get(row, "account_id")?,
        name: get(row, "name")?,
        uuid: get(row, "uuid")?,
        metadata: get(row, "metadata")?,
        entity_id: get(row, "entity_id")?,
        valid_until: opt(row, "valid_until")?,
        created_at: get(row, "created_at")?,
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
        .bind(&p.account_id)
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
        let row = sqlx::query("SELECT * FROM saml_providers WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("SAML provider"))?;
        let found = provider(&row)?;
        self.cache.put(&self.cache.providers, seen, key, &found);
        Ok(found)
    }

    pub async fn list_saml_providers(&self, account_id: &str) -> Result<Vec<SamlProvider>> {
        let rows = sqlx::query("SELECT * FROM saml_providers WHERE account_id = $1 ORDER BY arn")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(provider).collect()
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
