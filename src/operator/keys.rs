//! The signing keys' rollover (keys.rs) as actions: list, publish, activate, retire.
use super::{OperatorApi, Output};
use crate::iam::{Caller, IamError};
use crate::keys::{KeyPurpose, KeyRingError};
use crate::query::{text, Member, Node, Params};

impl From<KeyRingError> for IamError {
    fn from(e: KeyRingError) -> Self {
        match e {
            KeyRingError::WrongState(why) => IamError::InvalidInput(why),
            KeyRingError::Store(e) => IamError::Store(e),
            other => IamError::Internal(other.to_string()),
        }
    }
}

impl OperatorApi {
    pub(super) async fn list_keys(&self, caller: &Caller) -> Output {
        self.allow(caller, "ListSigningKeys").await?;
        let keys = self.keys.list().await?;
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

    pub(super) async fn publish_key(&self, caller: &Caller, p: &Params) -> Output {
        self.allow(caller, "PublishSigningKey").await?;
        let purpose = p.required("Purpose")?;
        let purpose = KeyPurpose::parse(purpose)
            .ok_or_else(|| IamError::InvalidInput(format!("Purpose `{purpose}` must be token or idp")))?;
        let kid = self.keys.publish(purpose, self.clock.now().timestamp()).await?;
        Ok(Some(vec![text("KeyId", kid)]))
    }

    /// `ActivateSigningKey` or `RetireSigningKey` of the key `KeyId`.
    pub(super) async fn key_step(&self, caller: &Caller, p: &Params, action: &str) -> Output {
        self.allow(caller, action).await?;
        let kid = p.required_string("KeyId", 1, 128)?;
        let now = self.clock.now().timestamp();
        if action == "ActivateSigningKey" {
            self.keys.activate(kid, now).await?;
        } else {
            self.keys.retire(kid, now).await?;
        }
        Ok(None)
    }
}
