//! Single Logout at the built-in IdP (SAML profiles 4.4, front channel), as
//! one use case. An SP's LogoutRequest, or the console's sign-out, ends the
//! browser's IdP session; the browser then carries a signed LogoutRequest to
//! every other SP of that session that takes part, one after another, each
//! answering here; last, the SP that asked gets its LogoutResponse
//! (`PartialLogout` when an SP did not confirm). Between the trips, where
//! the logout stands is kept sealed in the database under a short-lived
//! cookie, so any node takes the next step.
use super::idp_session::{IdpSessions, Participant};
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, RefusalCode};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::idp::{IdentityProvider, IdpError, LogoutRequestIn, LogoutResponseIn, LogoutSubject, Outgoing};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// A logout must be through within this time.
pub const LOGOUT_SECONDS: i64 = 600;
const PROGRESS_KIND: &str = "slo";

fn context(hash: &str) -> String {
    format!("idp-logout:{hash}")
}

pub struct IdpLogout {
    pub idp: Arc<IdentityProvider>,
    pub sessions: IdpSessions,
    pub master: MasterKey,
    pub clock: SharedClock,
}

/// The SP whose LogoutRequest started the logout.
#[derive(Serialize, Deserialize)]
struct Initiator {
    sp: String,
    request_id: String,
    relay_state: Option<String>,
}

/// Where a logout stands between the browser's trips.
#[derive(Serialize, Deserialize)]
struct Progress {
    initiator: Option<Initiator>,
    remaining: Vec<Participant>,
    /// The id of the LogoutRequest the browser carries now.
    waiting_for: Option<String>,
    /// An SP did not confirm.
    partial: bool,
    expires: i64,
}

/// What the browser does next.
#[derive(Debug)]
pub enum LogoutStep {
    /// Carry this message; `progress` is the logout cookie (where the logout stands).
    Send { message: Outgoing, progress: Option<String> },
    /// Signed out everywhere it could be; `partial` when an SP did not confirm.
    Done { partial: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("this logout is unknown or has expired")]
    Expired,
    #[error("the logout response answers another request")]
    Unexpected,
    #[error(transparent)]
    Idp(#[from] IdpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IdpLogout {
    /// An SP's LogoutRequest. This browser's session ends when the request
    /// names the user that SP signed in; a request naming someone else ends
    /// nothing and is answered `PartialLogout`.
    pub async fn requested(
        &self,
        request: LogoutRequestIn,
        idp_cookie: Option<&str>,
        audit: &mut dyn FlowAudit,
    ) -> Result<LogoutStep, LogoutError> {
        let session = self.sessions.load_from(idp_cookie).await?;
        let named = session.as_ref().is_some_and(|s| {
            s.participants.iter().any(|p| p.sp == request.sp.entity_id && p.name_id == request.name_id)
        });
        let mut remaining = Vec::new();
        if let (true, Some(session), Some(cookie)) = (named, &session, idp_cookie) {
            self.sessions.end(cookie).await?;
            remaining =
                session.participants.iter().filter(|p| p.sp != request.sp.entity_id).cloned().collect();
            let details = json!({ "serviceProvider": request.sp.entity_id, "others": remaining.len() });
            audit.record(FlowEvent::success(FlowEventName::IdpLogout, &session.user.username, details));
        } else {
            let details = json!({ "serviceProvider": request.sp.entity_id });
            let why = "the LogoutRequest names no one signed in in this browser";
            audit.record(FlowEvent::refused(
                FlowEventName::IdpLogout,
                None,
                RefusalCode::NoSession,
                why,
                details,
            ));
        }
        let progress = Progress {
            initiator: Some(Initiator {
                sp: request.sp.entity_id.clone(),
                request_id: request.id,
                relay_state: request.relay_state,
            }),
            remaining,
            waiting_for: None,
            partial: !named,
            expires: self.clock.now().timestamp() + LOGOUT_SECONDS,
        };
        self.next(progress).await
    }

    /// The console's sign-out: the IdP session ends, and so do the SPs' of it.
    pub async fn sign_out(
        &self,
        idp_cookie: &str,
        audit: &mut dyn FlowAudit,
    ) -> Result<LogoutStep, LogoutError> {
        let Some(session) = self.sessions.load(idp_cookie).await? else {
            return Ok(LogoutStep::Done { partial: false });
        };
        self.sessions.end(idp_cookie).await?;
        let details = json!({ "serviceProvider": null, "others": session.participants.len() });
        audit.record(FlowEvent::success(FlowEventName::IdpLogout, &session.user.username, details));
        let progress = Progress {
            initiator: None,
            remaining: session.participants,
            waiting_for: None,
            partial: false,
            expires: self.clock.now().timestamp() + LOGOUT_SECONDS,
        };
        self.next(progress).await
    }

    /// An SP's answer to the LogoutRequest the browser carried to it.
    pub async fn answered(
        &self,
        response: LogoutResponseIn,
        cookie: Option<&str>,
    ) -> Result<LogoutStep, LogoutError> {
        let cookie = cookie.ok_or(LogoutError::Expired)?;
        let hash = crypto::sha256_hex(cookie.as_bytes());
        let store = &self.sessions.store;
        let now = self.clock.now().timestamp();
        let (kind, sealed) = store.get_web_session(&hash, now).await?.ok_or(LogoutError::Expired)?;
        store.delete_web_session(&hash).await?;
        if kind != PROGRESS_KIND {
            return Err(LogoutError::Expired);
        }
        let mut progress: Progress =
            self.master.open_json(&sealed, &context(&hash)).map_err(|_| LogoutError::Expired)?;
        if progress.waiting_for.as_deref() != Some(response.in_response_to.as_str()) {
            return Err(LogoutError::Unexpected);
        }
        progress.partial |= !response.success;
        progress.waiting_for = None;
        self.next(progress).await
    }

    /// The next SP to sign out, or the answer to the SP that asked.
    async fn next(&self, mut progress: Progress) -> Result<LogoutStep, LogoutError> {
        let now = self.clock.now();
        while let Some(p) = progress.remaining.pop() {
            let Some(sp) = self.idp.service_provider(&p.sp) else { continue };
            let Some(slo) = sp.slo else { continue };
            // Its answer could not be verified: it is not asked, and the logout is partial.
            if sp.signing_certificate.is_none() {
                progress.partial = true;
                continue;
            }
            let id = format!("_q{}", crypto::random_token(20));
            let subject = LogoutSubject {
                name_id: &p.name_id,
                name_id_format: &p.name_id_format,
                session_index: &p.session_index,
            };
            let message = self.idp.logout_request(&slo, &subject, &id, now)?;
            progress.waiting_for = Some(id);
            // Kept server-side under a short cookie, sealed to it.
            let cookie = crypto::random_token(32);
            let hash = crypto::sha256_hex(cookie.as_bytes());
            let sealed = self
                .master
                .seal_json(&progress, &context(&hash))
                .map_err(|e| LogoutError::Idp(IdpError::Signing(e.to_string())))?;
            self.sessions
                .store
                .put_web_session(&hash, PROGRESS_KIND, &sealed, progress.expires, None)
                .await?;
            return Ok(LogoutStep::Send { message, progress: Some(cookie) });
        }
        let Some(initiator) = progress.initiator else {
            return Ok(LogoutStep::Done { partial: progress.partial });
        };
        match self.idp.service_provider(&initiator.sp).and_then(|sp| sp.slo) {
            Some(slo) => {
                let relay = initiator.relay_state.as_deref();
                let message =
                    self.idp.logout_response(&slo, &initiator.request_id, progress.partial, relay, now)?;
                Ok(LogoutStep::Send { message, progress: None })
            }
            None => Ok(LogoutStep::Done { partial: progress.partial }),
        }
    }
}
