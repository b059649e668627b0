//! The SAML replay cache, shared by every node through the database.
//!
//! Every accepted assertion costs a durable write. Concurrent writes are
//! grouped: one writer task commits all pending uses in one transaction and
//! answers each caller after the commit, so many assertions share one fsync and
//! nothing is acknowledged before it is stored.
use super::{Result, Store, StoreError};
use sqlx::{Any, Transaction};
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

const BATCH: usize = 256;

struct Use {
    issuer: String,
    assertion_id: String,
    expires_at: i64,
    now: i64,
    answer: oneshot::Sender<std::result::Result<bool, String>>,
}

/// Grouped writer of assertion uses, started on first use.
#[derive(Default)]
pub struct ReplayCache {
    writer: OnceLock<mpsc::Sender<Use>>,
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayCache")
    }
}

async fn record_one(tx: &mut Transaction<'static, Any>, u: &Use) -> std::result::Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM saml_replay WHERE issuer = $1 AND assertion_id = $2 AND expires_at < $3")
        .bind(&u.issuer)
        .bind(&u.assertion_id)
        .bind(u.now)
        .execute(&mut **tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&u.issuer)
    .bind(&u.assertion_id)
    .bind(u.expires_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

async fn write_batch(store: &Store, batch: Vec<Use>) {
    let outcome: std::result::Result<Vec<bool>, String> = async {
        let mut tx = store.begin_write().await.map_err(|e| e.to_string())?;
        let mut firsts = Vec::with_capacity(batch.len());
        for u in &batch {
            firsts.push(record_one(&mut tx, u).await.map_err(|e| e.to_string())?);
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(firsts)
    }
    .await;
    match outcome {
        Ok(firsts) => {
            for (u, first) in batch.into_iter().zip(firsts) {
                let _ = u.answer.send(Ok(first));
            }
        }
        Err(e) => {
            for u in batch {
                let _ = u.answer.send(Err(e.clone()));
            }
        }
    }
}

impl Store {
    /// Records the first use of an assertion. False when it was used before
    /// (and is not yet expired): the caller must refuse it. Returns once the
    /// use is committed.
    pub async fn record_assertion_use(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let writer = self.replay.writer.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<Use>(4096);
            let store = self.clone();
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(BATCH);
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    write_batch(&store, std::mem::take(&mut batch)).await;
                }
            });
            tx
        });
        let (answer, wait) = oneshot::channel();
        let u =
            Use { issuer: issuer.to_owned(), assertion_id: assertion_id.to_owned(), expires_at, now, answer };
        let closed = || StoreError::Backend(sqlx::Error::PoolClosed);
        writer.send(u).await.map_err(|_| closed())?;
        match wait.await.map_err(|_| closed())? {
            Ok(first) => Ok(first),
            Err(e) => Err(StoreError::Backend(sqlx::Error::Protocol(e))),
        }
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
