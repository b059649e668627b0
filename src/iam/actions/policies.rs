//! Inline policies, managed-policy attachments and permissions boundaries of
//! users, groups and roles: one implementation for the three kinds.
use super::nodes::encoded_document;
use super::{short_list_page, Ctx, Output};
use crate::domain::{EntityKind, NameRule, Principal};
use crate::iam::builtin;
use crate::iam::policy::PolicyKind;
use crate::iam::IamError;
use crate::query::{text, Member};
use crate::store::{PrincipalUpdate, StoreError};

/// At most this many managed policies attached to one entity, as in IAM.
const MAX_ATTACHED: usize = 10;

fn name_rule(kind: EntityKind) -> NameRule {
    match kind {
        EntityKind::User => NameRule::USER,
        EntityKind::Group => NameRule::GROUP,
        _ => NameRule::ROLE,
    }
}

/// IAM's aggregate limit on inline policy text per entity (whitespace not counted).
fn inline_quota(kind: EntityKind) -> usize {
    match kind {
        EntityKind::User => 2048,
        EntityKind::Group => 5120,
        _ => 10240,
    }
}

fn counted_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// Reads `{Kind}Name`, authorizes `action` on that entity, and loads it.
async fn target(c: &Ctx<'_>, kind: EntityKind, action: &str) -> Result<Principal, IamError> {
    let param = format!("{}Name", kind.title());
    let name = c.name(&param, name_rule(kind))?;
    c.authorized_entity(kind, name, action).await
}

fn action(verb: &str, kind: EntityKind, noun: &str) -> String {
    format!("iam:{verb}{}{noun}", kind.title())
}

pub async fn put_inline(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("Put", kind, "Policy")).await?;
    let name = c.name("PolicyName", NameRule::POLICY)?;
    let doc = c.p.required_string("PolicyDocument", 1, 131072)?;
    c.svc.parse_policy(doc, PolicyKind::Identity)?;
    let others: usize = c
        .svc
        .store
        .inline_policies(&entity.id)
        .await?
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .map(|(_, d)| counted_size(d))
        .sum();
    if others + counted_size(doc) > inline_quota(kind) {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {} bytes exceeded for {} {}",
            inline_quota(kind),
            kind.as_str(),
            entity.name
        )));
    }
    c.svc.store.put_inline_policy(&entity.id, name, doc).await?;
    Ok(None)
}

pub async fn get_inline(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("Get", kind, "Policy")).await?;
    let name = c.name("PolicyName", NameRule::POLICY)?;
    let (stored_name, doc) = match c.svc.store.get_inline_policy(&entity.id, name).await {
        Err(StoreError::NotFound(_)) => {
            return Err(IamError::NoSuchEntity(format!(
                "The {} policy with name {name} cannot be found.",
                kind.as_str()
            )))
        }
        r => r?,
    };
    let name_el: &'static str = match kind {
        EntityKind::User => "UserName",
        EntityKind::Group => "GroupName",
        _ => "RoleName",
    };
    Ok(Some(vec![
        text(name_el, &entity.name),
        text("PolicyName", stored_name),
        text("PolicyDocument", encoded_document(&doc)),
    ]))
}

pub async fn delete_inline(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("Delete", kind, "Policy")).await?;
    let name = c.name("PolicyName", NameRule::POLICY)?;
    if !c.svc.store.delete_inline_policy(&entity.id, name).await? {
        return Err(IamError::NoSuchEntity(format!(
            "The {} policy with name {name} cannot be found.",
            kind.as_str()
        )));
    }
    Ok(None)
}

pub async fn list_inline(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("List", kind, "Policies")).await?;
    let policies = c.svc.store.inline_policies(&entity.id).await?;
    short_list_page(c, "PolicyNames", policies, |(n, _)| n.to_lowercase(), |(n, _)| Member::Text(n.clone()))
}

fn policy_arn_param<'a>(c: &'a Ctx<'_>) -> Result<&'a str, IamError> {
    Ok(c.p.required_string("PolicyArn", 20, 2048)?)
}

pub async fn attach(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let arn = policy_arn_param(c)?.to_owned();
    let param = format!("{}Name", kind.title());
    let name = c.name(&param, name_rule(kind))?;
    let entity = c
        .authorized_entity_with(kind, name, &action("Attach", kind, "Policy"), |ctx| {
            ctx.set("iam:PolicyARN", arn.clone())
        })
        .await?;
    super::lookup::attachable(c, &arn).await?;
    let attached = c.svc.store.attached_policies(&entity.id).await?;
    if !attached.contains(&arn) && attached.len() >= MAX_ATTACHED {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PoliciesPerEntity: {MAX_ATTACHED}"
        )));
    }
    c.svc.store.attach_policy(&entity.id, &arn).await?;
    Ok(None)
}

pub async fn detach(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let arn = policy_arn_param(c)?.to_owned();
    let param = format!("{}Name", kind.title());
    let name = c.name(&param, name_rule(kind))?;
    let entity = c
        .authorized_entity_with(kind, name, &action("Detach", kind, "Policy"), |ctx| {
            ctx.set("iam:PolicyARN", arn.clone())
        })
        .await?;
    if !c.svc.store.detach_policy(&entity.id, &arn).await? {
        return Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")));
    }
    Ok(None)
}

pub async fn list_attached(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("ListAttached", kind, "Policies")).await?;
    let prefix = c.p.get("PathPrefix").unwrap_or("/");
    let mut attached = Vec::new();
    for arn in c.svc.store.attached_policies(&entity.id).await? {
        let (name, path) = match builtin::find(&arn) {
            Some(b) => (b.name.to_owned(), "/".to_owned()),
            None => {
                let p = c.svc.store.get_managed_policy(&arn).await?;
                (p.name, p.path)
            }
        };
        if path.starts_with(prefix) {
            attached.push((name, arn));
        }
    }
    short_list_page(
        c,
        "AttachedPolicies",
        attached,
        |(_, arn)| arn.clone(),
        |(name, arn)| Member::Struct(vec![text("PolicyName", name), text("PolicyArn", arn)]),
    )
}

pub async fn put_boundary(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let arn = c.p.required_string("PermissionsBoundary", 20, 2048)?.to_owned();
    let param = format!("{}Name", kind.title());
    let name = c.name(&param, name_rule(kind))?;
    let entity = c
        .authorized_entity_with(kind, name, &action("Put", kind, "PermissionsBoundary"), |ctx| {
            ctx.set("iam:PermissionsBoundary", arn.clone())
        })
        .await?;
    super::lookup::check_boundary_arn(c, &arn).await?;
    let update = PrincipalUpdate { permissions_boundary: Some(Some(arn)), ..Default::default() };
    c.svc.store.update_principal(&entity.id, &update).await?;
    Ok(None)
}

pub async fn delete_boundary(c: &Ctx<'_>, kind: EntityKind) -> Output {
    let entity = target(c, kind, &action("Delete", kind, "PermissionsBoundary")).await?;
    let update = PrincipalUpdate { permissions_boundary: Some(None), ..Default::default() };
    c.svc.store.update_principal(&entity.id, &update).await?;
    Ok(None)
}
