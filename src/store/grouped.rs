//! Grouped commits: the durable writes on the sign-in paths (assertion uses
//! for the replay cache, browser sessions) and the audit events go through
//! one writer task that commits everything pending in one transaction and
//! answers each caller after the commit. Many requests share one fsync,
//! writers never wait on each other's locks, and nothing is acknowledged
//! before it is stored. Audit events whose commit fails are kept and retried
//! with the next group (after a pause that grows while failures last): the
//! room their tickets hold (audit/room.rs) is what bounds the queue.
use super::{Result, Store, StoreError, WriteTx};
use crate::audit::{AuditEvent, AuditReceipt, AuditTicket};
use crate::metrics::AuditMetrics;
use sqlx::Row;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
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
}

/// One write of a group.
enum Write {
    /// The first use of an assertion; answers false when it was used before.
    FirstUse(AssertionUse),
    /// Stores a web session, ending the one it replaces.
    PutSession(SessionWrite),
    /// An audit event, stored in the commit of the writes it came with, so
    /// that recording it costs no commit of its own. Nobody waits for it; its
    /// ticket's room is given back once it is stored.
    Audit(
        Box<AuditEvent>,
        // Held, not read: dropping it after the commit gives the room back.
        #[allow(dead_code)] AuditTicket,
    ),
    /// Answered once everything queued before it is committed (shutdown).
    Flush,
}

/// Why a group was not committed, as each of its callers learns it.
#[derive(Debug, Clone)]
struct Failed {
    message: String,
    /// The database could not be reached (the callers answer ServiceUnavailable).
    unavailable: bool,
}

impl Failed {
    fn of(e: impl Into<StoreError>) -> Failed {
        let e = e.into();
        Failed { message: e.to_string(), unavailable: e.is_unavailable() }
    }
}

type Answer = oneshot::Sender<std::result::Result<bool, Failed>>;

struct Job {
    write: Write,
    answer: Option<Answer>,
}

/// The pause before retrying audit events whose commit failed, doubled while
/// failures last, up to the maximum.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The writer task's queue, started on first use. It is unbounded: audit
/// events are bounded by the room their tickets took, the other writes by
/// the requests waiting for them.
#[derive(Default)]
pub struct GroupedWriter {
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
    metrics: OnceLock<AuditMetrics>,
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
impl Store {
    /// Whether an assertion's use is recorded and not yet expired; reads only.
    pub async fn assertion_was_used(&self, issuer: &str, assertion_id: &str, now: i64) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT expires_at FROM saml_replay WHERE issuer = $1 AND assertion_id = $2 AND expires_at > $3",
        )
        .bind(issuer)
        .bind(assertion_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}

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
    let SessionWrite { id_hash, kind, data, expires_at, replaces } = w;
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
/// the sessions in order, then the audit events. Answers per job, in order.
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
            Write::Audit(..) | Write::Flush => true,
        });
    }
    let events: Vec<&AuditEvent> = batch
        .iter()
        .filter_map(|j| match &j.write {
            Write::Audit(e, _) => Some(e.as_ref()),
            _ => None,
        })
        .collect();
    super::audit::insert_audit_rows(tx, &events).await?;
    Ok(answers)
}

/// Commits a group and answers its callers. Returns the audit events of a
/// group that failed, to be tried again; the other writes were answered with
/// the error (nothing was acknowledged).
async fn write_batch(store: &Store, batch: Vec<Job>) -> Vec<Job> {
    let started = Instant::now();
    let outcome: std::result::Result<Vec<bool>, Failed> = async {
        let mut tx = store.begin_write().await.map_err(Failed::of)?;
        let answers = apply(&mut tx, &batch).await.map_err(Failed::of)?;
        tx.commit().await.map_err(Failed::of)?;
        Ok(answers)
    }
    .await;
    let events = batch.iter().filter(|j| matches!(j.write, Write::Audit(..))).count();
    if let Some(m) = store.grouped.metrics.get() {
        m.write_seconds.observe(started.elapsed().as_secs_f64());
        match &outcome {
            Ok(_) => m.stored.inc_by(events as u64),
            Err(_) if events > 0 => m.write_failures.inc(),
            Err(_) => {}
        }
    }
    if let Err(e) = &outcome {
        if events > 0 {
            tracing::error!(error = %e.message, events, "audit events could not be stored yet; retrying");
        }
    }
    let mut retry = Vec::new();
    for (i, job) in batch.into_iter().enumerate() {
        match (&outcome, job.answer) {
            // An event is kept, with whoever waits for it, until it is stored.
            (Err(_), answer) if matches!(job.write, Write::Audit(..)) => {
                retry.push(Job { write: job.write, answer });
            }
            (_, Some(answer)) => {
                let _ = answer.send(outcome.as_ref().map(|a| a[i]).map_err(Clone::clone));
            }
            (_, None) => {}
        }
    }
    retry
}

/// The writer task: commits whatever is queued, up to `BATCH` at a time;
/// after a failure, retries the audit events first, with a growing pause.
async fn run_writer(store: Store, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut retry: Vec<Job> = Vec::new();
    let mut pause = RETRY_FIRST;
    loop {
        if retry.is_empty() {
            if rx.recv_many(&mut batch, BATCH).await == 0 {
                return;
            }
        } else {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
            batch.append(&mut retry);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        retry = write_batch(&store, std::mem::take(&mut batch)).await;
        if retry.is_empty() {
            pause = RETRY_FIRST;
        }
    }
}

impl Store {
    /// The writer task's queue (the task starts with the first write).
    fn group_queue(&self) -> &mpsc::UnboundedSender<Job> {
        self.grouped.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel::<Job>();
            tokio::spawn(run_writer(self.clone(), rx));
            tx
        })
    }

    /// Where the writer reports its commits of audit events.
    pub fn report_audit_to(&self, metrics: AuditMetrics) {
        let _ = self.grouped.metrics.set(metrics);
    }

    /// Queues a write for the next group commit and waits for that commit.
    async fn grouped(&self, write: Write) -> Result<bool> {
        let (answer, wait) = oneshot::channel();
        let closed = || StoreError::Backend(sqlx::Error::PoolClosed);
        self.group_queue().send(Job { write, answer: Some(answer) }).map_err(|_| closed())?;
        match wait.await.map_err(|_| closed())? {
            Ok(answer) => Ok(answer),
            Err(e) if e.unavailable => Err(StoreError::Unavailable(e.message)),
            Err(e) => Err(StoreError::Backend(sqlx::Error::Protocol(e.message))),
        }
    }

    /// Records the first use of an assertion. False when it was used before
    /// (and is not yet expired): the caller must refuse it. Returns once the
    /// use is committed.
    pub async fn record_assertion_use(&self, first_use: AssertionUse) -> Result<bool> {
        self.grouped(Write::FirstUse(first_use)).await
    }

    /// Stores a new web session (its id is new, so it never conflicts),
    /// deleting the session it replaces in the same commit.
    pub async fn put_web_session(
        &self,
        id_hash: &str,
        kind: &str,
        data: &str,
        expires_at: i64,
        replaces: Option<&str>,
    ) -> Result<()> {
        let write = Write::PutSession(SessionWrite {
            id_hash: id_hash.to_owned(),
            kind: kind.to_owned(),
            data: data.to_owned(),
            expires_at,
            replaces: replaces.map(str::to_owned),
        });
        self.grouped(write).await.map(|_| ())
    }

    /// Queues an audit event for the next group commit; the receipt resolves
    /// once it is stored.
    pub(super) fn queue_audit_event(&self, event: AuditEvent, ticket: AuditTicket) -> AuditReceipt {
        let (answer, stored) = oneshot::channel();
        let job = Job { write: Write::Audit(Box::new(event), ticket), answer: Some(answer) };
        // Sending fails only once the writer has stopped, at shutdown, after
        // the final flush: the event is in the log.
        if self.group_queue().send(job).is_err() {
            tracing::error!("audit event after shutdown; kept in the log only");
            return AuditReceipt::stored();
        }
        AuditReceipt::pending(async move { matches!(stored.await, Ok(Ok(_))) })
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
