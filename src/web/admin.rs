//! `/admin`: the admin console's pages. Each handler reads its form, calls
//! one use case of `console::admin` as the signed-in principal, records the
//! audit events it made, and renders; the policy engine decides in the use
//! case. Forms carry a CSRF token bound to the session cookie.
use super::console::current;
use super::pages::{self, checked_form, SESSION_COOKIE};
use super::{see_other, AppState, PageFailure};
use crate::audit::AuditEvent;
use crate::console::admin::{
    AdminError, DebugReport, EventFilter, EventRow, MappingPreview, MappingRow, ProviderDetail, ProviderRow,
    ProviderSwitches,
};
use crate::console::{csrf_token, WebSession};
use crate::iam::{Caller, Origin};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

const ADMIN_CSRF: &str = "admin";
/// Metadata documents are up to 100 kB; the debugger's responses too.
const ADMIN_FORM_LIMIT: usize = 400_000;

/// Who is at the page: the session cookie and the caller it acts as.
struct Admin {
    cookie: String,
    caller: Caller,
    who: String,
}

/// The signed-in principal, or the way to sign in.
async fn admin(req: &HttpRequest, state: &AppState) -> Result<Result<Admin, HttpResponse>, PageFailure> {
    let Some((cookie, WebSession::Console(session))) = current(req, state).await? else {
        return Ok(Err(see_other("/")));
    };
    let origin = Origin {
        source_ip: Some(pages::client_address(req)),
        user_agent: None,
        secure_transport: state.https,
    };
    match state.admin.caller(&session, origin).await {
        Ok(caller) => Ok(Ok(Admin { cookie, who: session.arn.clone(), caller })),
        Err(AdminError::SignedOut) => Ok(Err(see_other("/"))),
        Err(e) => Err(e.into()),
    }
}

/// Stores the audit events a page's calls made.
fn record(state: &AppState, req: &HttpRequest, events: Vec<AuditEvent>) {
    for event in events {
        super::audit_room::record(state, req, event);
    }
}

/// A refusal the page shows beside its form (bad input, a rule that exists
/// already); anything else (not allowed, signed out, a failure) is an error page.
fn shown_on_page(e: AdminError) -> Result<String, PageFailure> {
    match e {
        AdminError::Refused(code, message) if code != "AccessDenied" => Ok(message),
        other => Err(other.into()),
    }
}

fn page(state: &AppState, status: StatusCode, t: &impl Template) -> Result<HttpResponse, PageFailure> {
    Ok(pages::page_builder(status, None, state.https).body(pages::render(t)?))
}

macro_rules! signed_in {
    ($req:expr, $state:expr) => {
        match admin(&$req, &$state).await? {
            Ok(a) => a,
            Err(redirect) => return Ok(redirect),
        }
    };
}

#[derive(Template)]
#[template(path = "admin_overview.html")]
struct OverviewPage {
    who: String,
    providers: Vec<OverviewProvider>,
    providers_denied: Option<String>,
    failures: Vec<EventRow>,
    events_denied: Option<String>,
}

struct OverviewProvider {
    name: String,
    certificates: Vec<crate::console::admin::CertificateRow>,
}

/// `GET /admin`: providers with their certificates, recent failed sign-ins.
pub async fn overview(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let mut events = Vec::new();
    let (mut providers, mut providers_denied) = (Vec::new(), None);
    match state.admin.providers(&a.caller, &mut events).await {
        Ok(rows) => {
            for row in rows {
                let certificates =
                    match state.admin.provider_certificates(&a.caller, &row.name, &mut events).await {
                        Ok(certificates) => certificates,
                        Err(e) if e.is_access_denied() => Vec::new(),
                        Err(e) => return Err(e.into()),
                    };
                providers.push(OverviewProvider { name: row.name, certificates });
            }
        }
        Err(e) if e.is_access_denied() => providers_denied = Some(e.to_string()),
        Err(e) => return Err(e.into()),
    }
    let filter = EventFilter { outcome: Some("failure".into()), ..Default::default() };
    let (failures, events_denied) = match state.admin.events(&a.caller, &filter).await {
        Ok(page) => (page.rows.into_iter().take(10).collect(), None),
        Err(e) if e.is_access_denied() => (Vec::new(), Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    record(&state, &req, events);
    page(
        &state,
        StatusCode::OK,
        &OverviewPage { who: a.who, providers, providers_denied, failures, events_denied },
    )
}

#[derive(Template)]
#[template(path = "admin_providers.html")]
struct ProvidersPage {
    who: String,
    providers: Vec<ProviderRow>,
}

/// `GET /admin/providers`
pub async fn providers(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let mut events = Vec::new();
    let listed = state.admin.providers(&a.caller, &mut events).await;
    record(&state, &req, events);
    page(&state, StatusCode::OK, &ProvidersPage { who: a.who, providers: listed? })
}

#[derive(Template)]
#[template(path = "admin_provider_new.html")]
struct NewProviderPage {
    who: String,
    csrf: String,
    error: Option<String>,
    name: String,
    metadata_url: String,
}

/// `GET /admin/providers/new`
pub async fn new_provider_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    let form =
        NewProviderPage { who: a.who, csrf, error: None, name: String::new(), metadata_url: String::new() };
    page(&state, StatusCode::OK, &form)
}

/// `POST /admin/providers/new`: fields `name`, and `metadata` or `metadata_url`.
pub async fn new_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let (form, _) = checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let name = form.text("name")?.trim().to_owned();
    let url = form.text("metadata_url")?.trim().to_owned();
    let (outcome, events) =
        state.admin.register_provider(&a.caller, &name, form.get("metadata")?, Some(url.as_str())).await;
    record(&state, &req, events);
    match outcome {
        Ok(()) => Ok(see_other(&format!("/admin/providers/{}?registered=1", encode(&name)))),
        Err(e) => {
            let error = Some(shown_on_page(e)?);
            let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
            let again = NewProviderPage { who: a.who, csrf, error, name, metadata_url: url };
            page(&state, StatusCode::BAD_REQUEST, &again)
        }
    }
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Template)]
#[template(path = "admin_provider.html")]
struct ProviderPage {
    who: String,
    csrf: String,
    p: ProviderDetail,
    acs: String,
    message: Option<&'static str>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct ProviderQuery {
    registered: Option<String>,
    saved: Option<String>,
}

async fn provider_page(
    req: &HttpRequest,
    state: &AppState,
    a: Admin,
    name: &str,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageFailure> {
    let mut events = Vec::new();
    let detail = state.admin.provider(&a.caller, name, &mut events).await;
    record(state, req, events);
    let p = detail?;
    let acs = state.public_url.provider_acs(&p.uuid);
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(state, status, &ProviderPage { who: a.who, csrf, p, acs, message, error })
}

/// `GET /admin/providers/{name}`
pub async fn provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<ProviderQuery>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let message = match (&query.registered, &query.saved) {
        (Some(_), _) => Some("Registered."),
        (_, Some(_)) => Some("Settings saved."),
        _ => None,
    };
    provider_page(&req, &state, a, &name, message, None).await
}

/// `POST /admin/providers/{name}/settings`: checkboxes `require_sp_initiated`, `allow_sha1`.
pub async fn provider_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let (form, _) = checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let switches = ProviderSwitches {
        require_sp_initiated: form.get("require_sp_initiated")? == Some("true"),
        allow_sha1: form.get("allow_sha1")? == Some("true"),
    };
    let (outcome, events) = state.admin.set_switches(&a.caller, &name, switches).await;
    record(&state, &req, events);
    match outcome {
        Ok(()) => Ok(see_other(&format!("/admin/providers/{}?saved=1", encode(&name)))),
        Err(e) => provider_page(&req, &state, a, &name, None, Some(shown_on_page(e)?)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_provider_delete.html")]
struct DeletePage {
    who: String,
    csrf: String,
    name: String,
    roles: Vec<String>,
}

/// `GET /admin/providers/{name}/delete`: the confirmation, with the roles that would lose it.
pub async fn delete_provider_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let mut events = Vec::new();
    let detail = state.admin.provider(&a.caller, &name, &mut events).await;
    record(&state, &req, events);
    let roles = detail?.trusting_roles;
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    page(&state, StatusCode::OK, &DeletePage { who: a.who, csrf, name: name.into_inner(), roles })
}

/// `POST /admin/providers/{name}/delete`
pub async fn delete_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let (outcome, events) = state.admin.delete_provider(&a.caller, &name).await;
    record(&state, &req, events);
    outcome?;
    Ok(see_other("/admin/providers"))
}

#[derive(Template)]
#[template(path = "admin_debugger.html")]
struct DebuggerPage {
    who: String,
    csrf: String,
    pasted: String,
    error: Option<String>,
    report: Option<DebugReport>,
}

#[derive(serde::Deserialize)]
pub struct DebuggerQuery {
    kept: Option<String>,
}

/// `GET /admin/debugger[?kept=ID]`: the form, or the report of a refused
/// response kept from the sign-in history.
pub async fn debugger_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DebuggerQuery>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    let mut events = Vec::new();
    let (pasted, report, error) = match &query.kept {
        None => (String::new(), None, None),
        Some(id) => match state.admin.debug_kept(&a.caller, id, &mut events).await {
            Ok(Some((response, report))) => (response, Some(report), None),
            Ok(None) => (
                String::new(),
                None,
                Some("That response is no longer kept (refused responses are kept for a short time).".into()),
            ),
            Err(e) => (String::new(), None, Some(shown_on_page(e)?)),
        },
    };
    record(&state, &req, events);
    page(&state, StatusCode::OK, &DebuggerPage { who: a.who, csrf, pasted, error, report })
}

/// `POST /admin/debugger`: field `SAMLResponse`.
pub async fn debugger(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let (form, _) = checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let pasted = form.text("SAMLResponse")?.to_owned();
    let mut events = Vec::new();
    let outcome = state.admin.debug_response(&a.caller, &pasted, &mut events).await;
    record(&state, &req, events);
    let (report, error) = match outcome {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(shown_on_page(e)?)),
    };
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    page(&state, StatusCode::OK, &DebuggerPage { who: a.who, csrf, pasted, error, report })
}

#[derive(Template)]
#[template(path = "admin_events.html")]
struct EventsPage {
    who: String,
    f: EventFilter,
    rows: Vec<EventRow>,
    error: Option<String>,
    older: Option<i64>,
    older_link: String,
}

/// `GET /admin/events`: filters `request_id`, `user`, `event`, `outcome`, `from`, `to`; `before` pages.
pub async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EventFilter>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let mut f = query.into_inner();
    f.outcome = f.outcome.filter(|o| !o.is_empty());
    let (rows, older, error) = match state.admin.events(&a.caller, &f).await {
        Ok(page) => (page.rows, page.older, None),
        Err(e) => (Vec::new(), None, Some(shown_on_page(e)?)),
    };
    let mut link = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("request_id", &f.request_id),
        ("user", &f.user),
        ("event", &f.event),
        ("outcome", &f.outcome),
        ("from", &f.from),
        ("to", &f.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            link.append_pair(k, v);
        }
    }
    if let Some(before) = older {
        link.append_pair("before", &before.to_string());
    }
    let older_link = format!("/admin/events?{}", link.finish());
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(&state, status, &EventsPage { who: a.who, f, rows, error, older, older_link })
}

#[derive(Template)]
#[template(path = "admin_mappings.html")]
struct MappingsPage {
    who: String,
    csrf: String,
    account: String,
    rows: Vec<MappingRow>,
    group_dn: String,
    role_arn: String,
    username: String,
    preview: Option<MappingPreview>,
    message: Option<&'static str>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct MappingsQuery {
    saved: Option<String>,
    removed: Option<String>,
}

async fn mappings_page(
    state: &AppState,
    a: Admin,
    form: (String, String, String),
    preview: Option<MappingPreview>,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageFailure> {
    let rows = state.admin.mappings(&a.caller).await?;
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    let (group_dn, role_arn, username) = form;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let account = a.caller.account_id.to_string();
    let body = MappingsPage {
        who: a.who,
        csrf,
        account,
        rows,
        group_dn,
        role_arn,
        username,
        preview,
        message,
        error,
    };
    page(state, status, &body)
}

/// `GET /admin/mappings`: the rules for this account's roles.
pub async fn mappings(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<MappingsQuery>,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let message = match (&query.saved, &query.removed) {
        (Some(_), _) => Some("Rule saved: it applies to the next sign-in, on every node."),
        (_, Some(_)) => Some("Rule removed."),
        _ => None,
    };
    mappings_page(&state, a, Default::default(), None, message, None).await
}

/// `POST /admin/mappings`: `group_dn`, `role_arn`, `username`; `do` is
/// `preview`, `save` or `delete`.
pub async fn change_mappings(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let (form, _) = checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let fields = (
        form.text("group_dn")?.to_owned(),
        form.text("role_arn")?.to_owned(),
        form.text("username")?.to_owned(),
    );
    let outcome = match form.text("do")? {
        "preview" => {
            let proposed = (!fields.0.trim().is_empty() && !fields.1.trim().is_empty())
                .then_some((fields.0.as_str(), fields.1.as_str()));
            match state.admin.preview_mapping(&a.caller, &fields.2, proposed).await {
                Ok(p) => return mappings_page(&state, a, fields, Some(p), None, None).await,
                Err(e) => Err(e),
            }
        }
        how @ ("save" | "delete") => {
            let (outcome, event) =
                state.admin.change_mapping(&a.caller, &fields.0, &fields.1, how == "save").await;
            record(&state, &req, vec![event]);
            match outcome {
                Ok(()) if how == "save" => return Ok(see_other("/admin/mappings?saved=1")),
                Ok(()) => return Ok(see_other("/admin/mappings?removed=1")),
                Err(e) => Err(e),
            }
        }
        _ => return Err(PageFailure::bad_request("Choose Preview, Save or Remove.")),
    };
    match outcome {
        Err(e) => mappings_page(&state, a, fields, None, None, Some(shown_on_page(e)?)).await,
        Ok(()) => Ok(see_other("/admin/mappings")),
    }
}

/// One signing key as the keys page shows it.
struct KeyRow {
    id: String,
    purpose: String,
    state: String,
    created: String,
}

impl KeyRow {
    /// The steps a key can take: a published key (the next one, or the
    /// one that signed before) is activated or retired.
    fn next_steps(&self) -> &'static [(&'static str, &'static str)] {
        match self.state.as_str() {
            "published" => &[("activate", "Activate"), ("retire", "Retire")],
            _ => &[],
        }
    }
}

#[derive(Template)]
#[template(path = "admin_keys.html")]
struct KeysPage {
    who: String,
    csrf: String,
    sections: Vec<KeySection>,
    message: Option<&'static str>,
    error: Option<String>,
}

/// The keys of one purpose.
struct KeySection {
    purpose: &'static str,
    label: &'static str,
    keys: Vec<KeyRow>,
}

const KEY_PURPOSES: [(&str, &str); 2] = [("idp", "IdP signing"), ("token", "Session token")];

async fn keys_page(
    req: &HttpRequest,
    state: &AppState,
    a: Admin,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, PageFailure> {
    let (listed, event) = state.admin.call(&a.caller, "ListSigningKeys", &[]).await;
    record(state, req, vec![event]);
    let reply = listed?;
    let keys: Vec<KeyRow> = reply
        .structs("SigningKeys")
        .into_iter()
        .map(|k| {
            let field = |name| crate::console::admin::text_in(k, name).unwrap_or_default().to_owned();
            KeyRow {
                id: field("KeyId"),
                purpose: field("Purpose"),
                state: field("State"),
                created: field("CreateDate"),
            }
        })
        .collect();
    let csrf = csrf_token(&state.csrf_key, ADMIN_CSRF, &a.cookie);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let mut sections: Vec<KeySection> =
        KEY_PURPOSES.iter().map(|(purpose, label)| KeySection { purpose, label, keys: Vec::new() }).collect();
    for key in keys {
        if let Some(section) = sections.iter_mut().find(|s| s.purpose == key.purpose) {
            section.keys.push(key);
        }
    }
    page(state, status, &KeysPage { who: a.who, csrf, sections, message, error })
}

/// `GET /admin/keys`: the IdP's and the session tokens' keys (operator accounts only).
pub async fn keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    keys_page(&req, &state, a, None, None).await
}

/// `POST /admin/keys`: `do` is `publish` (with `purpose`), `activate` or `retire` (with `key_id`).
pub async fn key_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let a = signed_in!(req, state);
    let (form, _) = checked_form(&req, &state, payload, ADMIN_FORM_LIMIT, SESSION_COOKIE, ADMIN_CSRF).await?;
    let (action, params, done) = match form.text("do")? {
        "publish" => (
            "PublishSigningKey",
            ("Purpose", form.text("purpose")?),
            "Published: it is in the metadata now; activate it once relying parties have loaded it.",
        ),
        "activate" => {
            ("ActivateSigningKey", ("KeyId", form.text("key_id")?), "Activated: it signs from now on.")
        }
        "retire" => {
            ("RetireSigningKey", ("KeyId", form.text("key_id")?), "Retired: it is no longer published.")
        }
        _ => return Err(PageFailure::bad_request("Choose a step.")),
    };
    let (outcome, event) = state.admin.call(&a.caller, action, &[params]).await;
    record(&state, &req, vec![event]);
    match outcome {
        Ok(_) => keys_page(&req, &state, a, Some(done), None).await,
        Err(e) => keys_page(&req, &state, a, None, Some(shown_on_page(e)?)).await,
    }
}
