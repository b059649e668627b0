//! Who is calling: SigV4 verification against the stored access key.
use super::IamService;
use crate::domain::{
    AccountId, Principal, SessionClaims, SessionKind, ACCESS_KEY_PREFIX_TEMPORARY, SESSION_TOKEN_TYPE,
};
use crate::sigv4::{self, Authorization, RequestParts, SigV4Error};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Request is missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    #[error("{0}")]
    RequestExpired(String),
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    #[error("authentication backend failure")]
    Backend(#[source] StoreError),
}

impl AuthError {
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            AuthError::Missing => ("MissingAuthenticationToken", 403),
            AuthError::Incomplete(_) => ("IncompleteSignature", 400),
            AuthError::InvalidClientTokenId => ("InvalidClientTokenId", 403),
            AuthError::SignatureDoesNotMatch(_) => ("SignatureDoesNotMatch", 403),
            AuthError::RequestExpired(_) => ("RequestExpired", 400),
            AuthError::ExpiredToken => ("ExpiredToken", 400),
            AuthError::Backend(e) if e.is_unavailable() => ("ServiceUnavailable", 503),
            AuthError::Backend(_) => ("ServiceFailure", 500),
        }
    }
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        match e {
            SigV4Error::Missing => AuthError::Missing,
            SigV4Error::Incomplete(m) => AuthError::Incomplete(m),
            SigV4Error::Mismatch(m) => AuthError::SignatureDoesNotMatch(m),
            SigV4Error::Expired(m) => AuthError::RequestExpired(m),
        }
    }
}

// One per request; boxing the user would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CallerKind {
    Root,
    User(Principal),
    /// Temporary credentials; the claims came from a verified session token.
    Session(Box<SessionClaims>),
}

/// A caller whose signature verified. Only `IamService::authenticate` builds one:
/// the private `_verified` field keeps every other module from constructing it
/// (`#[non_exhaustive]` would still allow that anywhere in the crate).
#[derive(Debug, Clone)]
#[allow(clippy::manual_non_exhaustive)]
pub struct Caller {
    pub account_id: AccountId,
    pub arn: String,
    /// `AIDA...` for a user; the account id for the root user, as AWS reports.
    pub user_id: String,
    pub kind: CallerKind,
    pub access_key_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub secure_transport: bool,
    _verified: (),
}

impl Caller {
    pub fn is_root(&self) -> bool {
        matches!(self.kind, CallerKind::Root)
    }

    pub fn user_name(&self) -> Option<&str> {
        match &self.kind {
            CallerKind::User(p) => Some(&p.name),
            CallerKind::Root | CallerKind::Session(_) => None,
        }
    }

    pub fn session(&self) -> Option<&SessionClaims> {
        match &self.kind {
            CallerKind::Session(c) => Some(c),
            _ => None,
        }
    }

    /// The `userIdentity` of an audit record.
    pub fn audit_identity(&self) -> serde_json::Value {
        serde_json::json!({
            "type": match &self.kind {
                CallerKind::Root => "Root",
                CallerKind::User(_) => "IAMUser",
                CallerKind::Session(c) => match c.kind {
                    SessionKind::AssumedRole => "AssumedRole",
                    SessionKind::FederatedUser => "FederatedUser",
                    SessionKind::UserSession => "IAMUser",
                    SessionKind::RootSession => "Root",
                },
            },
            "principalId": self.user_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
            "userName": self.user_name(),
        })
    }
}

/// Where the request came from, as the web layer saw it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub secure_transport: bool,
}

impl IamService {
    /// Verifies a SigV4-signed request for `service` and returns its caller.
    pub async fn authenticate(
        &self,
        req: &RequestParts<'_>,
        authorization: Option<&str>,
        service: &str,
        origin: Origin,
    ) -> Result<Caller, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let auth: Authorization = sigv4::parse_authorization(header)?;
        let amz_date = sigv4::check_request(req, &auth, self.clock.now(), &self.region, service)?;
        if auth.access_key_id.starts_with(ACCESS_KEY_PREFIX_TEMPORARY) {
            return self.authenticate_session(req, &auth, &amz_date, origin);
        }
        let key = match self.store.get_access_key(&auth.access_key_id).await {
            Ok(k) if k.active => k,
            Ok(_) | Err(StoreError::NotFound(_)) => return Err(AuthError::InvalidClientTokenId),
            Err(e) => return Err(AuthError::Backend(e)),
        };
        let secret = self
            .master
            .open(&key.sealed_secret, &access_key_context(&key.access_key_id))
            .map_err(|_| AuthError::InvalidClientTokenId)?;
        let secret = String::from_utf8(secret).map_err(|_| AuthError::InvalidClientTokenId)?;
        sigv4::verify_signature(req, &auth, &amz_date, &secret)?;
        // Record use at most once a minute per key, so reads do not become writes.
        let now = self.now();
        let stale = key.last_used_at.is_none_or(|t| t <= now - 60);
        if stale || key.last_used_service.as_deref() != Some(service) {
            let touched = self.store.touch_access_key(&key.access_key_id, now, service, &self.region);
            if let Err(e) = touched.await {
                tracing::warn!(error = %e, "could not record access key use");
            }
        }
        let (kind, arn, user_id) = match &key.user_id {
            None => (CallerKind::Root, crate::domain::Arn::root(&key.account_id), key.account_id.to_string()),
            Some(id) => {
                let user = self.store.get_principal_by_id(id).await.map_err(AuthError::Backend)?;
                let (arn, uid) = (user.arn.clone(), user.id.clone());
                (CallerKind::User(user), arn, uid)
            }
        };
        Ok(Caller {
            account_id: key.account_id,
            arn,
            user_id,
            kind,
            access_key_id: key.access_key_id,
            source_ip: origin.source_ip,
            user_agent: origin.user_agent,
            secure_transport: origin.secure_transport,
            _verified: (),
        })
    }
}

impl IamService {
    /// Temporary credentials: the session token must be signed with the request,
    /// verify with our token keys, be current, and go with this access key id.
    /// No database read: the token carries the sealed secret.
    fn authenticate_session(
        &self,
        req: &RequestParts<'_>,
        auth: &Authorization,
        amz_date: &str,
        origin: Origin,
    ) -> Result<Caller, AuthError> {
        let token = req.header("x-amz-security-token").ok_or(AuthError::InvalidClientTokenId)?;
        if !auth.signed_headers.iter().any(|h| h == "x-amz-security-token") {
            return Err(AuthError::Incomplete("'x-amz-security-token' must be a 'SignedHeader'.".into()));
        }
        let (claims, secret) = self.live_session(token, &auth.access_key_id)?;
        sigv4::verify_signature(req, auth, amz_date, &secret)?;
        session_caller(&claims, origin)
    }
}

/// The caller of a live session's claims.
fn session_caller(claims: &SessionClaims, origin: Origin) -> Result<Caller, AuthError> {
    let user_id = match claims.kind {
        SessionKind::AssumedRole => format!("{}:{}", claims.pid, claims.name),
        SessionKind::FederatedUser => format!("{}:{}", claims.acct, claims.name),
        SessionKind::UserSession | SessionKind::RootSession => claims.pid.clone(),
    };
    // Our own signed token: an account id that does not parse is no credential.
    let account_id = AccountId::parse(&claims.acct).map_err(|_| AuthError::InvalidClientTokenId)?;
    Ok(Caller {
        account_id,
        arn: claims.arn.clone(),
        user_id,
        access_key_id: claims.akid.clone(),
        kind: CallerKind::Session(Box::new(claims.clone())),
        source_ip: origin.source_ip,
        user_agent: origin.user_agent,
        secure_transport: origin.secure_transport,
        _verified: (),
    })
}

impl IamService {
    /// A current session of `access_key_id`: its token verifies, is of the
    /// session type, is within its validity, and names that key; with the
    /// secret sealed in it.
    fn live_session(
        &self,
        token: &str,
        access_key_id: &str,
    ) -> Result<(std::sync::Arc<SessionClaims>, String), AuthError> {
        let claims = self.verified_session(token)?;
        if claims.typ != SESSION_TOKEN_TYPE || claims.akid != access_key_id {
            return Err(AuthError::InvalidClientTokenId);
        }
        let now = self.now();
        if now < claims.nbf - sigv4::MAX_SKEW_SECONDS {
            return Err(AuthError::InvalidClientTokenId);
        }
        if now >= claims.exp {
            return Err(AuthError::ExpiredToken);
        }
        let secret = self
            .master
            .open(&claims.sec, &session_secret_context(&claims.akid))
            .map_err(|_| AuthError::InvalidClientTokenId)?;
        let secret = String::from_utf8(secret).map_err(|_| AuthError::InvalidClientTokenId)?;
        Ok((claims, secret))
    }

    /// The claims of a session token whose signature verified. Clients reuse a
    /// token for many calls, so verified tokens are remembered by their SHA-256;
    /// time and key-id checks still run on every request.
    fn verified_session(&self, token: &str) -> Result<std::sync::Arc<SessionClaims>, AuthError> {
        let digest = crate::crypto::sha256(token.as_bytes());
        self.session_cache.get_or_try(digest, || {
            self.tokens.get().verify(token).map_err(|_| AuthError::InvalidClientTokenId)
        })
    }
}

pub(super) const SESSION_CACHE_LIMIT: usize = 16_384;

/// Associated data that binds a sealed session secret to its access key id.
pub(crate) fn session_secret_context(access_key_id: &str) -> String {
    format!("session-secret:{access_key_id}")
}

/// Associated data that binds a sealed access-key secret to its key id.
pub(super) fn access_key_context(access_key_id: &str) -> String {
    format!("access-key:{access_key_id}")
}

impl IamService {
    /// The caller a signed-in browser acts as, from the temporary credentials
    /// its console session holds (server side, sealed), checked as a request
    /// signed with them would be. An IAM user or the root user who signed in
    /// with a password acts as that user, as in AWS's console (the rule that
    /// IAM wants MFA with GetSessionToken credentials is for API clients);
    /// a role session acts as the role session.
    pub async fn console_caller(
        &self,
        access_key_id: &str,
        session_token: &str,
        origin: Origin,
    ) -> Result<Caller, AuthError> {
        let (claims, _) = self.live_session(session_token, access_key_id)?;
        let mut caller = session_caller(&claims, origin)?;
        match claims.kind {
            SessionKind::UserSession => {
                let user = self.store.get_principal_by_id(&claims.pid).await.map_err(AuthError::Backend)?;
                caller.kind = CallerKind::User(user);
            }
            SessionKind::RootSession => caller.kind = CallerKind::Root,
            SessionKind::AssumedRole | SessionKind::FederatedUser => {}
        }
        Ok(caller)
    }

    /// Temporary credentials presented whole (the federation endpoint's
    /// `Session`): the token verifies, is current, goes with the key id, and
    /// the secret is the one sealed in it.
    pub fn verify_temporary_credentials(
        &self,
        access_key_id: &str,
        secret: &str,
        token: &str,
    ) -> Result<std::sync::Arc<SessionClaims>, AuthError> {
        let (claims, sealed) = self.live_session(token, access_key_id)?;
        if !crate::crypto::constant_time_eq(sealed.as_bytes(), secret.as_bytes()) {
            return Err(AuthError::SignatureDoesNotMatch("The secret does not match the session.".into()));
        }
        Ok(claims)
    }
}
