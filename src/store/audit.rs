//! Stored audit events.
use super::{Result, Store};
use crate::audit::AuditEvent;

impl Store {
    pub async fn insert_audit_event(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (event_time, event_name, event_source, account_id, principal_arn, error_code, request_id, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.event_time.timestamp())
        .bind(&e.event_name)
        .bind(&e.event_source)
        .bind(&e.account_id)
        .bind(&e.principal_arn)
        .bind(&e.error_code)
        .bind(&e.request_id)
        .bind(e.to_json())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent events, newest first, as stored JSON.
    pub async fn recent_audit_events(&self, limit: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT body FROM audit_events ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
