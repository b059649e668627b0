//! Grouped commits: the durable writes on the sign-in paths (assertion uses
//! for the replay cache, browser sessions) and the audit events go through
//! one writer task that commits everything pending in one transaction and
//! answers each caller after the commit. Many requests share one fsync,
//! writers never wait on each other's locks, and nothing is acknowledged
//! before it is stored.
use super::{Result, Store, StoreError, WriteTx};
use crate::audit::AuditEvent;
use sqlx::Row;
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

struct SessionWrite {
    id_hash: String,
    kind: String,
    data: String,
    expires_at: i64,
    replaces: Option<String>,
    first_use: Option<AssertionUse>,
}

/// One write of a group.
enum Write {
    /// The first use of an assertion; answers false when it was used before.
    FirstUse(AssertionUse),
    /// Stores a web session, ending the one it replaces; with `first_use`,
    /// only if that assertion was not used before (answers false then).
    PutSession(SessionWrite),
    /// An audit event, stored in the commit of the writes it came with, so
    /// that recording it costs no commit of its own. Nobody waits for it.
    Audit(Box<AuditEvent>),
    /// Answered once everything queued before it is committed (shutdown).
    Flush,
}

type Answer = oneshot::Sender<std::result::Result<bool, String>>;

struct Job {
    write: Write,
    answer: Option<Answer>,
}

/// Jobs waiting beyond the current commit. Audit events wait here while the
/// database is slow; past this many they are refused (logged only).
const QUEUE: usize = 65_536;

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

/// Records the first uses of a group in one statement. Answers, per use and in
/// order, whether it was the first: an id new to the cache is inserted, one
/// whose entry expired is taken again, a live one changes nothing (and is not
/// returned); an id twice in the group is first only once.
async fn first_uses(tx: &mut WriteTx, uses: &[&AssertionUse]) -> std::result::Result<Vec<bool>, sqlx::Error> {
    if uses.is_empty() {
        return Ok(vec![]);
    }
    let mut distinct: Vec<&AssertionUse> = Vec::with_capacity(uses.len());
    for u in uses {
        if !distinct.iter().any(|d| d.issuer == u.issuer && d.assertion_id == u.assertion_id) {
            distinct.push(u);
        }
    }
    // The earliest clock of the group judges expiry: never later than the
    // request's own, so an entry is taken again only if it expired for it.
    let now = uses.iter().map(|u| u.now).min().unwrap_or_default();
    let mut sql = String::from("INSERT INTO saml_replay (issuer, assertion_id, expires_at) VALUES ");
    for i in 0..distinct.len() {
        let n = i * 3;
        sql.push_str(&format!("{}(${}, ${}, ${})", if i == 0 { "" } else { "," }, n + 1, n + 2, n + 3));
    }
    sql.push_str(&format!(
        " ON CONFLICT (issuer, assertion_id) DO UPDATE SET expires_at = excluded.expires_at
          WHERE saml_replay.expires_at < ${} RETURNING issuer, assertion_id",
        distinct.len() * 3 + 1
    ));
    let mut query = sqlx::query(&sql);
    for u in &distinct {
        query = query.bind(&u.issuer).bind(&u.assertion_id).bind(u.expires_at);
    }
    let rows = query.bind(now).fetch_all(&mut **tx).await?;
    let mut fresh: Vec<(String, String)> = Vec::with_capacity(rows.len());
    for row in &rows {
        fresh.push((row.try_get(0)?, row.try_get(1)?));
    }
    Ok(uses
        .iter()
        .map(|u| match fresh.iter().position(|(i, a)| *i == u.issuer && *a == u.assertion_id) {
            Some(at) => {
                fresh.swap_remove(at);
                true
            }
            None => false,
        })
        .collect())
}

async fn put_session(tx: &mut WriteTx, w: &SessionWrite) -> std::result::Result<bool, sqlx::Error> {
    let SessionWrite { id_hash, kind, data, expires_at, replaces, first_use } = w;
    if let Some(u) = first_use {
        if !first_uses(tx, &[u]).await?[0] {
            return Ok(false);
        }
    }
    if let Some(old) = replaces {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1").bind(old).execute(&mut **tx).await?;
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

/// Applies a group in one transaction: the first uses in one statement, then
/// the sessions in order (a session's assertion already used by the group is
/// refused), then the audit events. Answers per job, in order.
async fn apply(tx: &mut WriteTx, batch: &[Job]) -> std::result::Result<Vec<bool>, sqlx::Error> {
    let uses: Vec<&AssertionUse> = batch
        .iter()
        .filter_map(|j| match &j.write {
            Write::FirstUse(u) => Some(u),
            _ => None,
        })
        .collect();
    let mut first = first_uses(tx, &uses).await?.into_iter();
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        answers.push(match &job.write {
            Write::FirstUse(_) => first.next().unwrap_or(false),
            Write::PutSession(w) => put_session(tx, w).await?,
            Write::Audit(_) | Write::Flush => true,
        });
    }
    let events: Vec<&AuditEvent> = batch
        .iter()
        .filter_map(|j| match &j.write {
            Write::Audit(e) => Some(e.as_ref()),
            _ => None,
        })
        .collect();
    super::audit::insert_audit_rows(tx, &events).await?;
    Ok(answers)
}

async fn write_batch(store: &Store, batch: Vec<Job>) {
    let outcome: std::result::Result<Vec<bool>, String> = async {
        let mut tx = store.begin_write().await.map_err(|e| e.to_string())?;
        let answers = apply(&mut tx, &batch).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(answers)
    }
    .await;
    if let Err(e) = &outcome {
        let lost = batch.iter().filter(|j| matches!(j.write, Write::Audit(_))).count();
        if lost > 0 {
            tracing::error!(error = %e, lost, "audit events could not be stored");
        }
    }
    for (i, job) in batch.into_iter().enumerate() {
        if let Some(answer) = job.answer {
            let _ = answer.send(outcome.as_ref().map(|a| a[i]).map_err(Clone::clone));
        }
    }
}

impl Store {
    /// The writer task's queue (the task starts with the first write).
    fn group_queue(&self) -> &mpsc::Sender<Job> {
        self.grouped.queue.get_or_init(|| {
            let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
            let store = self.clone();
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(BATCH);
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    write_batch(&store, std::mem::take(&mut batch)).await;
                }
            });
            tx
        })
    }

    /// Queues a write for the next group commit and waits for that commit.
    async fn grouped(&self, write: Write) -> Result<bool> {
        let (answer, wait) = oneshot::channel();
        let closed = || StoreError::Backend(sqlx::Error::PoolClosed);
        self.group_queue().send(Job { write, answer: Some(answer) }).await.map_err(|_| closed())?;
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
        let write = Write::PutSession(SessionWrite {
            id_hash: id_hash.to_owned(),
            kind: kind.to_owned(),
            data: data.to_owned(),
            expires_at,
            replaces: replaces.map(str::to_owned),
            first_use,
        });
        self.grouped(write).await
    }

    /// Queues an audit event for the next group commit, without waiting.
    /// False when the queue is full (the database is far behind).
    pub(super) fn queue_audit_event(&self, event: AuditEvent) -> bool {
        let job = Job { write: Write::Audit(Box::new(event)), answer: None };
        self.group_queue().try_send(job).is_ok()
    }

    /// Returns once everything queued for group commits so far is committed.
    pub async fn flush_grouped(&self) -> Result<()> {
        self.grouped(Write::Flush).await.map(|_| ())
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
