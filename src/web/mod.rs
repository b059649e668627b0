//! HTTP: the only module that knows actix-web. Handlers are thin; they turn
//! requests into calls on the services and results into responses, and
//! `error.rs` is the one place that turns failures into responses.
mod api;
mod error;
mod health;

use crate::audit::AuditSink;
use crate::iam::IamService;
use crate::metrics::Metrics;
use crate::store::Store;
use actix_web::{web, App};
use std::net::TcpListener;
use std::sync::Arc;

/// What every handler may use.
pub struct AppState {
    pub iam: IamService,
    pub store: Store,
    pub metrics: Metrics,
    pub audit: Arc<dyn AuditSink>,
    pub max_body_bytes: usize,
    pub region: String,
}

/// A bound, not yet running, HTTP server.
pub struct HttpServer(actix_web::dev::Server);

/// Stops a running server gracefully.
#[derive(Clone)]
pub struct StopHandle(actix_web::dev::ServerHandle);

impl StopHandle {
    pub async fn stop(&self) {
        self.0.stop(true).await
    }
}

impl HttpServer {
    pub fn bind(state: Arc<AppState>, listener: TcpListener, workers: usize) -> std::io::Result<HttpServer> {
        let data = web::Data::from(state);
        let mut server = actix_web::HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/", web::post().to(api::query))
                .route("/", web::get().to(api::query))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(health::metrics))
                .route("/.well-known/jwks.json", web::get().to(health::jwks))
        })
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(HttpServer(server.run()))
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.0.handle())
    }

    /// Serves until stopped (also by SIGTERM / SIGINT, gracefully).
    pub async fn run(self) -> std::io::Result<()> {
        self.0.await
    }
}
