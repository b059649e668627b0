//! Signing keys in the database (sealed by the caller; see keys.rs).
use super::{get, Result, Store, StoreError};
use sqlx::any::AnyRow;

/// A stored signing key: `purpose` is `token` or `idp`, `state` one of
/// `published`, `active`, `retired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub purpose: String,
    pub sealed_pem: String,
    pub state: String,
    pub created_at: i64,
}

fn stored_key(row: &AnyRow) -> Result<StoredKey> {
    Ok(StoredKey {
        kid: get(row, "kid")?,
        purpose: get(row, "purpose")?,
        sealed_pem: get(row, "sealed_pem")?,
        state: get(row, "state")?,
        created_at: get(row, "created_at")?,
    })
}

impl Store {
    /// Every key that is not retired, oldest first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows =
            sqlx::query("SELECT * FROM signing_keys WHERE state <> 'retired' ORDER BY created_at, kid")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(stored_key).collect()
    }

    /// Every key, retired ones too (for listing), oldest first.
    pub async fn all_signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows =
            sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid").fetch_all(&self.pool).await?;
        rows.iter().map(stored_key).collect()
    }

    /// `(kid, state)` of every key: a cheap look at whether keys changed.
    pub async fn signing_key_states(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT kid, state FROM signing_keys WHERE state <> 'retired' ORDER BY kid")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((get(r, "kid")?, get(r, "state")?))).collect()
    }

    /// Stores keys in one commit. `Conflict` when a kid exists or a second
    /// key of a purpose would be active (another node got there first).
    pub async fn insert_signing_keys(&self, keys: &[StoredKey], now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for k in keys {
            sqlx::query(
                "INSERT INTO signing_keys (kid, purpose, sealed_pem, state, created_at, changed_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&k.kid)
            .bind(&k.purpose)
            .bind(&k.sealed_pem)
            .bind(&k.state)
            .bind(k.created_at)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::on_insert("signing key"))?;
        }
        self.commit_change(tx).await
    }

    /// Makes `kid` (a published key) the active key of its purpose; the key
    /// active before stays published. `NotFound` when `kid` is not published.
    pub async fn activate_signing_key(&self, kid: &str, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let purpose: Option<String> =
            sqlx::query_scalar("SELECT purpose FROM signing_keys WHERE kid = $1 AND state = 'published'")
                .bind(kid)
                .fetch_optional(&mut *tx)
                .await?;
        let purpose = purpose.ok_or(StoreError::NotFound("published signing key"))?;
        sqlx::query("UPDATE signing_keys SET state = 'published', changed_at = $1 WHERE purpose = $2 AND state = 'active'")
            .bind(now)
            .bind(&purpose)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE signing_keys SET state = 'active', changed_at = $1 WHERE kid = $2")
            .bind(now)
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        self.commit_change(tx).await
    }

    /// Retires a published key. `NotFound` when `kid` is not published (an
    /// active key is retired only after another is activated).
    pub async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE signing_keys SET state = 'retired', changed_at = $1 WHERE kid = $2 AND state = 'published'",
        )
        .bind(now)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("published signing key"));
        }
        self.commit_change(tx).await
    }
}
