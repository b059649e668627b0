//! Pending sign-ins of the command line (`console/cli.rs`), shared by every
//! node: any node may show the approval page or redeem the code. Single use
//! is a `DELETE` that exactly one caller wins.
use super::{get, opt, Result, Store};

/// One command-line sign-in as stored.
#[derive(Debug, Clone)]
pub struct CliGrantRow {
    /// The request the command made (JSON).
    pub request: String,
    /// `pending`, `granted` or `denied`.
    pub status: String,
    /// Sealed, once granted.
    pub credentials: Option<String>,
    pub polled_at: Option<i64>,
    pub expires_at: i64,
    pub id_hash: String,
}

fn grant(row: &sqlx::any::AnyRow) -> Result<CliGrantRow> {
    Ok(CliGrantRow {
        id_hash: get(row, "id_hash")?,
        request: get(row, "request")?,
        status: get(row, "status")?,
        credentials: opt(row, "credentials")?,
        polled_at: opt(row, "polled_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

impl Store {
    pub async fn put_cli_grant(
        &self,
        id_hash: &str,
        code_hash: Option<&str>,
        request: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO cli_grants (id_hash, code_hash, request, status, expires_at)
             VALUES ($1, $2, $3, 'pending', $4)",
        )
        .bind(id_hash)
        .bind(code_hash)
        .bind(request)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live grant by the hash of its id.
    pub async fn cli_grant(&self, id_hash: &str, now: i64) -> Result<Option<CliGrantRow>> {
        let row = sqlx::query("SELECT * FROM cli_grants WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(grant).transpose()
    }

    /// A live grant by the hash of its authorization or device code.
    pub async fn cli_grant_by_code(&self, code_hash: &str, now: i64) -> Result<Option<CliGrantRow>> {
        let row = sqlx::query("SELECT * FROM cli_grants WHERE code_hash = $1 AND expires_at > $2")
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(grant).transpose()
    }

    /// Settles a pending grant as `granted` (with its sealed credentials and,
    /// for the browser flow, the code now issued) or `denied`. False when it
    /// was no longer pending or has expired.
    pub async fn settle_cli_grant(
        &self,
        id_hash: &str,
        status: &str,
        code_hash: Option<&str>,
        credentials: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE cli_grants SET status = $2, code_hash = COALESCE($3, code_hash), credentials = $4
             WHERE id_hash = $1 AND status = 'pending' AND expires_at > $5",
        )
        .bind(id_hash)
        .bind(status)
        .bind(code_hash)
        .bind(credentials)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Notes a poll of a pending grant.
    pub async fn note_cli_poll(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE cli_grants SET polled_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a settled grant once: true for the one caller that removed it.
    pub async fn take_cli_grant(&self, id_hash: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM cli_grants WHERE id_hash = $1 AND status <> 'pending'")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets grants that expired before `now`.
    pub async fn purge_cli_grants(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM cli_grants WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
