//! Stored audit events, written with the group commits (store/grouped.rs)
//! so that recording an event never waits on the database.
use super::{Result, Store, WriteTx};
use crate::audit::{log_event, AuditEvent, AuditReceipt, AuditSink, AuditTicket};

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
                // A client names the action; PostgreSQL text cannot hold NUL.
                .bind(e.event_name.replace('\0', "\u{fffd}"))
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

    /// At most `limit` of the oldest events from before `cutoff` (seconds),
    /// as `(id, JSON)`, by id.
    pub async fn audit_events_before(&self, cutoff: i64, limit: u32) -> Result<Vec<(i64, String)>> {
        let rows =
            sqlx::query("SELECT id, body FROM audit_events WHERE event_time < $1 ORDER BY id LIMIT $2")
                .bind(cutoff)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok((super::get(r, "id")?, super::get(r, "body")?))).collect()
    }

    /// Deletes the events from before `cutoff` up to id `through`: the batch
    /// `audit_events_before` returned. A short transaction of its own.
    pub async fn delete_audit_events(&self, cutoff: i64, through: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM audit_events WHERE event_time < $1 AND id <= $2")
            .bind(cutoff)
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// Takes (or renews) the lease `name` for `holder` until `now + seconds`,
    /// unless another holder's lease is still running: one node at a time
    /// does the work it guards.
    pub async fn take_lease(&self, name: &str, holder: &str, now: i64, seconds: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now + seconds)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(taken)
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
    /// `audit.skip_read_only`: successful read-only calls are left out.
    skip_read_only: bool,
}

impl StoreAuditSink {
    pub fn new(store: Store, skip_read_only: bool) -> StoreAuditSink {
        StoreAuditSink { store, skip_read_only }
    }
}

impl AuditSink for StoreAuditSink {
    fn record(&self, event: AuditEvent, ticket: AuditTicket) -> AuditReceipt {
        if self.skip_read_only && event.read_only && event.error_code.is_none() {
            return AuditReceipt::stored();
        }
        log_event(&event);
        self.store.queue_audit_event(event, ticket)
    }
}

/// One page of an account's events for the sign-in history, newest first.
#[derive(Debug, Default)]
pub struct AuditQuery<'a> {
    pub account_id: &'a str,
    pub request_id: Option<&'a str>,
    /// The principal's name (user, root email, session name) or the SAML NameID.
    pub user: Option<&'a str>,
    pub event: Option<&'a str>,
    /// `Some(true)`: succeeded; `Some(false)`: refused or failed.
    pub succeeded: Option<bool>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Events older than this id (the page before).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// `value` for a LIKE pattern, its wildcards escaped (with `ESCAPE '\'`).
fn like_literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl Store {
    /// `(id, JSON)` of the events `q` selects, newest first.
    pub async fn account_audit_events(&self, q: &AuditQuery<'_>) -> Result<Vec<(i64, String)>> {
        let mut sql = String::from("SELECT id, body FROM audit_events WHERE account_id = $1");
        let mut binds: Vec<String> = vec![q.account_id.to_owned()];
        let mut ints: Vec<i64> = Vec::new();
        let param = |sql: &mut String, clause: &str, value: String, binds: &mut Vec<String>| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(r) = q.request_id {
            param(&mut sql, " AND request_id = ?", r.to_owned(), &mut binds);
        }
        if let Some(e) = q.event {
            param(&mut sql, " AND event_name = ?", e.to_owned(), &mut binds);
        }
        if let Some(u) = q.user {
            // The name as the JSON body spells it (quoted, escaped).
            let spelt = serde_json::Value::String(u.to_owned()).to_string();
            let named = format!("%\"userName\":{}%", like_literal(&spelt));
            param(&mut sql, " AND (body LIKE ? ESCAPE '\\'", named, &mut binds);
            param(
                &mut sql,
                " OR principal_arn LIKE ? ESCAPE '\\')",
                format!("%/{}", like_literal(u)),
                &mut binds,
            );
        }
        match q.succeeded {
            Some(true) => sql.push_str(" AND error_code IS NULL"),
            Some(false) => sql.push_str(" AND error_code IS NOT NULL"),
            None => {}
        }
        let first_int = binds.len();
        for (clause, value) in
            [(" AND event_time >= ?", q.from), (" AND event_time <= ?", q.to), (" AND id < ?", q.before_id)]
        {
            if let Some(v) = value {
                ints.push(v);
                sql.push_str(&clause.replace('?', &format!("${}", first_int + ints.len())));
            }
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", first_int + ints.len() + 1));
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        for i in &ints {
            query = query.bind(*i);
        }
        let rows = query.bind(q.limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((super::get(r, "id")?, super::get(r, "body")?))).collect()
    }

    /// Keeps a refused assertion, sealed, until `expires_at`.
    pub async fn keep_assertion(
        &self,
        id: &str,
        account_id: &str,
        sealed: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO kept_assertions (id, account_id, sealed, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(account_id)
        .bind(sealed)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A kept assertion of `account_id`, sealed, while it is kept.
    pub async fn kept_assertion(&self, id: &str, account_id: &str, now: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sealed FROM kept_assertions WHERE id = $1 AND account_id = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(account_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes the kept assertions whose time is over.
    pub async fn purge_kept_assertions(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM kept_assertions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
