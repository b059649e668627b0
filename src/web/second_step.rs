//! The built-in IdP's optional second step: a TOTP code after the password,
//! for members of `idp.mfa_groups` (enrolling an authenticator app first
//! when they have none).
use super::error::PageFailure;
use super::idp::{answer_with_assertion, LOGIN_CSRF};
use super::pages::{self, Form};
use super::{web_audit, AppState};
use crate::console::csrf_token;
use crate::idp::second_factor::SecondFactor;
use crate::idp::SsoRequest;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;

/// A directory user whose password was accepted, as the assertion will name them.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SignedIn {
    pub username: String,
    pub dn: String,
    pub roles: Vec<String>,
    pub tags: Vec<(String, String)>,
}

/// Between the password and the code: sealed into the form, short-lived.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct PendingSecondStep {
    pub user: SignedIn,
    /// The name as typed at the password step: the throttle's key (empty in
    /// steps begun before it was kept: the directory's name stands in).
    #[serde(default)]
    pub login_name: String,
    pub request: SsoRequest,
    /// A new seed being enrolled, for users without one.
    pub seed: Option<Vec<u8>>,
    pub expires: i64,
}

pub(super) const SECOND_STEP_SECONDS: i64 = 300;
const SECOND_STEP_CONTEXT: &str = "idp-second-step";

/// The throttle's key for a second step: the name as typed at the password step.
fn throttle_name(pending: &PendingSecondStep) -> &str {
    if pending.login_name.is_empty() {
        &pending.user.username
    } else {
        &pending.login_name
    }
}

pub(super) fn show_second_step(
    state: &AppState,
    binding: &str,
    pending: &PendingSecondStep,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageFailure> {
    let sealed = state
        .iam
        .master
        .seal_json(pending, SECOND_STEP_CONTEXT)
        .map_err(|e| PageFailure::internal(e.to_string()))?;
    let csrf = csrf_token(&state.csrf_key, LOGIN_CSRF, binding);
    let (qr, secret) = match &pending.seed {
        Some(seed) => {
            let totp = crate::crypto::Totp::new(seed.clone(), "idbroker", &pending.user.username)
                .map_err(|e| PageFailure::internal(e.to_string()))?;
            let png = totp.qr_png().map_err(|e| PageFailure::internal(e.to_string()))?;
            (Some(base64::engine::general_purpose::STANDARD.encode(png)), Some(totp.seed_base32()))
        }
        None => (None, None),
    };
    let body = pages::render(&pages::MfaPage {
        csrf: &csrf,
        pending: &sealed,
        enrolling: pending.seed.is_some(),
        qr_png_base64: qr,
        secret_base32: secret,
        error,
    })?;
    Ok(pages::page_builder(status, None, state.https).body(body))
}

/// The code step: checks the code (enrolling a new seed first when the user
/// has none), then answers as a password-only sign-in would.
pub(super) async fn second_step(
    req: &HttpRequest,
    state: &AppState,
    binding: &str,
    form: &Form,
    sealed: &str,
) -> Result<HttpResponse, PageFailure> {
    let expired = || PageFailure::bad_request("This sign-in has expired. Start again.");
    let pending: PendingSecondStep =
        state.iam.master.open_json(sealed, SECOND_STEP_CONTEXT).map_err(|_| expired())?;
    let now = state.iam.clock.now().timestamp();
    if pending.expires <= now {
        return Err(expired());
    }
    let address = pages::client_address(req);
    let Some(attempt) = state.throttle.attempt(throttle_name(&pending), &address, now).await? else {
        return Err(PageFailure::throttled());
    };
    let code = form.text("code")?.trim();
    let key = SecondFactor::user_key(&pending.user.dn);
    let accepted = match &pending.seed {
        Some(seed) => state.second_factor.enroll(&key, seed, code).await?,
        None => state.second_factor.verify(&key, code).await?,
    };
    if !accepted {
        state.throttle.record_failure(&attempt).await?;
        web_audit(
            state,
            req,
            "DirectoryLogin",
            Some(&pending.user.username),
            Some(("InvalidMFACode", "the verification code was not accepted".into())),
            serde_json::json!({ "reason": "mfa" }),
        );
        return show_second_step(
            state,
            binding,
            &pending,
            Some("That code was not accepted. Try the next one."),
            StatusCode::UNAUTHORIZED,
        );
    }
    state.throttle.record_success(&attempt).await?;
    answer_with_assertion(req, state, pending.user, pending.request).await
}
