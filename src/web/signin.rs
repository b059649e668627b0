//! Password sign-in for IAM users and the root user (`/signin`), and AWS's
//! console federation endpoint (`/federation`: getSigninToken, login).
use super::console::start_console;
use super::error::PageFailure;
use super::pages::{self, SigninPage, CSRF_COOKIE};
use super::{web_audit, AppState};
use crate::console::{csrf_token, same_origin_path, ConsoleSession};
use crate::crypto;
use crate::domain::SessionKind;
use crate::iam::SignInError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

const SIGNIN_CSRF: &str = "signin";
/// Sign-in tokens are good for one use within this time (AWS: 15 minutes).
const SIGNIN_TOKEN_SECONDS: i64 = 900;

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
    let (form, _) = pages::checked_form(&req, &state, payload, 16 * 1024, CSRF_COOKIE, SIGNIN_CSRF).await?;
    let (account, username) = (form.text("account")?.trim(), form.text("username")?.trim());
    let (password, mfa) = (form.text("password")?, form.text("mfa")?.trim());
    let address = pages::client_address(&req);
    let now = state.iam.clock.now().timestamp();
    let throttle_key = format!("iam:{account}:{username}");
    let Some(attempt) = state.throttle.attempt(&throttle_key, &address, now).await? else {
        return Err(PageFailure::throttled());
    };
    let identity = match state.iam.console_sign_in(account, username, password, Some(mfa)).await {
        Ok(identity) => identity,
        Err(SignInError::Iam(e)) => return Err(PageFailure::internal(e.to_string())),
        Err(e) => {
            if !matches!(e, SignInError::MfaRequired) {
                state.throttle.record_failure(&attempt).await?;
            }
            let reason = match &e {
                SignInError::Refused(why) => *why,
                SignInError::MfaRequired => "mfa-required",
                _ => "reset-required",
            };
            state.metrics.signins.with_label_values(&["password", "refused"]).inc();
            web_audit(
                &state,
                &req,
                "ConsoleLogin",
                Some(username),
                Some(("Failed authentication", e.to_string())),
                serde_json::json!({ "reason": reason, "account": account, "rootSignIn": account.is_empty() }),
            );
            return show_signin(
                &req,
                &state,
                account,
                username,
                Some(&e.to_string()),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    state.throttle.record_success(&attempt).await?;
    let (arn, issued) = crate::sts::console_credentials(&state.iam, &identity)
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    let root = identity.user.is_none();
    let session = ConsoleSession {
        user: identity
            .user
            .as_ref()
            .map(|u| u.name.clone())
            .or(identity.root_email.clone())
            .unwrap_or_default(),
        method: if root { "root" } else { "iam-user" }.into(),
        account_id: identity.account_id,
        account_alias: identity.account_alias,
        role_arn: None,
        arn,
        access_key_id: issued.access_key_id,
        secret_access_key: issued.secret,
        session_token: issued.token,
        expiration: issued.expiration,
        root_without_mfa: root && identity.no_mfa_device,
        claims: None,
    };
    start_console(&req, &state, session, None, None).await
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

#[derive(serde::Deserialize)]
struct PresentedSession {
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
    let Some(presented) = q
        .session
        .as_deref()
        .filter(|s| s.len() <= 8192)
        .and_then(|s| serde_json::from_str::<PresentedSession>(s).ok())
    else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "Session must be a JSON object with sessionId, sessionKey and sessionToken.",
        ));
    };
    let duration = match q.session_duration.as_deref() {
        None => 43_200,
        Some(d) => match d.parse::<i64>() {
            Ok(n) if (900..=43_200).contains(&n) => n,
            _ => {
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "SessionDuration must be between 900 and 43200 seconds.",
                ))
            }
        },
    };
    let claims = match state.iam.verify_temporary_credentials(
        &presented.session_id,
        &presented.session_key,
        &presented.session_token,
    ) {
        Ok(c) => c,
        Err(_) => return Ok(plain(StatusCode::FORBIDDEN, "The session credentials are not valid.")),
    };
    if !matches!(claims.kind, SessionKind::AssumedRole | SessionKind::FederatedUser) {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "Only role and federated-user credentials can sign in to the console.",
        ));
    }
    let now = state.iam.clock.now().timestamp();
    let alias = state.iam.store.get_account(&claims.acct).await.ok().and_then(|a| a.alias);
    let session = ConsoleSession {
        user: claims.name.clone(),
        method: "federation".into(),
        account_id: claims.acct.clone(),
        account_alias: alias,
        role_arn: None,
        arn: claims.arn.clone(),
        access_key_id: presented.session_id,
        secret_access_key: presented.session_key,
        session_token: presented.session_token,
        expiration: claims.exp.min(now + duration),
        root_without_mfa: false,
        claims: None,
    };
    let token = crypto::random_token(48);
    let hash = crypto::sha256_hex(token.as_bytes());
    let sealed = state
        .iam
        .master
        .seal_json(&session, &format!("signin-token:{hash}"))
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    state.iam.store.put_signin_token(&hash, &sealed, now + SIGNIN_TOKEN_SECONDS).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::json!({ "SigninToken": token }).to_string()))
}

async fn login(
    req: &HttpRequest,
    state: &AppState,
    q: &FederationQuery,
) -> Result<HttpResponse, PageFailure> {
    let refused = || {
        PageFailure::new(
            400,
            "Sign-in link not valid",
            "This sign-in link has expired or was already used. Ask for a new one.",
        )
    };
    let token = q.signin_token.as_deref().filter(|t| !t.is_empty() && t.len() <= 256).ok_or_else(refused)?;
    let hash = crypto::sha256_hex(token.as_bytes());
    let now = state.iam.clock.now().timestamp();
    let sealed = state.iam.store.take_signin_token(&hash, now).await?.ok_or_else(refused)?;
    let session: ConsoleSession =
        state.iam.master.open_json(&sealed, &format!("signin-token:{hash}")).map_err(|_| refused())?;
    if session.expiration <= now {
        return Err(refused());
    }
    // Only a path on this origin (given as a path or as a URL of this origin).
    let destination =
        q.destination.as_deref().map(|d| d.strip_prefix(state.public_url.as_str()).unwrap_or(d));
    let relay = destination.and_then(same_origin_path).map(str::to_owned);
    start_console(req, state, session, relay, None).await
}
