//! The built-in IdP's pages: metadata, the SSO endpoint (AuthnRequests by
//! Redirect and POST), and the directory login (console/login.rs), whose
//! answer is a page auto-posting the signed Response to the SP's ACS.
use super::error::PageFailure;
use super::pages::{self, AutoPostPage, Form, LoginPage, CSRF_COOKIE, IDP_SESSION_COOKIE, LOGOUT_COOKIE};
use super::{see_other, AppState, Recorder};
use crate::audit::{FlowEvent, FlowEventName, RefusalCode};
use crate::console::csrf_token;
use crate::console::idp_logout::{LogoutStep, LOGOUT_SECONDS};
use crate::console::login::{Code, CodePrompt, LoginStep, Password, SsoStep};
use crate::idp::{
    parse_post, parse_redirect, parse_slo_post, parse_slo_redirect, IdpError, Outgoing, SloMessage, Sso,
    SsoRequest,
};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;

const FORM_LIMIT: usize = 16 * 1024;
const LOGIN_CSRF: &str = "idp-login";

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/samlmetadata+xml").body(state.login.idp.metadata())
}

/// The request idbroker's own SP would make: IdP-initiated sign-in to the console.
fn own_console_request(state: &AppState) -> SsoRequest {
    state.login.console_request(&state.sp.entity_id, &state.sp.acs_url)
}

/// The login form for a sealed request, with a CSRF token bound to this
/// browser's pre-login cookie (set here when missing).
fn show_login(
    req: &HttpRequest,
    state: &AppState,
    sealed_request: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageFailure> {
    let existing = pages::cookie_value(req, CSRF_COOKIE);
    let binding = existing.clone().unwrap_or_else(|| crate::crypto::random_token(24));
    let csrf = csrf_token(&state.csrf_key, LOGIN_CSRF, &binding);
    let body = pages::render(&LoginPage { csrf: &csrf, request: sealed_request, username, error })?;
    let mut response = pages::page_builder(status, None, state.https);
    if existing.is_none() {
        response.cookie(pages::cookie(CSRF_COOKIE, binding, 86_400, state.https));
    }
    Ok(response.body(body))
}

/// The empty login form for `request`.
fn show_new_login(
    req: &HttpRequest,
    state: &AppState,
    request: &SsoRequest,
) -> Result<HttpResponse, PageFailure> {
    let sealed = state.login.seal_request(request)?;
    show_login(req, state, &sealed, "", None, StatusCode::OK)
}

fn refused_request(state: &AppState, req: &HttpRequest, e: IdpError) -> PageFailure {
    let mut audit = Recorder::new(state, req);
    let event = FlowEvent::refused(
        FlowEventName::IdpAuthnRequest,
        None,
        RefusalCode::AuthnRequestRefused,
        e.to_string(),
        serde_json::json!({}),
    );
    crate::audit::FlowAudit::record(&mut audit, event);
    audit.failure(PageFailure::bad_request(format!("The SAML request was refused: {e}.")))
}

/// `GET /idp/sso`: an AuthnRequest by the Redirect binding.
pub async fn sso_redirect(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let now = state.login.clock.now();
    let sso = parse_redirect(&state.login.idp, req.query_string(), now)
        .map_err(|e| refused_request(&state, &req, e))?;
    answer_request(&req, &state, sso).await
}

/// The login form for a request, or at once an answer to its SP: from the
/// browser's IdP session, or a status.
async fn answer_request(req: &HttpRequest, state: &AppState, sso: Sso) -> Result<HttpResponse, PageFailure> {
    let mut audit = Recorder::new(state, req);
    let step = match sso {
        Sso::SignIn(request) => {
            let cookie = pages::cookie_value(req, IDP_SESSION_COOKIE);
            match state.login.sso(request, cookie.as_deref(), &mut audit).await {
                Ok(SsoStep::Login(request)) => return show_new_login(req, state, &request),
                Ok(SsoStep::Answer(step)) => Ok(step),
                Err(e) => Err(e),
            }
        }
        Sso::Refuse(request, status) => state.login.refuse(None, request, status, &mut audit),
    };
    show_step(state, "", step.map_err(|e| audit.failure(e.into()))?, req)
}

/// `POST /idp/sso`: an AuthnRequest by the POST binding.
pub async fn sso_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let form = Form::read(&req, payload, 256 * 1024).await?;
    let saml_request =
        form.get("SAMLRequest")?.ok_or_else(|| PageFailure::bad_request("SAMLRequest is missing."))?;
    let relay = form.get("RelayState")?.map(str::to_owned);
    let now = state.login.clock.now();
    let sso = parse_post(&state.login.idp, saml_request, relay, now)
        .map_err(|e| refused_request(&state, &req, e))?;
    answer_request(&req, &state, sso).await
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    /// A registered SP to sign in to, IdP-initiated (AD FS's `loginToRp`).
    sp: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /idp/login[?sp=ENTITY-ID]`: the form, for an IdP-initiated sign-in to
/// the console, or to another registered SP (AWS itself, say).
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageFailure> {
    let request = match query.sp.as_deref() {
        None | Some("") => own_console_request(&state),
        Some(entity_id) => {
            let sp = state.login.idp.service_provider(entity_id).ok_or_else(|| {
                PageFailure::bad_request("That application is not registered with this identity provider.")
            })?;
            let relay = query.relay_state.clone().filter(|r| r.len() <= 80 && !r.is_empty());
            SsoRequest {
                sp_entity_id: sp.entity_id.clone(),
                acs_url: sp
                    .acs
                    .first()
                    .map(|a| a.url.clone())
                    .ok_or_else(|| PageFailure::bad_request("No ACS."))?,
                request_id: None,
                relay_state: relay,
                options: Default::default(),
            }
        }
    };
    answer_request(&req, &state, Sso::SignIn(request)).await
}

/// `POST /idp/login`: the password step, or (with `pending`) the code step.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (form, binding) =
        pages::checked_form(&req, &state, payload, FORM_LIMIT, CSRF_COOKIE, LOGIN_CSRF).await?;
    let address = pages::client_address(&req);
    let idp_session = pages::cookie_value(&req, IDP_SESSION_COOKIE);
    let mut audit = Recorder::new(&state, &req);
    let step = match form.get("pending")? {
        Some(pending) => {
            let code = Code {
                pending,
                code: form.text("code")?,
                address: &address,
                idp_session: idp_session.as_deref(),
            };
            state.login.code(code, &mut audit).await
        }
        None => {
            let password = Password {
                request: form.get("request")?.unwrap_or_default(),
                username: form.text("username")?,
                password: form.text("password")?,
                address: &address,
                idp_session: idp_session.as_deref(),
            };
            state.login.password(password, own_console_request(&state), &mut audit).await
        }
    };
    show_step(&state, &binding, step.map_err(|e| audit.failure(e.into()))?, &req)
}

/// The page for where a sign-in goes next.
fn show_step(
    state: &AppState,
    binding: &str,
    step: LoginStep,
    req: &HttpRequest,
) -> Result<HttpResponse, PageFailure> {
    match step {
        LoginStep::Retry { request, username, message } => {
            show_login(req, state, &request, &username, Some(message), StatusCode::UNAUTHORIZED)
        }
        LoginStep::Code(prompt) => show_code(state, binding, &prompt),
        LoginStep::NoRole => {
            let body = pages::render(&pages::MessagePage {
                title: "No role for your account",
                message: "You signed in, but none of your directory groups grants an AWS role. Ask your administrator to add you to a group such as AWS-<account id>-<role name>.",
                request_id: None,
            })?;
            Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body))
        }
        LoginStep::Issued(post) => {
            let body = pages::render(&AutoPostPage {
                title: "Signing you in",
                field: "SAMLResponse",
                acs_url: &post.acs_url,
                saml_response: &post.saml_response,
                relay_state: post.relay_state.as_deref(),
            })?;
            let mut page = pages::page_builder(StatusCode::OK, Some(&post.acs_url), state.https);
            if let Some(session) = post.idp_session {
                page.cookie(pages::cross_site_cookie(
                    IDP_SESSION_COOKIE,
                    session.value,
                    session.lifetime,
                    state.https,
                ));
            }
            Ok(page.body(body))
        }
    }
}

/// `GET /idp/slo`: a LogoutRequest or LogoutResponse by the Redirect binding.
pub async fn slo_redirect(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let message = parse_slo_redirect(&state.login.idp, req.query_string())
        .map_err(|e| refused_request(&state, &req, e))?;
    logout_step(&req, &state, message).await
}

/// `POST /idp/slo`: the same by the POST binding.
pub async fn slo_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let form = Form::read(&req, payload, 256 * 1024).await?;
    let (field, value) = match (form.get("SAMLRequest")?, form.get("SAMLResponse")?) {
        (Some(v), None) => ("SAMLRequest", v),
        (None, Some(v)) => ("SAMLResponse", v),
        _ => return Err(PageFailure::bad_request("Send one SAMLRequest or SAMLResponse.")),
    };
    let relay = form.get("RelayState")?.map(str::to_owned);
    let message = parse_slo_post(&state.login.idp, field, value, relay)
        .map_err(|e| refused_request(&state, &req, e))?;
    logout_step(&req, &state, message).await
}

async fn logout_step(
    req: &HttpRequest,
    state: &AppState,
    message: SloMessage,
) -> Result<HttpResponse, PageFailure> {
    let mut audit = Recorder::new(state, req);
    let step = match message {
        SloMessage::Request(request) => {
            let cookie = pages::cookie_value(req, IDP_SESSION_COOKIE);
            state.idp_logout.requested(request, cookie.as_deref(), &mut audit).await
        }
        SloMessage::Response(response) => {
            state.idp_logout.answered(response, pages::cookie_value(req, LOGOUT_COOKIE).as_deref()).await
        }
    };
    show_logout(state, step.map_err(|e| audit.failure(e.into()))?)
}

/// Where a logout goes next: another SP, the SP that asked, or the signed-out page.
pub(super) fn show_logout(state: &AppState, step: LogoutStep) -> Result<HttpResponse, PageFailure> {
    let (mut response, progress) = match step {
        LogoutStep::Send { message: Outgoing::Redirect(url), progress } => (see_other(&url), progress),
        LogoutStep::Send { message: Outgoing::Post { url, field, value, relay_state }, progress } => {
            let body = pages::render(&AutoPostPage {
                title: "Signing you out",
                field,
                acs_url: &url,
                saml_response: &value,
                relay_state: relay_state.as_deref(),
            })?;
            (pages::page_builder(StatusCode::OK, Some(&url), state.https).body(body), progress)
        }
        LogoutStep::Done { partial } => {
            let message = if partial {
                "You are signed out here. Some applications did not confirm; close the browser to be sure."
            } else {
                "You are signed out of idbroker and of the applications you used through it."
            };
            let body = pages::render(&pages::MessagePage { title: "Signed out", message, request_id: None })?;
            (pages::page_builder(StatusCode::OK, None, state.https).body(body), None)
        }
    };
    let internal = |e: actix_web::error::HttpError| PageFailure::internal(e.to_string());
    let logout_cookie = match progress {
        Some(sealed) => pages::cross_site_cookie(LOGOUT_COOKIE, sealed, LOGOUT_SECONDS, state.https),
        None => pages::removal(LOGOUT_COOKIE, state.https),
    };
    // The IdP session's cookie stays: when the logout ended the session, the
    // cookie names nothing any more; when it did not, it is still this browser's.
    response.add_cookie(&logout_cookie).map_err(internal)?;
    Ok(response)
}

/// The second step's form (401 after a refused code).
fn show_code(state: &AppState, binding: &str, prompt: &CodePrompt) -> Result<HttpResponse, PageFailure> {
    let csrf = csrf_token(&state.csrf_key, LOGIN_CSRF, binding);
    let encode = |png: &[u8]| base64::engine::general_purpose::STANDARD.encode(png);
    let body = pages::render(&pages::MfaPage {
        csrf: &csrf,
        pending: &prompt.pending,
        enrolling: prompt.enrolment.is_some(),
        qr_png_base64: prompt.enrolment.as_ref().map(|e| encode(&e.qr_png)),
        secret_base32: prompt.enrolment.as_ref().map(|e| e.secret_base32.clone()),
        error: prompt.message,
    })?;
    let status = if prompt.message.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    Ok(pages::page_builder(status, None, state.https).body(body))
}
