//! Password sign-in for IAM users and the root user (`/signin`), and AWS's
//! console federation endpoint (`/federation`: getSigninToken, login), over
//! the use cases in console/signin.rs.
use super::error::PageFailure;
use super::pages::{self, SigninPage, CSRF_COOKIE, SESSION_COOKIE};
use super::{session_started, AppState, Recorder};
use crate::console::signin::{FederationError, PresentedSession, SignInForm, SignInOutcome};
use crate::console::{csrf_token, same_origin_path};
use crate::crypto;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

const SIGNIN_CSRF: &str = "signin";
const FORM_LIMIT: usize = 16 * 1024;

fn show_signin(
    req: &HttpRequest,
    state: &AppState,
    account: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageFailure> {
    let existing = pages::cookie_value(req, CSRF_COOKIE);
    let binding = existing.clone().unwrap_or_else(|| crypto::random_token(24));
    let csrf = csrf_token(&state.csrf_key, SIGNIN_CSRF, &binding);
    let body = pages::render(&SigninPage { csrf: &csrf, account, username, error })?;
    let mut response = pages::page_builder(status, None, state.https);
    if existing.is_none() {
        response.cookie(pages::cookie(CSRF_COOKIE, binding, 86_400, state.https));
    }
    Ok(response.body(body))
}

pub async fn signin_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    show_signin(&req, &state, "", "", None, StatusCode::OK)
}

/// `POST /signin`: account (id or alias; empty for root), user name or root
/// email, password, and the MFA code when the principal has a device.
pub async fn signin(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (form, _) = pages::checked_form(&req, &state, payload, FORM_LIMIT, CSRF_COOKIE, SIGNIN_CSRF).await?;
    let (account, username) = (form.text("account")?.trim(), form.text("username")?.trim());
    let address = pages::client_address(&req);
    let old_session = pages::cookie_value(&req, SESSION_COOKIE);
    let signin = SignInForm {
        account,
        username,
        password: form.text("password")?,
        mfa: form.text("mfa")?.trim(),
        address: &address,
        old_session: old_session.as_deref(),
    };
    let mut audit = Recorder::new(&state, &req);
    match state.password_signin.sign_in(signin, &mut audit).await.map_err(|e| audit.failure(e.into()))? {
        SignInOutcome::Retry(message) => {
            show_signin(&req, &state, account, username, Some(&message), StatusCode::UNAUTHORIZED)
        }
        SignInOutcome::Opened(opened) => session_started(&state, opened),
    }
}

#[derive(serde::Deserialize)]
pub struct FederationQuery {
    #[serde(rename = "Action")]
    action: Option<String>,
    #[serde(rename = "Session")]
    session: Option<String>,
    #[serde(rename = "SessionDuration")]
    session_duration: Option<String>,
    #[serde(rename = "SigninToken")]
    signin_token: Option<String>,
    #[serde(rename = "Destination")]
    destination: Option<String>,
}

/// The `Session` parameter of getSigninToken, as AWS documents it.
#[derive(serde::Deserialize)]
struct SessionParameter {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "sessionKey")]
    session_key: String,
    #[serde(rename = "sessionToken")]
    session_token: String,
}

fn plain(status: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(text.to_owned())
}

/// `GET /federation`: AWS's getSigninToken and login.
pub async fn federation(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<FederationQuery>,
) -> Result<HttpResponse, PageFailure> {
    match query.action.as_deref() {
        Some("getSigninToken") => get_signin_token(&state, &query).await,
        Some("login") => login(&req, &state, &query).await,
        _ => Ok(plain(StatusCode::BAD_REQUEST, "Action must be getSigninToken or login.")),
    }
}

async fn get_signin_token(state: &AppState, q: &FederationQuery) -> Result<HttpResponse, PageFailure> {
    let parameter = q.session.as_deref().filter(|s| s.len() <= 8192);
    let Some(session) = parameter.and_then(|s| serde_json::from_str::<SessionParameter>(s).ok()) else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "Session must be a JSON object with sessionId, sessionKey and sessionToken.",
        ));
    };
    let presented = PresentedSession {
        access_key_id: session.session_id,
        secret_access_key: session.session_key,
        session_token: session.session_token,
    };
    match state.password_signin.signin_token(presented, q.session_duration.as_deref()).await {
        Ok(token) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(serde_json::json!({ "SigninToken": token }).to_string())),
        Err(e @ (FederationError::Duration | FederationError::NotARoleSession)) => {
            Ok(plain(StatusCode::BAD_REQUEST, &e.to_string()))
        }
        Err(e @ FederationError::InvalidCredentials) => Ok(plain(StatusCode::FORBIDDEN, &e.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn login(
    req: &HttpRequest,
    state: &AppState,
    q: &FederationQuery,
) -> Result<HttpResponse, PageFailure> {
    // Only a path on this origin (given as a path or as a URL of this origin).
    let destination =
        q.destination.as_deref().map(|d| d.strip_prefix(state.public_url.as_str()).unwrap_or(d));
    let relay = destination.and_then(same_origin_path).map(str::to_owned);
    let old_session = pages::cookie_value(req, SESSION_COOKIE);
    let token = q.signin_token.as_deref().unwrap_or_default();
    let mut audit = Recorder::new(state, req);
    let opened = state.password_signin.redeem(token, relay, old_session.as_deref(), &mut audit).await;
    session_started(state, opened.map_err(|e| audit.failure(e.into()))?)
}
