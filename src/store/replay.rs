//! The SAML replay cache, shared by every node through the database.
use super::{Result, Store};

impl Store {
    /// Records the first use of an assertion. False when it was used before
    /// (and is not yet expired): the caller must refuse it.
    pub async fn record_assertion_use(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM saml_replay WHERE issuer = $1 AND assertion_id = $2 AND expires_at < $3")
            .bind(issuer)
            .bind(assertion_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(issuer)
        .bind(assertion_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    /// Forgets assertions that expired before `now`.
    pub async fn purge_replay_cache(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM saml_replay WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
