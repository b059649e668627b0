//! Browser sessions on the server. The cookie carries a random id; the
//! database keys the row by the id's SHA-256 and holds the session sealed
//! with the master key (bound to that hash), because it holds credentials.
use super::ConsoleError;
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, FlowPrincipal};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sts::{FirstUseRecorded, SamlClaims};
use serde::{Deserialize, Serialize};

/// The role picker waits this long for a choice.
const PICKER_SECONDS: i64 = 600;
/// The command line's approval page (console/cli.rs), where a sign-in returns.
pub const CLI_APPROVAL: &str = "/cli/approve?request=";

/// A session stored: the cookie that names it, how long it lives, and where
/// the browser goes next.
pub struct Opened {
    pub cookie: String,
    pub lifetime: i64,
    pub then: String,
}

/// A signed-in console session.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Who signed in: the SAML NameID, the IAM user name, or the root email.
    pub user: String,
    pub method: SignInMethod,
    pub account_id: String,
    pub account_alias: Option<String>,
    /// The role ARN, for a role session.
    pub role_arn: Option<String>,
    /// The caller ARN the credentials act as.
    pub arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: i64,
    /// Root without MFA: the console shows a warning.
    pub root_without_mfa: bool,
    /// The SAML claims, kept so the user can switch to another offered role,
    /// with the proof that their assertion's use is recorded.
    pub claims: Option<SamlClaims>,
    #[serde(default)]
    pub first_use: Option<FirstUseRecorded>,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret key and the session token stay out of every log.
        f.debug_struct("ConsoleSession")
            .field("user", &self.user)
            .field("method", &self.method)
            .field("arn", &self.arn)
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// How a console session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInMethod {
    /// Through a SAML IdP (the built-in one or an external one) at the ACS.
    Saml,
    /// An IAM user's password at `/signin`.
    IamUser,
    /// The root user's email and password at `/signin`.
    Root,
    /// A sign-in token from `/federation`.
    Federation,
}

impl SignInMethod {
    /// The metrics label and the audit record's `method`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Saml => "saml",
            SignInMethod::IamUser => "iam-user",
            SignInMethod::Root => "root",
            SignInMethod::Federation => "federation",
        }
    }

    /// CloudTrail's `userIdentity.type` for a session opened this way.
    pub fn identity_type(self) -> &'static str {
        match self {
            SignInMethod::Root => "Root",
            SignInMethod::IamUser => "IAMUser",
            SignInMethod::Saml | SignInMethod::Federation => "AssumedRole",
        }
    }
}

/// An assertion offered several roles: waiting for the user's choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRoles {
    pub claims: SamlClaims,
    pub relay_state: Option<String>,
    /// The assertion's use, recorded at the ACS.
    #[serde(default)]
    pub first_use: Option<FirstUseRecorded>,
}

// One per request, read from its sealed row: its size is of no consequence.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebSession {
    Console(ConsoleSession),
    Roles(PendingRoles),
}

impl WebSession {
    fn kind(&self) -> &'static str {
        match self {
            WebSession::Console(_) => "console",
            WebSession::Roles(_) => "roles",
        }
    }
}

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    master: MasterKey,
    clock: SharedClock,
}

fn id_hash(cookie: &str) -> String {
    crypto::sha256_hex(cookie.as_bytes())
}

fn context(hash: &str) -> String {
    format!("web-session:{hash}")
}

impl Sessions {
    pub fn new(store: Store, master: MasterKey, clock: SharedClock) -> Sessions {
        Sessions { store, master, clock }
    }

    /// Stores a session under a new random id and returns the id (the cookie
    /// value). Every sign-in gets a new id, so a planted cookie is useless;
    /// the session of `replaces` (this browser's old cookie) ends with it.
    async fn start(
        &self,
        session: &WebSession,
        lifetime: i64,
        replaces: Option<&str>,
    ) -> Result<String, ConsoleError> {
        let cookie = crypto::random_token(32);
        let hash = id_hash(&cookie);
        let sealed = self.master.seal_json(session, &context(&hash)).map_err(|_| ConsoleError::Corrupt)?;
        let expires = self.clock.now().timestamp() + lifetime;
        let old = replaces.map(id_hash);
        self.store.put_web_session(&hash, session.kind(), &sealed, expires, old.as_deref()).await?;
        Ok(cookie)
    }

    /// The live session of a cookie, if any.
    pub async fn load(&self, cookie: &str) -> Result<Option<WebSession>, ConsoleError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let hash = id_hash(cookie);
        let Some((_, sealed)) = self.store.get_web_session(&hash, self.clock.now().timestamp()).await? else {
            return Ok(None);
        };
        self.master.open_json(&sealed, &context(&hash)).map(Some).map_err(|_| ConsoleError::Corrupt)
    }

    /// Opens a console session (any sign-in method) in place of this
    /// browser's old one, and records the sign-in once it is stored.
    pub async fn open_console(
        &self,
        session: ConsoleSession,
        relay: Option<String>,
        replaces: Option<&str>,
        audit: &mut dyn FlowAudit,
        metrics: &Metrics,
    ) -> Result<Opened, ConsoleError> {
        let lifetime = (session.expiration - self.clock.now().timestamp()).max(60);
        let then = relay.unwrap_or_else(|| "/console".into());
        let session = WebSession::Console(session);
        let cookie = self.start(&session, lifetime, replaces).await?;
        if let WebSession::Console(s) = &session {
            audit.record(signed_in(s));
            metrics.signins.with_label_values(&[s.method.as_str(), "success"]).inc();
        }
        Ok(Opened { cookie, lifetime, then })
    }

    /// Keeps an assertion's claims while the user picks one of its roles (at
    /// the picker, or at the command line's approval page).
    pub async fn open_picker(
        &self,
        pending: PendingRoles,
        replaces: Option<&str>,
    ) -> Result<Opened, ConsoleError> {
        // The command line's approval page offers the roles itself.
        let then = match &pending.relay_state {
            Some(relay) if relay.starts_with(CLI_APPROVAL) => relay.clone(),
            _ => "/console/roles".into(),
        };
        let session = WebSession::Roles(pending);
        let cookie = self.start(&session, PICKER_SECONDS, replaces).await?;
        Ok(Opened { cookie, lifetime: PICKER_SECONDS, then })
    }

    /// Ends a session on the server: the cookie no longer works anywhere.
    pub async fn end(&self, cookie: &str) -> Result<(), ConsoleError> {
        self.store.delete_web_session(&id_hash(cookie)).await?;
        Ok(())
    }

    /// Deletes expired sessions (they are already refused; this keeps the table small).
    pub async fn purge_expired(&self) -> Result<u64, ConsoleError> {
        Ok(self.store.purge_web_sessions(self.clock.now().timestamp()).await?)
    }
}

/// The ConsoleLogin event of a session just opened, the root user's flagged.
fn signed_in(s: &ConsoleSession) -> FlowEvent {
    let root = s.method == SignInMethod::Root;
    FlowEvent {
        account_id: Some(s.account_id.clone()),
        principal: Some(FlowPrincipal {
            kind: s.method.identity_type(),
            arn: s.arn.clone(),
            account_id: s.account_id.clone(),
            access_key_id: s.access_key_id.clone(),
        }),
        parameters: serde_json::json!({ "method": s.method.as_str(), "roleArn": s.role_arn }),
        ..FlowEvent::success(
            FlowEventName::ConsoleLogin,
            &s.user,
            serde_json::json!({ "rootSignIn": root, "MFAUsed": root && !s.root_without_mfa }),
        )
    }
}
