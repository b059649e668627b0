//! The built-in IdP's own session: after a directory sign-in, a browser
//! signs in to the next SP without its password (as AD FS and Keycloak do),
//! until the session ends, unless the SP asks for a fresh sign-in
//! (ForceAuthn) or a stronger one (a TOTP code the session did not have).
//! Stored sealed in the database, like the console's, so any node knows it.
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

const KIND: &str = "idp";

/// A directory user whose password was accepted, as the assertion names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SignedIn {
    pub username: String,
    pub dn: String,
    #[serde(default)]
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub tags: Vec<(String, String)>,
}

/// An SP this session signed in to, as its assertion named the user: what
/// a LogoutRequest to it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Participant {
    pub sp: String,
    pub name_id: String,
    pub name_id_format: String,
    pub session_index: String,
}

/// Who signed in at the IdP, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IdpSession {
    pub user: SignedIn,
    /// A TOTP code was given after the password.
    pub multi_factor: bool,
    pub authenticated_at: i64,
    /// The SPs signed in to, the latest sign-in of each.
    #[serde(default)]
    pub participants: Vec<Participant>,
}

impl IdpSession {
    /// Notes a sign-in to `p.sp`, replacing an earlier one.
    pub fn joined(&mut self, p: Participant) {
        self.participants.retain(|q| q.sp != p.sp);
        self.participants.push(p);
    }
}

/// The cookie that names a new session, and how long it lasts.
#[derive(Debug, Clone)]
pub struct IdpCookie {
    pub value: String,
    pub lifetime: i64,
}

#[derive(Clone)]
pub struct IdpSessions {
    pub store: Store,
    pub master: MasterKey,
    pub clock: SharedClock,
    /// `idp.sso_session_seconds`.
    pub lifetime: i64,
}

fn context(hash: &str) -> String {
    format!("idp-session:{hash}")
}

impl IdpSessions {
    /// A session for `user`, in place of this browser's old one.
    pub(super) async fn open(
        &self,
        session: &IdpSession,
        replaces: Option<&str>,
    ) -> Result<IdpCookie, StoreError> {
        let value = crypto::random_token(32);
        let hash = crypto::sha256_hex(value.as_bytes());
        let sealed = self
            .master
            .seal_json(session, &context(&hash))
            .map_err(|_| StoreError::Corrupt("idp session"))?;
        let expires = self.clock.now().timestamp() + self.lifetime;
        let old = replaces.map(|c| crypto::sha256_hex(c.as_bytes()));
        self.store.put_web_session(&hash, KIND, &sealed, expires, old.as_deref()).await?;
        Ok(IdpCookie { value, lifetime: self.lifetime })
    }

    /// Stores `session` again under its cookie, until the session's end.
    pub(super) async fn update(&self, cookie: &str, session: &IdpSession) -> Result<(), StoreError> {
        let hash = crypto::sha256_hex(cookie.as_bytes());
        let sealed = self
            .master
            .seal_json(session, &context(&hash))
            .map_err(|_| StoreError::Corrupt("idp session"))?;
        let expires = session.authenticated_at + self.lifetime;
        self.store.put_web_session(&hash, KIND, &sealed, expires, Some(&hash)).await
    }

    /// The live session a cookie names, if there is a cookie and a session.
    pub(super) async fn load_from(&self, cookie: Option<&str>) -> Result<Option<IdpSession>, StoreError> {
        match cookie {
            Some(c) => self.load(c).await,
            None => Ok(None),
        }
    }

    /// The live session a cookie names, if any.
    pub(super) async fn load(&self, cookie: &str) -> Result<Option<IdpSession>, StoreError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let hash = crypto::sha256_hex(cookie.as_bytes());
        let Some((kind, sealed)) = self.store.get_web_session(&hash, self.clock.now().timestamp()).await?
        else {
            return Ok(None);
        };
        if kind != KIND {
            return Ok(None);
        }
        Ok(self.master.open_json(&sealed, &context(&hash)).ok())
    }

    /// Ends the session a cookie names (sign-out).
    pub async fn end(&self, cookie: &str) -> Result<(), StoreError> {
        self.store.delete_web_session(&crypto::sha256_hex(cookie.as_bytes())).await
    }
}
