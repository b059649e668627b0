//! Tags of users, roles, policies, SAML providers and MFA devices.
use super::{get, Result, Store, StoreError};
use crate::domain::Tag;

/// The most tags one entity may carry, as in IAM.
pub const MAX_TAGS: usize = 50;

impl Store {
    pub async fn list_tags(&self, resource: &str) -> Result<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT tag_key, tag_value FROM tags WHERE resource = $1 ORDER BY position, key_lower",
        )
        .bind(resource)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(Tag { key: get(r, "tag_key")?, value: get(r, "tag_value")? })).collect()
    }

    /// Adds or replaces tags (keys compare without case); refused with `Conflict`
    /// when the entity would carry more than `MAX_TAGS`.
    pub async fn put_tags(&self, resource: &str, tags: &[Tag]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut position: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM tags WHERE resource = $1")
                .bind(resource)
                .fetch_one(&mut *tx)
                .await?;
        for t in tags {
            position += 1;
            sqlx::query(
                "INSERT INTO tags (resource, tag_key, key_lower, tag_value, position) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (resource, key_lower) DO UPDATE SET tag_value = excluded.tag_value, tag_key = excluded.tag_key",
            )
            .bind(resource)
            .bind(&t.key)
            .bind(t.key.to_lowercase())
            .bind(&t.value)
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE resource = $1")
            .bind(resource)
            .fetch_one(&mut *tx)
            .await?;
        if count as usize > MAX_TAGS {
            return Err(StoreError::Conflict("tags"));
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    pub async fn remove_tags(&self, resource: &str, keys: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for k in keys {
            sqlx::query("DELETE FROM tags WHERE resource = $1 AND key_lower = $2")
                .bind(resource)
                .bind(k.to_lowercase())
                .execute(&mut *tx)
                .await?;
        }
        self.commit_change(tx).await?;
        Ok(())
    }
}
