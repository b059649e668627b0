//! Password sign-in for IAM users and the root user (`/signin`), and AWS's
//! console federation (`/federation`: a sign-in token for temporary
//! credentials, redeemed once), as use cases. The web layer reads forms and
//! renders what these return.
use super::{ConsoleError, ConsoleSession, Opened, Sessions, SignInMethod, Throttle};
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, RefusalCode};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey};
use crate::domain::SessionKind;
use crate::iam::{IamService, SignInError};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use crate::sts::Sts;
use serde_json::json;
use std::sync::Arc;

/// Sign-in tokens are good for one use within this time (AWS: 15 minutes).
const SIGNIN_TOKEN_SECONDS: i64 = 900;
/// A federated console session lasts at most this long (AWS's default and maximum).
const FEDERATION_MAX_SECONDS: i64 = 43_200;
const FEDERATION_MIN_SECONDS: i64 = 900;

pub struct PasswordSignIn {
    /// Checks passwords and MFA codes, and the credentials behind a federation sign-in.
    pub iam: Arc<IamService>,
    /// Issues the console session's credentials.
    pub sts: Arc<Sts>,
    /// Seals sign-in tokens.
    pub master: MasterKey,
    pub clock: SharedClock,
    pub store: Store,
    pub sessions: Sessions,
    pub throttle: Throttle,
    pub metrics: Metrics,
}

/// What `/signin` reads from its form and cookies.
pub struct SignInForm<'a> {
    /// An account id or alias; empty for the root user (by email).
    pub account: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub mfa: &'a str,
    pub address: &'a str,
    pub old_session: Option<&'a str>,
}

pub enum SignInOutcome {
    /// The form again, with the reason the user may see.
    Retry(String),
    Opened(Opened),
}

/// What `getSigninToken` was given: the temporary credentials.
pub struct PresentedSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("SessionDuration must be between 900 and 43200 seconds.")]
    Duration,
    #[error("The session credentials are not valid.")]
    InvalidCredentials,
    #[error("Only role and federated-user credentials can sign in to the console.")]
    NotARoleSession,
    #[error("This sign-in link has expired or was already used.")]
    LinkNotValid,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordSignInError {
    #[error("too many failed sign-ins")]
    Throttled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ConsoleError> for PasswordSignInError {
    fn from(e: ConsoleError) -> Self {
        match e {
            ConsoleError::Store(e) => PasswordSignInError::Store(e),
            ConsoleError::Corrupt => PasswordSignInError::Internal(e.to_string()),
        }
    }
}

impl PasswordSignIn {
    pub async fn sign_in(
        &self,
        form: SignInForm<'_>,
        audit: &mut dyn FlowAudit,
    ) -> Result<SignInOutcome, PasswordSignInError> {
        let now = self.clock.now().timestamp();
        let throttle_key = format!("iam:{}:{}", form.account, form.username);
        let Some(attempt) = self.throttle.attempt(&throttle_key, form.address, now).await? else {
            return Err(PasswordSignInError::Throttled);
        };
        let identity = match self
            .iam
            .console_sign_in(form.account, form.username, form.password, Some(form.mfa))
            .await
        {
            Ok(identity) => identity,
            Err(SignInError::Iam(e)) => return Err(PasswordSignInError::Internal(e.to_string())),
            Err(e) => {
                if !matches!(e, SignInError::MfaRequired) {
                    self.throttle.record_failure(&attempt).await?;
                }
                let reason = match &e {
                    SignInError::Refused(why) => *why,
                    SignInError::MfaRequired => "mfa-required",
                    _ => "reset-required",
                };
                self.metrics.signins.with_label_values(&["password", "refused"]).inc();
                let details = json!({ "reason": reason, "account": form.account, "rootSignIn": form.account.is_empty() });
                audit.record(FlowEvent::refused(
                    FlowEventName::ConsoleLogin,
                    Some(form.username),
                    RefusalCode::FailedAuthentication,
                    e.to_string(),
                    details,
                ));
                return Ok(SignInOutcome::Retry(e.to_string()));
            }
        };
        self.throttle.record_success(&attempt).await?;
        let (arn, issued) = self
            .sts
            .console_credentials(&identity)
            .map_err(|e| PasswordSignInError::Internal(e.to_string()))?;
        let root = identity.user.is_none();
        let session = ConsoleSession {
            user: identity
                .user
                .as_ref()
                .map(|u| u.name.clone())
                .or(identity.root_email.clone())
                .unwrap_or_default(),
            method: if root { SignInMethod::Root } else { SignInMethod::IamUser },
            account_id: identity.account_id,
            account_alias: identity.account_alias,
            role_arn: None,
            arn,
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret,
            session_token: issued.token,
            expiration: issued.expiration,
            root_without_mfa: root && identity.no_mfa_device,
            claims: None,
            first_use: None,
        };
        let opened =
            self.sessions.open_console(session, None, form.old_session, audit, &self.metrics).await?;
        Ok(SignInOutcome::Opened(opened))
    }

    /// `getSigninToken`: a one-use token for a console session on these
    /// temporary credentials, for at most `duration` seconds (default 12 h).
    pub async fn signin_token(
        &self,
        presented: PresentedSession,
        duration: Option<&str>,
    ) -> Result<String, FederationError> {
        let duration = match duration {
            None => FEDERATION_MAX_SECONDS,
            Some(d) => d
                .parse::<i64>()
                .ok()
                .filter(|n| (FEDERATION_MIN_SECONDS..=FEDERATION_MAX_SECONDS).contains(n))
                .ok_or(FederationError::Duration)?,
        };
        let claims = self
            .iam
            .verify_temporary_credentials(
                &presented.access_key_id,
                &presented.secret_access_key,
                &presented.session_token,
            )
            .map_err(|_| FederationError::InvalidCredentials)?;
        if !matches!(claims.kind, SessionKind::AssumedRole | SessionKind::FederatedUser) {
            return Err(FederationError::NotARoleSession);
        }
        let now = self.clock.now().timestamp();
        let alias = self.store.account_alias(&claims.acct).await?;
        let session = ConsoleSession {
            user: claims.name.clone(),
            method: SignInMethod::Federation,
            account_id: claims.acct.clone(),
            account_alias: alias,
            role_arn: None,
            arn: claims.arn.clone(),
            access_key_id: presented.access_key_id,
            secret_access_key: presented.secret_access_key,
            session_token: presented.session_token,
            expiration: claims.exp.min(now + duration),
            root_without_mfa: false,
            claims: None,
            first_use: None,
        };
        let token = crypto::random_token(48);
        let hash = crypto::sha256_hex(token.as_bytes());
        let sealed = self
            .master
            .seal_json(&session, &format!("signin-token:{hash}"))
            .map_err(|e| FederationError::Internal(e.to_string()))?;
        self.store.put_signin_token(&hash, &sealed, now + SIGNIN_TOKEN_SECONDS).await?;
        Ok(token)
    }

    /// `login`: redeems a sign-in token, once, for a console session.
    pub async fn redeem(
        &self,
        token: &str,
        relay: Option<String>,
        old_session: Option<&str>,
        audit: &mut dyn FlowAudit,
    ) -> Result<Opened, FederationError> {
        if token.is_empty() || token.len() > 256 {
            return Err(FederationError::LinkNotValid);
        }
        let hash = crypto::sha256_hex(token.as_bytes());
        let now = self.clock.now().timestamp();
        let sealed = self.store.take_signin_token(&hash, now).await?.ok_or(FederationError::LinkNotValid)?;
        let session: ConsoleSession = self
            .master
            .open_json(&sealed, &format!("signin-token:{hash}"))
            .map_err(|_| FederationError::LinkNotValid)?;
        if session.expiration <= now {
            return Err(FederationError::LinkNotValid);
        }
        match self.sessions.open_console(session, relay, old_session, audit, &self.metrics).await {
            Ok(opened) => Ok(opened),
            Err(ConsoleError::Store(e)) => Err(e.into()),
            Err(e) => Err(FederationError::Internal(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::FlowEvent;
    use crate::clock::FixedClock;
    use crate::crypto::{generate_token_key_pem, TokenKeys};
    use crate::domain::{PublicUrl, SESSION_AUDIENCE};
    use crate::sts::CredentialIssuer;

    async fn sign_in_case() -> (PasswordSignIn, crate::iam::AccountCreated, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()), 2).await.unwrap();
        let clock: SharedClock =
            Arc::new(FixedClock::at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()));
        let master = MasterKey::from_bytes(&MasterKey::generate_bytes()).unwrap();
        let tokens = TokenKeys::from_pems(
            vec![("k1".into(), generate_token_key_pem().unwrap())],
            "k1",
            SESSION_AUDIENCE,
        )
        .unwrap();
        let url = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
        let tokens = Arc::new(crate::crypto::Shared::new(tokens));
        let iam = Arc::new(IamService::new(
            store.clone(),
            master.clone(),
            tokens.clone(),
            clock.clone(),
            "us-east-1".into(),
        ));
        let created = iam.create_account("111122223333", "admin").await.unwrap();
        let issuer = CredentialIssuer { master: master.clone(), tokens, clock: clock.clone() };
        let sts = Sts::new(iam.clone(), store.clone(), issuer, &url, clock.clone(), 0);
        let signin = PasswordSignIn {
            iam,
            sts: Arc::new(sts),
            master: master.clone(),
            clock: clock.clone(),
            store: store.clone(),
            sessions: Sessions::new(store.clone(), master, clock),
            throttle: Throttle::new(store, 2, 20, 300),
            metrics: Metrics::new().unwrap(),
        };
        (signin, created, dir)
    }

    fn root<'a>(email: &'a str, password: &'a str) -> SignInForm<'a> {
        SignInForm {
            account: "",
            username: email,
            password,
            mfa: "",
            address: "192.0.2.9",
            old_session: None,
        }
    }

    #[tokio::test]
    async fn the_root_user_signs_in_and_wrong_passwords_are_throttled() {
        let (signin, created, _dir) = sign_in_case().await;
        let mut events: Vec<FlowEvent> = Vec::new();
        let opened =
            signin.sign_in(root(&created.root_email, &created.root_password), &mut events).await.unwrap();
        let SignInOutcome::Opened(opened) = opened else { panic!("not opened") };
        assert_eq!(opened.then, "/console");
        let session = signin.sessions.load(&opened.cookie).await.unwrap();
        assert!(
            matches!(session, Some(super::super::WebSession::Console(s)) if s.method == SignInMethod::Root)
        );
        assert_eq!(events[0].details["rootSignIn"], true);
        assert_eq!(events[0].principal.as_ref().map(|p| p.kind), Some("Root"));

        for _ in 0..2 {
            let retry = signin.sign_in(root(&created.root_email, "wrong"), &mut events).await.unwrap();
            assert!(matches!(retry, SignInOutcome::Retry(_)));
        }
        let throttled = signin.sign_in(root(&created.root_email, &created.root_password), &mut events).await;
        assert!(matches!(throttled, Err(PasswordSignInError::Throttled)));
        assert_eq!(events.iter().filter(|e| e.refusal.is_some()).count(), 2);
    }
}
