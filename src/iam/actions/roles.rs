//! Roles and their trust policies.
use super::nodes::principal_fields;
use super::tags::{request_tags, tag_context};
use super::users::delete_principal;
use super::{Ctx, Output};
use crate::crypto;
use crate::domain::{EntityKind, NameRule, Principal};
use crate::iam::policy::PolicyKind;
use crate::iam::IamError;
use crate::query::Node;
use crate::store::{PrincipalUpdate, StoreError};

const DEFAULT_MAX_SESSION: i64 = 3600;
const MAX_SESSION_RANGE: (i64, i64) = (3600, 43200);

fn description(c: &Ctx<'_>) -> Result<Option<String>, IamError> {
    Ok(c.p.string("Description", 0, 1000)?.map(str::to_owned))
}

fn trust_document(c: &Ctx<'_>, param: &str) -> Result<String, IamError> {
    let doc = c.p.required_string(param, 1, 131072)?;
    c.svc.parse_policy(doc, PolicyKind::Resource)?;
    Ok(doc.to_owned())
}

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("RoleName", NameRule::ROLE)?;
    let path = c.path("Path")?;
    let arn = c.arn("role", &path, name);
    let trust = trust_document(c, "AssumeRolePolicyDocument")?;
    let max =
        c.p.int("MaxSessionDuration", MAX_SESSION_RANGE.0, MAX_SESSION_RANGE.1)?
            .unwrap_or(DEFAULT_MAX_SESSION);
    let tags = request_tags(c.p)?;
    let boundary = c.p.get("PermissionsBoundary").map(str::to_owned);
    c.allow_with("iam:CreateRole", &arn, |ctx| {
        tag_context(ctx, &tags);
        if let Some(b) = &boundary {
            ctx.set("iam:PermissionsBoundary", b.clone());
        }
    })
    .await?;
    if !tags.is_empty() {
        c.allow_with("iam:TagRole", &arn, |ctx| tag_context(ctx, &tags)).await?;
    }
    if let Some(b) = &boundary {
        super::lookup::check_boundary_arn(c, b).await?;
    }
    let id = crypto::unique_id(EntityKind::Role.id_prefix());
    let mut role = Principal::new(id, c.account(), EntityKind::Role, name, &path, c.svc.now());
    role.description = description(c)?;
    role.trust_policy = Some(trust);
    role.max_session_duration = Some(max);
    role.permissions_boundary = boundary;
    match c.svc.store.insert_principal(&role).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!("Role with name {name} already exists.")))
        }
        r => r?,
    }
    if !tags.is_empty() {
        c.svc.store.put_tags(&role.id, &tags).await?;
    }
    Ok(Some(vec![Node::Struct("Role", principal_fields(&role, Some(&tags)))]))
}

async fn role_for(c: &Ctx<'_>, action: &str) -> Result<Principal, IamError> {
    let name = c.name("RoleName", NameRule::ROLE)?;
    c.authorized_entity(EntityKind::Role, name, action).await
}

async fn role_node(c: &Ctx<'_>, role: &Principal) -> Result<Node, IamError> {
    let tags = c.svc.store.list_tags(&role.id).await?;
    let mut fields = principal_fields(role, Some(&tags));
    fields.push(Node::Struct("RoleLastUsed", vec![]));
    Ok(Node::Struct("Role", fields))
}

pub async fn get(c: &Ctx<'_>) -> Output {
    let role = role_for(c, "iam:GetRole").await?;
    Ok(Some(vec![role_node(c, &role).await?]))
}

pub async fn list(c: &Ctx<'_>) -> Output {
    super::users::list_principals(c, EntityKind::Role, "Roles").await
}

/// UpdateRole (description, maximum session) and UpdateRoleDescription.
pub async fn update(c: &Ctx<'_>, description_only: bool) -> Output {
    let action = if description_only { "iam:UpdateRoleDescription" } else { "iam:UpdateRole" };
    let role = role_for(c, action).await?;
    let update = PrincipalUpdate {
        description: description(c)?,
        max_session_duration: if description_only {
            None
        } else {
            c.p.int("MaxSessionDuration", MAX_SESSION_RANGE.0, MAX_SESSION_RANGE.1)?
        },
        ..Default::default()
    };
    c.svc.store.update_principal(&role.id, &update).await?;
    if description_only {
        let role = c.principal(EntityKind::Role, &role.name).await?;
        return Ok(Some(vec![role_node(c, &role).await?]));
    }
    Ok(Some(vec![]))
}

pub async fn update_trust(c: &Ctx<'_>) -> Output {
    let role = role_for(c, "iam:UpdateAssumeRolePolicy").await?;
    let trust = trust_document(c, "PolicyDocument")?;
    let update = PrincipalUpdate { trust_policy: Some(trust), ..Default::default() };
    c.svc.store.update_principal(&role.id, &update).await?;
    Ok(None)
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let role = role_for(c, "iam:DeleteRole").await?;
    delete_principal(c, &role).await?;
    Ok(None)
}
