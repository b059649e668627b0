//! Console sign-in with a password: IAM users (account id or alias, user
//! name, password, MFA code when they have a device) and the root user
//! (email, password, MFA). Every refusal looks the same to the caller; the
//! password is checked with argon2 even for unknown names.
use super::{IamError, IamService};
use crate::crypto::{self, PasswordHash};
use crate::domain::{AccountId, EntityKind, Principal};
use crate::store::{Found, StoreError};

/// Who signed in. Only `console_sign_in` makes one.
#[derive(Debug, Clone)]
pub struct ConsoleIdentity {
    pub account_id: String,
    pub account_alias: Option<String>,
    /// None for the root user.
    pub user: Option<Principal>,
    pub root_email: Option<String>,
    pub mfa_used: bool,
    /// True when the principal has no MFA device at all.
    pub no_mfa_device: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong account, name, password or MFA code: one answer for all.
    #[error("Your authentication information is incorrect. Please try again.")]
    Refused(&'static str),
    #[error("Enter the code from your MFA device.")]
    MfaRequired,
    #[error("Your password must be reset by an administrator before you can sign in here.")]
    PasswordResetRequired,
    #[error(transparent)]
    Iam(#[from] IamError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Iam(e.into())
    }
}

impl IamService {
    pub async fn console_sign_in(
        &self,
        account: &str,
        username: &str,
        password: &str,
        mfa_code: Option<&str>,
    ) -> Result<ConsoleIdentity, SignInError> {
        if password.is_empty() || password.len() > 128 || username.len() > 256 {
            crypto::verify_password(password, None);
            return Err(SignInError::Refused("input"));
        }
        if account.trim().is_empty() {
            return self.root_sign_in(username, password, mfa_code).await;
        }
        // The account field takes an id or an alias, as AWS's does.
        let found = match AccountId::parse(account) {
            Ok(id) => self.store.get_account(&id).await,
            Err(_) => self.store.find_account_by_alias(account).await,
        };
        let acct = found.found()?;
        let user = match &acct {
            Some(a) => self.store.get_principal(&a.account_id, EntityKind::User, username).await.found()?,
            None => None,
        };
        let profile = match &user {
            Some(u) => self.store.get_login_profile(&u.id).await.found()?,
            None => None,
        };
        let stored = profile.as_ref().map(|p| PasswordHash(p.password_hash.clone()));
        if !crypto::verify_password(password, stored.as_ref()) {
            return Err(SignInError::Refused("password"));
        }
        let (Some(acct), Some(user), Some(profile)) = (acct, user, profile) else {
            return Err(SignInError::Refused("password"));
        };
        if profile.reset_required {
            return Err(SignInError::PasswordResetRequired);
        }
        let devices = self.store.enabled_mfa_devices(&acct.account_id, Some(&user.id)).await?;
        let mfa_used = self.second_factor(&acct.account_id, Some(&user.id), &devices, mfa_code).await?;
        Ok(ConsoleIdentity {
            account_id: acct.account_id.to_string(),
            account_alias: acct.alias,
            no_mfa_device: devices.is_empty(),
            user: Some(user),
            root_email: None,
            mfa_used,
        })
    }

    async fn root_sign_in(
        &self,
        email: &str,
        password: &str,
        mfa_code: Option<&str>,
    ) -> Result<ConsoleIdentity, SignInError> {
        let accounts = self.store.find_account_by_root_email(email).await?;
        let mut matched = None;
        for a in &accounts {
            if crypto::verify_password(password, Some(&PasswordHash(a.root_password_hash.clone()))) {
                matched = Some(a.clone());
            }
        }
        if accounts.is_empty() {
            crypto::verify_password(password, None);
        }
        let acct = matched.ok_or(SignInError::Refused("password"))?;
        let devices = self.store.enabled_mfa_devices(&acct.account_id, None).await?;
        let mfa_used = self.second_factor(&acct.account_id, None, &devices, mfa_code).await?;
        Ok(ConsoleIdentity {
            account_id: acct.account_id.to_string(),
            account_alias: acct.alias,
            no_mfa_device: devices.is_empty(),
            user: None,
            root_email: Some(acct.root_email),
            mfa_used,
        })
    }

    /// With a device, a current code of one of them is required (each code
    /// is accepted once); without one, none is asked.
    async fn second_factor(
        &self,
        account: &str,
        user_id: Option<&str>,
        devices: &[crate::domain::MfaDevice],
        code: Option<&str>,
    ) -> Result<bool, SignInError> {
        if devices.is_empty() {
            return Ok(false);
        }
        let code = code.filter(|c| !c.is_empty()).ok_or(SignInError::MfaRequired)?;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignInError::Refused("mfa"));
        }
        for d in devices {
            if self.check_mfa_code(account, user_id, &d.serial, code).await? {
                return Ok(true);
            }
        }
        Err(SignInError::Refused("mfa"))
    }
}
