//! Look-ups that several action files share: kept here, so that the action
//! files depend on this leaf and not on each other.
use super::Ctx;
use crate::domain::SamlProvider;
use crate::iam::{builtin, IamError};
use crate::store::StoreError;

/// A managed policy that may be attached in the caller's account: built-in, or
/// a customer managed policy of that account. Returns its name.
pub(super) async fn attachable(c: &Ctx<'_>, arn: &str) -> Result<String, IamError> {
    if let Some(b) = builtin::find(arn) {
        return Ok(b.name.to_owned());
    }
    let not_found = || IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."));
    match c.svc.store.get_managed_policy(arn).await {
        Ok(p) if p.account_id == c.account() => Ok(p.name),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn check_boundary_arn(c: &Ctx<'_>, arn: &str) -> Result<(), IamError> {
    attachable(c, arn)
        .await
        .map(|_| ())
        .map_err(|_| IamError::InvalidInput(format!("Scope ARN: {arn} does not exist or is not attachable.")))
}

pub(super) async fn provider(c: &Ctx<'_>, arn: &str) -> Result<SamlProvider, IamError> {
    match c.svc.store.get_saml_provider(arn).await {
        Ok(p) if p.account_id == c.account() => Ok(p),
        Ok(_) | Err(StoreError::NotFound(_)) => {
            Err(IamError::NoSuchEntity(format!("Manifest not found for arn {arn}")))
        }
        Err(e) => Err(e.into()),
    }
}
