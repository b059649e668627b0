//! Persistence. The only module that knows sqlx. One implementation serves both
//! SQLite and PostgreSQL: queries use `$N` placeholders and portable SQL through
//! sqlx's `Any` driver, and the two schemas live in `migrations/sqlite/` and
//! `migrations/postgres/`. The same test suite runs against both.
mod accounts;
mod audit;
mod cache;
mod cli;
mod credentials;
mod directory_mfa;
mod grouped;
mod keys;
mod mappings;
mod policies;
mod principals;
mod providers;
mod retention;
mod service_providers;
mod tags;
mod web;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

pub use audit::{AuditQuery, StoreAuditSink};
pub use cli::CliGrantRow;
pub use grouped::AssertionUse;
pub use keys::StoredKey;
pub use mappings::StoredMapping;
pub use principals::PrincipalUpdate;
pub use providers::{EncryptionChange, ProviderUse, MAX_PROVIDER_KEYS};
pub use retention::{apply_audit_retention, retention_turn, RetentionError};
pub use service_providers::StoredServiceProvider;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("database error")]
    Backend(#[source] sqlx::Error),
    #[error("stored {0} is corrupt")]
    Corrupt(&'static str),
    #[error("the database cannot be reached: {0}")]
    Unreachable(#[source] sqlx::Error),
    /// A grouped write (store/grouped.rs) failed because the database could not be reached.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database cannot be reached now (down, restarting, out of
    /// connections): a client should retry, nothing is wrong with its request.
    pub fn is_unavailable(&self) -> bool {
        use sqlx::Error as E;
        matches!(
            self,
            StoreError::Unreachable(_)
                | StoreError::Unavailable(_)
                | StoreError::Backend(
                    E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed
                )
        )
    }

    /// Maps a unique-key violation to `Conflict(what)`, anything else to `Backend`.
    fn on_insert(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Backend(e),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A lookup whose missing row is an answer, not a failure: `Ok(None)` for
/// `NotFound`, while every other error stays an error (a database outage must
/// never read as "no such role").
pub trait Found<T> {
    fn found(self) -> Result<Option<T>>;
}

impl<T> Found<T> for Result<T> {
    fn found(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// How long a request waits for a database connection before it is answered
/// ServiceUnavailable.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a node reads the shared change counter: the longest another
/// node's change to a provider or principal takes to be in force here.
pub const CHANGE_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    grouped: std::sync::Arc<grouped::GroupedWriter>,
    /// SQLite has one writer at a time; a transaction that waits for the lock
    /// inside SQLite sleeps in steps of up to 100 ms, so this node's writers
    /// take turns here instead, woken as soon as the last one commits.
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    cache: std::sync::Arc<cache::RowCache>,
}

/// A write transaction, holding this node's write turn on SQLite until it ends.
/// Dereferences to the connection, as sqlx's `Transaction` does.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects and applies the migrations. A `sqlite://` file and its folder
    /// are created when missing; SQLite runs in WAL mode with full sync, so an
    /// acknowledged write survives a crash.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        // One plain connection first: a pool that cannot connect reports only
        // "pool timed out" after its timeout, hiding the cause (refused,
        // authentication, unknown database) that an operator needs.
        if backend == Backend::Postgres {
            use sqlx::Connection;
            sqlx::AnyConnection::connect(&url).await.map_err(StoreError::Unreachable)?.close().await.ok();
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            // With the database down, a request fails within this instead of
            // hanging (ServiceUnavailable, which clients retry).
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // An in-process SQLite connection cannot drop; pinging it before
            // every query only cost a round trip to its worker thread.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|e| StoreError::Backend(e.into()))?;
        Ok(Store {
            pool,
            backend,
            grouped: Default::default(),
            write_turn: Default::default(),
            cache: std::sync::Arc::new(cache::RowCache::new()),
        })
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes
    /// fails with SQLITE_BUSY, without waiting, when another connection wrote
    /// meanwhile.
    async fn begin_write(&self) -> Result<WriteTx> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.write_turn.clone().lock_owned().await;
                WriteTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: Some(turn) }
            }
            Backend::Postgres => WriteTx { tx: self.pool.begin().await?, _turn: None },
        })
    }

    /// Commits a write to rows that nodes keep in memory (store/cache.rs): the
    /// shared change counter is bumped as the last statement (so transactions
    /// take its lock last and cannot deadlock on it), then this node forgets
    /// what it kept.
    async fn commit_change(&self, mut tx: WriteTx) -> Result<()> {
        sqlx::query("UPDATE change_counter SET changes = changes + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        self.cache.changed();
        Ok(())
    }

    /// Reads the shared change counter: rows this node keeps are dropped when
    /// another node (or command) has changed them. Called every
    /// `CHANGE_POLL` by the server; until it is, nothing is kept.
    /// True when the counter moved since the last look (or could not be read).
    pub async fn watch_changes(&self) -> bool {
        let changes = sqlx::query_scalar::<_, i64>("SELECT changes FROM change_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await;
        if let Err(e) = &changes {
            tracing::warn!(error = %e, "could not read the change counter; nothing is kept in memory");
        }
        self.cache.saw_changes(changes.ok())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database server's clock (PostgreSQL; SQLite runs in this process
    /// and has none of its own), in seconds since the epoch.
    pub async fn database_clock(&self) -> Result<Option<f64>> {
        if self.backend == Backend::Sqlite {
            return Ok(None);
        }
        let t: f64 =
            sqlx::query_scalar("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)")
                .fetch_one(&self.pool)
                .await?;
        Ok(Some(t))
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` (create when missing) and creates the parent folder.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Backend(sqlx::Error::Io(e)))?;
            }
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Reads an optional column, distinguishing NULL from a decoding failure.
fn opt<T>(row: &AnyRow, col: &str) -> Result<Option<T>>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    Ok(row.try_get::<Option<T>, _>(col)?)
}

/// The row's `account_id`, which only ever holds a 12-digit id.
fn account_id(row: &AnyRow) -> Result<crate::domain::AccountId> {
    crate::domain::AccountId::parse(&get::<String>(row, "account_id")?)
        .map_err(|_| StoreError::Corrupt("account id"))
}

fn get<T>(row: &AnyRow, col: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    Ok(row.try_get::<T, _>(col)?)
}
