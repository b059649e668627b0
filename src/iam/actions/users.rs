//! CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.
use super::nodes::principal_fields;
use super::tags::{request_tags, tag_context};
use super::{keyset_page, page_ask, Ctx, Output};
use crate::crypto;
use crate::domain::{Arn, EntityKind, NameRule, Principal};
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use crate::store::{PrincipalUpdate, StoreError};

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("UserName", NameRule::USER)?;
    let path = c.path("Path")?;
    let arn = c.arn("user", &path, name);
    let tags = request_tags(c.p)?;
    let boundary = c.p.get("PermissionsBoundary").map(str::to_owned);
    c.allow_with("iam:CreateUser", &arn, |ctx| {
        tag_context(ctx, &tags);
        if let Some(b) = &boundary {
            ctx.set("iam:PermissionsBoundary", b.clone());
        }
    })
    .await?;
    if !tags.is_empty() {
        c.allow_with("iam:TagUser", &arn, |ctx| tag_context(ctx, &tags)).await?;
    }
    if let Some(b) = &boundary {
        super::lookup::check_boundary_arn(c, b).await?;
    }
    let id = crypto::unique_id(EntityKind::User.id_prefix());
    let mut user = Principal::new(id, c.account(), EntityKind::User, name, &path, c.svc.now());
    user.permissions_boundary = boundary;
    match c.svc.store.insert_principal(&user).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!("User with name {name} already exists.")))
        }
        r => r?,
    }
    if !tags.is_empty() {
        c.svc.store.put_tags(&user.id, &tags).await?;
    }
    Ok(Some(vec![Node::Struct("User", principal_fields(&user, Some(&tags)))]))
}

pub async fn get(c: &Ctx<'_>) -> Output {
    let name = match c.p.get("UserName") {
        Some(n) => n.to_owned(),
        None => match c.svc.caller_user(c.caller).await? {
            Some(u) => u.name,
            None => {
                // The root user asking about itself.
                c.allow("iam:GetUser", &c.caller.arn).await?;
                let account = c.svc.store.get_account(c.account()).await?;
                return Ok(Some(vec![Node::Struct(
                    "User",
                    vec![
                        text("UserId", c.account()),
                        text("Arn", crate::domain::Arn::root(c.account())),
                        text("CreateDate", super::nodes::date(account.created_at)),
                    ],
                )]));
            }
        },
    };
    crate::domain::validate_name(NameRule::USER, &name)?;
    let user = c.authorized_entity(EntityKind::User, &name, "iam:GetUser").await?;
    let tags = c.svc.store.list_tags(&user.id).await?;
    Ok(Some(vec![Node::Struct("User", principal_fields(&user, Some(&tags)))]))
}

pub async fn list(c: &Ctx<'_>) -> Output {
    list_principals(c, EntityKind::User, "Users").await
}

/// ListUsers, ListGroups and ListRoles: one keyset page by name.
pub(super) async fn list_principals(c: &Ctx<'_>, kind: EntityKind, list: &'static str) -> Output {
    let prefix = c.p.get("PathPrefix").unwrap_or("/");
    c.allow(&format!("iam:List{list}"), &c.arn(kind.as_str(), prefix, "")).await?;
    let page = page_ask(c, list)?;
    let (after, limit) = page.single();
    let rows = c.svc.store.page_of_principals(c.account(), kind, prefix, after.as_deref(), limit).await?;
    keyset_page(c, list, page, rows, |p| p.name.to_lowercase(), |p| Member::Struct(principal_fields(p, None)))
}

/// Renames or moves a user, group or role (`new_name_param` is `NewUserName`, ...).
pub(super) async fn rename(
    c: &Ctx<'_>,
    kind: EntityKind,
    entity: &Principal,
    new_name_param: &str,
    new_path_param: &str,
    rule: NameRule,
) -> Result<(), IamError> {
    let new_name = c.p.get(new_name_param);
    if let Some(n) = new_name {
        crate::domain::validate_name(rule, n)?;
    }
    let new_path = match c.p.get(new_path_param) {
        Some(_) => Some(c.path(new_path_param)?),
        None => None,
    };
    let name = new_name.unwrap_or(&entity.name);
    let path = new_path.clone().unwrap_or_else(|| entity.path.clone());
    let new_arn = Arn::iam(c.account(), kind.as_str(), &path, name);
    if new_arn != entity.arn {
        // Renaming needs permission on the new name as well as the old one.
        c.allow(&format!("iam:Update{}", kind.title()), &new_arn).await?;
    }
    let update = PrincipalUpdate {
        new_name: new_name.map(str::to_owned),
        new_path,
        new_arn: Some(new_arn),
        ..Default::default()
    };
    match c.svc.store.update_principal(&entity.id, &update).await {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::EntityAlreadyExists(format!("{} with name {name} already exists.", kind.title())))
        }
        r => Ok(r?),
    }
}

pub async fn update(c: &Ctx<'_>) -> Output {
    let name = c.name("UserName", NameRule::USER)?;
    let user = c.authorized_entity(EntityKind::User, name, "iam:UpdateUser").await?;
    rename(c, EntityKind::User, &user, "NewUserName", "NewPath", NameRule::USER).await?;
    Ok(None)
}

/// Deletes a user, group or role that holds nothing any more.
pub(super) async fn delete_principal(c: &Ctx<'_>, p: &Principal) -> Result<(), IamError> {
    match c.svc.store.delete_principal(p).await {
        Err(StoreError::Conflict(what)) => {
            Err(IamError::DeleteConflict(format!("Cannot delete entity, must remove {what} first.")))
        }
        r => Ok(r?),
    }
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let name = c.name("UserName", NameRule::USER)?;
    let user = c.authorized_entity(EntityKind::User, name, "iam:DeleteUser").await?;
    delete_principal(c, &user).await?;
    Ok(None)
}
