//! SAML identity providers: metadata checked before it is trusted.
use super::nodes::{date, tag_list};
use super::tags::{request_tags, tag_context};
use super::{Ctx, Output};
use crate::domain::{NameRule, ProviderSettings, SamlProvider};
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use crate::saml::validate_idp_metadata;
use crate::store::StoreError;

/// The metadata document, its entity id and its validUntil.
fn metadata<'a>(c: &'a Ctx<'_>) -> Result<(&'a str, String, Option<i64>), IamError> {
    let doc = c.p.required_string("SAMLMetadataDocument", 1000, 10_000_000)?;
    let checked = validate_idp_metadata(doc, c.svc.clock.now())
        .map_err(|e| IamError::InvalidInput(format!("Could not parse metadata: {e}")))?;
    Ok((doc, checked.entity_id, checked.valid_until.map(|t| t.timestamp())))
}

/// A provider of the caller's account by ARN, or NoSuchEntity.
async fn provider_for(c: &Ctx<'_>, action: &str) -> Result<SamlProvider, IamError> {
    let arn = c.p.required_string("SAMLProviderArn", 20, 2048)?;
    c.allow(action, arn).await?;
    super::lookup::provider(c, arn).await
}

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("Name", NameRule::SAML_PROVIDER)?;
    let arn = c.arn("saml-provider", "/", name);
    let tags = request_tags(c.p)?;
    c.allow_with("iam:CreateSAMLProvider", &arn, |ctx| tag_context(ctx, &tags)).await?;
    if !tags.is_empty() {
        c.allow_with("iam:TagSAMLProvider", &arn, |ctx| tag_context(ctx, &tags)).await?;
    }
    let (doc, entity_id, valid_until) = metadata(c)?;
    if name == crate::domain::BUILTIN_PROVIDER {
        return Err(IamError::EntityAlreadyExists(format!("SAMLProvider {name} already exists.")));
    }
    let p = SamlProvider {
        arn: arn.clone(),
        account_id: c.account().to_owned(),
        name: name.to_owned(),
        uuid: uuid::Uuid::new_v4().to_string(),
        metadata: doc.to_owned(),
        entity_id,
        valid_until,
        created_at: c.svc.now(),
        // Stored as the tags below, which spell them.
        settings: ProviderSettings::from_tags(tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))),
    };
    match c.svc.store.insert_saml_provider(&p).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!("SAMLProvider {name} already exists.")))
        }
        r => r?,
    }
    if !tags.is_empty() {
        c.svc.store.put_tags(&arn, &tags).await?;
    }
    let mut out = vec![text("SAMLProviderArn", arn)];
    if !tags.is_empty() {
        out.push(tag_list(&tags));
    }
    Ok(Some(out))
}

pub async fn get(c: &Ctx<'_>) -> Output {
    let p = provider_for(c, "iam:GetSAMLProvider").await?;
    let tags = c.svc.store.list_tags(&p.arn).await?;
    let mut out = vec![
        text("SAMLProviderUUID", &p.uuid),
        text("SAMLMetadataDocument", &p.metadata),
        text("CreateDate", date(p.created_at)),
    ];
    out.extend(p.valid_until.map(|t| text("ValidUntil", date(t))));
    if !tags.is_empty() {
        out.push(tag_list(&tags));
    }
    out.push(text("AssertionEncryptionMode", "Allowed"));
    Ok(Some(out))
}

pub async fn list(c: &Ctx<'_>) -> Output {
    c.allow("iam:ListSAMLProviders", "*").await?;
    let providers = c.svc.store.list_saml_providers(c.account()).await?;
    // ListSAMLProviders is not paginated on AWS.
    let members = providers
        .iter()
        .map(|p| {
            let mut v = vec![text("Arn", &p.arn)];
            v.extend(p.valid_until.map(|t| text("ValidUntil", date(t))));
            v.push(text("CreateDate", date(p.created_at)));
            Member::Struct(v)
        })
        .collect();
    Ok(Some(vec![Node::List("SAMLProviderList", members)]))
}

pub async fn update(c: &Ctx<'_>) -> Output {
    let p = provider_for(c, "iam:UpdateSAMLProvider").await?;
    if p.name == crate::domain::BUILTIN_PROVIDER {
        return Err(IamError::UnmodifiableEntity("The idbroker provider follows the built-in IdP.".into()));
    }
    let (doc, entity_id, valid_until) = metadata(c)?;
    c.svc.store.update_saml_provider(&p.arn, doc, &entity_id, valid_until).await?;
    Ok(Some(vec![text("SAMLProviderArn", p.arn)]))
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let p = provider_for(c, "iam:DeleteSAMLProvider").await?;
    c.svc.store.delete_saml_provider(&p.arn).await?;
    Ok(None)
}
