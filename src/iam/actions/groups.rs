//! Groups and membership.
use super::nodes::principal_fields;
use super::users::{delete_principal, rename};
use super::{keyset_page, page_ask, short_list_page, Ctx, Output};
use crate::crypto;
use crate::domain::{EntityKind, NameRule, Principal};
use crate::iam::IamError;
use crate::query::{Member, Node};
use crate::store::StoreError;

/// A user may belong to at most this many groups, as in IAM.
const MAX_GROUPS_PER_USER: usize = 10;

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("GroupName", NameRule::GROUP)?;
    let path = c.path("Path")?;
    let arn = c.arn("group", &path, name);
    c.allow("iam:CreateGroup", &arn).await?;
    let id = crypto::unique_id(EntityKind::Group.id_prefix());
    let group = Principal::new(id, c.account(), EntityKind::Group, name, &path, c.svc.now());
    match c.svc.store.insert_principal(&group).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!("Group with name {name} already exists.")))
        }
        r => r?,
    }
    Ok(Some(vec![Node::Struct("Group", principal_fields(&group, None))]))
}

pub async fn get(c: &Ctx<'_>) -> Output {
    let name = c.name("GroupName", NameRule::GROUP)?;
    let group = c.authorized_entity(EntityKind::Group, name, "iam:GetGroup").await?;
    let page = page_ask(c, "Users")?;
    let (after, limit) = page.single();
    let users = c.svc.store.page_of_group_members(&group.id, after.as_deref(), limit).await?;
    let mut out = keyset_page(
        c,
        "Users",
        page,
        users,
        |u| u.name.to_lowercase(),
        |u| Member::Struct(principal_fields(u, None)),
    )?
    .unwrap_or_default();
    out.insert(0, Node::Struct("Group", principal_fields(&group, None)));
    Ok(Some(out))
}

pub async fn list(c: &Ctx<'_>) -> Output {
    super::users::list_principals(c, EntityKind::Group, "Groups").await
}

pub async fn update(c: &Ctx<'_>) -> Output {
    let name = c.name("GroupName", NameRule::GROUP)?;
    let group = c.authorized_entity(EntityKind::Group, name, "iam:UpdateGroup").await?;
    rename(c, EntityKind::Group, &group, "NewGroupName", "NewPath", NameRule::GROUP).await?;
    Ok(None)
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let name = c.name("GroupName", NameRule::GROUP)?;
    let group = c.authorized_entity(EntityKind::Group, name, "iam:DeleteGroup").await?;
    delete_principal(c, &group).await?;
    Ok(None)
}

async fn group_and_user(c: &Ctx<'_>, action: &str) -> Result<(Principal, Principal), IamError> {
    let group_name = c.name("GroupName", NameRule::GROUP)?;
    let user_name = c.name("UserName", NameRule::USER)?;
    let group = c.authorized_entity(EntityKind::Group, group_name, action).await?;
    let user = c.principal(EntityKind::User, user_name).await?;
    Ok((group, user))
}

pub async fn add_user(c: &Ctx<'_>) -> Output {
    let (group, user) = group_and_user(c, "iam:AddUserToGroup").await?;
    let current = c.svc.store.groups_of_user(&user.id).await?;
    if !current.iter().any(|g| g.id == group.id) && current.len() >= MAX_GROUPS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
        )));
    }
    c.svc.store.add_group_member(&group.id, &user.id).await?;
    Ok(None)
}

pub async fn remove_user(c: &Ctx<'_>) -> Output {
    let (group, user) = group_and_user(c, "iam:RemoveUserFromGroup").await?;
    if !c.svc.store.remove_group_member(&group.id, &user.id).await? {
        return Err(IamError::NoSuchEntity(format!("User {} is not in group {}.", user.name, group.name)));
    }
    Ok(None)
}

pub async fn list_for_user(c: &Ctx<'_>) -> Output {
    let name = c.name("UserName", NameRule::USER)?;
    let user = c.authorized_entity(EntityKind::User, name, "iam:ListGroupsForUser").await?;
    let groups = c.svc.store.groups_of_user(&user.id).await?;
    short_list_page(
        c,
        "Groups",
        groups,
        |g| g.name.to_lowercase(),
        |g| Member::Struct(principal_fields(g, None)),
    )
}
