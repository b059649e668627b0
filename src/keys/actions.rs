//! The key rollover's steps as Query API actions beside IAM's (idbroker's
//! own names; the `idbroker keys` commands do the same). Signing keys belong
//! to the deployment, not to an account, so only principals of
//! `server.operator_accounts` may use them, and only as their policies
//! allow `idbroker:<Action>`.
use super::{KeyPurpose, KeyRing, KeyRingError};
use crate::clock::SharedClock;
use crate::domain::AccountId;
use crate::iam::{Caller, IamError, IamService};
use crate::query::{text, Member, Node, Params};
use std::sync::Arc;

type Output = Result<Option<Vec<Node>>, IamError>;

/// The signing keys' API: the key ring, IAM's policies to authorize with,
/// and the accounts allowed to ask.
pub struct KeyAdmin {
    pub ring: Arc<KeyRing>,
    pub iam: Arc<IamService>,
    pub operators: Vec<AccountId>,
    pub clock: SharedClock,
}

crate::query::action_table! {
    async fn dispatch(admin: &KeyAdmin, caller: &Caller, p: &Params; action) -> Output;
    unknown: |other| IamError::InvalidAction(format!("Could not find operation {other} for version 2010-05-08"));
    "ListSigningKeys" => admin.list(caller).await,
    "PublishSigningKey" => admin.publish(caller, p).await,
    "ActivateSigningKey" => admin.step(caller, p, "ActivateSigningKey").await,
    "RetireSigningKey" => admin.step(caller, p, "RetireSigningKey").await,
}

impl From<KeyRingError> for IamError {
    fn from(e: KeyRingError) -> Self {
        match e {
            KeyRingError::WrongState(why) => IamError::InvalidInput(why),
            KeyRingError::Store(e) => IamError::Store(e),
            other => IamError::Internal(other.to_string()),
        }
    }
}

impl KeyAdmin {
    pub async fn handle(&self, caller: &Caller, action: &str, p: &Params) -> Output {
        dispatch(self, caller, p, action).await
    }

    async fn allow(&self, caller: &Caller, action: &str) -> Result<(), IamError> {
        if !self.operators.contains(&caller.account_id) {
            return Err(IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: idbroker:{action}: signing keys belong to the deployment, and this account is not one of its operator accounts",
                caller.arn
            )));
        }
        let ctx = self.iam.context_for(caller, &format!("idbroker:{action}"), "*").await?;
        self.iam.authorize(caller, &ctx).await
    }

    async fn list(&self, caller: &Caller) -> Output {
        self.allow(caller, "ListSigningKeys").await?;
        let keys = self.ring.list().await?;
        let members = keys
            .into_iter()
            .map(|k| {
                Member::Struct(vec![
                    text("KeyId", k.kid),
                    text("Purpose", k.purpose),
                    text("State", k.state),
                    text("CreateDate", crate::domain::iso_time(k.created_at)),
                ])
            })
            .collect();
        Ok(Some(vec![Node::List("SigningKeys", members)]))
    }

    async fn publish(&self, caller: &Caller, p: &Params) -> Output {
        self.allow(caller, "PublishSigningKey").await?;
        let purpose = p.required("Purpose")?;
        let purpose = KeyPurpose::parse(purpose)
            .ok_or_else(|| IamError::InvalidInput(format!("Purpose `{purpose}` must be token or idp")))?;
        let kid = self.ring.publish(purpose, self.clock.now().timestamp()).await?;
        Ok(Some(vec![text("KeyId", kid)]))
    }

    /// `ActivateSigningKey` or `RetireSigningKey` of the key `KeyId`.
    async fn step(&self, caller: &Caller, p: &Params, action: &str) -> Output {
        self.allow(caller, action).await?;
        let kid = p.required_string("KeyId", 1, 128)?;
        let now = self.clock.now().timestamp();
        if action == "ActivateSigningKey" {
            self.ring.activate(kid, now).await?;
        } else {
            self.ring.retire(kid, now).await?;
        }
        Ok(None)
    }
}
