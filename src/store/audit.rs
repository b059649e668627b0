//! Stored audit events, written by a background task in batches so that
//! recording an event never waits on the database.
use super::{Result, Store};
use crate::audit::{log_event, AuditEvent, AuditSink};
use tokio::sync::mpsc;

const BATCH: usize = 256;
const QUEUE: usize = 65_536;

impl Store {
    /// Stores `events` in one commit, many rows to a statement: each
    /// statement is a round trip to the database (SQLite's is a thread).
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<()> {
        const COLUMNS: usize = 8;
        const ROWS: usize = 64;
        let mut tx = self.begin_write().await?;
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
            query.execute(&mut *tx).await?;
        }
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

/// An audit sink that logs each event and stores it through a background writer.
pub struct StoreAuditSink {
    tx: mpsc::Sender<AuditEvent>,
}

impl StoreAuditSink {
    /// Starts the writer. It ends, after storing what is queued, when the last
    /// sink is dropped; the returned handle lets shutdown wait for that.
    pub fn start(store: Store) -> (StoreAuditSink, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(e) = store.insert_audit_events(&batch).await {
                    tracing::error!(error = ?e, lost = batch.len(), "audit events could not be stored");
                }
                batch.clear();
            }
        });
        (StoreAuditSink { tx }, writer)
    }
}

impl AuditSink for StoreAuditSink {
    fn record(&self, event: AuditEvent) {
        log_event(&event);
        if let Err(e) = self.tx.try_send(event) {
            tracing::error!(error = %e, "audit queue full; event kept in the log only");
        }
    }
}
