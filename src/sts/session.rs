//! Making temporary credentials: an `ASIA` key id that carries the account, a
//! fresh secret, and a session token that carries both (the secret sealed).
use super::{Sts, StsError};
use crate::clock::SharedClock;
use crate::crypto::{self, MasterKey, Shared, TokenKeys, TOKEN_ISSUER};
use crate::domain::Principal;
use crate::domain::{
    temporary_access_key_id, AccountId, SessionClaims, SessionKind, SESSION_AUDIENCE, SESSION_TOKEN_TYPE,
};
use crate::iam::authn::session_secret_context;
use crate::query::{text, Node};
use rand::RngCore;
use std::sync::Arc;

/// Makes temporary credentials: the secret sealed with the master key into a
/// token signed with the active session-token key.
pub struct CredentialIssuer {
    pub master: MasterKey,
    /// Replaced when a key rolls over (keys.rs).
    pub tokens: Arc<Shared<TokenKeys>>,
    pub clock: SharedClock,
}

/// What the caller asked the new session to carry.
pub(super) struct SessionRequest {
    pub account: String,
    pub kind: SessionKind,
    pub principal_id: String,
    pub arn: String,
    pub name: String,
    pub duration: i64,
    pub mfa: bool,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    pub chained: bool,
}

impl SessionRequest {
    /// A session with no MFA, session policy, tags or source identity yet.
    pub fn new(
        account: &str,
        kind: SessionKind,
        principal_id: &str,
        arn: &str,
        name: &str,
        duration: i64,
    ) -> SessionRequest {
        SessionRequest {
            account: account.to_owned(),
            kind,
            principal_id: principal_id.to_owned(),
            arn: arn.to_owned(),
            name: name.to_owned(),
            duration,
            mfa: false,
            policy: None,
            policy_arns: vec![],
            tags: vec![],
            transitive_tag_keys: vec![],
            source_identity: None,
            chained: false,
        }
    }

    /// An assumed-role session of `role` named `session`.
    pub fn for_role(role: &Principal, session: &str, duration: i64) -> SessionRequest {
        let arn = crate::domain::Arn::assumed_role(&role.account_id, &role.name, session);
        SessionRequest::new(&role.account_id, SessionKind::AssumedRole, &role.id, &arn, session, duration)
    }
}

/// AWS's PackedPolicySize: how much of the packed session limit the session
/// policy, policy ARNs and tags take, in percent.
pub(super) fn packed_size(policy: &Option<String>, arns: &[String], tags: &[(String, String)]) -> String {
    let bytes = policy.as_ref().map_or(0, |p| p.len())
        + arns.iter().map(|a| a.len()).sum::<usize>()
        + tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    (bytes * 100 / 2048).to_string()
}

/// Issues a role session: its Credentials, AssumedRoleUser and PackedPolicySize
/// nodes, and the credentials themselves.
pub(super) fn issue_role_session(
    issuer: &CredentialIssuer,
    r: SessionRequest,
) -> Result<(Vec<Node>, Issued), StsError> {
    let packed = packed_size(&r.policy, &r.policy_arns, &r.tags);
    let assumed = Node::Struct(
        "AssumedRoleUser",
        vec![text("AssumedRoleId", format!("{}:{}", r.principal_id, r.name)), text("Arn", &r.arn)],
    );
    let issued = issuer.issue(r)?;
    Ok((vec![issued.credentials_node(), assumed, text("PackedPolicySize", packed)], issued))
}

/// Temporary credentials just issued.
pub struct Issued {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    pub expiration: i64,
}

impl Issued {
    pub fn credentials_node(&self) -> Node {
        Node::Struct(
            "Credentials",
            vec![
                text("AccessKeyId", &self.access_key_id),
                text("SecretAccessKey", &self.secret),
                text("SessionToken", &self.token),
                text("Expiration", crate::domain::iso_time(self.expiration)),
            ],
        )
    }
}

impl CredentialIssuer {
    pub(super) fn issue(&self, r: SessionRequest) -> Result<Issued, StsError> {
        let account = AccountId::parse(&r.account).map_err(|e| StsError::Internal(e.to_string()))?;
        let access_key_id = temporary_access_key_id(&account, rand::rngs::OsRng.next_u64());
        let secret = crypto::secret_access_key();
        let now = self.clock.now().timestamp();
        let claims = SessionClaims {
            iss: TOKEN_ISSUER.into(),
            aud: SESSION_AUDIENCE.into(),
            typ: SESSION_TOKEN_TYPE.into(),
            iat: now,
            nbf: now,
            exp: now + r.duration,
            akid: access_key_id.clone(),
            sec: self.master.seal(secret.as_bytes(), &session_secret_context(&access_key_id)),
            acct: r.account,
            kind: r.kind,
            pid: r.principal_id,
            arn: r.arn,
            name: r.name,
            mfa: r.mfa,
            pol: r.policy,
            parns: r.policy_arns,
            tags: r.tags,
            ttk: r.transitive_tag_keys,
            src: r.source_identity,
            chained: r.chained,
        };
        let token = self.tokens.get().sign(&claims).map_err(|e| StsError::Internal(e.to_string()))?;
        Ok(Issued { access_key_id, secret, token, expiration: claims.exp })
    }
}

impl Sts {
    /// Credentials for a console sign-in with a password: a session of the IAM
    /// user (or root) as GetSessionToken would give, one hour long.
    pub fn console_credentials(
        &self,
        identity: &crate::iam::ConsoleIdentity,
    ) -> Result<(String, Issued), StsError> {
        let (kind, principal_id, arn) = match &identity.user {
            Some(u) => (SessionKind::UserSession, u.id.clone(), u.arn.clone()),
            None => (
                SessionKind::RootSession,
                identity.account_id.clone(),
                crate::domain::Arn::root(&identity.account_id),
            ),
        };
        let mut request = SessionRequest::new(&identity.account_id, kind, &principal_id, &arn, "", 3600);
        request.mfa = identity.mfa_used;
        Ok((arn, self.issuer.issue(request)?))
    }
}
