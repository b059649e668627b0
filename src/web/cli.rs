//! The command line's endpoints over its use case (console/cli.rs): the
//! browser pages that start and approve a sign-in, and the JSON endpoints
//! the command calls.
use super::console::current;
use super::error::{CliFailure, PageFailure};
use super::pages::{self, CliApprovePage, CliDevicePage, Form, SESSION_COOKIE};
use super::{see_other, AppState, Recorder};
use crate::console::cli::{Approval, CliAsk, CliError, Decided, PasswordAsk, PasswordOutcome, Redeem};
use crate::console::{csrf_token, CLI_APPROVAL};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::HashMap;

const CLI_CSRF: &str = "cli-approve";
const FORM_LIMIT: usize = 16 * 1024;

type Query = web::Query<HashMap<String, String>>;

fn ask<'a>(fields: &'a impl Fn(&str) -> Option<&'a str>) -> CliAsk<'a> {
    CliAsk {
        client: fields("client_name").unwrap_or(""),
        challenge: fields("code_challenge").unwrap_or(""),
        challenge_method: fields("code_challenge_method").unwrap_or(""),
        role: fields("role"),
        duration: fields("duration"),
        provider: fields("provider"),
    }
}

fn request_id() -> String {
    crate::crypto::random_token(8)
}

/// `GET /cli/authorize`: the browser flow's start, opened by the command.
pub async fn authorize(state: web::Data<AppState>, query: Query) -> Result<HttpResponse, PageFailure> {
    let field = |name: &str| query.get(name).map(String::as_str);
    let redirect_uri = field("redirect_uri").unwrap_or("");
    let id = state.cli.authorize(ask(&field), redirect_uri, field("state")).await?;
    Ok(see_other(&format!("{CLI_APPROVAL}{id}")))
}

/// `POST /cli/device/code`: the device flow's start (JSON).
pub async fn device_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let form = match Form::read(&req, payload, FORM_LIMIT).await {
        Ok(f) => f,
        Err(_) => return CliFailure(CliError::InvalidRequest("send a form".into())).respond(&request_id()),
    };
    let field = |name: &str| form.get(name).ok().flatten();
    match state.cli.start_device(ask(&field)).await {
        Ok(start) => {
            let page = state.public_url.join("/cli/device");
            let complete = format!("{page}?user_code={}", start.user_code);
            let mut body = serde_json::to_value(&start).unwrap_or_default();
            body["verification_uri"] = page.into();
            body["verification_uri_complete"] = complete.into();
            HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
        }
        Err(e) => CliFailure(e).respond(&request_id()),
    }
}

/// `GET /cli/device[?user_code=…]`: where the user types the code.
pub async fn device_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> Result<HttpResponse, PageFailure> {
    let error = match query.get("user_code") {
        None => None,
        Some(typed) => match state.cli.find_user_code(typed, &pages::client_address(&req)).await {
            Ok(id) => return Ok(see_other(&format!("{CLI_APPROVAL}{id}"))),
            Err(CliError::UnknownRequest) => {
                Some("That code is not known or has expired. Check it and try again.")
            }
            Err(e) => return Err(e.into()),
        },
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(pages::page_builder(status, None, state.https).body(pages::render(&CliDevicePage { error })?))
}

/// `GET /cli/approve?request=…`: sign in first, then allow or deny.
pub async fn approve_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query,
) -> Result<HttpResponse, PageFailure> {
    let id = query.get("request").map(String::as_str).unwrap_or("");
    let current = current(&req, &state).await?;
    let address = pages::client_address(&req);
    match state.cli.approval(id, current.as_ref().map(|(_, s)| s), &address).await? {
        Approval::SignInFirst(url) => Ok(see_other(&url)),
        Approval::Ready { request, user, accounts } => {
            let Some((cookie, _)) = current else { return Err(PageFailure::signed_out()) };
            let only = match accounts.as_slice() {
                [a] if a.roles.len() == 1 => Some(a.roles[0].0.clone()),
                _ => None,
            };
            let preselected = request.role.clone().or(only);
            let accounts = pages::account_roles(accounts, preselected.as_deref());
            let csrf = csrf_token(&state.csrf_key, CLI_CSRF, &cookie);
            let body = pages::render(&CliApprovePage {
                client: &request.client,
                user: &user,
                user_code: request.user_code.as_deref(),
                csrf: &csrf,
                request: id,
                accounts,
            })?;
            // The form's answer sends the browser on to the command's loopback port.
            let origin = request.redirect_uri.as_deref().and_then(|u| url::Url::parse(u).ok());
            let origin = origin.map(|u| u.origin().ascii_serialization());
            Ok(pages::page_builder(StatusCode::OK, origin.as_deref(), state.https).body(body))
        }
    }
}

/// `POST /cli/approve`: the user's decision.
pub async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageFailure> {
    let (form, _) = pages::checked_form(&req, &state, payload, FORM_LIMIT, SESSION_COOKIE, CLI_CSRF).await?;
    let current = current(&req, &state).await?.ok_or_else(PageFailure::signed_out)?;
    let role = match form.text("decision")? {
        "allow" => match form.text("role")? {
            "" => return Err(PageFailure::bad_request("Choose a role to allow.")),
            role => Some(role),
        },
        _ => None,
    };
    let mut audit = Recorder::new(&state, &req);
    let address = pages::client_address(&req);
    let decided = state.cli.decide(form.text("request")?, Some(&current.1), role, &address, &mut audit).await;
    match decided.map_err(|e| audit.failure(e.into()))? {
        Decided::Redirect(url) => Ok(see_other(&url)),
        Decided::DeviceDone => {
            let title = if role.is_some() { "Command line signed in" } else { "Request denied" };
            let body = pages::render(&pages::MessagePage {
                title,
                message: "You can close this window and return to your terminal.",
                request_id: None,
            })?;
            Ok(pages::page_builder(StatusCode::OK, None, state.https).body(body))
        }
    }
}

/// `POST /cli/token`: the command redeems its code with its PKCE verifier.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    let id = request_id();
    let form = match Form::read(&req, payload, FORM_LIMIT).await {
        Ok(f) => f,
        Err(_) => return CliFailure(CliError::InvalidRequest("send a form".into())).respond(&id),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("");
    let redeem = match field("grant_type") {
        "authorization_code" => {
            Redeem::AuthorizationCode { code: field("code"), redirect_uri: field("redirect_uri") }
        }
        "urn:ietf:params:oauth:grant-type:device_code" => Redeem::DeviceCode(field("device_code")),
        _ => return CliFailure(CliError::InvalidRequest("unsupported grant_type".into())).respond(&id),
    };
    let mut audit = Recorder::new(&state, &req);
    match state.cli.redeem(redeem, field("code_verifier"), &mut audit).await {
        Ok(credentials) => HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(credentials),
        Err(e) => CliFailure(e).respond(&id),
    }
}

/// `POST /cli/password`: a CI job's sign-in with a directory password.
pub async fn password(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    let id = request_id();
    let form = match Form::read(&req, payload, FORM_LIMIT).await {
        Ok(f) => f,
        Err(_) => return CliFailure(CliError::InvalidRequest("send a form".into())).respond(&id),
    };
    let field = |name: &str| form.get(name).ok().flatten();
    let address = pages::client_address(&req);
    let ask = PasswordAsk {
        username: field("username").unwrap_or(""),
        password: field("password").unwrap_or(""),
        totp: field("totp"),
        role: field("role"),
        duration: field("duration"),
        choice: field("choice"),
        address: &address,
    };
    let mut audit = Recorder::new(&state, &req);
    match state.cli.password(ask, &mut audit).await {
        Ok(PasswordOutcome::Issued(credentials)) => {
            HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(credentials)
        }
        Ok(PasswordOutcome::ChooseRole { accounts, choice }) => HttpResponse::Conflict()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "error": "role_required", "accounts": accounts, "choice": choice })),
        Err(e) => CliFailure(e).respond(&id),
    }
}
