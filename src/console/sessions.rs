//! Browser sessions on the server. The cookie carries a random id; the
//! database keys the row by the id's SHA-256 and holds the session sealed
//! with the master key (bound to that hash), because it holds credentials.
use super::ConsoleError;
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::store::{AssertionUse, Store};
use crate::sts::SamlClaims;
use serde::{Deserialize, Serialize};

/// A signed-in console session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Who signed in: the SAML NameID, the IAM user name, or the root email.
    pub user: String,
    /// "saml", "iam-user", "root" or "federation".
    pub method: String,
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
    /// The SAML claims, kept so the user can switch to another offered role.
    pub claims: Option<SamlClaims>,
}

/// An assertion offered several roles: waiting for the user's choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRoles {
    pub claims: SamlClaims,
    pub relay_state: Option<String>,
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
    /// With `first_use`, the signing-in assertion is recorded in the same
    /// commit; None when it had been used already (nothing is stored).
    pub async fn start(
        &self,
        session: &WebSession,
        lifetime: i64,
        replaces: Option<&str>,
        first_use: Option<AssertionUse>,
    ) -> Result<Option<String>, ConsoleError> {
        let cookie = crypto::random_token(32);
        let hash = id_hash(&cookie);
        let sealed = self.master.seal_json(session, &context(&hash)).map_err(|_| ConsoleError::Corrupt)?;
        let expires = self.clock.now().timestamp() + lifetime;
        let old = replaces.map(id_hash);
        let stored =
            self.store.put_web_session(&hash, session.kind(), &sealed, expires, old.as_deref(), first_use);
        Ok(stored.await?.then_some(cookie))
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
