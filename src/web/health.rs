use super::AppState;
use actix_web::{web, HttpResponse};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

const DIRECTORY_PROBE: std::time::Duration = std::time::Duration::from_secs(1);

/// Ready when the database answers. The directory's state is reported too
/// (and in `idbroker_directory_up`), but does not make the node unready: it
/// still serves the API and SAML sign-ins, and every node shares the outage.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await;
    if let Err(e) = &database {
        tracing::warn!(error = ?e, "readiness check failed");
    }
    state.metrics.database_up.set(i64::from(database.is_ok()));
    let mut body =
        String::from(if database.is_ok() { "ready\ndatabase: up\n" } else { "database unreachable\n" });
    if let Some(directory) = &state.login.directory {
        // Bounded well inside a load balancer's health-check timeout: a
        // directory that hangs must not make the node look dead.
        let reachable = match tokio::time::timeout(DIRECTORY_PROBE, directory.reachable()).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {DIRECTORY_PROBE:?}")),
        };
        if let Err(e) = &reachable {
            tracing::warn!(error = %e, "the directory cannot be reached");
        }
        state.metrics.directory_up.set(i64::from(reachable.is_ok()));
        body.push_str(if reachable.is_ok() { "directory: up\n" } else { "directory: unreachable\n" });
    }
    let mut answer = if database.is_ok() { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    answer.content_type("text/plain").body(body)
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.audit.waiting.set(state.audit_room.in_use() as i64);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// The public keys that verify idbroker-issued session tokens.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.keys.tokens.get().jwks().to_string())
}
