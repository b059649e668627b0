//! The composition root: settings in, a bound server out. Chooses the adapters
//! (SQLite or PostgreSQL store, audit sink, clock) and wires them together.
use crate::clock::SharedClock;
use crate::config::{self, Settings};
use crate::crypto::MasterKey;
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
    let iam = IamService::new(store.clone(), master, clock, settings.server.region.clone());
    Ok((store, iam))
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
