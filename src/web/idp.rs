//! The built-in IdP's pages: metadata, the SSO endpoint (AuthnRequests by
//! Redirect and POST), and the directory login form that answers with a page
//! auto-posting the signed Response to the SP's registered ACS.
use super::error::PageFailure;
use super::pages::{self, AutoPostPage, Form, LoginPage, CSRF_COOKIE};
use super::second_step::{show_second_step, PendingSecondStep, SignedIn, SECOND_STEP_SECONDS};
use super::{web_audit, AppState};
use crate::console::csrf_token;
use crate::crypto::Totp;
use crate::directory::{DirectoryError, Refusal, MAX_INPUT_BYTES};
use crate::idp::second_factor::SecondFactor;
use crate::idp::{parse_post, parse_redirect, roles, IdpError, SsoRequest, Subject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;

const FORM_LIMIT: usize = 16 * 1024;
/// A login form is good for this long after it was shown.
const LOGIN_FORM_SECONDS: i64 = 900;
pub(super) const LOGIN_CSRF: &str = "idp-login";

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/samlmetadata+xml").body(state.idp.metadata())
}

/// The request idbroker's own SP would make: IdP-initiated sign-in to the console.
fn own_console_request(state: &AppState) -> SsoRequest {
    SsoRequest {
        sp_entity_id: state.sp.entity_id.clone(),
        acs_url: state.sp.acs_url.clone(),
        request_id: None,
        relay_state: None,
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingLogin {
    request: SsoRequest,
    expires: i64,
}

fn seal_request(state: &AppState, request: &SsoRequest) -> Result<String, PageFailure> {
    let pending = PendingLogin {
        request: request.clone(),
        expires: state.iam.clock.now().timestamp() + LOGIN_FORM_SECONDS,
    };
    state
        .iam
        .master
        .seal_json(&pending, "idp-login-request")
        .map_err(|e| PageFailure::internal(e.to_string()))
}

fn open_request(state: &AppState, sealed: &str) -> Result<SsoRequest, PageFailure> {
    let expired =
        || PageFailure::bad_request("This sign-in page has expired. Start again from the application.");
    let pending: PendingLogin =
        state.iam.master.open_json(sealed, "idp-login-request").map_err(|_| expired())?;
    if pending.expires <= state.iam.clock.now().timestamp() {
        return Err(expired());
    }
    Ok(pending.request)
}

/// The login form for `request`, with a CSRF token bound to this browser's
/// pre-login cookie (set here when missing).
fn show_login(
    req: &HttpRequest,
    state: &AppState,
    request: &SsoRequest,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageFailure> {
    let existing = pages::cookie_value(req, CSRF_COOKIE);
    let binding = existing.clone().unwrap_or_else(|| crate::crypto::random_token(24));
    let csrf = csrf_token(&state.csrf_key, LOGIN_CSRF, &binding);
    let sealed = seal_request(state, request)?;
    let body = pages::render(&LoginPage { csrf: &csrf, request: &sealed, username, error })?;
    let mut response = pages::page_builder(status, None, state.https);
    if existing.is_none() {
        response.cookie(pages::cookie(CSRF_COOKIE, binding, 86_400, state.https));
    }
    Ok(response.body(body))
}

fn refused_request(state: &AppState, req: &HttpRequest, e: IdpError) -> PageFailure {
    let request_id = web_audit(
        state,
        req,
        "IdpAuthnRequest",
        None,
        Some(("AuthnRequestRefused", e.to_string())),
        serde_json::json!({}),
    );
    PageFailure::bad_request(format!("The sign-in request was refused: {e}.")).audited_as(request_id)
}

/// `GET /idp/sso`: an AuthnRequest by the Redirect binding.
pub async fn sso_redirect(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageFailure> {
    let now = state.iam.clock.now();
    let request =
        parse_redirect(&state.idp, req.query_string(), now).map_err(|e| refused_request(&state, &req, e))?;
    show_login(&req, &state, &request, "", None, StatusCode::OK)
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
    let now = state.iam.clock.now();
    let request =
        parse_post(&state.idp, saml_request, relay, now).map_err(|e| refused_request(&state, &req, e))?;
    show_login(&req, &state, &request, "", None, StatusCode::OK)
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
            let sp = state.idp.service_provider(entity_id).ok_or_else(|| {
                PageFailure::bad_request("That application is not registered with this identity provider.")
            })?;
            let relay = query.relay_state.clone().filter(|r| r.len() <= 80 && !r.is_empty());
            SsoRequest {
                sp_entity_id: sp.entity_id.clone(),
                acs_url: sp.acs_urls.first().cloned().ok_or_else(|| PageFailure::bad_request("No ACS."))?,
                request_id: None,
                relay_state: relay,
            }
        }
    };
    show_login(&req, &state, &request, "", None, StatusCode::OK)
}

/// `POST /idp/login`: checks the password with the directory and answers
/// with the auto-POST page. Unknown user, wrong password and refused account
/// get the same page.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (form, binding) =
        pages::checked_form(&req, &state, payload, FORM_LIMIT, CSRF_COOKIE, LOGIN_CSRF).await?;
    if let Some(sealed) = form.get("pending")? {
        return super::second_step::second_step(&req, &state, &binding, &form, sealed).await;
    }
    let request = match form.get("request")? {
        Some(sealed) if !sealed.is_empty() => open_request(&state, sealed)?,
        _ => own_console_request(&state),
    };
    let username = form.text("username")?;
    let password = form.text("password")?;
    if username.len() > MAX_INPUT_BYTES || password.len() > MAX_INPUT_BYTES {
        return Err(PageFailure::bad_request("The user name or password is too long."));
    }
    let address = pages::client_address(&req);
    let now = state.iam.clock.now();
    let Some(attempt) = state.throttle.attempt(username, &address, now.timestamp()).await? else {
        let request_id = web_audit(
            &state,
            &req,
            "DirectoryLogin",
            Some(username),
            Some(("Throttled", "too many failed sign-ins".into())),
            serde_json::json!({}),
        );
        return Err(PageFailure::throttled().audited_as(request_id));
    };
    let directory = state.directory.as_ref().ok_or_else(|| {
        PageFailure::new(
            503,
            "Directory sign-in unavailable",
            "Sign-in with a company account is not configured here.",
        )
    })?;
    let user = match directory.authenticate(username, password).await {
        Ok(user) => {
            state.metrics.directory_up.set(1);
            user
        }
        Err(DirectoryError::Refused(reason)) => {
            if reason != Refusal::EmptyPassword {
                state.throttle.record_failure(&attempt).await?;
            }
            state.metrics.signins.with_label_values(&["directory", "refused"]).inc();
            web_audit(
                &state,
                &req,
                "DirectoryLogin",
                Some(username),
                Some(("InvalidCredentials", reason.as_str().into())),
                serde_json::json!({ "reason": reason.as_str() }),
            );
            return show_login(
                &req,
                &state,
                &request,
                username,
                Some("Incorrect user name or password."),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => {
            state.metrics.directory_up.set(0);
            state.metrics.signins.with_label_values(&["directory", "unavailable"]).inc();
            tracing::warn!(error = %e, "directory unavailable");
            web_audit(
                &state,
                &req,
                "DirectoryLogin",
                Some(username),
                Some(("DirectoryUnavailable", e.to_string())),
                serde_json::json!({}),
            );
            return Err(PageFailure::new(
                503,
                "Directory unavailable",
                "The company directory cannot be reached right now. Try again in a few minutes.",
            ));
        }
    };
    let role_pairs = roles::role_pairs(&user.groups, &state.role_rules);
    if role_pairs.is_empty() {
        web_audit(
            &state,
            &req,
            "DirectoryLogin",
            Some(&user.username),
            Some(("NoRoleMapped", "no AWS role is mapped to this user".into())),
            serde_json::json!({ "userDn": user.dn }),
        );
        let body = pages::render(&pages::MessagePage {
            title: "No role for your account",
            message: "You signed in, but none of your directory groups grants an AWS role. Ask your administrator to add you to a group such as AWS-<account id>-<role name>.",
            request_id: None,
        })?;
        return Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body));
    }
    let signed_in =
        SignedIn { username: user.username, dn: user.dn, roles: role_pairs, tags: user.attributes };
    if state.second_factor.required(&user.groups) {
        let key = SecondFactor::user_key(&signed_in.dn);
        let seed = if state.second_factor.enrolled(&key).await? { None } else { Some(Totp::generate_seed()) };
        let pending = PendingSecondStep {
            user: signed_in,
            login_name: username.to_owned(),
            request,
            seed,
            expires: now.timestamp() + SECOND_STEP_SECONDS,
        };
        return show_second_step(&state, &binding, &pending, None, StatusCode::OK);
    }
    state.throttle.record_success(&attempt).await?;
    answer_with_assertion(&req, &state, signed_in, request).await
}

/// Issues the signed Response and answers with the page that posts it to the SP.
pub(super) async fn answer_with_assertion(
    req: &HttpRequest,
    state: &AppState,
    user: SignedIn,
    request: SsoRequest,
) -> Result<HttpResponse, PageFailure> {
    let now = state.iam.clock.now();
    let issuing = state.idp.clone();
    let (sp, acs, id) = (request.sp_entity_id.clone(), request.acs_url.clone(), request.request_id.clone());
    let sign_assertion = state.idp.service_provider(&sp).is_some_and(|s| s.sign_assertions);
    let (name_id, pairs, tags) = (user.username.clone(), user.roles.clone(), user.tags.clone());
    let xml = tokio::task::spawn_blocking(move || {
        let subject = Subject { name_id: &name_id, roles: &pairs, tags: &tags };
        issuing.issue(&subject, &sp, &acs, id.as_deref(), sign_assertion, now)
    })
    .await
    .map_err(|e| PageFailure::internal(e.to_string()))?
    .map_err(|e| PageFailure::internal(e.to_string()))?;
    state.metrics.signins.with_label_values(&["directory", "success"]).inc();
    web_audit(
        state,
        req,
        "DirectoryLogin",
        Some(&user.username),
        None,
        serde_json::json!({ "userDn": user.dn, "serviceProvider": request.sp_entity_id, "roles": user.roles }),
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    let body = pages::render(&AutoPostPage {
        acs_url: &request.acs_url,
        saml_response: &encoded,
        relay_state: request.relay_state.as_deref(),
    })?;
    Ok(pages::page_builder(StatusCode::OK, Some(&request.acs_url), state.https).body(body))
}
