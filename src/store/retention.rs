//! Audit retention: events older than `audit.retention_days` are deleted a
//! thousand at a time, each batch in a short transaction of its own (no long
//! lock), and exported first where an export is configured: a batch is
//! deleted only once its export has reached the disk, so an export that
//! fails stops the deletions and loses nothing (a crash between the two
//! exports a batch twice, never zero times).
use super::{Result, Store, StoreError};
use crate::audit::{AuditExport, ExportError};
use crate::metrics::AuditMetrics;
use chrono::{DateTime, Utc};

const BATCH: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Deletes (after exporting) every event from before `cutoff`; returns how
/// many were deleted.
pub async fn apply_audit_retention(
    store: &Store,
    export: Option<&AuditExport>,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    metrics: Option<&AuditMetrics>,
) -> std::result::Result<u64, RetentionError> {
    let mut deleted = 0;
    loop {
        let batch = store.audit_events_before(cutoff.timestamp(), BATCH).await?;
        let Some(&(through, _)) = batch.last() else { return Ok(deleted) };
        if let Some(export) = export {
            let bodies: Vec<String> = batch.into_iter().map(|(_, body)| body).collect();
            export.write(&bodies, now)?;
            if let Some(m) = metrics {
                m.exported.inc_by(bodies.len() as u64);
            }
        }
        let n = store.delete_audit_events(cutoff.timestamp(), through).await?;
        if let Some(m) = metrics {
            m.deleted.inc_by(n);
        }
        deleted += n;
        // Let the request paths' writes in between batches.
        tokio::task::yield_now().await;
    }
}

/// Whether this node may run retention now (one node at a time).
pub async fn retention_turn(store: &Store, node: &str, now: i64) -> Result<bool> {
    store.take_lease("audit-retention", node, now, 15 * 60).await
}
