//! Every request that may record an audit event takes room in the trail
//! before its handler runs (audit/room.rs). The ticket waits in the request's
//! extensions for the handler's first event. A request that gets no room in
//! time is refused here, retryably (503, `ServiceUnavailable` on the API),
//! having done nothing. After the handler, the answer waits until the
//! request's events are stored (at most `audit.max_wait_ms`), so a node that
//! dies after answering has lost no record.
use super::error::{ApiFailure, PageFailure, IAM_NS};
use super::AppState;
use crate::audit::{AuditReceipt, AuditTicket};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, ResponseError};

/// Probes, metrics, static files and published keys record nothing.
fn records_nothing(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/.well-known/jwks.json" | "/saml/metadata" | "/idp/metadata"
    ) || path.starts_with("/static/")
}

pub async fn take_room<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(state), false) = (state, records_nothing(req.path())) else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    match state.audit_room.admit().await {
        Ok(ticket) => {
            req.extensions_mut().insert(ticket);
            let response = next.call(req).await?;
            let receipts = response.request().extensions_mut().remove::<Receipts>();
            // A 503 acknowledges nothing: its event stays queued, retried
            // while the database is away, and the client learns at once.
            let acknowledges = state.audit_room.stores_before_answer()
                && response.status() != actix_web::http::StatusCode::SERVICE_UNAVAILABLE;
            for receipt in receipts.map(|r| r.0).unwrap_or_default().into_iter().filter(|_| acknowledges) {
                if !receipt.wait(state.audit_room.wait()).await {
                    tracing::warn!(
                        "answering before the request's audit event is stored (the database is behind)"
                    );
                }
            }
            Ok(response.map_into_left_body())
        }
        Err(behind) => {
            state.metrics.audit.refused.inc();
            tracing::warn!(error = %behind, path = req.path(), "request refused: the audit trail has no room");
            let api = req.path() == "/"
                && (req.method() == actix_web::http::Method::POST || req.query_string().contains("Action="));
            let mut answer = if api {
                let failure = ApiFailure::client(
                    "ServiceUnavailable",
                    503,
                    "The service is busy recording earlier requests. Please try again.",
                );
                failure.respond(IAM_NS, &uuid::Uuid::new_v4().to_string())
            } else {
                PageFailure::new(503, "Busy", "The service is busy. Wait a moment and try again.")
                    .error_response()
            };
            answer.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("1"),
            );
            Ok(req.into_response(answer).map_into_right_body())
        }
    }
}

/// The room this request took, for its first event; later events of the same
/// request (rare) are stored without it.
fn ticket(req: &HttpRequest) -> AuditTicket {
    req.extensions_mut().remove::<AuditTicket>().unwrap_or_else(AuditTicket::unreserved)
}

/// Records one of this request's audit events, in the room the request took,
/// and keeps its receipt for the answer to wait on.
pub fn record(state: &AppState, req: &HttpRequest, event: crate::audit::AuditEvent) {
    let receipt = state.audit.record(event, ticket(req));
    keep_receipt(req, receipt);
}

/// The receipts of the events a request recorded, awaited before it is answered.
struct Receipts(Vec<AuditReceipt>);

/// Keeps a receipt for the answer to wait on.
fn keep_receipt(req: &HttpRequest, receipt: AuditReceipt) {
    let mut extensions = req.extensions_mut();
    match extensions.get_mut::<Receipts>() {
        Some(kept) => kept.0.push(receipt),
        None => {
            extensions.insert(Receipts(vec![receipt]));
        }
    }
}
