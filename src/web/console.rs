//! The console pages: home, role picker, console, sign-out. A session is a
//! server-side row named by a random cookie; every sign-in makes a new one.
use super::error::PageFailure;
use super::pages::{self, ConsolePage, HomePage, RolesPage, SESSION_COOKIE};
use super::{see_other, session_started, AppState, Recorder};
use crate::audit::{FlowAudit, FlowEvent, FlowEventName};
use crate::console::idp_logout::LogoutStep;
use crate::console::{csrf_token, WebSession};
use crate::sts::SamlClaims;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

const CONSOLE_CSRF: &str = "console";
const FORM_LIMIT: usize = 16 * 1024;

/// This browser's console session (or role picker) and its cookie, if any.
pub(super) async fn current(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<(String, WebSession)>, PageFailure> {
    let Some(cookie) = pages::cookie_value(req, SESSION_COOKIE) else { return Ok(None) };
    match state.sessions.load(&cookie).await {
        Ok(Some(s)) => Ok(Some((cookie, s))),
        Ok(None) | Err(crate::console::ConsoleError::Corrupt) => Ok(None),
        Err(e) => Err(PageFailure::internal(e.to_string())),
    }
}

/// `GET /`: the console when signed in, else the sign-in choices.
pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    if let Some((_, WebSession::Console(_))) = current(&req, &state).await? {
        return Ok(see_other("/console"));
    }
    Ok(pages::page_builder(StatusCode::OK, None, state.https).body(pages::render(&HomePage)?))
}

fn offered_claims(session: &WebSession) -> Option<&SamlClaims> {
    match session {
        WebSession::Roles(p) => Some(&p.claims),
        WebSession::Console(c) => c.claims.as_ref(),
    }
}

/// `GET /console/roles`: the roles the assertion offered, grouped by account.
pub async fn roles_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let (cookie, session) = current(&req, &state).await?.ok_or_else(PageFailure::signed_out)?;
    render_roles(&state, &cookie, &session, None).await
}

/// The picker, with `error` above it when a submission was not usable.
async fn render_roles(
    state: &AppState,
    cookie: &str,
    session: &WebSession,
    error: Option<&str>,
) -> Result<HttpResponse, PageFailure> {
    let claims = offered_claims(session).ok_or_else(PageFailure::signed_out)?;
    let current_role = match session {
        WebSession::Console(c) => c.role_arn.as_deref(),
        WebSession::Roles(_) => None,
    };
    let accounts = pages::account_roles(state.saml_signin.offered_roles(claims).await?, current_role);
    let csrf = csrf_token(&state.csrf_key, CONSOLE_CSRF, cookie);
    let body = pages::render(&RolesPage { user: &claims.name_id, csrf: &csrf, error, accounts })?;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(pages::page_builder(status, None, state.https).body(body))
}

/// `POST /console/roles`: opens the console on the chosen role.
pub async fn choose_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (form, _) =
        pages::checked_form(&req, &state, payload, FORM_LIMIT, SESSION_COOKIE, CONSOLE_CSRF).await?;
    let (cookie, session) = current(&req, &state).await?.ok_or_else(PageFailure::signed_out)?;
    let role = form.text("role")?;
    if role.is_empty() {
        return render_roles(&state, &cookie, &session, Some("Choose one of the roles below to continue."))
            .await;
    }
    let mut audit = Recorder::new(&state, &req);
    let opened = state.saml_signin.choose(&cookie, session, role, &mut audit).await;
    session_started(&state, opened.map_err(|e| audit.failure(e.into()))?)
}

/// `GET /console`: who you are and your temporary credentials.
pub async fn console(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let Some((cookie, WebSession::Console(session))) = current(&req, &state).await? else {
        return Ok(see_other("/"));
    };
    let csrf = csrf_token(&state.csrf_key, CONSOLE_CSRF, &cookie);
    let expiration = crate::domain::iso_time(session.expiration);
    // Another offered role can be chosen while the assertion is still valid;
    // later, switching means signing in again.
    let now = state.clock.now().timestamp();
    let can_switch = session.claims.as_ref().is_some_and(|c| c.roles.len() > 1 && now < c.valid_until);
    let can_sign_in_again =
        session.claims.as_ref().is_some_and(|c| c.roles.len() > 1 && now >= c.valid_until);
    let body = pages::render(&ConsolePage {
        s: &session,
        expiration,
        endpoint: state.public_url.as_str(),
        csrf: &csrf,
        can_switch,
        can_sign_in_again,
    })?;
    Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body))
}

/// `POST /console/logout`: ends the session on the server.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (_, cookie) =
        pages::checked_form(&req, &state, payload, FORM_LIMIT, SESSION_COOKIE, CONSOLE_CSRF).await?;
    if let Some((_, WebSession::Console(s))) = current(&req, &state).await? {
        let event =
            FlowEvent::success(FlowEventName::ConsoleLogout, &s.user, serde_json::json!({ "arn": s.arn }));
        Recorder::new(&state, &req).record(event);
    }
    state.sessions.end(&cookie).await.map_err(|e| PageFailure::internal(e.to_string()))?;
    // Signing out of the console signs out of the built-in IdP too, and of
    // the SPs it signed this browser in to (Single Logout).
    let mut audit = Recorder::new(&state, &req);
    let step = match pages::cookie_value(&req, pages::IDP_SESSION_COOKIE) {
        Some(idp_cookie) => {
            state.idp_logout.sign_out(&idp_cookie, &mut audit).await.map_err(PageFailure::from)?
        }
        None => LogoutStep::Done { partial: false },
    };
    let mut response = match step {
        LogoutStep::Done { .. } => {
            let mut home = see_other("/");
            home.add_cookie(&pages::removal(pages::IDP_SESSION_COOKIE, state.https))
                .map_err(|e| PageFailure::internal(e.to_string()))?;
            home
        }
        more => super::idp::show_logout(&state, more)?,
    };
    response
        .add_cookie(&pages::removal(SESSION_COOKIE, state.https))
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    Ok(response)
}
