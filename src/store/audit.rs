//! Stored audit events, written with the group commits (store/grouped.rs)
//! so that recording an event never waits on the database.
use super::{Result, Store, WriteTx};
use crate::audit::{log_event, AuditEvent, AuditSink};

/// Inserts `events` in `tx`, many rows to a statement: each statement is a
/// round trip to the database (SQLite's is a thread).
pub(super) async fn insert_audit_rows(
    tx: &mut WriteTx,
    events: &[&AuditEvent],
) -> std::result::Result<(), sqlx::Error> {
    const COLUMNS: usize = 8;
    const ROWS: usize = 64;
    for chunk in events.chunks(ROWS) {
        let mut sql = String::from(
            "INSERT INTO audit_events (event_time, event_name, event_source, account_id, principal_arn, error_code, request_id, body) VALUES ",
        );
        for row in 0..chunk.len() {
            let first = row * COLUMNS + 1;
            let placeholders: Vec<String> = (first..first + COLUMNS).map(|n| format!("${n}")).collect();
            sql.push_str(if row == 0 { "(" } else { ",(" });
            sql.push_str(&placeholders.join(","));
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.event_time.timestamp())
                .bind(&e.event_name)
                .bind(&e.event_source)
                .bind(&e.account_id)
                .bind(&e.principal_arn)
                .bind(&e.error_code)
                .bind(&e.request_id)
                .bind(e.to_json());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Stores `events` in one commit of their own (the command line's events).
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_audit_rows(&mut tx, &events.iter().collect::<Vec<_>>()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The most recent events, newest first, as stored JSON.
    pub async fn recent_audit_events(&self, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM audit_events ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// An audit sink that logs each event and stores it with the next group
/// commit (store/grouped.rs), so recording never waits on the database.
pub struct StoreAuditSink {
    store: Store,
}

impl StoreAuditSink {
    pub fn new(store: Store) -> StoreAuditSink {
        StoreAuditSink { store }
    }
}

impl AuditSink for StoreAuditSink {
    fn record(&self, event: AuditEvent) {
        log_event(&event);
        if !self.store.queue_audit_event(event) {
            tracing::error!("audit queue full; event kept in the log only");
        }
    }
}
