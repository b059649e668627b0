//! The console pages: home, role picker, console, sign-out. A session is a
//! server-side row named by a random cookie; every sign-in makes a new one.
use super::error::PageFailure;
use super::pages::{self, AccountRoles, ConsolePage, HomePage, RoleChoice, RolesPage, SESSION_COOKIE};
use super::{web_audit, AppState};
use crate::console::{csrf_token, ConsoleSession, PendingRoles, WebSession};
use crate::store::AssertionUse;
use crate::sts::{assume_role_with_claims, SamlClaims, SessionAsk, StsError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

const CONSOLE_CSRF: &str = "console";
/// The role picker waits this long for a choice.
const PICKER_SECONDS: i64 = 600;

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

async fn current(req: &HttpRequest, state: &AppState) -> Result<Option<(String, WebSession)>, PageFailure> {
    let Some(cookie) = pages::cookie_value(req, SESSION_COOKIE) else { return Ok(None) };
    match state.sessions.load(&cookie).await {
        Ok(Some(s)) => Ok(Some((cookie, s))),
        Ok(None) | Err(crate::console::ConsoleError::Corrupt) => Ok(None),
        Err(e) => Err(PageFailure::internal(e.to_string())),
    }
}

/// Replaces this browser's session (if any) with `session`, under a new id,
/// recording the signing-in assertion's `first_use` in the same commit.
async fn replace_session(
    req: &HttpRequest,
    state: &AppState,
    session: &WebSession,
    lifetime: i64,
    then: &str,
    first_use: Option<AssertionUse>,
) -> Result<HttpResponse, PageFailure> {
    let old = pages::cookie_value(req, SESSION_COOKIE);
    let started = state
        .sessions
        .start(session, lifetime, old.as_deref(), first_use)
        .await
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    let id = started.ok_or_else(|| super::sp::replayed(state, req))?;
    let mut response = see_other(then);
    response
        .add_cookie(&pages::cookie(SESSION_COOKIE, id, lifetime, state.https))
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    Ok(response)
}

/// Assumes `role` with the claims (AssumeRoleWithSAML semantics) and opens
/// a console session on it.
pub async fn open_console(
    req: &HttpRequest,
    state: &AppState,
    claims: SamlClaims,
    role: &str,
    relay: Option<String>,
    first_use: Option<AssertionUse>,
) -> Result<HttpResponse, PageFailure> {
    let offered = claims.roles.iter().find(|(r, _)| r == role).map(|(_, p)| p.clone());
    let provider_arn = offered.ok_or_else(|| PageFailure::bad_request("That role is not offered to you."))?;
    let provider = state.iam.store.get_saml_provider(&provider_arn).await?;
    let credentials = match assume_role_with_claims(
        &state.iam,
        &provider,
        &claims,
        role,
        SessionAsk::default(),
        None,
    )
    .await
    {
        Ok(c) => c,
        Err(StsError::Iam(e)) => return Err(PageFailure::internal(e.to_string())),
        Err(StsError::Internal(e)) => return Err(PageFailure::internal(e)),
        Err(StsError::ExpiredTokenException { .. }) => {
            return Err(PageFailure::new(
                403,
                "Sign-in expired",
                "Your sign-in is more than a few minutes old. Sign in again to choose a role.",
            ))
        }
        Err(e) => {
            web_audit(
                state,
                req,
                "ConsoleLogin",
                Some(&claims.name_id),
                Some((e.code().0, e.to_string())),
                serde_json::json!({ "roleArn": role, "issuer": claims.issuer }),
            );
            return Err(PageFailure::new(
                403,
                "Role not available",
                "You were signed in, but this role does not accept sign-ins from your identity provider. Ask your administrator to check the role's trust policy.",
            ));
        }
    };
    let alias = state.iam.store.get_account(&credentials.account_id).await.ok().and_then(|a| a.alias);
    let session = ConsoleSession {
        user: claims.name_id.clone(),
        method: "saml".into(),
        account_id: credentials.account_id.clone(),
        account_alias: alias,
        role_arn: Some(credentials.role_arn.clone()),
        arn: credentials.assumed_role_arn.clone(),
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: credentials.session_token,
        expiration: credentials.expiration,
        root_without_mfa: false,
        claims: Some(claims),
    };
    start_console(req, state, session, relay, first_use).await
}

/// Opens a console session (any sign-in method) and audits it.
pub async fn start_console(
    req: &HttpRequest,
    state: &AppState,
    session: ConsoleSession,
    relay: Option<String>,
    first_use: Option<AssertionUse>,
) -> Result<HttpResponse, PageFailure> {
    let lifetime = (session.expiration - state.iam.clock.now().timestamp()).max(60);
    let then = relay.unwrap_or_else(|| "/console".into());
    let session = WebSession::Console(session);
    let response = replace_session(req, state, &session, lifetime, &then, first_use).await?;
    // Audited once stored: a replayed assertion opens nothing.
    if let WebSession::Console(s) = &session {
        super::audit_console_login(state, req, s);
        state.metrics.signins.with_label_values(&[s.method.as_str(), "success"]).inc();
    }
    Ok(response)
}

pub async fn open_role_picker(
    req: &HttpRequest,
    state: &AppState,
    claims: SamlClaims,
    relay: Option<String>,
    first_use: AssertionUse,
) -> Result<HttpResponse, PageFailure> {
    let pending = WebSession::Roles(PendingRoles { claims, relay_state: relay });
    replace_session(req, state, &pending, PICKER_SECONDS, "/console/roles", Some(first_use)).await
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
        WebSession::Console(c) => c.role_arn.clone(),
        WebSession::Roles(_) => None,
    };
    let mut accounts: Vec<AccountRoles> = Vec::new();
    for (role, _) in &claims.roles {
        let account = role.split(':').nth(4).unwrap_or_default().to_owned();
        let name = role.rsplit('/').next().unwrap_or(role).to_owned();
        let choice = RoleChoice { arn: role.clone(), name, checked: current_role.as_deref() == Some(role) };
        match accounts.iter_mut().find(|a| a.id == account) {
            Some(a) => a.roles.push(choice),
            None => {
                let alias = state.iam.store.get_account(&account).await.ok().and_then(|a| a.alias);
                let label = match alias {
                    Some(alias) => format!("{alias} ({account})"),
                    None => account.clone(),
                };
                accounts.push(AccountRoles { id: account, label, roles: vec![choice] });
            }
        }
    }
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
        pages::checked_form(&req, &state, payload, 16 * 1024, SESSION_COOKIE, CONSOLE_CSRF).await?;
    let (cookie, session) = current(&req, &state).await?.ok_or_else(PageFailure::signed_out)?;
    let role = form.text("role")?.to_owned();
    if role.is_empty() {
        return render_roles(&state, &cookie, &session, Some("Choose one of the roles below to continue."))
            .await;
    }
    let (claims, relay) = match session {
        WebSession::Roles(p) => (p.claims, p.relay_state),
        WebSession::Console(c) => (c.claims.ok_or_else(PageFailure::signed_out)?, None),
    };
    if !claims.roles.iter().any(|(r, _)| *r == role) {
        return Err(PageFailure::bad_request("Choose one of the roles offered to you."));
    }
    open_console(&req, &state, claims, &role, relay, None).await
}

/// `GET /console`: who you are and your temporary credentials.
pub async fn console(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let Some((cookie, WebSession::Console(session))) = current(&req, &state).await? else {
        return Ok(see_other("/"));
    };
    let csrf = csrf_token(&state.csrf_key, CONSOLE_CSRF, &cookie);
    let expiration = crate::iam::IamService::iso(session.expiration);
    // Another offered role can be chosen while the assertion is still valid;
    // later, switching means signing in again.
    let now = state.iam.clock.now().timestamp();
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
        pages::checked_form(&req, &state, payload, 16 * 1024, SESSION_COOKIE, CONSOLE_CSRF).await?;
    if let Some((_, WebSession::Console(s))) = current(&req, &state).await? {
        web_audit(&state, &req, "ConsoleLogout", Some(&s.user), None, serde_json::json!({ "arn": s.arn }));
    }
    state.sessions.end(&cookie).await.map_err(|e| PageFailure::internal(e.to_string()))?;
    let mut response = see_other("/");
    response
        .add_cookie(&pages::removal(SESSION_COOKIE, state.https))
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    Ok(response)
}
