//! Account-wide actions: aliases, the summary, and authorization details.
use super::nodes::{date, encoded_document, principal_fields, tag_list};
use super::{page_ask, Ctx, Output};
use crate::domain::{EntityKind, ManagedPolicy, Principal};
use crate::iam::{builtin, IamError};
use crate::query::{text, Member, Node};
use crate::store::StoreError;

fn valid_alias(a: &str) -> bool {
    let b = a.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !a.contains("--")
}

pub async fn create_alias(c: &Ctx<'_>) -> Output {
    let alias = c.p.required("AccountAlias")?;
    if !valid_alias(alias) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    c.allow("iam:CreateAccountAlias", "*").await?;
    match c.svc.store.set_account_alias(c.account(), Some(alias)).await {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::EntityAlreadyExists(format!("The account alias {alias} already exists.")))
        }
        r => Ok(r.map(|_| None)?),
    }
}

pub async fn delete_alias(c: &Ctx<'_>) -> Output {
    let alias = c.p.required("AccountAlias")?;
    c.allow("iam:DeleteAccountAlias", "*").await?;
    let account = c.svc.store.get_account(c.account()).await?;
    if account.alias.as_deref() != Some(alias) {
        return Err(IamError::NoSuchEntity(format!("The account alias {alias} cannot be found.")));
    }
    c.svc.store.set_account_alias(c.account(), None).await?;
    Ok(None)
}

pub async fn list_aliases(c: &Ctx<'_>) -> Output {
    c.allow("iam:ListAccountAliases", "*").await?;
    let account = c.svc.store.get_account(c.account()).await?;
    Ok(Some(vec![
        Node::List("AccountAliases", account.alias.into_iter().map(Member::Text).collect()),
        text("IsTruncated", "false"),
    ]))
}

pub async fn summary(c: &Ctx<'_>) -> Output {
    c.allow("iam:GetAccountSummary", "*").await?;
    let mut entries = c.svc.store.account_counts(c.account()).await?;
    let root_keys = c.svc.store.list_access_keys(c.account(), None).await?.len();
    let root_mfa = !c.svc.store.enabled_mfa_devices(c.account(), None).await?.is_empty();
    entries.push(("AccountAccessKeysPresent".into(), (root_keys > 0) as i64));
    entries.push(("AccountMFAEnabled".into(), root_mfa as i64));
    for (quota, n) in [
        ("UsersQuota", 5000),
        ("GroupsQuota", 300),
        ("RolesQuota", 1000),
        ("PoliciesQuota", 1500),
        ("AccessKeysPerUserQuota", 2),
        ("GroupsPerUserQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("PolicyVersionsInUseQuota", 10000),
        ("VersionsPerPolicyQuota", 5),
        ("PolicySizeQuota", 6144),
        ("UserPolicySizeQuota", 2048),
        ("GroupPolicySizeQuota", 5120),
    ] {
        entries.push((quota.into(), n));
    }
    let map = entries.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Ok(Some(vec![Node::Map("SummaryMap", map)]))
}

async fn inline_list(c: &Ctx<'_>, p: &Principal, name: &'static str) -> Result<Node, IamError> {
    let members = c
        .svc
        .store
        .inline_policies(&p.id)
        .await?
        .into_iter()
        .map(|(n, d)| {
            Member::Struct(vec![text("PolicyName", n), text("PolicyDocument", encoded_document(&d))])
        })
        .collect();
    Ok(Node::List(name, members))
}

async fn attached_list(c: &Ctx<'_>, p: &Principal) -> Result<Node, IamError> {
    let mut members = Vec::new();
    for arn in c.svc.store.attached_policies(&p.id).await? {
        let name = match builtin::find(&arn) {
            Some(b) => b.name.to_owned(),
            None => c.svc.store.get_managed_policy(&arn).await?.name,
        };
        members.push(Member::Struct(vec![text("PolicyName", name), text("PolicyArn", arn)]));
    }
    Ok(Node::List("AttachedManagedPolicies", members))
}

/// Users, groups, roles and the account's policies, in that order, one keyset
/// page at a time across the four (`MaxItems` counts entries of any kind).
pub async fn authorization_details(c: &Ctx<'_>) -> Output {
    c.allow("iam:GetAccountAuthorizationDetails", "*").await?;
    let filter = c.p.list("Filter");
    let wants = |f: &str| filter.is_empty() || filter.contains(&f);
    let store = &c.svc.store;
    let mut sections = page_ask(c, "AuthorizationDetails")?;
    let by_name = |p: &Principal| p.name.to_lowercase();
    let mut out = Vec::new();
    let principal_sections = [
        (EntityKind::User, "User", "UserDetailList"),
        (EntityKind::Group, "Group", "GroupDetailList"),
        (EntityKind::Role, "Role", "RoleDetailList"),
    ];
    // A wanted list is in every page, empty where this page has none of it.
    for (s, (kind, filter_name, list)) in principal_sections.into_iter().enumerate() {
        if !wants(filter_name) {
            continue;
        }
        let mut members = Vec::new();
        if let Some((after, limit)) = sections.read(s) {
            let page = store.page_of_principals(c.account(), kind, "/", after.as_deref(), limit).await?;
            for p in sections.keep(s, page, by_name) {
                members.push(Member::Struct(principal_details(c, &p).await?));
            }
        }
        out.push(Node::List(list, members));
    }
    if wants("LocalManagedPolicy") {
        let mut policies = Vec::new();
        if let Some((after, limit)) = sections.read(3) {
            let page =
                store.page_of_managed_policies(c.account(), "/", false, after.as_deref(), limit).await?;
            for p in sections.keep(3, page, |p| p.name.to_lowercase()) {
                policies.push(Member::Struct(policy_details(c, &p).await?));
            }
        }
        out.push(Node::List("Policies", policies));
    }
    out.extend(sections.end(c, "AuthorizationDetails"));
    Ok(Some(out))
}

/// One entry of UserDetailList, GroupDetailList or RoleDetailList.
async fn principal_details(c: &Ctx<'_>, p: &Principal) -> Result<Vec<Node>, IamError> {
    let store = &c.svc.store;
    let tags = store.list_tags(&p.id).await?;
    Ok(match p.kind {
        EntityKind::User => {
            let mut f = principal_fields(p, None);
            f.push(inline_list(c, p, "UserPolicyList").await?);
            let groups =
                store.groups_of_user(&p.id).await?.into_iter().map(|g| Member::Text(g.name)).collect();
            f.push(Node::List("GroupList", groups));
            f.push(attached_list(c, p).await?);
            if !tags.is_empty() {
                f.push(tag_list(&tags));
            }
            f
        }
        EntityKind::Group => {
            let mut f = principal_fields(p, None);
            f.push(inline_list(c, p, "GroupPolicyList").await?);
            f.push(attached_list(c, p).await?);
            f
        }
        _ => {
            let mut f = principal_fields(p, Some(&tags));
            f.push(Node::List("InstanceProfileList", vec![]));
            f.push(inline_list(c, p, "RolePolicyList").await?);
            f.push(attached_list(c, p).await?);
            f
        }
    })
}

/// One entry of Policies: the policy with all its versions.
async fn policy_details(c: &Ctx<'_>, p: &ManagedPolicy) -> Result<Vec<Node>, IamError> {
    let versions = c
        .svc
        .store
        .list_policy_versions(&p.arn)
        .await?
        .into_iter()
        .map(|v| {
            Member::Struct(vec![
                text("Document", encoded_document(&v.document)),
                text("VersionId", &v.version_id),
                text("IsDefaultVersion", (v.version_id == p.default_version).to_string()),
                text("CreateDate", date(v.created_at)),
            ])
        })
        .collect();
    let mut f = super::nodes::managed_policy_fields(p, None);
    f.push(Node::List("PolicyVersionList", versions));
    Ok(f)
}
