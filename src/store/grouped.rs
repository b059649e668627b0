//! Grouped commits: the durable writes on the sign-in paths (assertion uses
//! for the replay cache, browser sessions) go through one writer task that
//! commits everything pending in one transaction and answers each caller
//! after the commit. Many requests share one fsync, writers never wait on
//! each other's locks, and nothing is acknowledged before it is stored.
use super::{Result, Store, StoreError, WriteTx};
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

const BATCH: usize = 256;

/// An assertion's first use, to be recorded in the replay cache.
#[derive(Debug, Clone)]
pub struct AssertionUse {
    pub issuer: String,
    pub assertion_id: String,
    /// Kept until then (the assertion's end plus the clock skew).
    pub expires_at: i64,
    pub now: i64,
}

/// One write of a group.
enum Write {
    /// The first use of an assertion; answers false when it was used before.
    FirstUse(AssertionUse),
    /// Stores a web session, ending the one it replaces; with `first_use`,
    /// only if that assertion was not used before (answers false then).
    PutSession {
        id_hash: String,
        kind: String,
        data: String,
        expires_at: i64,
        replaces: Option<String>,
        first_use: Option<AssertionUse>,
    },
}

async fn first_use(tx: &mut WriteTx, u: &AssertionUse) -> std::result::Result<bool, sqlx::Error> {
    // One statement: a new id is inserted; an id whose earlier entry expired
    // is taken again; a live one changes nothing (0 rows).
    let inserted = sqlx::query(
        "INSERT INTO saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (issuer, assertion_id) DO UPDATE SET expires_at = excluded.expires_at
         WHERE saml_replay.expires_at < $4",
    )
    .bind(&u.issuer)
    .bind(&u.assertion_id)
    .bind(u.expires_at)
    .bind(u.now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

struct Job {
    write: Write,
    answer: oneshot::Sender<std::result::Result<bool, String>>,
}

/// The writer task's queue, started on first use.
#[derive(Default)]
pub struct GroupedWriter {
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for GroupedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupedWriter")
    }
}

async fn apply(tx: &mut WriteTx, w: &Write) -> std::result::Result<bool, sqlx::Error> {
    match w {
        Write::FirstUse(u) => first_use(tx, u).await,
        Write::PutSession { id_hash, kind, data, expires_at, replaces, first_use: used } => {
            if let Some(u) = used {
                if !first_use(tx, u).await? {
                    return Ok(false);
                }
            }
            if let Some(old) = replaces {
                sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
                    .bind(old)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query("INSERT INTO web_sessions (id_hash, kind, data, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(id_hash)
                .bind(kind)
                .bind(data)
                .bind(expires_at)
                .execute(&mut **tx)
                .await?;
            Ok(true)
        }
    }
}

async fn write_batch(store: &Store, batch: Vec<Job>) {
    let outcome: std::result::Result<Vec<bool>, String> = async {
        let mut tx = store.begin_write().await.map_err(|e| e.to_string())?;
        let mut answers = Vec::with_capacity(batch.len());
        for job in &batch {
            answers.push(apply(&mut tx, &job.write).await.map_err(|e| e.to_string())?);
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(answers)
    }
    .await;
    match outcome {
        Ok(answers) => {
            for (job, answer) in batch.into_iter().zip(answers) {
                let _ = job.answer.send(Ok(answer));
            }
        }
        Err(e) => {
            for job in batch {
                let _ = job.answer.send(Err(e.clone()));
            }
        }
    }
}

impl Store {
    /// Queues a write for the next group commit and waits for that commit.
    async fn grouped(&self, write: Write) -> Result<bool> {
        let queue = self.grouped.queue.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<Job>(4096);
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
        let closed = || StoreError::Backend(sqlx::Error::PoolClosed);
        queue.send(Job { write, answer }).await.map_err(|_| closed())?;
        match wait.await.map_err(|_| closed())? {
            Ok(answer) => Ok(answer),
            Err(e) => Err(StoreError::Backend(sqlx::Error::Protocol(e))),
        }
    }

    /// Records the first use of an assertion. False when it was used before
    /// (and is not yet expired): the caller must refuse it. Returns once the
    /// use is committed.
    pub async fn record_assertion_use(&self, first_use: AssertionUse) -> Result<bool> {
        self.grouped(Write::FirstUse(first_use)).await
    }

    /// Stores a new web session (its id is new, so it never conflicts),
    /// deleting the session it replaces in the same commit. With `first_use`,
    /// the assertion that signed the browser in is recorded in that commit
    /// too, and nothing is stored (false) if it was used before.
    pub async fn put_web_session(
        &self,
        id_hash: &str,
        kind: &str,
        data: &str,
        expires_at: i64,
        replaces: Option<&str>,
        first_use: Option<AssertionUse>,
    ) -> Result<bool> {
        let write = Write::PutSession {
            id_hash: id_hash.to_owned(),
            kind: kind.to_owned(),
            data: data.to_owned(),
            expires_at,
            replaces: replaces.map(str::to_owned),
            first_use,
        };
        self.grouped(write).await
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
