//! The IAM service: state shared by every action, account creation, and the
//! authorization of a caller's request.
use super::authn::{access_key_context, Caller, CallerKind, SESSION_CACHE_LIMIT};
use super::policy::{self, NamedPolicy, Policy, PolicyKind, PolicySet, RequestContext};
use super::{builtin, IamError};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey, Shared, TokenKeys};
use crate::domain::{
    AccessKey, Account, AccountId, EntityKind, Principal, SessionClaims, SessionKind,
    ACCESS_KEY_PREFIX_LONG_TERM,
};
use crate::memo::Memo;
use crate::store::{Store, StoreError};
use chrono::SecondsFormat;
use std::sync::Arc;

pub struct IamService {
    pub(super) store: Store,
    pub(super) master: MasterKey,
    /// The session-token keys, replaced when a key rolls over (keys.rs).
    pub(super) tokens: Arc<Shared<TokenKeys>>,
    pub(super) clock: SharedClock,
    pub(super) region: String,
    policy_cache: Memo<(bool, String), Policy>,
    /// Session tokens whose signature verified, by SHA-256 of the token.
    pub(super) session_cache: Memo<[u8; 32], SessionClaims>,
}

/// What `idbroker init` prints (its `Debug` leaves the secrets out).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountCreated {
    pub account_id: AccountId,
    pub user_name: String,
    pub arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub root_email: String,
    pub root_password: String,
}

impl std::fmt::Debug for AccountCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCreated")
            .field("account_id", &self.account_id)
            .field("user_name", &self.user_name)
            .field("access_key_id", &self.access_key_id)
            .field("root_email", &self.root_email)
            .finish_non_exhaustive()
    }
}

/// Parsed policies bearing on one caller.
pub(crate) struct CallerPolicies {
    pub identity: Vec<(String, Arc<Policy>)>,
    pub boundary: Option<(String, Arc<Policy>)>,
}

const POLICY_CACHE_LIMIT: usize = 4096;

impl IamService {
    pub fn new(
        store: Store,
        master: MasterKey,
        tokens: Arc<Shared<TokenKeys>>,
        clock: SharedClock,
        region: String,
    ) -> Self {
        IamService {
            store,
            master,
            tokens,
            clock,
            region,
            policy_cache: Memo::new(POLICY_CACHE_LIMIT),
            session_cache: Memo::new(SESSION_CACHE_LIMIT),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Parses a policy document, reusing an earlier parse of the same text.
    pub(crate) fn parse_policy(&self, text: &str, kind: PolicyKind) -> Result<Arc<Policy>, IamError> {
        let key = (kind == PolicyKind::Resource, text.to_owned());
        Ok(self.policy_cache.get_or_try(key, || Policy::parse(text, kind))?)
    }

    /// The document of a managed policy: built-in or the default version.
    pub(crate) async fn managed_policy_document(&self, arn: &str) -> Result<String, IamError> {
        match builtin::find(arn) {
            Some(b) => Ok(b.document.to_owned()),
            None => Ok(self.store.default_policy_document(arn).await?),
        }
    }

    async fn push_policies_of(
        &self,
        p: &Principal,
        out: &mut Vec<(String, Arc<Policy>)>,
    ) -> Result<(), IamError> {
        for (name, doc) in self.store.inline_policies(&p.id).await? {
            out.push((format!("{}/{name}", p.arn), self.parse_policy(&doc, PolicyKind::Identity)?));
        }
        for arn in self.store.attached_policies(&p.id).await? {
            let doc = self.managed_policy_document(&arn).await?;
            out.push((arn, self.parse_policy(&doc, PolicyKind::Identity)?));
        }
        Ok(())
    }

    /// Identity policies of a user or role (a user's groups included) and its boundary.
    pub(crate) async fn policies_of(&self, p: &Principal) -> Result<CallerPolicies, IamError> {
        let mut identity = Vec::new();
        self.push_policies_of(p, &mut identity).await?;
        if p.kind == EntityKind::User {
            for g in self.store.groups_of_user(&p.id).await? {
                self.push_policies_of(&g, &mut identity).await?;
            }
        }
        let boundary = match &p.permissions_boundary {
            Some(arn) => {
                let doc = self.managed_policy_document(arn).await?;
                Some((arn.clone(), self.parse_policy(&doc, PolicyKind::Identity)?))
            }
            None => None,
        };
        Ok(CallerPolicies { identity, boundary })
    }

    /// The request context AWS builds for a caller.
    pub(crate) async fn context_for(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
    ) -> Result<RequestContext, IamError> {
        let mut ctx = RequestContext::new(action, resource);
        let now = self.clock.now();
        ctx.set("aws:CurrentTime", now.to_rfc3339_opts(SecondsFormat::Secs, true));
        ctx.set("aws:EpochTime", now.timestamp().to_string());
        ctx.set("aws:PrincipalAccount", caller.account_id.clone());
        ctx.set("aws:PrincipalArn", caller.arn.clone());
        ctx.set("aws:userid", caller.user_id.clone());
        ctx.set("aws:SecureTransport", caller.secure_transport.to_string());
        ctx.set("aws:RequestedRegion", self.region.clone());
        if let Some(ip) = &caller.source_ip {
            ctx.set("aws:SourceIp", ip.clone());
        }
        if let Some(ua) = &caller.user_agent {
            ctx.set("aws:UserAgent", ua.clone());
        }
        match &caller.kind {
            CallerKind::Root => ctx.set("aws:PrincipalType", "Account"),
            CallerKind::User(u) => {
                ctx.set("aws:PrincipalType", "User");
                ctx.set("aws:username", u.name.clone());
                self.set_principal_tags(&mut ctx, &u.id).await?;
            }
            CallerKind::Session(s) => {
                let iat = chrono::DateTime::from_timestamp(s.iat, 0).unwrap_or_default();
                ctx.set("aws:TokenIssueTime", iat.to_rfc3339_opts(SecondsFormat::Secs, true));
                ctx.set("aws:MultiFactorAuthPresent", s.mfa.to_string());
                if let Some(src) = &s.src {
                    ctx.set("aws:SourceIdentity", src.clone());
                }
                match s.kind {
                    SessionKind::AssumedRole => {
                        ctx.set("aws:PrincipalType", "AssumedRole");
                        // Policies see the role's ARN as the principal ARN.
                        if let Some(role_arn) = role_arn_of_session(&s.arn) {
                            ctx.set("aws:PrincipalArn", role_arn);
                        }
                        self.set_principal_tags(&mut ctx, &s.pid).await?;
                    }
                    SessionKind::FederatedUser => ctx.set("aws:PrincipalType", "FederatedUser"),
                    SessionKind::UserSession => {
                        let user = self.store.get_principal_by_id(&s.pid).await?;
                        ctx.set("aws:PrincipalType", "User");
                        ctx.set("aws:username", user.name.clone());
                        self.set_principal_tags(&mut ctx, &user.id).await?;
                    }
                    SessionKind::RootSession => ctx.set("aws:PrincipalType", "Account"),
                }
                // Session tags override the principal's tags of the same key.
                for (k, v) in &s.tags {
                    ctx.set(&format!("aws:PrincipalTag/{k}"), v.clone());
                }
            }
        }
        Ok(ctx)
    }

    async fn set_principal_tags(&self, ctx: &mut RequestContext, principal_id: &str) -> Result<(), IamError> {
        for t in self.store.list_tags(principal_id).await? {
            ctx.set(&format!("aws:PrincipalTag/{}", t.key), t.value);
        }
        Ok(())
    }

    /// Session policies of temporary credentials: the inline policy and the
    /// managed ones named when the session was made.
    pub(crate) async fn session_policies(
        &self,
        s: &SessionClaims,
    ) -> Result<Vec<(String, Arc<Policy>)>, IamError> {
        let mut out = Vec::new();
        if let Some(doc) = &s.pol {
            out.push(("session-policy".to_owned(), self.parse_policy(doc, PolicyKind::Identity)?));
        }
        for arn in &s.parns {
            let doc = self.managed_policy_document(arn).await?;
            out.push((arn.clone(), self.parse_policy(&doc, PolicyKind::Identity)?));
        }
        Ok(out)
    }

    /// Decides whether `caller` may perform `action` on `resource`. The root user
    /// may do anything in its own account; nothing crosses accounts. Temporary
    /// credentials get what their principal's policies allow, limited by the
    /// session policies; IAM itself takes no federated-user credentials, and
    /// GetSessionToken credentials only with MFA, as on AWS.
    pub(crate) async fn authorize(&self, caller: &Caller, ctx: &RequestContext) -> Result<(), IamError> {
        let denied = |why: &str| Err(self.access_denied(caller, ctx, why, false, &[]));
        let is_iam = ctx.action().starts_with("iam:");
        let (principal, session) = match &caller.kind {
            CallerKind::Root => return Ok(()),
            CallerKind::User(u) => (u.clone(), Vec::new()),
            CallerKind::Session(s) => {
                match s.kind {
                    SessionKind::FederatedUser if is_iam => {
                        return denied("because IAM does not accept GetFederationToken credentials")
                    }
                    SessionKind::UserSession | SessionKind::RootSession if is_iam && !s.mfa => {
                        return denied("because IAM needs MFA with GetSessionToken credentials")
                    }
                    SessionKind::RootSession => return Ok(()),
                    _ => {}
                }
                let principal = match self.store.get_principal_by_id(&s.pid).await {
                    Ok(p) => p,
                    Err(StoreError::NotFound(_)) => {
                        return denied("because the session's principal no longer exists")
                    }
                    Err(e) => return Err(e.into()),
                };
                let session = self.session_policies(s).await?;
                if s.kind == SessionKind::FederatedUser && session.is_empty() {
                    // GetFederationToken without a session policy grants nothing.
                    return denied("because the federation token has no session policy");
                }
                (principal, session)
            }
        };
        let policies = self.policies_of(&principal).await?;
        let set = PolicySet {
            identity: policies.identity.iter().map(|(id, p)| NamedPolicy { id, policy: p }).collect(),
            boundary: policies.boundary.as_ref().map(|(id, p)| NamedPolicy { id, policy: p }),
            session: session.iter().map(|(id, p)| NamedPolicy { id, policy: p }).collect(),
            ..Default::default()
        };
        let evaluation = policy::evaluate(&set, ctx);
        if evaluation.allowed() {
            return Ok(());
        }
        let explicit = evaluation.decision == policy::Decision::ExplicitDeny;
        let why = match evaluation.decision {
            policy::Decision::ExplicitDeny => "with an explicit deny in an identity-based policy",
            policy::Decision::ImplicitDeny(policy::DenyReason::Boundary) => {
                "because no permissions boundary allows the action"
            }
            policy::Decision::ImplicitDeny(policy::DenyReason::SessionPolicy) => {
                "because no session policy allows the action"
            }
            _ => "because no identity-based policy allows the action",
        };
        Err(self.access_denied(caller, ctx, why, explicit, &evaluation.deciding))
    }

    /// The user the caller acts as: `Some` for IAM users (also in their
    /// GetSessionToken sessions), `None` for the root user; role and federated
    /// sessions have none, so actions that default to the caller need a name.
    pub(crate) async fn caller_user(&self, caller: &Caller) -> Result<Option<Principal>, IamError> {
        match &caller.kind {
            CallerKind::Root => Ok(None),
            CallerKind::User(u) => Ok(Some(u.clone())),
            CallerKind::Session(s) => match s.kind {
                SessionKind::UserSession => Ok(Some(self.store.get_principal_by_id(&s.pid).await?)),
                SessionKind::RootSession => Ok(None),
                _ => Err(IamError::Validation(
                    "Must specify userName when calling with non-User credentials".into(),
                )),
            },
        }
    }

    /// Creates an account with its root user and an administrator user holding
    /// one access key. Fails if the account exists.
    pub async fn create_account(
        &self,
        account_id: &str,
        admin_user: &str,
    ) -> Result<AccountCreated, IamError> {
        let account_id = AccountId::parse(account_id)?;
        crate::domain::validate_name(crate::domain::NameRule::USER, admin_user)?;
        let now = self.now();
        let root_password = crypto::random_password();
        let root_email = format!("root@{account_id}.idbroker.local");
        let account = Account {
            account_id: account_id.clone(),
            alias: None,
            root_email: root_email.clone(),
            root_password_hash: crypto::hash_password(&root_password).0,
            password_policy: None,
            created_at: now,
        };
        let id = crypto::unique_id(EntityKind::User.id_prefix());
        let admin = Principal::new(id, &account_id, EntityKind::User, admin_user, "/", now);
        let access_key_id = crypto::access_key_id(ACCESS_KEY_PREFIX_LONG_TERM);
        let secret = crypto::secret_access_key();
        let key = AccessKey {
            access_key_id: access_key_id.clone(),
            account_id: account_id.clone(),
            user_id: Some(admin.id.clone()),
            sealed_secret: self.master.seal(secret.as_bytes(), &access_key_context(&access_key_id)),
            active: true,
            created_at: now,
            last_used_at: None,
            last_used_service: None,
            last_used_region: None,
        };
        match self.store.create_account(&account, &admin, builtin::ADMINISTRATOR_ACCESS, &key).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(IamError::EntityAlreadyExists(format!("Account {account_id} already exists.")))
            }
            Err(e) => return Err(e.into()),
        }
        Ok(AccountCreated {
            account_id,
            user_name: admin.name,
            arn: admin.arn,
            access_key_id,
            secret_access_key: secret,
            root_email,
            root_password,
        })
    }
}

/// `arn:aws:iam::ACCT:role/NAME` from `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`.
pub(crate) fn role_arn_of_session(session_arn: &str) -> Option<String> {
    crate::domain::Arn::role_of_session(session_arn)
}

impl IamService {
    /// AWS's AccessDenied message for a refused request, carrying an encoded
    /// authorization message: the decision's details, sealed for the
    /// caller's account, which DecodeAuthorizationMessage opens for callers
    /// allowed `sts:DecodeAuthorizationMessage` in that account.
    fn access_denied(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        why: &str,
        explicit_deny: bool,
        deciding: &[policy::MatchedStatement<'_>],
    ) -> IamError {
        let action = original_case_action(ctx.action());
        let statements: Vec<serde_json::Value> = deciding
            .iter()
            .map(|m| {
                serde_json::json!({
                    "statementId": m.sid,
                    "effect": if m.effect_allow { "ALLOW" } else { "DENY" },
                    "policy": m.policy_id,
                    "statementIndex": m.statement,
                })
            })
            .collect();
        let conditions: Vec<serde_json::Value> = ctx
            .entries()
            .map(|(key, values)| {
                let values: Vec<serde_json::Value> =
                    values.iter().map(|v| serde_json::json!({ "value": v })).collect();
                serde_json::json!({ "key": key, "values": { "items": values } })
            })
            .collect();
        let decoded = serde_json::json!({
            "allowed": false,
            "explicitDeny": explicit_deny,
            "matchedStatements": { "items": statements },
            "failures": { "items": [] },
            "context": {
                "principal": { "id": caller.user_id, "arn": caller.arn },
                "action": action,
                "resource": ctx.resource,
                "conditions": { "items": conditions },
            },
        });
        let encoded = self
            .master
            .seal(decoded.to_string().as_bytes(), &authorization_message_context(&caller.account_id));
        IamError::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {} {why}. Encoded authorization failure message: {encoded}",
            caller.arn, ctx.resource
        ))
    }

    /// The JSON of an encoded authorization message made for `account`.
    pub(crate) fn open_authorization_message(&self, account: &str, encoded: &str) -> Option<String> {
        let json = self.master.open(encoded.trim(), &authorization_message_context(account)).ok()?;
        String::from_utf8(json).ok()
    }
}

fn authorization_message_context(account: &str) -> String {
    format!("authorization-message:{account}")
}

/// Actions are matched lower-cased; messages show them as AWS spells them.
fn original_case_action(lower: &str) -> String {
    match lower.split_once(':') {
        Some((svc, act)) => format!("{svc}:{}", super::actions::canonical_action_name(act).unwrap_or(act)),
        None => lower.to_owned(),
    }
}
