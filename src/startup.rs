//! The composition root: settings in, a bound server out. Chooses the adapters
//! (SQLite or PostgreSQL store, audit sink, clock) and wires them together.
use crate::clock::SharedClock;
use crate::config::{self, Settings};
use crate::crypto::{generate_token_key_pem, MasterKey, TokenKeys};
use crate::domain::SESSION_AUDIENCE;
use crate::iam::IamService;
use crate::metrics::Metrics;
use crate::store::{Store, StoreAuditSink};
use crate::web::{AppState, HttpServer, StopHandle};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

pub const MASTER_KEY_FILE: &str = "master.key";

/// The store and the IAM service over it, as `serve` and `init` both need.
pub async fn services(settings: &Settings, clock: SharedClock) -> anyhow::Result<(Store, IamService)> {
    config::ensure_private_dir(&settings.server.data_dir)
        .with_context(|| format!("cannot create the data folder {}", settings.server.data_dir.display()))?;
    let store = Store::connect(&settings.database.url, settings.database.max_connections)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&settings.database.url)))?;
    let key_path = settings.server.data_dir.join(MASTER_KEY_FILE);
    let key = config::load_or_create_key_file(&key_path, || MasterKey::generate_bytes().to_vec())
        .with_context(|| format!("cannot read or create the master key {}", key_path.display()))?;
    let master = MasterKey::from_bytes(&key).context("master key")?;
    let tokens =
        token_keys(&settings.server.data_dir.join(TOKEN_KEY_FOLDER), &master, clock.now().timestamp())?;
    let iam = IamService::new(
        store.clone(),
        master,
        tokens,
        clock,
        settings.server.region.clone(),
        settings.server.public_url.clone(),
    );
    Ok((store, iam))
}

/// The session-token signing keys, sealed under the master key, one file each
/// (`<kid>.key`). The first start makes one; `rotate_token_key` adds a newer one.
fn token_keys(dir: &std::path::Path, master: &MasterKey, now: i64) -> anyhow::Result<TokenKeys> {
    if config::read_key_folder(dir)?.is_empty() {
        add_token_key(dir, master, now)?;
    }
    let mut pems = Vec::new();
    for (file, sealed) in config::read_key_folder(dir)? {
        let Some(kid) = file.strip_suffix(".key") else { continue };
        let pem = master
            .open(sealed.trim(), &token_key_context(kid))
            .with_context(|| format!("token key {file} does not open with the master key"))?;
        pems.push((kid.to_owned(), String::from_utf8(pem).context("token key is not PEM")?));
    }
    Ok(TokenKeys::from_pems(pems, SESSION_AUDIENCE)?)
}

fn token_key_context(kid: &str) -> String {
    format!("token-key:{kid}")
}

/// Adds a new, newest, token key; nodes pick it up when they restart, and keep
/// verifying tokens signed with the older ones.
pub fn add_token_key(dir: &std::path::Path, master: &MasterKey, now: i64) -> anyhow::Result<String> {
    let kid = format!("{now:012}-{}", &crate::crypto::random_token(4));
    let pem = generate_token_key_pem()?;
    config::write_key_file(
        dir,
        &format!("{kid}.key"),
        &master.seal(pem.as_bytes(), &token_key_context(&kid)),
    )?;
    Ok(kid)
}

pub const TOKEN_KEY_FOLDER: &str = "token-keys";

/// `idbroker rotate-token-key`: adds a newer token key under the data folder.
pub fn rotate_token_key(settings: &Settings) -> anyhow::Result<String> {
    let key_path = settings.server.data_dir.join(MASTER_KEY_FILE);
    let key = config::load_or_create_key_file(&key_path, || MasterKey::generate_bytes().to_vec())?;
    let master = MasterKey::from_bytes(&key).context("master key")?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock).timestamp();
    add_token_key(&settings.server.data_dir.join(TOKEN_KEY_FOLDER), &master, now)
}

/// Hides a password in a database URL for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

pub struct Application {
    port: u16,
    server: HttpServer,
    store: Store,
    audit_writer: tokio::task::JoinHandle<()>,
    state: Arc<AppState>,
}

impl Application {
    /// Connects, migrates, binds `server.listen` (port 0 picks a free port).
    pub async fn build(settings: &Settings, clock: SharedClock) -> anyhow::Result<Application> {
        let (store, iam) = services(settings, clock).await?;
        let (audit, audit_writer) = StoreAuditSink::start(store.clone());
        let state = Arc::new(AppState {
            iam,
            store: store.clone(),
            metrics: Metrics::new().context("metrics registry")?,
            audit: Arc::new(audit),
            max_body_bytes: settings.server.max_body_bytes,
            region: settings.server.region.clone(),
        });
        let listener = TcpListener::bind(&settings.server.listen)
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::bind(state.clone(), listener, settings.server.workers)?;
        Ok(Application { port, server, store, audit_writer, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.server.stop_handle()
    }

    /// Serves until stopped, then stores the queued audit events and closes the pool.
    pub async fn run(self) -> anyhow::Result<()> {
        self.server.run().await?;
        drop(self.state);
        if tokio::time::timeout(std::time::Duration::from_secs(10), self.audit_writer).await.is_err() {
            tracing::error!("audit writer did not finish within 10 s");
        }
        self.store.close().await;
        Ok(())
    }
}
