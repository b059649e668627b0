//! idbroker's SP pages: metadata, SP-initiated login and the ACS, over the
//! SAML sign-in use case (console/saml_signin.rs).
use super::error::PageFailure;
use super::pages::{self, Form, SESSION_COOKIE, SSO_COOKIE};
use super::{session_started, AppState, Recorder};
use crate::console::same_origin_path;
use crate::console::saml_signin::{AcsOutcome, AcsPost, REQUEST_SECONDS};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

/// A form carrying a SAMLResponse: AWS's 100,000-character assertion limit,
/// base64 and then form-encoded (`+`, `/`, `=` take three bytes each), and RelayState.
const ACS_FORM_LIMIT: usize = 300_000;

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(state.sp.metadata(&state.saml_signin.idp.keys().active_certificate))
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    provider: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /saml/login[?provider=ARN]`: without a provider, the built-in IdP.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageFailure> {
    let provider = query.provider.as_deref().filter(|p| !p.is_empty());
    let relay = query.relay_state.as_deref().and_then(same_origin_path);
    let browser = pages::cookie_value(&req, SSO_COOKIE);
    let redirect = state.saml_signin.begin(provider, relay, browser).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, redirect.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(pages::cross_site_cookie(SSO_COOKIE, redirect.browser, REQUEST_SECONDS, state.https))
        .finish())
}

/// `POST /saml/acs`: one role opens the console, several the role picker.
pub async fn acs(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    accept_response(req, state, payload, None).await
}

/// `POST /saml/acs/{SAMLProviderUUID}`: one provider's own ACS (AWS's form
/// for encrypted assertions); the response is checked with that provider only.
pub async fn provider_acs(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    provider_uuid: web::Path<String>,
) -> Result<HttpResponse, PageFailure> {
    accept_response(req, state, payload, Some(provider_uuid.into_inner())).await
}

async fn accept_response(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    provider_uuid: Option<String>,
) -> Result<HttpResponse, PageFailure> {
    let form = Form::read(&req, payload, ACS_FORM_LIMIT).await?;
    let saml_response =
        form.get("SAMLResponse")?.ok_or_else(|| PageFailure::bad_request("SAMLResponse is missing."))?;
    let browser = pages::cookie_value(&req, SSO_COOKIE);
    let old_session = pages::cookie_value(&req, SESSION_COOKIE);
    let post = AcsPost {
        saml_response,
        relay_state: form.get("RelayState")?.and_then(same_origin_path).map(str::to_owned),
        browser: browser.as_deref(),
        old_session: old_session.as_deref(),
        provider_uuid: provider_uuid.as_deref(),
    };
    let mut audit = Recorder::new(&state, &req);
    match state.saml_signin.accept(post, &mut audit).await.map_err(|e| audit.failure(e.into()))? {
        AcsOutcome::NoRole => {
            let body = pages::render(&pages::MessagePage {
                title: "No role for your account",
                message: "Your identity provider signed you in, but offers no AWS role here. Ask your administrator to map a role to your account.",
                request_id: None,
            })?;
            Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body))
        }
        AcsOutcome::Opened(opened) => session_started(&state, opened),
    }
}
