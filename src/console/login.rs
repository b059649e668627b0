//! The built-in IdP's directory sign-in as one use case: the password step
//! (throttle, directory bind, role mapping), the optional second step (a TOTP
//! code, enrolling an authenticator first), and the signed Response for the
//! SP. The web layer reads the forms and renders what these return; every
//! refusal, audit code and metric of the flow is decided here.
use super::idp_session::{IdpCookie, IdpSession, IdpSessions, Participant, SignedIn};
use super::Throttle;
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, RefusalCode};
use crate::clock::SharedClock;
use crate::crypto::{MasterKey, Totp};
use crate::directory::{Directory, DirectoryError, DirectoryUser, Refusal, MAX_INPUT_BYTES};
use crate::idp::roles::{role_pairs, RoleRules};
use crate::idp::second_factor::SecondFactor;
use crate::idp::{Addressee, IdentityProvider, NameIdFormat, SamlStatus, SsoRequest, Subject};
use crate::metrics::Metrics;
use crate::store::StoreError;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// A login form is good for this long after it was shown.
const LOGIN_FORM_SECONDS: i64 = 900;
/// The second step must follow the password within this time.
const SECOND_STEP_SECONDS: i64 = 300;
const REQUEST_CONTEXT: &str = "idp-login-request";
const SECOND_STEP_CONTEXT: &str = "idp-second-step";

pub struct DirectoryLogin {
    pub idp: Arc<IdentityProvider>,
    pub directory: Option<Arc<dyn Directory>>,
    pub throttle: Throttle,
    pub second_factor: SecondFactor,
    /// The group -> role rules in force (the database's, read again on change).
    pub rules: Arc<RoleRules>,
    pub master: MasterKey,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// The IdP's own sessions: one sign-in for every SP.
    pub sessions: IdpSessions,
}

/// What the password step reads from its form.
pub struct Password<'a> {
    /// The SP's request as the form carried it (sealed); empty for the console.
    pub request: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    /// The client's address, as the throttle counts it.
    pub address: &'a str,
    /// This browser's IdP session cookie, replaced by the new session.
    pub idp_session: Option<&'a str>,
}

/// What the code step reads from its form.
pub struct Code<'a> {
    pub pending: &'a str,
    pub code: &'a str,
    pub address: &'a str,
    pub idp_session: Option<&'a str>,
}

/// Where a sign-in goes next.
#[derive(Debug)]
pub enum LoginStep {
    /// The login form again, with a message: the password was not accepted.
    Retry { request: String, username: String, message: &'static str },
    /// The second step's form.
    Code(CodePrompt),
    /// Signed in, but no directory group grants a role.
    NoRole,
    /// Signed in: post this Response to the SP.
    Issued(AutoPost),
}

/// The second step's form: its sealed state and, when enrolling, the new secret.
pub struct CodePrompt {
    pub pending: String,
    pub enrolment: Option<Enrolment>,
    /// Set when a code was refused.
    pub message: Option<&'static str>,
}

impl std::fmt::Debug for CodePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sealed state and a new seed stay out of logs.
        f.debug_struct("CodePrompt").field("enrolling", &self.enrolment.is_some()).finish_non_exhaustive()
    }
}

/// A new TOTP secret being enrolled: as a QR code (PNG) and as text.
pub struct Enrolment {
    pub qr_png: Vec<u8>,
    pub secret_base32: String,
}

/// The signed Response and where the browser posts it.
#[derive(Debug)]
pub struct AutoPost {
    pub acs_url: String,
    /// Base64, as the SAMLResponse form field carries it.
    pub saml_response: String,
    pub relay_state: Option<String>,
    /// The IdP session a password sign-in opened, for the browser to keep.
    pub idp_session: Option<IdpCookie>,
}

/// A checked request at the SSO endpoint: the login form, or an answer
/// without one (from the IdP's session, or a refusal).
pub enum SsoStep {
    Login(SsoRequest),
    Answer(LoginStep),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("this sign-in page has expired")]
    Expired,
    #[error("too many failed sign-ins")]
    Throttled,
    #[error("directory sign-in is not configured")]
    NotConfigured,
    #[error("the directory cannot be reached")]
    DirectoryUnavailable,
    #[error("the user name or password is too long")]
    TooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    request: SsoRequest,
    expires: i64,
}

/// Between the password and the code: sealed into the form, short-lived.
#[derive(Serialize, Deserialize)]
struct PendingSecondStep {
    user: SignedIn,
    /// The name as typed at the password step: the throttle's key.
    login_name: String,
    request: SsoRequest,
    /// A new seed being enrolled, for users without one.
    seed: Option<Vec<u8>>,
    expires: i64,
}

fn event(
    user: Option<&str>,
    code: RefusalCode,
    message: impl Into<String>,
    details: serde_json::Value,
) -> FlowEvent {
    FlowEvent::refused(FlowEventName::DirectoryLogin, user, code, message, details)
}

impl DirectoryLogin {
    /// The request idbroker's own SP would make: IdP-initiated sign-in to the console.
    pub fn console_request(&self, own_sp_entity_id: &str, own_acs_url: &str) -> SsoRequest {
        SsoRequest {
            sp_entity_id: own_sp_entity_id.to_owned(),
            acs_url: own_acs_url.to_owned(),
            request_id: None,
            relay_state: None,
            options: Default::default(),
        }
    }

    /// The request, sealed for the login form (good for `LOGIN_FORM_SECONDS`).
    pub fn seal_request(&self, request: &SsoRequest) -> Result<String, LoginError> {
        let pending = PendingLogin {
            request: request.clone(),
            expires: self.clock.now().timestamp() + LOGIN_FORM_SECONDS,
        };
        self.master.seal_json(&pending, REQUEST_CONTEXT).map_err(|e| LoginError::Internal(e.to_string()))
    }

    fn open_request(&self, sealed: &str) -> Result<SsoRequest, LoginError> {
        let pending: PendingLogin =
            self.master.open_json(sealed, REQUEST_CONTEXT).map_err(|_| LoginError::Expired)?;
        if pending.expires <= self.clock.now().timestamp() {
            return Err(LoginError::Expired);
        }
        Ok(pending.request)
    }

    /// The password step. `default_request` is used when the form carries
    /// none (the console's own sign-in).
    pub async fn password(
        &self,
        form: Password<'_>,
        default_request: SsoRequest,
        audit: &mut dyn FlowAudit,
    ) -> Result<LoginStep, LoginError> {
        let request = match form.request {
            "" => default_request,
            sealed => self.open_request(sealed)?,
        };
        if form.username.len() > MAX_INPUT_BYTES || form.password.len() > MAX_INPUT_BYTES {
            return Err(LoginError::TooLong);
        }
        let now = self.clock.now().timestamp();
        let Some(attempt) = self.throttle.attempt(form.username, form.address, now).await? else {
            audit.record(event(
                Some(form.username),
                RefusalCode::Throttled,
                "too many failed sign-ins",
                json!({}),
            ));
            return Err(LoginError::Throttled);
        };
        let directory = self.directory.as_ref().ok_or(LoginError::NotConfigured)?;
        let user = match directory.authenticate(form.username, form.password).await {
            Ok(user) => {
                self.metrics.directory_up.set(1);
                user
            }
            Err(DirectoryError::Refused(reason)) => {
                if reason != Refusal::EmptyPassword {
                    self.throttle.record_failure(&attempt).await?;
                }
                self.metrics.signins.with_label_values(&["directory", "refused"]).inc();
                let details = json!({ "reason": reason.as_str() });
                audit.record(event(
                    Some(form.username),
                    RefusalCode::InvalidCredentials,
                    reason.as_str(),
                    details,
                ));
                return Ok(LoginStep::Retry {
                    request: self.seal_request(&request)?,
                    username: form.username.to_owned(),
                    message: "Incorrect user name or password.",
                });
            }
            Err(e) => {
                self.metrics.directory_up.set(0);
                self.metrics.signins.with_label_values(&["directory", "unavailable"]).inc();
                tracing::warn!(error = %e, "directory unavailable");
                audit.record(event(
                    Some(form.username),
                    RefusalCode::DirectoryUnavailable,
                    e.to_string(),
                    json!({}),
                ));
                return Err(LoginError::DirectoryUnavailable);
            }
        };
        let Some(signed_in) = self.signed_in(&user, audit) else { return Ok(LoginStep::NoRole) };
        // A TOTP code when the user's groups require one, or the SP asked for
        // a multi-factor authentication context.
        if self.second_factor.required(&user.groups) || request.options.authn.multi_factor {
            let key = SecondFactor::user_key(&signed_in.dn);
            let seed =
                if self.second_factor.enrolled(&key).await? { None } else { Some(Totp::generate_seed()) };
            let pending = PendingSecondStep {
                user: signed_in,
                login_name: form.username.to_owned(),
                request,
                seed,
                expires: now + SECOND_STEP_SECONDS,
            };
            return Ok(LoginStep::Code(self.prompt(&pending, None)?));
        }
        self.throttle.record_success(&attempt).await?;
        let session =
            IdpSession { user: signed_in, multi_factor: false, authenticated_at: now, participants: vec![] };
        self.issue(session, request, Fresh::Yes(form.idp_session), audit).await
    }

    /// The user with the roles their groups map to; `None` (recorded) when none.
    fn signed_in(&self, user: &DirectoryUser, audit: &mut dyn FlowAudit) -> Option<SignedIn> {
        let roles = role_pairs(&user.groups, &self.rules.get());
        if roles.is_empty() {
            let details = json!({ "userDn": user.dn });
            audit.record(event(
                Some(&user.username),
                RefusalCode::NoRoleMapped,
                "no AWS role is mapped to this user",
                details,
            ));
            return None;
        }
        Some(SignedIn {
            username: user.username.clone(),
            dn: user.dn.clone(),
            email: user.email.clone(),
            roles,
            tags: user.attributes.clone(),
        })
    }

    fn prompt(
        &self,
        pending: &PendingSecondStep,
        message: Option<&'static str>,
    ) -> Result<CodePrompt, LoginError> {
        let internal = |e: &dyn std::fmt::Display| LoginError::Internal(e.to_string());
        let sealed = self.master.seal_json(pending, SECOND_STEP_CONTEXT).map_err(|e| internal(&e))?;
        let enrolment = match &pending.seed {
            Some(seed) => {
                let totp =
                    Totp::new(seed.clone(), "idbroker", &pending.user.username).map_err(|e| internal(&e))?;
                Some(Enrolment {
                    qr_png: totp.qr_png().map_err(|e| internal(&e))?,
                    secret_base32: totp.seed_base32(),
                })
            }
            None => None,
        };
        Ok(CodePrompt { pending: sealed, enrolment, message })
    }

    /// The code step: checks the code (enrolling a new seed first when the
    /// user has none), then answers as a password-only sign-in would.
    pub async fn code(&self, form: Code<'_>, audit: &mut dyn FlowAudit) -> Result<LoginStep, LoginError> {
        let pending: PendingSecondStep =
            self.master.open_json(form.pending, SECOND_STEP_CONTEXT).map_err(|_| LoginError::Expired)?;
        let now = self.clock.now().timestamp();
        if pending.expires <= now {
            return Err(LoginError::Expired);
        }
        let Some(attempt) = self.throttle.attempt(&pending.login_name, form.address, now).await? else {
            return Err(LoginError::Throttled);
        };
        let key = SecondFactor::user_key(&pending.user.dn);
        let code = form.code.trim();
        let accepted = match &pending.seed {
            Some(seed) => self.second_factor.enroll(&key, seed, code).await?,
            None => self.second_factor.verify(&key, code).await?,
        };
        if !accepted {
            self.throttle.record_failure(&attempt).await?;
            let details = json!({ "reason": "mfa" });
            let message = "the verification code was not accepted";
            audit.record(event(Some(&pending.user.username), RefusalCode::InvalidMFACode, message, details));
            return Ok(LoginStep::Code(
                self.prompt(&pending, Some("That code was not accepted. Try the next one."))?,
            ));
        }
        self.throttle.record_success(&attempt).await?;
        let session = IdpSession {
            user: pending.user,
            multi_factor: true,
            authenticated_at: now,
            participants: vec![],
        };
        self.issue(session, pending.request, Fresh::Yes(form.idp_session), audit).await
    }

    /// A request at the SSO endpoint with this browser's IdP session
    /// cookie: answered from the session when it will do (not ForceAuthn, and
    /// a TOTP code when the SP asks for one), refused `NoPassive` when the
    /// request is passive and it will not, else the login form.
    pub async fn sso(
        &self,
        request: SsoRequest,
        cookie: Option<&str>,
        audit: &mut dyn FlowAudit,
    ) -> Result<SsoStep, LoginError> {
        let session = self.sessions.load_from(cookie).await?;
        let wanted = &request.options;
        let usable =
            session.filter(|s| !wanted.force_authn && (s.multi_factor || !wanted.authn.multi_factor));
        match (usable, cookie) {
            (Some(session), Some(cookie)) => {
                Ok(SsoStep::Answer(self.issue(session, request, Fresh::No(cookie), audit).await?))
            }
            _ if wanted.is_passive => {
                Ok(SsoStep::Answer(self.refuse(None, request, SamlStatus::NoPassive, audit)?))
            }
            _ => Ok(SsoStep::Login(request)),
        }
    }

    /// Issues the signed Response for the SP of `request`, with the NameID
    /// and authentication context the request asked for, and notes the SP in
    /// the IdP session: a fresh sign-in opens one (in place of `Fresh::Yes`'s
    /// old one), a sign-in from the session stores it again.
    async fn issue(
        &self,
        mut session: IdpSession,
        request: SsoRequest,
        fresh: Fresh<'_>,
        audit: &mut dyn FlowAudit,
    ) -> Result<LoginStep, LoginError> {
        let now = self.clock.now();
        let (user, multi_factor_used) = (session.user.clone(), session.multi_factor);
        let session_index = format!("_s{}", crate::crypto::random_token(20));
        let format = request.options.name_id_format;
        let issued_name_id = match (format, &user.email) {
            (NameIdFormat::Transient, _) => format!("_t{}", crate::crypto::random_token(20)),
            (NameIdFormat::Email, Some(email)) => email.clone(),
            (NameIdFormat::Email, None) => {
                return self.refuse(Some(&user.username), request, SamlStatus::InvalidNameIdPolicy, audit)
            }
            (NameIdFormat::Persistent | NameIdFormat::Unspecified, _) => user.username.clone(),
        };
        let authn_class = request.options.authn.asserted_class(multi_factor_used).to_owned();
        let idp = self.idp.clone();
        let sp = idp.service_provider(&request.sp_entity_id);
        let sign_assertion = sp.as_ref().is_some_and(|s| s.sign_assertions);
        let encryption = sp.and_then(|s| s.encryption);
        // Signing is CPU work: off the async threads, with what it needs moved in.
        let participant = Participant {
            sp: request.sp_entity_id.clone(),
            name_id: issued_name_id.clone(),
            name_id_format: format.uri().to_owned(),
            session_index: session_index.clone(),
        };
        let (user, request, xml) = tokio::task::spawn_blocking(move || {
            let subject = Subject {
                name_id: &user.username,
                issued_name_id: &issued_name_id,
                name_id_format: format.uri(),
                authn_class: &authn_class,
                session_index: &session_index,
                roles: &user.roles,
                tags: &user.tags,
            };
            let to = Addressee {
                audience: &request.sp_entity_id,
                acs_url: &request.acs_url,
                in_response_to: request.request_id.as_deref(),
                sign_assertion,
                encrypt_to: encryption.as_ref(),
            };
            let signed = idp.issue(&subject, &to, now);
            (user, request, signed)
        })
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))?;
        let xml = xml.map_err(|e| LoginError::Internal(e.to_string()))?;
        session.joined(participant);
        let idp_session = match fresh {
            Fresh::Yes(replaces) => Some(self.sessions.open(&session, replaces).await?),
            Fresh::No(cookie) => {
                self.sessions.update(cookie, &session).await?;
                None
            }
        };
        self.metrics.signins.with_label_values(&["directory", "success"]).inc();
        let details = json!({
            "userDn": user.dn,
            "serviceProvider": request.sp_entity_id,
            "roles": user.roles,
            "fromIdpSession": idp_session.is_none(),
        });
        audit.record(FlowEvent::success(FlowEventName::DirectoryLogin, &user.username, details));
        Ok(LoginStep::Issued(AutoPost {
            acs_url: request.acs_url,
            saml_response: base64::engine::general_purpose::STANDARD.encode(xml),
            relay_state: request.relay_state,
            idp_session,
        }))
    }

    /// Answers the SP of `request` with a non-success `status` instead of an
    /// assertion (SAML core 3.4.1), recorded, as a post to its ACS.
    pub fn refuse(
        &self,
        user: Option<&str>,
        request: SsoRequest,
        status: SamlStatus,
        audit: &mut dyn FlowAudit,
    ) -> Result<LoginStep, LoginError> {
        let now = self.clock.now();
        let xml = self
            .idp
            .refuse(&request.acs_url, request.request_id.as_deref(), status, now)
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        let details = json!({ "status": status.codes().1, "serviceProvider": request.sp_entity_id });
        audit.record(FlowEvent::refused(
            FlowEventName::IdpAuthnRequest,
            user,
            RefusalCode::AuthnRequestRefused,
            status.message(),
            details,
        ));
        Ok(LoginStep::Issued(AutoPost {
            acs_url: request.acs_url,
            saml_response: base64::engine::general_purpose::STANDARD.encode(xml),
            relay_state: request.relay_state,
            idp_session: None,
        }))
    }
}

/// Whether a sign-in just happened (opening an IdP session in place of the
/// browser's old one, if any) or came from the IdP session.
enum Fresh<'a> {
    Yes(Option<&'a str>),
    /// From the session this cookie names.
    No(&'a str),
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
