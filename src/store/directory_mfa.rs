//! TOTP seeds of directory users (the built-in IdP's second step).
use super::{get, Result, Store};

impl Store {
    /// The sealed seed of a directory user, if they enrolled.
    pub async fn get_directory_mfa(&self, user_key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT sealed_seed FROM directory_mfa WHERE user_key = $1")
            .bind(user_key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| get(&r, "sealed_seed")).transpose()
    }

    /// Enrolls a seed with its first accepted step; false if one exists already.
    pub async fn put_directory_mfa(
        &self,
        user_key: &str,
        sealed_seed: &str,
        step: i64,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO directory_mfa (user_key, sealed_seed, last_step, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(user_key)
        .bind(sealed_seed)
        .bind(step)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Accepts `step` once: true when it is newer than the last accepted one.
    pub async fn advance_directory_mfa_step(&self, user_key: &str, step: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE directory_mfa SET last_step = $2 WHERE user_key = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user_key)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets a user's enrolment; false if there was none.
    pub async fn delete_directory_mfa(&self, user_key: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM directory_mfa WHERE user_key = $1")
            .bind(user_key)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
