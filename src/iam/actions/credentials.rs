//! Access keys, console passwords (login profiles) and the account password policy.
use super::nodes::date;
use super::{short_list_page, Ctx, Output};
use crate::crypto;
use crate::domain::{AccessKey, EntityKind, LoginProfile, NameRule, Principal, ACCESS_KEY_PREFIX_LONG_TERM};
use crate::iam::authn::access_key_context;
use crate::iam::password_policy::PasswordPolicy;
use crate::iam::{CallerKind, IamError};
use crate::query::{text, Member, Node};
use crate::store::StoreError;

/// The user named by `UserName`, or the caller itself (`None` = the root user).
/// Authorizes `action` on that user's ARN.
async fn user_or_self(c: &Ctx<'_>, action: &str) -> Result<Option<Principal>, IamError> {
    match c.p.get("UserName") {
        Some(name) => {
            crate::domain::validate_name(NameRule::USER, name)?;
            Ok(Some(c.authorized_entity(EntityKind::User, name, action).await?))
        }
        None => {
            let user = c.svc.caller_user(c.caller).await?;
            let arn = user.as_ref().map_or(c.caller.arn.clone(), |u| u.arn.clone());
            c.allow(action, &arn).await?;
            Ok(user)
        }
    }
}

fn key_fields(key: &AccessKey, user: Option<&Principal>) -> Vec<Node> {
    let mut v = Vec::new();
    if let Some(u) = user {
        v.push(text("UserName", &u.name));
    }
    v.push(text("AccessKeyId", &key.access_key_id));
    v.push(text("Status", if key.active { "Active" } else { "Inactive" }));
    v.push(text("CreateDate", date(key.created_at)));
    v
}

pub async fn create_access_key(c: &Ctx<'_>) -> Output {
    let user = user_or_self(c, "iam:CreateAccessKey").await?;
    let access_key_id = crypto::access_key_id(ACCESS_KEY_PREFIX_LONG_TERM);
    let secret = crypto::secret_access_key();
    let key = AccessKey {
        access_key_id: access_key_id.clone(),
        account_id: c.account().to_owned(),
        user_id: user.as_ref().map(|u| u.id.clone()),
        sealed_secret: c.svc.master.seal(secret.as_bytes(), &access_key_context(&access_key_id)),
        active: true,
        created_at: c.svc.now(),
        last_used_at: None,
        last_used_service: None,
        last_used_region: None,
    };
    match c.svc.store.create_access_key(&key).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::LimitExceeded("Cannot exceed quota for AccessKeysPerUser: 2".into()))
        }
        r => r?,
    }
    let mut fields = key_fields(&key, user.as_ref());
    fields.insert(fields.len() - 1, text("SecretAccessKey", secret));
    Ok(Some(vec![Node::Struct("AccessKey", fields)]))
}

pub async fn list_access_keys(c: &Ctx<'_>) -> Output {
    let user = user_or_self(c, "iam:ListAccessKeys").await?;
    let keys = c.svc.store.list_access_keys(c.account(), user.as_ref().map(|u| u.id.as_str())).await?;
    let mut out = short_list_page(
        c,
        "AccessKeyMetadata",
        keys,
        |k| format!("{:012}{}", k.created_at, k.access_key_id),
        |k| Member::Struct(key_fields(k, user.as_ref())),
    )?;
    if let (Some(out), Some(u)) = (out.as_mut(), user.as_ref()) {
        out.push(text("UserName", &u.name));
    }
    Ok(out)
}

/// The key named by `AccessKeyId`, which must belong to the target user.
async fn owned_key(c: &Ctx<'_>, action: &str) -> Result<AccessKey, IamError> {
    let user = user_or_self(c, action).await?;
    let id = c.p.required_string("AccessKeyId", 16, 128)?;
    let not_found = || IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."));
    let key = match c.svc.store.get_access_key(id).await {
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        r => r?,
    };
    let owner_matches = key.account_id == c.account() && key.user_id == user.map(|u| u.id);
    if !owner_matches {
        return Err(not_found());
    }
    Ok(key)
}

pub async fn update_access_key(c: &Ctx<'_>) -> Output {
    let key = owned_key(c, "iam:UpdateAccessKey").await?;
    let active = match c.p.required("Status")? {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: \
                 Member must satisfy enum value set: [Active, Inactive]"
            )))
        }
    };
    c.svc.store.set_access_key_active(&key.access_key_id, active).await?;
    Ok(None)
}

pub async fn delete_access_key(c: &Ctx<'_>) -> Output {
    let key = owned_key(c, "iam:DeleteAccessKey").await?;
    c.svc.store.delete_access_key(&key.access_key_id).await?;
    Ok(None)
}

pub async fn access_key_last_used(c: &Ctx<'_>) -> Output {
    let id = c.p.required_string("AccessKeyId", 16, 128)?;
    let key = match c.svc.store.get_access_key(id).await {
        Ok(k) if k.account_id == c.account() => k,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return Err(IamError::AccessDenied(format!(
                "User: {} is not authorized to access key {id}",
                c.caller.arn
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let owner = match &key.user_id {
        Some(uid) => Some(c.svc.store.get_principal_by_id(uid).await?),
        None => None,
    };
    let resource = owner.as_ref().map(|u| u.arn.clone()).unwrap_or_else(|| c.caller.arn.clone());
    c.allow("iam:GetAccessKeyLastUsed", &resource).await?;
    let mut last = Vec::new();
    last.extend(key.last_used_at.map(|t| text("LastUsedDate", date(t))));
    last.push(text("ServiceName", key.last_used_service.unwrap_or_else(|| "N/A".into())));
    last.push(text("Region", key.last_used_region.unwrap_or_else(|| "N/A".into())));
    let mut out = Vec::new();
    if let Some(u) = owner {
        out.push(text("UserName", u.name));
    }
    out.push(Node::Struct("AccessKeyLastUsed", last));
    Ok(Some(out))
}

async fn password_policy(c: &Ctx<'_>) -> Result<Option<PasswordPolicy>, IamError> {
    let account = c.svc.store.get_account(c.account()).await?;
    match account.password_policy {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| IamError::Internal(format!("stored password policy is unreadable: {e}"))),
    }
}

async fn check_password(c: &Ctx<'_>, password: &str) -> Result<(), IamError> {
    let policy = password_policy(c).await?;
    PasswordPolicy::check(policy.as_ref(), password).map_err(IamError::PasswordPolicyViolation)
}

fn login_profile_node(user: &Principal, p: &LoginProfile) -> Node {
    Node::Struct(
        "LoginProfile",
        vec![
            text("UserName", &user.name),
            text("CreateDate", date(p.created_at)),
            text("PasswordResetRequired", p.reset_required.to_string()),
        ],
    )
}

async fn target_user(c: &Ctx<'_>, action: &str) -> Result<Principal, IamError> {
    user_or_self(c, action).await?.ok_or_else(|| {
        IamError::InvalidInput("The root user's password is not managed with login profiles.".into())
    })
}

pub async fn create_login_profile(c: &Ctx<'_>) -> Output {
    let user = target_user(c, "iam:CreateLoginProfile").await?;
    let password = c.p.required_string("Password", 1, 128)?;
    check_password(c, password).await?;
    let profile = LoginProfile {
        user_id: user.id.clone(),
        password_hash: crypto::hash_password(password).0,
        password_history: Vec::new(),
        reset_required: c.p.bool("PasswordResetRequired")?.unwrap_or(false),
        created_at: c.svc.now(),
    };
    match c.svc.store.insert_login_profile(&profile).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!(
                "Login Profile for user {} already exists.",
                user.name
            )))
        }
        r => r?,
    }
    Ok(Some(vec![login_profile_node(&user, &profile)]))
}

async fn existing_profile(c: &Ctx<'_>, user: &Principal) -> Result<LoginProfile, IamError> {
    match c.svc.store.get_login_profile(&user.id).await {
        Err(StoreError::NotFound(_)) => {
            Err(IamError::NoSuchEntity(format!("Login Profile for User {} cannot be found.", user.name)))
        }
        r => Ok(r?),
    }
}

pub async fn get_login_profile(c: &Ctx<'_>) -> Output {
    let user = target_user(c, "iam:GetLoginProfile").await?;
    let profile = existing_profile(c, &user).await?;
    Ok(Some(vec![login_profile_node(&user, &profile)]))
}

pub async fn update_login_profile(c: &Ctx<'_>) -> Output {
    let user = target_user(c, "iam:UpdateLoginProfile").await?;
    let profile = existing_profile(c, &user).await?;
    let reset = c.p.bool("PasswordResetRequired")?;
    match c.p.string("Password", 1, 128)? {
        Some(pw) => {
            let hash = new_password_hash(c, &profile, pw).await?;
            let reset = reset.unwrap_or(profile.reset_required);
            c.svc.store.change_login_password(&profile, &hash, reset).await?;
        }
        None => {
            if let Some(reset) = reset {
                c.svc.store.set_login_reset_required(&user.id, reset).await?;
            }
        }
    }
    Ok(None)
}

/// Checks a new password against the policy, including PasswordReusePrevention
/// (the current and earlier passwords), and returns its hash.
async fn new_password_hash(c: &Ctx<'_>, profile: &LoginProfile, password: &str) -> Result<String, IamError> {
    let policy = password_policy(c).await?;
    PasswordPolicy::check(policy.as_ref(), password).map_err(IamError::PasswordPolicyViolation)?;
    let remembered = policy.and_then(|p| p.password_reuse_prevention).unwrap_or(0) as usize;
    let earlier = std::iter::once(&profile.password_hash).chain(&profile.password_history).take(remembered);
    for hash in earlier {
        if crypto::verify_password(password, Some(&crypto::PasswordHash(hash.clone()))) {
            return Err(IamError::PasswordPolicyViolation(format!(
                "Password does not conform to the account password policy: it is one of the last {remembered} passwords."
            )));
        }
    }
    Ok(crypto::hash_password(password).0)
}

pub async fn delete_login_profile(c: &Ctx<'_>) -> Output {
    let user = target_user(c, "iam:DeleteLoginProfile").await?;
    if !c.svc.store.delete_login_profile(&user.id).await? {
        return Err(IamError::NoSuchEntity(format!("Login Profile for User {} cannot be found.", user.name)));
    }
    Ok(None)
}

/// A user changes their own password, proving the old one.
pub async fn change_password(c: &Ctx<'_>) -> Output {
    let CallerKind::User(user) = &c.caller.kind else {
        return Err(IamError::InvalidInput(
            "Only IAM users can change their password with ChangePassword.".into(),
        ));
    };
    let allowed_by_policy = password_policy(c).await?.is_some_and(|p| p.allow_users_to_change_password);
    if !allowed_by_policy {
        c.allow("iam:ChangePassword", &user.arn).await?;
    }
    let old = c.p.required_string("OldPassword", 1, 128)?;
    let new = c.p.required_string("NewPassword", 1, 128)?;
    let profile = existing_profile(c, user).await?;
    let stored = crypto::PasswordHash(profile.password_hash.clone());
    if !crypto::verify_password(old, Some(&stored)) {
        return Err(IamError::AccessDenied("The old password is incorrect.".into()));
    }
    let hash = new_password_hash(c, &profile, new).await?;
    c.svc.store.change_login_password(&profile, &hash, false).await?;
    Ok(None)
}

pub async fn get_password_policy(c: &Ctx<'_>) -> Output {
    c.allow("iam:GetAccountPasswordPolicy", "*").await?;
    let Some(p) = password_policy(c).await? else {
        return Err(IamError::NoSuchEntity(format!(
            "The Password Policy with domain name {} cannot be found.",
            c.account()
        )));
    };
    let mut fields = vec![
        text("MinimumPasswordLength", p.minimum_password_length.to_string()),
        text("RequireSymbols", p.require_symbols.to_string()),
        text("RequireNumbers", p.require_numbers.to_string()),
        text("RequireUppercaseCharacters", p.require_uppercase_characters.to_string()),
        text("RequireLowercaseCharacters", p.require_lowercase_characters.to_string()),
        text("AllowUsersToChangePassword", p.allow_users_to_change_password.to_string()),
        text("ExpirePasswords", p.max_password_age.is_some().to_string()),
    ];
    fields.extend(p.max_password_age.map(|a| text("MaxPasswordAge", a.to_string())));
    fields.extend(p.password_reuse_prevention.map(|n| text("PasswordReusePrevention", n.to_string())));
    fields.push(text("HardExpiry", p.hard_expiry.to_string()));
    Ok(Some(vec![Node::Struct("PasswordPolicy", fields)]))
}

pub async fn update_password_policy(c: &Ctx<'_>) -> Output {
    c.allow("iam:UpdateAccountPasswordPolicy", "*").await?;
    let p = PasswordPolicy {
        minimum_password_length: c.p.int("MinimumPasswordLength", 6, 128)?.unwrap_or(6) as u32,
        require_symbols: c.p.bool("RequireSymbols")?.unwrap_or(false),
        require_numbers: c.p.bool("RequireNumbers")?.unwrap_or(false),
        require_uppercase_characters: c.p.bool("RequireUppercaseCharacters")?.unwrap_or(false),
        require_lowercase_characters: c.p.bool("RequireLowercaseCharacters")?.unwrap_or(false),
        allow_users_to_change_password: c.p.bool("AllowUsersToChangePassword")?.unwrap_or(false),
        max_password_age: c.p.int("MaxPasswordAge", 1, 1095)?.map(|n| n as u32),
        password_reuse_prevention: c.p.int("PasswordReusePrevention", 1, 24)?.map(|n| n as u32),
        hard_expiry: c.p.bool("HardExpiry")?.unwrap_or(false),
    };
    let json = serde_json::to_string(&p).map_err(|e| IamError::Internal(e.to_string()))?;
    c.svc.store.set_password_policy(c.account(), Some(&json)).await?;
    Ok(None)
}

pub async fn delete_password_policy(c: &Ctx<'_>) -> Output {
    c.allow("iam:DeleteAccountPasswordPolicy", "*").await?;
    if password_policy(c).await?.is_none() {
        return Err(IamError::NoSuchEntity(format!(
            "The account policy with name PasswordPolicy cannot be found in account {}.",
            c.account()
        )));
    }
    c.svc.store.set_password_policy(c.account(), None).await?;
    Ok(None)
}
