//! Sign-in through a SAML IdP at idbroker's SP, as one use case: the
//! SP-initiated request, the ACS (the Response verified; answering a request
//! this browser made, or unsolicited where its provider allows it; its use
//! recorded once, in the commit of the session it opens), and the choice
//! among the roles it offers. The web layer reads forms and cookies and
//! renders what these return.
use super::{ConsoleError, ConsoleSession, Opened, PendingRoles, Sessions, SignInMethod, WebSession};
use crate::audit::{FlowAudit, FlowEvent, FlowEventName, RefusalCode};
use crate::clock::SharedClock;
use crate::crypto;
use crate::domain::Arn;
use crate::idp::IdentityProvider;
use crate::metrics::Metrics;
use crate::saml::ServiceProviderUrls;
use crate::store::{Store, StoreError};
use crate::sts::{FirstUseRecorded, RoleSession, SamlClaims, SessionAsk, Sts, StsError};
use base64::Engine;
use serde_json::json;
use std::sync::Arc;

/// A pending AuthnRequest is good for this long.
pub const REQUEST_SECONDS: i64 = 600;

pub struct SamlSignIn {
    /// Verifies Responses, decides trust and issues the role's credentials.
    pub sts: Arc<Sts>,
    pub clock: SharedClock,
    pub store: Store,
    pub sessions: Sessions,
    /// The built-in IdP: the default provider, and the key requests are signed with.
    pub idp: Arc<IdentityProvider>,
    pub sp: ServiceProviderUrls,
    pub metrics: Metrics,
    /// Refused responses, kept for the admin console's debugger.
    pub kept: Arc<super::KeptAssertions>,
}

/// Where to send the browser for an SP-initiated sign-in, and the random
/// value (a cookie) that binds the request to this browser.
pub struct SpRedirect {
    pub url: String,
    pub browser: String,
}

/// What the ACS reads: the form and this browser's cookies.
pub struct AcsPost<'a> {
    pub saml_response: &'a str,
    /// Already reduced to a same-origin path.
    pub relay_state: Option<String>,
    /// The cookie that bound an SP-initiated request to this browser.
    pub browser: Option<&'a str>,
    /// This browser's session cookie, replaced by the new session.
    pub old_session: Option<&'a str>,
    /// Posted to one provider's own ACS (`/saml/acs/{SAMLProviderUUID}`).
    pub provider_uuid: Option<&'a str>,
}

pub enum AcsOutcome {
    /// Signed in, but the Response offers no role usable here.
    NoRole,
    /// A console session (one role) or the role picker (several).
    Opened(Opened),
}

#[derive(Debug, thiserror::Error)]
pub enum SamlSignInError {
    #[error("no identity provider is registered under that name")]
    UnknownProvider,
    #[error("this identity provider publishes no Redirect sign-in endpoint")]
    NoRedirectEndpoint,
    /// The Response failed a check (design.md's failure codes).
    #[error("the identity provider's response was not accepted (failed check: {0})")]
    Refused(&'static str),
    #[error("that role is not offered to you")]
    NotOffered,
    #[error("the sign-in is too old to choose a role")]
    Expired,
    #[error("the role does not accept sign-ins from this identity provider")]
    RoleUnavailable,
    /// The session asked for cannot be had (a duration beyond the role's maximum).
    #[error("{0}")]
    SessionRefused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ConsoleError> for SamlSignInError {
    fn from(e: ConsoleError) -> Self {
        match e {
            ConsoleError::Store(e) => SamlSignInError::Store(e),
            ConsoleError::Corrupt => SamlSignInError::Internal(e.to_string()),
        }
    }
}

/// A refused Response, recorded with the check it failed, in the history of
/// the account whose provider refused it (when one did), with the id it is
/// kept under for the debugger.
fn refused(
    audit: &mut dyn FlowAudit,
    check: &'static str,
    detail: String,
    kept: Option<(String, Option<String>)>,
    user: Option<&str>,
) -> SamlSignInError {
    let mut details = json!({ "failedCheck": check });
    if let Some(id) = kept.as_ref().and_then(|(_, id)| id.clone()) {
        details["keptAssertion"] = json!(id);
    }
    let mut event = FlowEvent::refused(
        FlowEventName::ConsoleSAMLLogin,
        user,
        RefusalCode::InvalidIdentityToken,
        detail,
        details,
    );
    event.account_id = kept.map(|(account, _)| account);
    audit.record(event);
    SamlSignInError::Refused(check)
}

impl SamlSignIn {
    /// A response whose signature verified but that is refused all the same
    /// (replayed, unsolicited, not answering this browser's request): in the
    /// history of the account whose provider's roles it offers, under the
    /// verified NameID, and kept for the debugger.
    async fn refused_verified(
        &self,
        audit: &mut dyn FlowAudit,
        post: &AcsPost<'_>,
        accepted: &crate::sts::BrowserAssertion,
        check: &'static str,
        detail: String,
    ) -> SamlSignInError {
        let mut accounts: Vec<String> = accepted
            .providers
            .iter()
            .filter(|p| accepted.claims.roles.iter().any(|(_, arn)| *arn == p.arn))
            .map(|p| p.account_id.to_string())
            .collect();
        accounts.dedup();
        let kept = match accounts.as_slice() {
            [account] => Some((account.clone(), self.kept.keep(account, post.saml_response).await)),
            _ => None,
        };
        refused(audit, check, detail, kept, Some(&accepted.claims.name_id))
    }

    /// The account a refused response was meant for (the provider it was
    /// posted to, or the one account whose providers have its issuer), and
    /// the id it is kept under for that account's debugger.
    async fn keep_refused(&self, post: &AcsPost<'_>) -> Option<(String, Option<String>)> {
        let providers = match post.provider_uuid {
            Some(uuid) => self.store.saml_provider_by_uuid(uuid).await.ok()?.into_iter().collect(),
            None => {
                let xml = base64::engine::general_purpose::STANDARD.decode(post.saml_response.trim()).ok()?;
                let issuer = crate::saml::claimed_issuer(std::str::from_utf8(&xml).ok()?)?;
                self.store.saml_providers_by_entity_id(&issuer).await.ok()?
            }
        };
        let account = providers.first()?.account_id.to_string();
        if providers.iter().any(|p| *p.account_id != *account) {
            return None;
        }
        let id = self.kept.keep(&account, post.saml_response).await;
        Some((account, id))
    }

    /// An SP-initiated sign-in at `provider` (an ARN; the built-in IdP when
    /// `None`): a signed AuthnRequest whose id is kept, once, for this browser.
    pub async fn begin(
        &self,
        provider: Option<&str>,
        relay_state: Option<&str>,
        browser: Option<String>,
    ) -> Result<SpRedirect, SamlSignInError> {
        let now = self.clock.now();
        let (entity_id, sso_url) = match provider {
            None => (self.idp.entity_id.clone(), self.idp.sso_url.clone()),
            Some(arn) => {
                let provider = match self.store.get_saml_provider(arn).await {
                    Err(StoreError::NotFound(_)) => return Err(SamlSignInError::UnknownProvider),
                    r => r?,
                };
                let metadata = crate::saml::validate_idp_metadata(&provider.metadata, now)
                    .map_err(|_| SamlSignInError::UnknownProvider)?;
                (metadata.entity_id, metadata.redirect_sso_url.ok_or(SamlSignInError::NoRedirectEndpoint)?)
            }
        };
        let browser = browser.unwrap_or_else(|| crypto::random_token(24));
        let request_id = format!("_{}", crypto::random_token(20));
        let browser_hash = crypto::sha256_hex(browser.as_bytes());
        self.store
            .put_authn_request(&request_id, &entity_id, &browser_hash, now.timestamp() + REQUEST_SECONDS)
            .await?;
        let url = self
            .sp
            .redirect_url(&self.idp.keys().active, &sso_url, &request_id, relay_state, now)
            .map_err(|e| SamlSignInError::Internal(e.to_string()))?;
        Ok(SpRedirect { url, browser })
    }

    /// The ACS: one role opens the console, several the role picker.
    pub async fn accept(
        &self,
        post: AcsPost<'_>,
        audit: &mut dyn FlowAudit,
    ) -> Result<AcsOutcome, SamlSignInError> {
        let accepted = match self.sts.accept_browser_response(post.saml_response, post.provider_uuid).await {
            Ok(a) => a,
            Err(StsError::Iam(e)) => return Err(SamlSignInError::Internal(e.to_string())),
            Err(StsError::Internal(e)) => return Err(SamlSignInError::Internal(e)),
            Err(e) => {
                let kept = self.keep_refused(&post).await;
                return Err(refused(
                    audit,
                    e.failed_check().unwrap_or("assertion"),
                    e.to_string(),
                    kept,
                    None,
                ));
            }
        };
        let now = self.clock.now().timestamp();
        match &accepted.in_response_to {
            Some(id) => {
                // Solicited: it must answer a request this browser made, once.
                let browser = crypto::sha256_hex(post.browser.unwrap_or_default().as_bytes());
                let asked = self.store.take_authn_request(id, &browser, now).await?;
                if asked.as_deref() != Some(accepted.claims.issuer.as_str()) {
                    let detail = "the response answers no pending request of this browser".into();
                    return Err(self
                        .refused_verified(audit, &post, &accepted, "in-response-to", detail)
                        .await);
                }
            }
            None => {
                // Only the providers whose roles it offers decide: the built-in IdP
                // is a provider in every account, each with its own settings.
                let mut offering = accepted
                    .providers
                    .iter()
                    .filter(|p| accepted.claims.roles.iter().any(|(_, arn)| *arn == p.arn));
                if offering.any(|p| p.settings.require_sp_initiated) {
                    let detail = "the provider requires SP-initiated sign-in".into();
                    return Err(self.refused_verified(audit, &post, &accepted, "unsolicited", detail).await);
                }
            }
        }
        // The assertion is used up here, before anything is issued for it.
        let recorded = match self.sts.record_first_use(accepted.first_use.clone()).await {
            Ok(recorded) => recorded,
            Err(StsError::Iam(e)) => return Err(SamlSignInError::Internal(e.to_string())),
            Err(_) => {
                let detail = "Invalid SAML assertion: assertion was already used".into();
                return Err(self.refused_verified(audit, &post, &accepted, "replay", detail).await);
            }
        };
        let claims = accepted.claims;
        if claims.roles.is_empty() {
            let details = json!({ "issuer": claims.issuer });
            let message = "the assertion offers no usable role";
            audit.record(FlowEvent::refused(
                FlowEventName::ConsoleSAMLLogin,
                Some(&claims.name_id),
                RefusalCode::NoRole,
                message,
                details,
            ));
            return Ok(AcsOutcome::NoRole);
        }
        let opened = match claims.roles.as_slice() {
            [(role, _)] => {
                let role = role.clone();
                self.open_console(claims, &role, post.relay_state, post.old_session, recorded, audit).await?
            }
            _ => {
                let pending =
                    PendingRoles { claims, relay_state: post.relay_state, first_use: Some(recorded) };
                self.sessions.open_picker(pending, post.old_session).await?
            }
        };
        Ok(AcsOutcome::Opened(opened))
    }

    /// The picker's choice, or a switch to another offered role from the
    /// console, while the assertion is still valid.
    pub async fn choose(
        &self,
        cookie: &str,
        session: WebSession,
        role: &str,
        audit: &mut dyn FlowAudit,
    ) -> Result<Opened, SamlSignInError> {
        // The assertion's use was recorded at the ACS, before the session that
        // keeps its claims (and the proof) was opened.
        let (claims, relay, recorded) = match session {
            WebSession::Roles(p) => (p.claims, p.relay_state, p.first_use),
            WebSession::Console(c) => (c.claims.ok_or(SamlSignInError::NotOffered)?, None, c.first_use),
        };
        let recorded = recorded.ok_or(SamlSignInError::Expired)?;
        if !claims.roles.iter().any(|(r, _)| r == role) {
            return Err(SamlSignInError::NotOffered);
        }
        self.open_console(claims, role, relay, Some(cookie), recorded, audit).await
    }

    /// Assumes `role` with the claims (AssumeRoleWithSAML's rules) and opens a
    /// console session on it.
    async fn open_console(
        &self,
        claims: SamlClaims,
        role: &str,
        relay: Option<String>,
        old_session: Option<&str>,
        recorded: FirstUseRecorded,
        audit: &mut dyn FlowAudit,
    ) -> Result<Opened, SamlSignInError> {
        let ask = SessionAsk::default();
        let credentials =
            self.issue_role(&claims, role, &recorded, ask, FlowEventName::ConsoleLogin, audit).await?;
        let session = ConsoleSession {
            user: claims.name_id.clone(),
            method: SignInMethod::Saml,
            account_alias: self.store.account_alias(&credentials.account_id).await?,
            account_id: credentials.account_id,
            role_arn: Some(credentials.role_arn),
            arn: credentials.assumed_role_arn,
            access_key_id: credentials.access_key_id,
            secret_access_key: credentials.secret_access_key,
            session_token: credentials.session_token,
            expiration: credentials.expiration,
            root_without_mfa: false,
            claims: Some(claims),
            first_use: Some(recorded),
        };
        Ok(self.sessions.open_console(session, relay, old_session, audit, &self.metrics).await?)
    }

    /// Credentials of `role`, one the claims offer, as AssumeRoleWithSAML
    /// would give them; a refusal is recorded under `event`.
    pub async fn issue_role(
        &self,
        claims: &SamlClaims,
        role: &str,
        recorded: &FirstUseRecorded,
        ask: SessionAsk,
        event: FlowEventName,
        audit: &mut dyn FlowAudit,
    ) -> Result<RoleSession, SamlSignInError> {
        let offered = claims.roles.iter().find(|(r, _)| r == role).map(|(_, p)| p.clone());
        let provider_arn = offered.ok_or(SamlSignInError::NotOffered)?;
        let provider = self.store.get_saml_provider(&provider_arn).await?;
        let trusted = self.sts.trust_claims(&provider, claims, role, ask).await;
        match trusted.and_then(|t| self.sts.issue_for_claims(t, claims, recorded)) {
            Ok(c) => Ok(c),
            Err(StsError::Iam(e)) => Err(SamlSignInError::Internal(e.to_string())),
            Err(StsError::Internal(e)) => Err(SamlSignInError::Internal(e)),
            Err(StsError::ExpiredTokenException { .. }) => Err(SamlSignInError::Expired),
            Err(StsError::Validation(why)) => Err(SamlSignInError::SessionRefused(why)),
            Err(e) => {
                let code = match e.code().0 {
                    "ExpiredTokenException" => RefusalCode::ExpiredToken,
                    _ => RefusalCode::AccessDenied,
                };
                let details = json!({ "roleArn": role, "issuer": claims.issuer });
                audit.record(FlowEvent::refused(event, Some(&claims.name_id), code, e.to_string(), details));
                Err(SamlSignInError::RoleUnavailable)
            }
        }
    }

    /// The roles an assertion offers, grouped by account (labelled with the
    /// account's alias), for the picker.
    pub async fn offered_roles(&self, claims: &SamlClaims) -> Result<Vec<OfferedAccount>, StoreError> {
        let mut accounts: Vec<OfferedAccount> = Vec::new();
        for (role, _) in &claims.roles {
            let Some(arn) = Arn::parse(role) else { continue };
            let name = role.rsplit('/').next().unwrap_or(role).to_owned();
            match accounts.iter_mut().find(|a| a.account_id == arn.account) {
                Some(a) => a.roles.push((role.clone(), name)),
                None => {
                    let alias = self.store.account_alias(&arn.account).await?;
                    let label = match alias {
                        Some(alias) => format!("{alias} ({})", arn.account),
                        None => arn.account.clone(),
                    };
                    accounts.push(OfferedAccount {
                        account_id: arn.account,
                        label,
                        roles: vec![(role.clone(), name)],
                    });
                }
            }
        }
        Ok(accounts)
    }
}

/// One account's roles in the picker: `(role ARN, role name)`.
#[derive(Debug, serde::Serialize)]
pub struct OfferedAccount {
    pub account_id: String,
    pub label: String,
    pub roles: Vec<(String, String)>,
}
