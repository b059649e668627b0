//! Customer managed policies and their versions; AWS managed policies read-only.
use super::nodes::{date, encoded_document, managed_policy_fields};
use super::tags::{request_tags, tag_context};
use super::{page_ask, short_list_page, Ctx, Output};
use crate::crypto;
use crate::domain::{EntityKind, ManagedPolicy, NameRule};
use crate::iam::builtin;
use crate::iam::policy::PolicyKind;
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use crate::store::StoreError;

/// IAM's limit on a managed policy document (whitespace not counted).
const MAX_MANAGED_POLICY_CHARS: usize = 6144;

fn document(c: &Ctx<'_>) -> Result<String, IamError> {
    let doc = c.p.required_string("PolicyDocument", 1, 131072)?;
    if doc.chars().filter(|ch| !ch.is_whitespace()).count() > MAX_MANAGED_POLICY_CHARS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY_CHARS}"
        )));
    }
    c.svc.parse_policy(doc, PolicyKind::Identity)?;
    Ok(doc.to_owned())
}

/// A built-in policy shown in the shape of a managed one.
async fn builtin_as_managed(c: &Ctx<'_>, b: &builtin::BuiltinPolicy) -> Result<ManagedPolicy, IamError> {
    let attachments = c.svc.store.count_policy_attachments(c.account(), &b.arn).await?;
    Ok(ManagedPolicy {
        arn: b.arn.clone(),
        id: format!("ANPA{}", &crypto::sha256_hex(b.arn.as_bytes())[..17].to_ascii_uppercase()),
        account_id: "aws".into(),
        name: b.name.to_owned(),
        path: "/".into(),
        description: Some(b.description.to_owned()),
        default_version: "v1".into(),
        created_at: 0,
        updated_at: 0,
        attachment_count: attachments,
    })
}

/// Loads a managed policy visible to the caller (its account's, or built-in).
async fn visible_policy(c: &Ctx<'_>, arn: &str) -> Result<ManagedPolicy, IamError> {
    if let Some(b) = builtin::find(arn) {
        return builtin_as_managed(c, &b).await;
    }
    let not_found = || IamError::NoSuchEntity(format!("Policy {arn} was not found."));
    match c.svc.store.get_managed_policy(arn).await {
        Ok(p) if p.account_id == c.account() => Ok(p),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Reads PolicyArn, authorizes `action` on it and loads the policy.
async fn policy_for(c: &Ctx<'_>, action: &str) -> Result<ManagedPolicy, IamError> {
    let arn = c.p.required_string("PolicyArn", 20, 2048)?;
    c.allow(action, arn).await?;
    visible_policy(c, arn).await
}

/// Customer managed policies only: built-in ones cannot change.
async fn own_policy_for(c: &Ctx<'_>, action: &str) -> Result<ManagedPolicy, IamError> {
    let p = policy_for(c, action).await?;
    if p.account_id != c.account() {
        return Err(IamError::InvalidInput(format!(
            "Policy {} is an AWS managed policy and cannot be changed.",
            p.arn
        )));
    }
    Ok(p)
}

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("PolicyName", NameRule::POLICY)?;
    let path = c.path("Path")?;
    let arn = c.arn("policy", &path, name);
    let doc = document(c)?;
    let tags = request_tags(c.p)?;
    c.allow_with("iam:CreatePolicy", &arn, |ctx| tag_context(ctx, &tags)).await?;
    if !tags.is_empty() {
        c.allow_with("iam:TagPolicy", &arn, |ctx| tag_context(ctx, &tags)).await?;
    }
    let now = c.svc.now();
    let policy = ManagedPolicy {
        arn: arn.clone(),
        id: crypto::unique_id(EntityKind::Policy.id_prefix()),
        account_id: c.account().to_string(),
        name: name.to_owned(),
        path,
        description: c.p.string("Description", 0, 1000)?.map(str::to_owned),
        default_version: "v1".into(),
        created_at: now,
        updated_at: now,
        attachment_count: 0,
    };
    match c.svc.store.create_managed_policy(&policy, &doc).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )))
        }
        r => r?,
    }
    if !tags.is_empty() {
        c.svc.store.put_tags(&arn, &tags).await?;
    }
    Ok(Some(vec![Node::Struct("Policy", managed_policy_fields(&policy, Some(&tags)))]))
}

pub async fn get(c: &Ctx<'_>) -> Output {
    let p = policy_for(c, "iam:GetPolicy").await?;
    let tags = c.svc.store.list_tags(&p.arn).await?;
    Ok(Some(vec![Node::Struct("Policy", managed_policy_fields(&p, Some(&tags)))]))
}

pub async fn list(c: &Ctx<'_>) -> Output {
    let prefix = c.p.get("PathPrefix").unwrap_or("/");
    c.allow("iam:ListPolicies", "*").await?;
    let scope = c.p.get("Scope").unwrap_or("All");
    if !["All", "AWS", "Local"].contains(&scope) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: \
             Member must satisfy enum value set: [All, AWS, Local]"
        )));
    }
    let only_attached = c.p.bool("OnlyAttached")?.unwrap_or(false);
    // AWS's policies first (a short, fixed list), then the account's by keyset.
    let mut sections = page_ask(c, "Policies")?;
    let by_name = |p: &ManagedPolicy| p.name.to_lowercase();
    let mut policies = Vec::new();
    if let (true, Some((after, limit))) = (scope != "Local" && prefix == "/", sections.read(0)) {
        let mut aws = Vec::new();
        for b in builtin::all().filter(|b| after.as_ref().is_none_or(|a| b.name.to_lowercase() > *a)) {
            let p = builtin_as_managed(c, &b).await?;
            if !only_attached || p.attachment_count > 0 {
                aws.push(p);
            }
        }
        aws.sort_by_key(by_name);
        aws.truncate(limit as usize);
        policies.extend(sections.keep(0, aws, by_name));
    }
    if let (true, Some((after, limit))) = (scope != "AWS", sections.read(1)) {
        let store = &c.svc.store;
        let local = store
            .page_of_managed_policies(c.account(), prefix, only_attached, after.as_deref(), limit)
            .await?;
        policies.extend(sections.keep(1, local, by_name));
    }
    let mut out = vec![Node::List(
        "Policies",
        policies.iter().map(|p| Member::Struct(managed_policy_fields(p, None))).collect(),
    )];
    out.extend(sections.end(c, "Policies"));
    Ok(Some(out))
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let p = own_policy_for(c, "iam:DeletePolicy").await?;
    match c.svc.store.delete_managed_policy(&p.arn).await {
        Err(StoreError::Conflict(what)) => {
            Err(IamError::DeleteConflict(format!("Cannot delete a policy with {what}. Remove them first.")))
        }
        r => Ok(r.map(|_| None)?),
    }
}

pub async fn list_entities(c: &Ctx<'_>) -> Output {
    let p = policy_for(c, "iam:ListEntitiesForPolicy").await?;
    let kind = match c.p.get("EntityFilter") {
        None => None,
        Some("User") => Some(EntityKind::User),
        Some("Group") => Some(EntityKind::Group),
        Some("Role") => Some(EntityKind::Role),
        Some(other) => {
            return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'entityFilter' failed to satisfy constraint: \
                 Member must satisfy enum value set: [User, Role, Group]"
        )))
        }
    };
    // One page of attached principals, by id; the answer sorts them by kind.
    let mut sections = page_ask(c, "PolicyEntities")?;
    let mut entities = Vec::new();
    if let Some((after, limit)) = sections.read(0) {
        let page =
            c.svc.store.page_of_policy_entities(c.account(), &p.arn, kind, after.as_deref(), limit).await?;
        entities = sections.keep(0, page, |e| e.id.clone());
    }
    let (mut users, mut groups, mut roles) = (vec![], vec![], vec![]);
    for e in entities {
        let (list, name_el, id_el) = match e.kind {
            EntityKind::User => (&mut users, "UserName", "UserId"),
            EntityKind::Group => (&mut groups, "GroupName", "GroupId"),
            _ => (&mut roles, "RoleName", "RoleId"),
        };
        list.push(Member::Struct(vec![text(name_el, e.name), text(id_el, e.id)]));
    }
    let mut out = vec![
        Node::List("PolicyGroups", groups),
        Node::List("PolicyUsers", users),
        Node::List("PolicyRoles", roles),
    ];
    out.extend(sections.end(c, "PolicyEntities"));
    Ok(Some(out))
}

fn version_node(version_id: &str, doc: Option<&str>, is_default: bool, created: i64) -> Vec<Node> {
    let mut v = Vec::new();
    if let Some(d) = doc {
        v.push(text("Document", encoded_document(d)));
    }
    v.push(text("VersionId", version_id));
    v.push(text("IsDefaultVersion", is_default.to_string()));
    v.push(text("CreateDate", date(created)));
    v
}

pub async fn create_version(c: &Ctx<'_>) -> Output {
    let p = own_policy_for(c, "iam:CreatePolicyVersion").await?;
    let doc = document(c)?;
    let set_default = c.p.bool("SetAsDefault")?.unwrap_or(false);
    let now = c.svc.now();
    let version_id = match c.svc.store.create_policy_version(&p.arn, &doc, set_default, now).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::LimitExceeded(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into(),
            ))
        }
        r => r?,
    };
    Ok(Some(vec![Node::Struct("PolicyVersion", version_node(&version_id, None, set_default, now))]))
}

fn version_param<'a>(c: &'a Ctx<'_>) -> Result<&'a str, IamError> {
    let v = c.p.required("VersionId")?;
    let valid = v.strip_prefix('v').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{v}' at 'versionId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )));
    }
    Ok(v)
}

pub async fn get_version(c: &Ctx<'_>) -> Output {
    let p = policy_for(c, "iam:GetPolicyVersion").await?;
    let version_id = version_param(c)?;
    if let Some(b) = builtin::find(&p.arn) {
        if version_id != "v1" {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {} version {version_id} does not exist.",
                p.arn
            )));
        }
        return Ok(Some(vec![Node::Struct("PolicyVersion", version_node("v1", Some(b.document), true, 0))]));
    }
    let v = match c.svc.store.get_policy_version(&p.arn, version_id).await {
        Err(StoreError::NotFound(_)) => {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {} version {version_id} does not exist.",
                p.arn
            )))
        }
        r => r?,
    };
    let fields =
        version_node(&v.version_id, Some(&v.document), v.version_id == p.default_version, v.created_at);
    Ok(Some(vec![Node::Struct("PolicyVersion", fields)]))
}

pub async fn list_versions(c: &Ctx<'_>) -> Output {
    let p = policy_for(c, "iam:ListPolicyVersions").await?;
    let versions: Vec<(String, i64)> = if builtin::find(&p.arn).is_some() {
        vec![("v1".into(), 0)]
    } else {
        c.svc
            .store
            .list_policy_versions(&p.arn)
            .await?
            .into_iter()
            .map(|v| (v.version_id, v.created_at))
            .collect()
    };
    // Newest first, as the store reads them; the key orders the same way.
    let versions: Vec<(usize, (String, i64))> = versions.into_iter().enumerate().collect();
    short_list_page(
        c,
        "Versions",
        versions,
        |(_, (id, _))| format!("{:020}", u64::MAX - id.trim_start_matches('v').parse::<u64>().unwrap_or(0)),
        |(_, (id, created))| Member::Struct(version_node(id, None, *id == p.default_version, *created)),
    )
}

pub async fn delete_version(c: &Ctx<'_>) -> Output {
    let p = own_policy_for(c, "iam:DeletePolicyVersion").await?;
    let version_id = version_param(c)?;
    match c.svc.store.delete_policy_version(&p.arn, version_id).await {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".into()))
        }
        Err(StoreError::NotFound(_)) => {
            Err(IamError::NoSuchEntity(format!("Policy {} version {version_id} does not exist.", p.arn)))
        }
        r => Ok(r.map(|_| None)?),
    }
}

pub async fn set_default_version(c: &Ctx<'_>) -> Output {
    let p = own_policy_for(c, "iam:SetDefaultPolicyVersion").await?;
    let version_id = version_param(c)?;
    match c.svc.store.set_default_policy_version(&p.arn, version_id, c.svc.now()).await {
        Err(StoreError::NotFound(_)) => {
            Err(IamError::NoSuchEntity(format!("Policy {} version {version_id} does not exist.", p.arn)))
        }
        r => Ok(r.map(|_| None)?),
    }
}
