//! The deployment's own settings as Query API actions beside IAM's
//! (idbroker's names): the signing keys' rollover and the built-in IdP's
//! service providers. They belong to the deployment, not to an account, so
//! only principals of `server.operator_accounts` may use them, and only as
//! their policies allow `idbroker:<Action>`.
mod identity_providers;
mod keys;
mod service_providers;

pub use identity_providers::{ExpiringCertificate, EXPIRY_WARNING_DAYS};

/// Metadata fetched from a URL that could not be used: the last good one stays.
#[derive(Debug)]
pub struct RefreshFailure {
    /// The SP's entity id, or the SAML provider's ARN.
    pub subject: String,
    pub url: String,
    pub error: String,
}

use crate::clock::SharedClock;
use crate::domain::AccountId;
use crate::iam::{Caller, IamError, IamService};
use crate::idp::IdentityProvider;
use crate::keys::KeyRing;
use crate::query::{Node, Params};
use crate::store::Store;
use std::sync::Arc;

type Output = Result<Option<Vec<Node>>, IamError>;

/// What the operators' actions touch, and who may use them.
pub struct OperatorApi {
    pub keys: Arc<KeyRing>,
    pub idp: Arc<IdentityProvider>,
    pub store: Store,
    pub iam: Arc<IamService>,
    pub operators: Vec<AccountId>,
    pub clock: SharedClock,
    /// Fetches SP metadata registered by URL.
    pub fetcher: Arc<crate::fetch::Fetcher>,
    /// When each external provider's metadata is due to be fetched again
    /// (unix seconds, by ARN); on this node only, as every node refreshes.
    pub refresh_due: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

crate::query::action_table! {
    async fn dispatch(api: &OperatorApi, caller: &Caller, p: &Params; action) -> Output;
    unknown: |other| IamError::InvalidAction(format!("Could not find operation {other} for version 2010-05-08"));
    "ListSigningKeys" => api.list_keys(caller).await,
    "PublishSigningKey" => api.publish_key(caller, p).await,
    "ActivateSigningKey" => api.key_step(caller, p, "ActivateSigningKey").await,
    "RetireSigningKey" => api.key_step(caller, p, "RetireSigningKey").await,
    "CreateServiceProvider" => api.put_service_provider(caller, p, true).await,
    "UpdateServiceProvider" => api.put_service_provider(caller, p, false).await,
    "DeleteServiceProvider" => api.delete_service_provider(caller, p).await,
    "ListServiceProviders" => api.list_service_providers(caller).await,
}

impl OperatorApi {
    /// An action of the IAM Query API: the deployment's own (operator
    /// actions) or IAM's. The API endpoint and the admin console call this.
    pub async fn handle_iam(&self, caller: &Caller, action: &str, p: &Params) -> Output {
        if ACTIONS.contains(&action) {
            self.handle(caller, action, p).await
        } else {
            crate::iam::handle(&self.iam, caller, action, p).await
        }
    }

    pub async fn handle(&self, caller: &Caller, action: &str, p: &Params) -> Output {
        dispatch(self, caller, p, action).await
    }

    /// Only an operator account's principal, as its policies allow.
    async fn allow(&self, caller: &Caller, action: &str) -> Result<(), IamError> {
        if !self.operators.contains(&caller.account_id) {
            return Err(IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: idbroker:{action}: this belongs to the deployment, and this account is not one of its operator accounts",
                caller.arn
            )));
        }
        let ctx = self.iam.context_for(caller, &format!("idbroker:{action}"), "*").await?;
        self.iam.authorize(caller, &ctx).await
    }
}
