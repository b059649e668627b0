//! Tags on users, roles, managed policies, SAML providers and MFA devices.
use super::{short_list_page, Ctx, Output};
use crate::domain::{EntityKind, NameRule, Tag};
use crate::iam::policy::RequestContext;
use crate::iam::IamError;
use crate::query::{text, Member, Params};
use crate::store::StoreError;

const MAX_TAGS: usize = 50;

fn valid_tag_text(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// The `Tags.member.N.Key/Value` of a request, checked as IAM checks them.
pub fn request_tags(p: &Params) -> Result<Vec<Tag>, IamError> {
    let pairs = p.key_values("Tags", "Key", "Value");
    if pairs.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for TagsPerEntity: {MAX_TAGS}")));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        if k.is_empty()
            || k.chars().count() > 128
            || v.chars().count() > 256
            || !valid_tag_text(k)
            || !valid_tag_text(v)
        {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: tag key `{k}` must have \
                 1 to 128 characters and its value at most 256, from letters, numbers, spaces and _.:/=+-@"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(IamError::InvalidInput(format!("Tag key `{k}` uses the reserved prefix aws:.")));
        }
        if k.to_ascii_lowercase().starts_with("idbroker:") && !crate::domain::IDBROKER_TAG_KEYS.contains(&k) {
            return Err(IamError::InvalidInput(format!(
                "Tag key `{k}` is not one idbroker knows; its keys are {}.",
                crate::domain::IDBROKER_TAG_KEYS.join(", ")
            )));
        }
        if k == crate::domain::TAG_METADATA_URL && !v.starts_with("https://") {
            return Err(IamError::InvalidInput(format!("Tag `{k}` must be an https URL.")));
        }
        if tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
            return Err(IamError::InvalidInput(format!(
                "Duplicate tag key `{k}`: tag keys are case-insensitive."
            )));
        }
        tags.push(Tag { key: k.to_owned(), value: v.to_owned() });
    }
    Ok(tags)
}

/// `aws:RequestTag/<key>` and `aws:TagKeys`, for tag-on-create and tag actions.
pub fn tag_context(ctx: &mut RequestContext, tags: &[Tag]) {
    if tags.is_empty() {
        return;
    }
    for t in tags {
        ctx.set(&format!("aws:RequestTag/{}", t.key), t.value.clone());
    }
    ctx.set_all("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
}

/// The tag store key and the ARN of the resource an action names.
async fn resource(c: &Ctx<'_>, action: &str) -> Result<(String, String), IamError> {
    let noun = action.trim_start_matches("Tag").trim_start_matches("Untag").trim_start_matches("List");
    let noun = noun.trim_end_matches("Tags");
    let principal = |kind| async move {
        let (param, rule) = if kind == EntityKind::User {
            ("UserName", NameRule::USER)
        } else {
            ("RoleName", NameRule::ROLE)
        };
        let name = c.name(param, rule)?;
        let p = c.principal(kind, name).await?;
        Ok::<_, IamError>((p.id, p.arn))
    };
    match noun {
        "User" => principal(EntityKind::User).await,
        "Role" => principal(EntityKind::Role).await,
        "Policy" => {
            let arn = c.p.required_string("PolicyArn", 20, 2048)?;
            match c.svc.store.get_managed_policy(arn).await {
                Ok(p) if p.account_id == c.account() => Ok((p.arn.clone(), p.arn)),
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")))
                }
                Err(e) => Err(e.into()),
            }
        }
        "SAMLProvider" => {
            let arn = c.p.required_string("SAMLProviderArn", 20, 2048)?;
            let p = super::lookup::provider(c, arn).await?;
            Ok((p.arn.clone(), p.arn))
        }
        _ => {
            let serial = c.p.required_string("SerialNumber", 9, 256)?;
            match c.svc.store.get_mfa_device(serial).await {
                Ok(d) if d.account_id == c.account() => Ok((d.serial.clone(), d.serial)),
                Ok(_) | Err(StoreError::NotFound(_)) => Err(IamError::NoSuchEntity(format!(
                    "MFA Device with serial number {serial} does not exist."
                ))),
                Err(e) => Err(e.into()),
            }
        }
    }
}

pub async fn tag(c: &Ctx<'_>, action: &str) -> Output {
    let (key, arn) = resource(c, action).await?;
    let tags = request_tags(c.p)?;
    if tags.is_empty() {
        return Err(IamError::Validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    c.allow_with(&format!("iam:{action}"), &arn, |ctx| tag_context(ctx, &tags)).await?;
    match c.svc.store.put_tags(&key, &tags).await {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::LimitExceeded(format!("Cannot exceed quota for TagsPerEntity: {MAX_TAGS}")))
        }
        r => Ok(r.map(|_| None)?),
    }
}

pub async fn untag(c: &Ctx<'_>, action: &str) -> Output {
    let (key, arn) = resource(c, action).await?;
    let keys: Vec<String> = c.p.list("TagKeys").into_iter().map(str::to_owned).collect();
    if keys.is_empty() {
        return Err(IamError::Validation(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    c.allow_with(&format!("iam:{action}"), &arn, |ctx| ctx.set_all("aws:TagKeys", keys.clone())).await?;
    c.svc.store.remove_tags(&key, &keys).await?;
    Ok(None)
}

pub async fn list(c: &Ctx<'_>, action: &str) -> Output {
    let (key, arn) = resource(c, action).await?;
    c.allow(&format!("iam:{action}"), &arn).await?;
    let tags = c.svc.store.list_tags(&key).await?;
    short_list_page(
        c,
        "Tags",
        tags,
        |t| t.key.to_lowercase(),
        |t| Member::Struct(vec![text("Key", &t.key), text("Value", &t.value)]),
    )
}
