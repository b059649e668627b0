//! Sign-in for the command line (`idbroker login`, `credential-process`), as
//! one use case. Nothing is scraped: the command makes a request bound to a
//! PKCE verifier (RFC 7636) and either listens on a loopback port for the
//! browser's return (RFC 8252) or shows a short user code to type at
//! `/cli/device` (RFC 8628 style); the employee signs in as usual and
//! approves a role; the command redeems its code, once, with the verifier.
//! CI jobs sign in with a directory password instead, throttled and audited
//! as the web login is. Grants live in the database, so any node serves any
//! step.
use super::login::{Code, DirectoryLogin, LoginError, LoginStep, Password};
use super::saml_signin::{OfferedAccount, SamlSignIn, SamlSignInError};
use super::sessions::CLI_APPROVAL;
use super::{Throttle, WebSession};
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, RefusalCode};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::saml::ServiceProviderUrls;
use crate::store::{CliGrantRow, StoreError};
use crate::sts::{FirstUseRecorded, RoleSession, SamlClaims, SessionAsk, Sts};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// A request must be approved and redeemed within this time.
pub const GRANT_SECONDS: i64 = 600;
/// The device flow's polling interval, as the command is told.
pub const POLL_SECONDS: i64 = 5;
/// The user code's letters: no vowels (no words), no look-alikes.
const USER_CODE_LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
const CHOICE_CONTEXT: &str = "cli-role-choice";

pub struct CliSignIn {
    pub store: crate::store::Store,
    pub master: MasterKey,
    pub clock: SharedClock,
    pub sts: Arc<Sts>,
    pub saml: Arc<SamlSignIn>,
    pub login: Arc<DirectoryLogin>,
    /// idbroker's own SP: password sign-ins are the built-in IdP's Responses to it.
    pub sp: ServiceProviderUrls,
    /// Counts user codes typed that match nothing, per address.
    pub throttle: Throttle,
}

/// What the command asks for, kept with the grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CliRequest {
    /// How the command names itself (shown on the approval page).
    pub client: String,
    /// BASE64URL(SHA-256(verifier)).
    pub challenge: String,
    /// The browser flow's loopback address; `None` for the device flow.
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub role: Option<String>,
    pub duration: Option<i64>,
    /// A SAML provider ARN to sign in with (the built-in IdP when `None`).
    pub provider: Option<String>,
    /// The device flow's user code, shown again on the approval page.
    pub user_code: Option<String>,
}

/// What the command sends besides the flow's own fields.
pub struct CliAsk<'a> {
    pub client: &'a str,
    pub challenge: &'a str,
    pub challenge_method: &'a str,
    pub role: Option<&'a str>,
    pub duration: Option<&'a str>,
    pub provider: Option<&'a str>,
}

/// The device flow's start, as the command is told (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// The approval page, or where to sign in first.
pub enum Approval {
    /// Signed in with claims still fresh enough to issue from.
    Ready { request: Box<CliRequest>, user: String, accounts: Vec<OfferedAccount> },
    /// Sign in first (at this same-origin URL), then come back.
    SignInFirst(String),
}

/// Where the browser goes once the user decided.
pub enum Decided {
    /// The browser flow: back to the command's loopback listener.
    Redirect(String),
    /// The device flow: the command is polling; the page says so.
    DeviceDone,
}

/// Temporary credentials as the command gets them: AWS's `credential_process`
/// JSON with the role and account.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliCredentials {
    pub version: u8,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
    pub role_arn: String,
    pub account_id: String,
}

impl std::fmt::Debug for CliCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl From<RoleSession> for CliCredentials {
    fn from(s: RoleSession) -> Self {
        CliCredentials {
            version: 1,
            access_key_id: s.access_key_id,
            secret_access_key: s.secret_access_key,
            session_token: s.session_token,
            expiration: crate::domain::iso_time(s.expiration),
            role_arn: s.role_arn,
            account_id: s.account_id,
        }
    }
}

/// How the command redeems: the browser flow's code with its loopback address, or the device code.
pub enum Redeem<'a> {
    AuthorizationCode { code: &'a str, redirect_uri: &'a str },
    DeviceCode(&'a str),
}

/// A password sign-in's answer.
pub enum PasswordOutcome {
    Issued(CliCredentials),
    /// Several roles and none chosen: the command asks again with `choice`
    /// (sealed, good while the assertion is) and one of the roles offered.
    ChooseRole {
        accounts: Vec<OfferedAccount>,
        choice: String,
    },
}

/// What a password sign-in reads.
pub struct PasswordAsk<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub totp: Option<&'a str>,
    pub role: Option<&'a str>,
    pub duration: Option<&'a str>,
    /// A role choice from an earlier answer, instead of a password.
    pub choice: Option<&'a str>,
    pub address: &'a str,
}

/// The command line's failures; the web layer maps each to OAuth's error
/// codes (RFC 6749 §5.2, RFC 8628 §3.5) or a page.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    InvalidRequest(String),
    /// Unknown, used, expired, or its verifier does not match.
    #[error("the code is not valid")]
    InvalidGrant,
    #[error("the request was not approved yet")]
    AuthorizationPending,
    #[error("polling too fast")]
    SlowDown,
    #[error("the sign-in request has expired")]
    ExpiredToken,
    #[error("the request was denied in the browser")]
    AccessDenied,
    #[error("that request is not known or has expired; run the command again")]
    UnknownRequest,
    #[error("incorrect user name or password")]
    BadPassword,
    #[error("a verification code (TOTP) is required: pass it with --totp-stdin")]
    MfaRequired,
    #[error("the verification code was not accepted")]
    BadMfaCode,
    #[error("this user has no authenticator yet: sign in once in a browser to enrol one")]
    MfaEnrolmentRequired,
    #[error("no AWS role is mapped to this user")]
    NoRole,
    #[error("role {0} is not offered to this user")]
    RoleNotOffered(String),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    SignIn(#[from] SamlSignInError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// A choice between roles after a password sign-in, sealed for the command.
#[derive(Serialize, Deserialize)]
struct RoleChoice {
    claims: SamlClaims,
    recorded: FirstUseRecorded,
}

fn hash(secret: &str) -> String {
    crypto::sha256_hex(secret.as_bytes())
}

/// What a grant's sealed credentials are bound to: the grant.
fn credentials_context(id_hash: &str) -> String {
    format!("cli-credentials:{id_hash}")
}

/// BASE64URL(SHA-256(verifier)), the S256 challenge of RFC 7636.
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::sha256(verifier.as_bytes()))
}

/// RFC 8252 §7.3: the browser may be sent back only to a loopback address
/// of the same machine, any port, over plain http.
fn loopback_redirect(uri: &str) -> Result<String, CliError> {
    let invalid = || {
        CliError::InvalidRequest("redirect_uri must be http://127.0.0.1:PORT/... (a loopback address)".into())
    };
    let url = url::Url::parse(uri).map_err(|_| invalid())?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    let plain = url.scheme() == "http" && url.username().is_empty() && url.password().is_none();
    if !loopback || !plain || url.port().is_none() || url.fragment().is_some() || uri.len() > 512 {
        return Err(invalid());
    }
    Ok(url.to_string())
}

fn bounded(value: Option<&str>, name: &str, max: usize) -> Result<Option<String>, CliError> {
    match value {
        Some(v) if v.len() > max || v.chars().any(char::is_control) => {
            Err(CliError::InvalidRequest(format!("{name} is too long or holds control characters")))
        }
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// `--duration`: AWS's bounds for a role session.
fn duration(value: Option<&str>) -> Result<Option<i64>, CliError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (900..=43_200).contains(&n) => Ok(Some(n)),
            _ => Err(CliError::InvalidRequest("duration must be 900 to 43200 seconds".into())),
        },
    }
}

/// The user code as typed: letters only, upper case.
fn normalise_user_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect()
}

fn user_code() -> String {
    crypto::random_chars(USER_CODE_LETTERS, USER_CODE_LEN)
}

impl CliSignIn {
    fn request(&self, ask: &CliAsk<'_>) -> Result<CliRequest, CliError> {
        let well_formed = ask.challenge.len() == 43
            && ask.challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ask.challenge_method != "S256" || !well_formed {
            return Err(CliError::InvalidRequest("code_challenge must be an S256 challenge".into()));
        }
        Ok(CliRequest {
            client: bounded(Some(ask.client), "client_name", 100)?.unwrap_or_else(|| "idbroker login".into()),
            challenge: ask.challenge.to_owned(),
            redirect_uri: None,
            state: None,
            role: bounded(ask.role, "role", 2048)?,
            duration: duration(ask.duration)?,
            provider: bounded(ask.provider, "provider", 2048)?,
            user_code: None,
        })
    }

    async fn store_request(
        &self,
        id: &str,
        code: Option<&str>,
        request: &CliRequest,
    ) -> Result<(), CliError> {
        let text = serde_json::to_string(request).map_err(|e| CliError::Internal(e.to_string()))?;
        let expires = self.clock.now().timestamp() + GRANT_SECONDS;
        self.store.put_cli_grant(&hash(id), code.map(hash).as_deref(), &text, expires).await?;
        Ok(())
    }

    /// The browser flow's start: the request's id, for `/cli/approve`.
    pub async fn authorize(
        &self,
        ask: CliAsk<'_>,
        redirect_uri: &str,
        state: Option<&str>,
    ) -> Result<String, CliError> {
        let mut request = self.request(&ask)?;
        request.redirect_uri = Some(loopback_redirect(redirect_uri)?);
        request.state = bounded(state, "state", 512)?;
        // 160 bits: the return path it makes fits SAML's 80-byte RelayState.
        let id = crypto::random_token(20);
        self.store_request(&id, None, &request).await?;
        Ok(id)
    }

    /// The device flow's start. The user code is the request's id at
    /// `/cli/approve`; it is short, so it is only found through
    /// `find_user_code`, which is throttled.
    pub async fn start_device(&self, ask: CliAsk<'_>) -> Result<DeviceStart, CliError> {
        let mut request = self.request(&ask)?;
        let code = user_code();
        request.user_code = Some(format!("{}-{}", &code[..4], &code[4..]));
        let device_code = crypto::random_token(32);
        self.store_request(&code, Some(&device_code), &request).await?;
        Ok(DeviceStart {
            device_code,
            user_code: request.user_code.unwrap_or_default(),
            expires_in: GRANT_SECONDS,
            interval: POLL_SECONDS,
        })
    }

    /// A typed user code: the request id to approve, or `UnknownRequest`.
    pub async fn find_user_code(&self, typed: &str, address: &str) -> Result<String, CliError> {
        let code = normalise_user_code(typed);
        if code.len() != USER_CODE_LEN {
            // Counted like any other miss.
            self.pending("", address).await?;
        }
        self.pending(&code, address).await?;
        Ok(code)
    }

    /// The pending request `id`. A miss counts against the address, here as
    /// at `find_user_code`: a device request's id is its short user code, so
    /// codes cannot be guessed at the approval page either.
    async fn pending(&self, id: &str, address: &str) -> Result<CliRequest, CliError> {
        let now = self.clock.now().timestamp();
        let Some(attempt) = self.throttle.attempt("cli-request", address, now).await? else {
            return Err(CliError::Login(LoginError::Throttled));
        };
        let grant = self.store.cli_grant(&hash(id), now).await?.filter(|g| g.status == "pending");
        let Some(grant) = grant else {
            self.throttle.record_failure(&attempt).await?;
            return Err(CliError::UnknownRequest);
        };
        serde_json::from_str(&grant.request).map_err(|e| CliError::Internal(e.to_string()))
    }

    /// Claims fresh enough to issue from, with the proof of their first use.
    fn fresh_claims(&self, session: Option<&WebSession>) -> Option<(SamlClaims, FirstUseRecorded)> {
        let (claims, recorded) = match session? {
            WebSession::Console(c) => (c.claims.clone()?, c.first_use.clone()?),
            WebSession::Roles(p) => (p.claims.clone(), p.first_use.clone()?),
        };
        (self.clock.now().timestamp() < claims.valid_until).then_some((claims, recorded))
    }

    /// The approval page for request `id`, or where to sign in first.
    pub async fn approval(
        &self,
        id: &str,
        session: Option<&WebSession>,
        address: &str,
    ) -> Result<Approval, CliError> {
        let request = self.pending(id, address).await?;
        let Some((claims, _)) = self.fresh_claims(session) else {
            let back = format!("{CLI_APPROVAL}{id}");
            let mut url = url::Url::parse("http://idbroker/saml/login")
                .map_err(|e| CliError::Internal(e.to_string()))?;
            if let Some(provider) = &request.provider {
                url.query_pairs_mut().append_pair("provider", provider);
            }
            url.query_pairs_mut().append_pair("RelayState", &back);
            return Ok(Approval::SignInFirst(format!("{}?{}", url.path(), url.query().unwrap_or_default())));
        };
        if let Some(role) = &request.role {
            if !claims.roles.iter().any(|(r, _)| r == role) {
                return Err(CliError::RoleNotOffered(role.clone()));
            }
        }
        let accounts = self.saml.offered_roles(&claims).await?;
        Ok(Approval::Ready { request: Box::new(request), user: claims.name_id, accounts })
    }

    /// The user's decision on request `id`: `role` approved, or `None` denied.
    pub async fn decide(
        &self,
        id: &str,
        session: Option<&WebSession>,
        role: Option<&str>,
        address: &str,
        audit: &mut dyn FlowAudit,
    ) -> Result<Decided, CliError> {
        let request = self.pending(id, address).await?;
        let now = self.clock.now().timestamp();
        let Some(role) = role else {
            if !self.store.settle_cli_grant(&hash(id), "denied", None, None, now).await? {
                return Err(CliError::UnknownRequest);
            }
            let user = self.fresh_claims(session).map(|(c, _)| c.name_id);
            let details = json!({ "client": request.client, "decision": "denied" });
            audit.record(FlowEvent::refused(
                FlowEventName::CliGrant,
                user.as_deref(),
                RefusalCode::AccessDenied,
                "denied in the browser",
                details,
            ));
            return Ok(match &request.redirect_uri {
                Some(uri) => {
                    Decided::Redirect(back_to(uri, &[("error", "access_denied")], request.state.as_deref()))
                }
                None => Decided::DeviceDone,
            });
        };
        let (claims, recorded) = self.fresh_claims(session).ok_or(SamlSignInError::Expired)?;
        let credentials = self.issue(&claims, role, &recorded, request.duration, audit).await?;
        let sealed = self.seal_credentials(id, &credentials)?;
        // The browser flow's code is made now; the device code was made at the start.
        let code = request.redirect_uri.as_ref().map(|_| crypto::random_token(32));
        if !self
            .store
            .settle_cli_grant(&hash(id), "granted", code.as_deref().map(hash).as_deref(), Some(&sealed), now)
            .await?
        {
            return Err(CliError::UnknownRequest);
        }
        audit.record(granted_event(&claims.name_id, &request.client, &credentials));
        Ok(match (&request.redirect_uri, code) {
            (Some(uri), Some(code)) => {
                Decided::Redirect(back_to(uri, &[("code", &code)], request.state.as_deref()))
            }
            _ => Decided::DeviceDone,
        })
    }

    async fn issue(
        &self,
        claims: &SamlClaims,
        role: &str,
        recorded: &FirstUseRecorded,
        duration: Option<i64>,
        audit: &mut dyn FlowAudit,
    ) -> Result<CliCredentials, CliError> {
        if !claims.roles.iter().any(|(r, _)| r == role) {
            return Err(CliError::RoleNotOffered(role.to_owned()));
        }
        let ask = SessionAsk { duration, ..SessionAsk::default() };
        let session =
            self.saml.issue_role(claims, role, recorded, ask, FlowEventName::CliGrant, audit).await?;
        Ok(session.into())
    }

    fn seal_credentials(&self, id: &str, credentials: &CliCredentials) -> Result<String, CliError> {
        self.master
            .seal_json(credentials, &credentials_context(&hash(id)))
            .map_err(|e| CliError::Internal(e.to_string()))
    }

    /// Redeems a code with its PKCE verifier, once.
    pub async fn redeem(
        &self,
        redeem: Redeem<'_>,
        verifier: &str,
        audit: &mut dyn FlowAudit,
    ) -> Result<CliCredentials, CliError> {
        let outcome = self.try_redeem(&redeem, verifier).await;
        if let Err(e @ (CliError::InvalidGrant | CliError::AccessDenied | CliError::ExpiredToken)) = &outcome
        {
            let flow = if matches!(redeem, Redeem::DeviceCode(_)) { "device" } else { "browser" };
            audit.record(FlowEvent::refused(
                FlowEventName::CliRedeem,
                None,
                RefusalCode::InvalidGrant,
                e.to_string(),
                json!({ "flow": flow }),
            ));
        }
        outcome
    }

    async fn try_redeem(&self, redeem: &Redeem<'_>, verifier: &str) -> Result<CliCredentials, CliError> {
        let now = self.clock.now().timestamp();
        let (code, device) = match redeem {
            Redeem::AuthorizationCode { code, .. } => (*code, false),
            Redeem::DeviceCode(code) => (*code, true),
        };
        if code.is_empty() || code.len() > 128 || verifier.len() < 43 || verifier.len() > 128 {
            return Err(CliError::InvalidGrant);
        }
        let gone = if device { CliError::ExpiredToken } else { CliError::InvalidGrant };
        let grant = self.store.cli_grant_by_code(&hash(code), now).await?.ok_or(gone)?;
        let request: CliRequest =
            serde_json::from_str(&grant.request).map_err(|e| CliError::Internal(e.to_string()))?;
        let matches =
            crypto::constant_time_eq(s256_challenge(verifier).as_bytes(), request.challenge.as_bytes());
        let same_return = match redeem {
            Redeem::AuthorizationCode { redirect_uri, .. } => {
                loopback_redirect(redirect_uri).ok() == request.redirect_uri
            }
            Redeem::DeviceCode(_) => request.redirect_uri.is_none(),
        };
        if !matches || !same_return {
            return Err(CliError::InvalidGrant);
        }
        match grant.status.as_str() {
            "pending" => Err(self.poll(&grant, now).await?),
            "denied" => {
                self.store.take_cli_grant(&grant.id_hash).await?;
                Err(CliError::AccessDenied)
            }
            _ => self.take(&grant).await,
        }
    }

    /// A device-flow poll before the user decided.
    async fn poll(&self, grant: &CliGrantRow, now: i64) -> Result<CliError, CliError> {
        self.store.note_cli_poll(&grant.id_hash, now).await?;
        Ok(match grant.polled_at {
            Some(last) if now - last < POLL_SECONDS - 1 => CliError::SlowDown,
            _ => CliError::AuthorizationPending,
        })
    }

    async fn take(&self, grant: &CliGrantRow) -> Result<CliCredentials, CliError> {
        // One caller wins the delete; any other finds the code used.
        if !self.store.take_cli_grant(&grant.id_hash).await? {
            return Err(CliError::InvalidGrant);
        }
        let sealed = grant.credentials.as_deref().ok_or(CliError::InvalidGrant)?;
        self.master
            .open_json(sealed, &credentials_context(&grant.id_hash))
            .map_err(|e| CliError::Internal(e.to_string()))
    }

    /// A CI job's sign-in with a directory password (and a TOTP code where
    /// the user's groups require one), throttled and audited as the web login.
    pub async fn password(
        &self,
        ask: PasswordAsk<'_>,
        audit: &mut dyn FlowAudit,
    ) -> Result<PasswordOutcome, CliError> {
        let duration = duration(ask.duration)?;
        let (claims, recorded) = match ask.choice {
            Some(sealed) => {
                let choice: RoleChoice =
                    self.master.open_json(sealed, CHOICE_CONTEXT).map_err(|_| CliError::InvalidGrant)?;
                if self.clock.now().timestamp() >= choice.claims.valid_until {
                    return Err(CliError::SignIn(SamlSignInError::Expired));
                }
                (choice.claims, choice.recorded)
            }
            None => self.password_claims(&ask, audit).await?,
        };
        let role = match (ask.role.filter(|r| !r.is_empty()), claims.roles.as_slice()) {
            (Some(role), _) => role.to_owned(),
            (None, [(only, _)]) => only.clone(),
            (None, _) => {
                let accounts = self.saml.offered_roles(&claims).await?;
                let choice = RoleChoice { claims, recorded };
                let sealed = self
                    .master
                    .seal_json(&choice, CHOICE_CONTEXT)
                    .map_err(|e| CliError::Internal(e.to_string()))?;
                return Ok(PasswordOutcome::ChooseRole { accounts, choice: sealed });
            }
        };
        let credentials = self.issue(&claims, &role, &recorded, duration, audit).await?;
        audit.record(granted_event(&claims.name_id, "password", &credentials));
        Ok(PasswordOutcome::Issued(credentials))
    }

    /// The directory sign-in, then the built-in IdP's Response accepted by
    /// our SP as any browser's would be (verified, its use recorded).
    async fn password_claims(
        &self,
        ask: &PasswordAsk<'_>,
        audit: &mut dyn FlowAudit,
    ) -> Result<(SamlClaims, FirstUseRecorded), CliError> {
        let request = self.login.console_request(&self.sp.entity_id, &self.sp.acs_url);
        let form = Password {
            request: "",
            username: ask.username,
            password: ask.password,
            address: ask.address,
            idp_session: None,
        };
        let mut step = self.login.password(form, request, audit).await?;
        if let LoginStep::Code(prompt) = &step {
            if prompt.enrolment.is_some() {
                return Err(CliError::MfaEnrolmentRequired);
            }
            let code = ask.totp.filter(|c| !c.is_empty()).ok_or(CliError::MfaRequired)?;
            let form = Code { pending: &prompt.pending, code, address: ask.address, idp_session: None };
            step = self.login.code(form, audit).await?;
        }
        let posted = match step {
            LoginStep::Issued(posted) => posted,
            LoginStep::Retry { .. } => return Err(CliError::BadPassword),
            LoginStep::Code(_) => return Err(CliError::BadMfaCode),
            LoginStep::NoRole => return Err(CliError::NoRole),
        };
        let accepted = self
            .sts
            .accept_browser_response(&posted.saml_response, None)
            .await
            .map_err(|e| CliError::Internal(e.to_string()))?;
        let recorded = self
            .sts
            .record_first_use(accepted.first_use)
            .await
            .map_err(|e| CliError::Internal(e.to_string()))?;
        if accepted.claims.roles.is_empty() {
            return Err(CliError::NoRole);
        }
        Ok((accepted.claims, recorded))
    }
}

fn granted_event(user: &str, client: &str, credentials: &CliCredentials) -> FlowEvent {
    let details = json!({
        "client": client,
        "roleArn": credentials.role_arn,
        "accessKeyId": credentials.access_key_id,
        "expiration": credentials.expiration,
    });
    let mut event = FlowEvent::success(FlowEventName::CliGrant, user, details);
    event.account_id = Some(credentials.account_id.clone());
    event
}

/// `uri` with `pairs` and the command's `state` added to its query.
fn back_to(uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(uri) else { return uri.to_owned() };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_addresses_with_a_port_are_accepted_for_the_return() {
        for ok in ["http://127.0.0.1:49152/callback", "http://localhost:8400/", "http://[::1]:5000/cb"] {
            assert!(loopback_redirect(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:49152/callback",
            "http://127.0.0.1/callback",
            "http://evil.test:8080/",
            "http://127.0.0.1.evil.test:8080/",
            "http://user@127.0.0.1:8080/",
            "http://127.0.0.1:8080/#x",
            "javascript:alert(1)",
        ] {
            assert!(loopback_redirect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn user_codes_are_typed_loosely_and_read_strictly() {
        let code = user_code();
        assert_eq!(code.len(), USER_CODE_LEN);
        assert!(code.bytes().all(|b| USER_CODE_LETTERS.contains(&b)));
        assert_eq!(normalise_user_code(" bcdf-ghjk\n"), "BCDFGHJK");
    }

    #[test]
    fn the_return_carries_the_code_and_the_commands_state() {
        let url = back_to("http://127.0.0.1:5000/cb", &[("code", "a b")], Some("s&1"));
        assert_eq!(url, "http://127.0.0.1:5000/cb?code=a+b&state=s%261");
    }
}
