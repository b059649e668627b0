//! HTTP: the only module that knows actix-web. Handlers are thin; they turn
//! requests into calls on the services and results into responses, and
//! `error.rs` is the one place that turns failures into responses.
mod admin;
mod api;
mod audit_room;
mod cli;
mod console;
mod error;
mod health;
mod idp;
mod pages;
mod signin;
mod sp;

use crate::audit::{AuditEvent, AuditSink, FlowAudit, FlowEvent};
use crate::console::login::DirectoryLogin;
use crate::console::saml_signin::SamlSignIn;
use crate::console::signin::PasswordSignIn;
use crate::console::{Opened, Sessions};
use crate::iam::IamService;
use crate::metrics::Metrics;
use crate::saml::ServiceProviderUrls;
use crate::store::Store;
use actix_web::http::{header, StatusCode};
use actix_web::{guard, web, App, HttpRequest, HttpResponse};
use error::PageFailure;
use std::net::TcpListener;
use std::sync::Arc;

/// Request headers larger than this, all together, are refused (431).
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What every handler may use: the use cases, and what the HTTP layer itself
/// needs (limits, cookies' security, the audit trail's room).
pub struct AppState {
    pub iam: Arc<IamService>,
    pub sts: Arc<crate::sts::Sts>,
    pub clock: crate::clock::SharedClock,
    /// For the readiness probe.
    pub store: Store,
    pub metrics: Metrics,
    pub audit: Arc<dyn AuditSink>,
    pub audit_room: crate::audit::AuditRoom,
    pub max_body_bytes: usize,
    pub public_url: crate::domain::PublicUrl,
    pub trusted_proxies: crate::domain::TrustedProxies,
    /// Cookies get `Secure` and pages HSTS when the public URL is https.
    pub https: bool,
    pub sp: ServiceProviderUrls,
    pub sessions: Sessions,
    pub login: Arc<DirectoryLogin>,
    pub saml_signin: Arc<SamlSignIn>,
    pub cli: crate::console::cli::CliSignIn,
    pub idp_logout: crate::console::idp_logout::IdpLogout,
    pub password_signin: PasswordSignIn,
    /// The signing keys, read again when another node changes them.
    pub keys: Arc<crate::keys::KeyRing>,
    /// The operators' actions: key rollover, the IdP's service providers.
    pub operator: Arc<crate::operator::OperatorApi>,
    pub admin: crate::console::admin::AdminConsole,
    pub csrf_key: [u8; 32],
}

/// Records a browser flow's events with where the request came from, and
/// keeps the last one's request id for the error page.
pub(crate) struct Recorder<'a> {
    state: &'a AppState,
    req: &'a HttpRequest,
    request_id: Option<String>,
}

impl<'a> Recorder<'a> {
    pub fn new(state: &'a AppState, req: &'a HttpRequest) -> Self {
        Recorder { state, req, request_id: None }
    }

    /// The failure's page names the audit event recorded for it, if any.
    pub fn failure(&self, failure: PageFailure) -> PageFailure {
        match &self.request_id {
            Some(id) => failure.audited_as(id.clone()),
            None => failure,
        }
    }
}

impl FlowAudit for Recorder<'_> {
    fn record(&mut self, event: FlowEvent) {
        let (state, req) = (self.state, self.req);
        let user_identity = match &event.principal {
            Some(p) => serde_json::json!({
                "type": p.kind, "arn": p.arn, "accountId": p.account_id, "userName": event.user,
                "accessKeyId": p.access_key_id,
            }),
            None => serde_json::json!({ "type": "Unknown", "userName": event.user }),
        };
        let (error_code, error_message) = match event.refusal {
            Some((code, message)) => (Some(code.as_str().to_owned()), Some(message)),
            None => (None, None),
        };
        let audit_event = AuditEvent {
            event_time: state.clock.now(),
            event_name: event.name.as_str().to_owned(),
            event_source: "signin.amazonaws.com".into(),
            account_id: event.account_id,
            principal_arn: event.principal.map(|p| p.arn),
            user_identity,
            source_ip: Some(pages::client_address(req)),
            user_agent: req
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
            request_parameters: event.parameters,
            error_code,
            error_message,
            request_id: crate::crypto::random_token(8),
            additional: event.details,
            read_only: false,
        };
        // The page can show it: the same id finds this event.
        self.request_id = Some(audit_event.request_id.clone());
        audit_room::record(state, req, audit_event);
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A session was opened: its cookie, and on to where it leads.
fn session_started(state: &AppState, opened: Opened) -> Result<HttpResponse, PageFailure> {
    let mut response = see_other(&opened.then);
    response
        .add_cookie(&pages::cookie(pages::SESSION_COOKIE, opened.cookie, opened.lifetime, state.https))
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    Ok(response)
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
        "admin.js" => (include_str!("../../static/admin.js"), "text/javascript; charset=utf-8"),
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
                .route("/admin", web::get().to(admin::overview))
                .route("/admin/providers", web::get().to(admin::providers))
                .route("/admin/providers/new", web::get().to(admin::new_provider_form))
                .route("/admin/providers/new", web::post().to(admin::new_provider))
                .route("/admin/providers/{name}", web::get().to(admin::provider))
                .route("/admin/providers/{name}/settings", web::post().to(admin::provider_settings))
                .route("/admin/providers/{name}/delete", web::get().to(admin::delete_provider_form))
                .route("/admin/providers/{name}/delete", web::post().to(admin::delete_provider))
                .route("/admin/debugger", web::get().to(admin::debugger_form))
                .route("/admin/debugger", web::post().to(admin::debugger))
                .route("/admin/events", web::get().to(admin::events))
                .route("/admin/mappings", web::get().to(admin::mappings))
                .route("/admin/mappings", web::post().to(admin::change_mappings))
                .route("/admin/keys", web::get().to(admin::keys))
                .route("/admin/keys", web::post().to(admin::key_step))
                // A GET that names an Action is a Query API call (presigned); else the home page.
                .route("/", web::get().guard(guard::fn_guard(names_an_action)).to(api::query))
                .route("/", web::get().to(console::home))
                .route("/saml/metadata", web::get().to(sp::metadata))
                .route("/saml/login", web::get().to(sp::login))
                .route("/saml/acs", web::post().to(sp::acs))
                .route("/saml/acs/{provider_uuid}", web::post().to(sp::provider_acs))
                .route("/idp/metadata", web::get().to(idp::metadata))
                .route("/idp/sso", web::get().to(idp::sso_redirect))
                .route("/idp/sso", web::post().to(idp::sso_post))
                .route("/idp/login", web::get().to(idp::login_form))
                .route("/idp/login", web::post().to(idp::login))
                .route("/idp/slo", web::get().to(idp::slo_redirect))
                .route("/idp/slo", web::post().to(idp::slo_post))
                .route("/console", web::get().to(console::console))
                .route("/console/roles", web::get().to(console::roles_page))
                .route("/console/roles", web::post().to(console::choose_role))
                .route("/console/logout", web::post().to(console::logout))
                .route("/signin", web::get().to(signin::signin_form))
                .route("/signin", web::post().to(signin::signin))
                .route("/federation", web::get().to(signin::federation))
                .route("/cli/authorize", web::get().to(cli::authorize))
                .route("/cli/device/code", web::post().to(cli::device_code))
                .route("/cli/device", web::get().to(cli::device_page))
                .route("/cli/approve", web::get().to(cli::approve_page))
                .route("/cli/approve", web::post().to(cli::approve))
                .route("/cli/token", web::post().to(cli::token))
                .route("/cli/password", web::post().to(cli::password))
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
