//! HTTP: the only module that knows actix-web. Handlers are thin; they turn
//! requests into calls on the services and results into responses, and
//! `error.rs` is the one place that turns failures into responses.
mod api;
mod audit_room;
mod console;
mod error;
mod health;
mod idp;
mod pages;
mod second_step;
mod signin;
mod sp;

use crate::audit::{AuditEvent, AuditSink};
use crate::console::{ConsoleSession, Sessions, Throttle};
use crate::directory::Directory;
use crate::iam::IamService;
use crate::idp::roles::RoleRule;
use crate::idp::IdentityProvider;
use crate::metrics::Metrics;
use crate::saml::ServiceProviderUrls;
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::{guard, web, App, HttpRequest, HttpResponse};
use std::net::TcpListener;
use std::sync::Arc;

/// Request headers larger than this, all together, are refused (431).
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What every handler may use.
pub struct AppState {
    pub iam: IamService,
    pub store: Store,
    pub metrics: Metrics,
    pub audit: Arc<dyn AuditSink>,
    pub audit_room: crate::audit::AuditRoom,
    pub max_body_bytes: usize,
    pub region: String,
    pub public_url: crate::domain::PublicUrl,
    pub trusted_proxies: crate::domain::TrustedProxies,
    /// Cookies get `Secure` and pages HSTS when the public URL is https.
    pub https: bool,
    pub idp: Arc<IdentityProvider>,
    pub second_factor: crate::idp::second_factor::SecondFactor,
    pub sp: ServiceProviderUrls,
    pub directory: Option<Arc<dyn Directory>>,
    pub role_rules: Vec<RoleRule>,
    pub throttle: Throttle,
    pub sessions: Sessions,
    pub csrf_key: [u8; 32],
}

/// Records a browser-side event (sign-ins, refusals) in the audit trail.
pub(crate) fn web_audit(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    user: Option<&str>,
    error: Option<(&str, String)>,
    additional: serde_json::Value,
) -> String {
    let event = AuditEvent {
        user_identity: serde_json::json!({ "type": "Unknown", "userName": user }),
        error_code: error.as_ref().map(|(code, _)| (*code).to_owned()),
        error_message: error.map(|(_, message)| message),
        additional,
        ..browser_event(state, req, name)
    };
    let request_id = event.request_id.clone();
    state.audit.record(event, audit_room::ticket(req));
    // The page can show it: the same id finds this event.
    request_id
}

/// A console sign-in, flagged when it is the root user's.
pub(crate) fn audit_console_login(state: &AppState, req: &HttpRequest, s: &ConsoleSession) {
    let kind = match s.method.as_str() {
        "root" => "Root",
        "iam-user" => "IAMUser",
        _ => "AssumedRole",
    };
    let root = s.method == "root";
    let ticket = audit_room::ticket(req);
    state.audit.record(
        AuditEvent {
            account_id: Some(s.account_id.clone()),
            principal_arn: Some(s.arn.clone()),
            user_identity: serde_json::json!({
                "type": kind, "arn": s.arn, "accountId": s.account_id, "userName": s.user,
                "accessKeyId": s.access_key_id,
            }),
            request_parameters: serde_json::json!({ "method": s.method, "roleArn": s.role_arn }),
            additional: serde_json::json!({ "rootSignIn": root, "MFAUsed": root && !s.root_without_mfa }),
            ..browser_event(state, req, "ConsoleLogin")
        },
        ticket,
    );
}

/// The parts every browser-side audit event shares.
fn browser_event(state: &AppState, req: &HttpRequest, name: &str) -> AuditEvent {
    AuditEvent {
        event_time: state.iam.now_utc(),
        event_name: name.to_owned(),
        event_source: "signin.amazonaws.com".into(),
        account_id: None,
        principal_arn: None,
        user_identity: serde_json::Value::Null,
        source_ip: Some(pages::client_address(req)),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
        request_parameters: serde_json::Value::Null,
        error_code: None,
        error_message: None,
        request_id: crate::crypto::random_token(8),
        additional: serde_json::Value::Null,
        read_only: false,
    }
}

fn names_an_action(ctx: &guard::GuardContext<'_>) -> bool {
    ctx.head().uri.query().is_some_and(|q| q.split('&').any(|p| p.starts_with("Action=")))
}

/// Answers carry credentials, sessions, CSRF tokens or enrolment secrets
/// unless they say otherwise (static files, metadata, JWKS choose their own
/// caching): nothing else may be stored by a browser or a proxy (W05).
fn no_store_unless_cacheable<B>(
    mut res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::dev::ServiceResponse<B> {
    use actix_web::http::header::{HeaderValue, CACHE_CONTROL, PRAGMA};
    let headers = res.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if headers.get(CACHE_CONTROL).is_some_and(|v| v == "no-store") {
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

/// Any other address: the branded page, not a bare 404.
async fn not_found() -> Result<HttpResponse, error::PageFailure> {
    Err(error::PageFailure::not_found())
}

/// The stylesheet and scripts, compiled in.
async fn static_file(path: web::Path<String>) -> HttpResponse {
    let (body, kind) = match path.as_str() {
        "style.css" => (include_str!("../../static/style.css"), "text/css; charset=utf-8"),
        "autopost.js" => (include_str!("../../static/autopost.js"), "text/javascript; charset=utf-8"),
        "console.js" => (include_str!("../../static/console.js"), "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(body)
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
                .wrap(actix_web::middleware::from_fn(audit_room::take_room))
                .wrap_fn(|mut req, srv| {
                    use actix_web::dev::Service;
                    // HEAD is answered as GET (the HTTP layer, which saw the
                    // HEAD, sends the head without the body).
                    if req.method() == actix_web::http::Method::HEAD {
                        req.head_mut().method = actix_web::http::Method::GET;
                    }
                    use futures_util::future::{Either, FutureExt};
                    // actix buffers a request head up to 128 KiB; refuse big
                    // ones before any handler runs.
                    let size: usize =
                        req.headers().iter().map(|(k, v)| k.as_str().len() + v.as_bytes().len()).sum();
                    if size > MAX_HEADER_BYTES {
                        let too_large = HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                            .body("Request header fields too large");
                        Either::Left(std::future::ready(Ok(req
                            .into_response(too_large)
                            .map_into_right_body())))
                    } else {
                        Either::Right(
                            srv.call(req)
                                .map(|r| r.map(|r| no_store_unless_cacheable(r).map_into_left_body())),
                        )
                    }
                })
                .route("/", web::post().to(api::query))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(health::metrics))
                .route("/.well-known/jwks.json", web::get().to(health::jwks))
                .route("/static/{file}", web::get().to(static_file))
                // A GET that names an Action is a Query API call (presigned); else the home page.
                .route("/", web::get().guard(guard::fn_guard(names_an_action)).to(api::query))
                .route("/", web::get().to(console::home))
                .route("/saml/metadata", web::get().to(sp::metadata))
                .route("/saml/login", web::get().to(sp::login))
                .route("/saml/acs", web::post().to(sp::acs))
                .route("/idp/metadata", web::get().to(idp::metadata))
                .route("/idp/sso", web::get().to(idp::sso_redirect))
                .route("/idp/sso", web::post().to(idp::sso_post))
                .route("/idp/login", web::get().to(idp::login_form))
                .route("/idp/login", web::post().to(idp::login))
                .route("/console", web::get().to(console::console))
                .route("/console/roles", web::get().to(console::roles_page))
                .route("/console/roles", web::post().to(console::choose_role))
                .route("/console/logout", web::post().to(console::logout))
                .route("/signin", web::get().to(signin::signin_form))
                .route("/signin", web::post().to(signin::signin))
                .route("/federation", web::get().to(signin::federation))
                .default_service(web::to(not_found))
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
