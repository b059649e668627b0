//! What a session token carries: who the session is, until when, with which
//! limits, and the session's secret sealed for idbroker.
use serde::{Deserialize, Serialize};

pub const SESSION_TOKEN_TYPE: &str = "sts-session";
pub const SESSION_AUDIENCE: &str = "idbroker:sts";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// AssumeRole / AssumeRoleWithSAML.
    AssumedRole,
    /// GetFederationToken.
    FederatedUser,
    /// GetSessionToken by an IAM user.
    UserSession,
    /// GetSessionToken by the root user.
    RootSession,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    pub iss: String,
    pub aud: String,
    /// Always `sts-session`, so no other idbroker token passes for one.
    pub typ: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// The temporary access key id this token goes with.
    pub akid: String,
    /// The secret access key, sealed with the master key.
    pub sec: String,
    pub acct: String,
    pub kind: SessionKind,
    /// The role id (assumed roles), user id (user and federated sessions) or account id (root).
    pub pid: String,
    /// The caller ARN: `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, ...
    pub arn: String,
    /// Role session name, or federated user name.
    pub name: String,
    pub mfa: bool,
    /// Inline session policy.
    pub pol: Option<String>,
    /// Managed session policy ARNs.
    pub parns: Vec<String>,
    /// Session tags, and which of them pass on to chained sessions.
    pub tags: Vec<(String, String)>,
    pub ttk: Vec<String>,
    pub src: Option<String>,
    /// Made by a role session assuming another role.
    pub chained: bool,
}
