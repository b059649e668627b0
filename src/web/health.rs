use super::AppState;
use actix_web::{web, HttpResponse};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// Ready when the database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => {
            state.metrics.database_up.set(1);
            HttpResponse::Ok().content_type("text/plain").body("ready\n")
        }
        Err(e) => {
            state.metrics.database_up.set(0);
            tracing::warn!(error = ?e, "readiness check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unreachable\n")
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// The public keys that verify idbroker-issued session tokens.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.iam.tokens.jwks().to_string())
}
