//! Browser state shared by every node: web sessions, pending AuthnRequests and
//! console sign-in tokens. Keys are hashes of the browser's secrets, so a
//! database reader cannot act as a browser; single-use rows are taken with
//! `DELETE ... RETURNING`, which exactly one caller wins.
use super::{get, Result, Store};

impl Store {
    /// The `(kind, data)` of a live session.
    pub async fn get_web_session(&self, id_hash: &str, now: i64) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT kind, data FROM web_sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((get(&r, "kind")?, get(&r, "data")?))).transpose()
    }

    /// Ends a session.
    pub async fn delete_web_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Forgets sessions that expired before `now`.
    pub async fn purge_web_sessions(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn put_authn_request(
        &self,
        id: &str,
        provider_arn: &str,
        browser_hash: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO authn_requests (id, provider_arn, browser_hash, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(provider_arn)
        .bind(browser_hash)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a pending AuthnRequest once: its provider ARN when it was made
    /// by this browser and has not expired.
    pub async fn take_authn_request(&self, id: &str, browser_hash: &str, now: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "DELETE FROM authn_requests WHERE id = $1 AND browser_hash = $2 AND expires_at > $3
             RETURNING provider_arn",
        )
        .bind(id)
        .bind(browser_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        sqlx::query("DELETE FROM authn_requests WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        row.map(|r| get(&r, "provider_arn")).transpose()
    }

    pub async fn put_signin_token(&self, id_hash: &str, data: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO signin_tokens (id_hash, data, expires_at) VALUES ($1, $2, $3)")
            .bind(id_hash)
            .bind(data)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a sign-in token once, if it has not expired.
    pub async fn take_signin_token(&self, id_hash: &str, now: i64) -> Result<Option<String>> {
        let row =
            sqlx::query("DELETE FROM signin_tokens WHERE id_hash = $1 AND expires_at > $2 RETURNING data")
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        sqlx::query("DELETE FROM signin_tokens WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        row.map(|r| get(&r, "data")).transpose()
    }
}

impl Store {
    /// Failures recorded after `since` under each key (each count is bounded
    /// by its limit: past it, attempts are refused and not recorded).
    pub async fn count_signin_failures(&self, keys: &[&str], since: i64) -> Result<Vec<i64>> {
        // One query for every key (the throttle asks for one or two).
        let placeholders: Vec<String> = (2..keys.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT throttle_key, COUNT(*) AS n FROM signin_failures
             WHERE failed_at > $1 AND throttle_key IN ({}) GROUP BY throttle_key",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(since);
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut counts = vec![0; keys.len()];
        for row in &rows {
            let key: String = get(row, "throttle_key")?;
            if let Some(at) = keys.iter().position(|k| *k == key) {
                counts[at] = get(row, "n")?;
            }
        }
        Ok(counts)
    }

    pub async fn record_signin_failure(&self, keys: &[&str], now: i64) -> Result<()> {
        for key in keys {
            sqlx::query("INSERT INTO signin_failures (throttle_key, failed_at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn purge_signin_failures(&self, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM signin_failures WHERE failed_at <= $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Whether `user` completed a sign-in from `address` after `since`.
    pub async fn is_familiar_source(&self, user: &str, address: &str, since: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM familiar_sources WHERE user_key = $1 AND address = $2 AND last_success > $3",
        )
        .bind(user)
        .bind(address)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub async fn record_familiar_source(&self, user: &str, address: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO familiar_sources (user_key, address, last_success) VALUES ($1, $2, $3)
             ON CONFLICT (user_key, address) DO UPDATE SET last_success = excluded.last_success",
        )
        .bind(user)
        .bind(address)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn purge_familiar_sources(&self, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM familiar_sources WHERE last_success <= $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
