//! SAML identity providers: metadata checked before it is trusted.
use super::nodes::{date, tag_list};
use super::tags::{request_tags, tag_context};
use super::{Ctx, Output};
use crate::domain::{AssertionEncryptionMode, NameRule, ProviderKey, ProviderSettings, SamlProvider};
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use crate::saml::validate_idp_metadata;
use crate::store::{EncryptionChange, StoreError, MAX_PROVIDER_KEYS};

/// AWS's bound on `AddPrivateKey` (a PEM document).
const MAX_PRIVATE_KEY_CHARS: usize = 16_384;
const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The metadata document, its entity id and its validUntil.
fn metadata<'a>(c: &'a Ctx<'_>) -> Result<(&'a str, String, Option<i64>), IamError> {
    let doc = c.p.required_string("SAMLMetadataDocument", 1000, 10_000_000)?;
    let checked = validate_idp_metadata(doc, c.svc.clock.now())
        .map_err(|e| IamError::InvalidInput(format!("Could not parse metadata: {e}")))?;
    Ok((doc, checked.entity_id, checked.valid_until.map(|t| t.timestamp())))
}

fn encryption_mode(c: &Ctx<'_>) -> Result<Option<AssertionEncryptionMode>, IamError> {
    c.p.get("AssertionEncryptionMode")
        .map(|m| {
            AssertionEncryptionMode::parse(m).ok_or_else(|| {
                IamError::InvalidInput("AssertionEncryptionMode must be one of Allowed, Required.".into())
            })
        })
        .transpose()
}

/// `AddPrivateKey`, checked and sealed under a fresh key id. The key itself
/// is never stored in clear, returned or logged.
fn new_private_key(c: &Ctx<'_>) -> Result<Option<ProviderKey>, IamError> {
    let Some(pem) = c.p.get("AddPrivateKey") else { return Ok(None) };
    if pem.is_empty() || pem.len() > MAX_PRIVATE_KEY_CHARS {
        return Err(IamError::InvalidInput("AddPrivateKey must be 1 to 16384 characters.".into()));
    }
    crate::saml::decryption_key(pem)
        .map_err(|why| IamError::InvalidInput(format!("AddPrivateKey: {why}.")))?;
    let key_id = crate::crypto::random_chars(KEY_ID_ALPHABET, 32);
    let sealed = c.svc.master.seal(pem.as_bytes(), &ProviderKey::seal_context(&key_id));
    Ok(Some(ProviderKey { key_id, sealed, created_at: c.svc.now() }))
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
    let encryption_mode = encryption_mode(c)?.unwrap_or_default();
    let private_keys: Vec<ProviderKey> = new_private_key(c)?.into_iter().collect();
    if c.p.get("RemovePrivateKey").is_some() {
        return Err(IamError::InvalidInput("RemovePrivateKey is for UpdateSAMLProvider.".into()));
    }
    if encryption_mode == AssertionEncryptionMode::Required && private_keys.is_empty() {
        return Err(IamError::InvalidInput("AssertionEncryptionMode Required needs a private key.".into()));
    }
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
        encryption_mode,
        private_keys,
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
    out.push(text("AssertionEncryptionMode", p.encryption_mode.as_str()));
    let keys = p
        .private_keys
        .iter()
        .map(|k| Member::Struct(vec![text("KeyId", &k.key_id), text("Timestamp", date(k.created_at))]))
        .collect();
    out.push(Node::List("PrivateKeyList", keys));
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
    // Everything is checked before anything changes.
    let metadata = match c.p.get("SAMLMetadataDocument") {
        Some(_) => Some(metadata(c)?),
        None => None,
    };
    let new_key = new_private_key(c)?;
    let change = EncryptionChange {
        mode: encryption_mode(c)?,
        add_key: new_key.as_ref(),
        remove_key: c.p.get("RemovePrivateKey"),
    };
    if let Some(id) = change.remove_key {
        if !p.private_keys.iter().any(|k| k.key_id == id) {
            return Err(IamError::InvalidInput(format!(
                "The private key {id} does not belong to this provider."
            )));
        }
    }
    let removed = change.remove_key.is_some() as usize;
    let kept = p.private_keys.len() - removed + change.add_key.is_some() as usize;
    if kept > MAX_PROVIDER_KEYS {
        return Err(IamError::LimitExceeded(format!(
            "A SAML provider can have at most {MAX_PROVIDER_KEYS} private keys; remove one first."
        )));
    }
    if change.mode.unwrap_or(p.encryption_mode) == AssertionEncryptionMode::Required && kept == 0 {
        return Err(IamError::InvalidInput("AssertionEncryptionMode Required needs a private key.".into()));
    }
    if let Some((doc, entity_id, valid_until)) = metadata {
        c.svc.store.update_saml_provider(&p.arn, doc, &entity_id, valid_until).await?;
    }
    if change.mode.is_some() || change.add_key.is_some() || change.remove_key.is_some() {
        match c.svc.store.change_provider_encryption(&p.arn, change).await {
            Err(StoreError::Conflict(_)) => {
                return Err(IamError::LimitExceeded(format!(
                    "A SAML provider can have at most {MAX_PROVIDER_KEYS} private keys; remove one first."
                )))
            }
            r => r?,
        }
    }
    Ok(Some(vec![text("SAMLProviderArn", p.arn)]))
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let p = provider_for(c, "iam:DeleteSAMLProvider").await?;
    c.svc.store.delete_saml_provider(&p.arn).await?;
    Ok(None)
}
