//! The IAM Query API actions. Each handler validates its parameters, loads what
//! it acts on, asks `authorize` with AWS's action name and resource ARN, then acts.
mod account;
mod credentials;
mod groups;
mod lookup;
mod managed;
mod mfa;
mod nodes;
mod policies;
mod providers;
mod roles;
mod simulate;
mod tags;
mod users;

use super::authn::Caller;
use super::policy::RequestContext;
use super::{IamError, IamService};
use crate::domain::{validate_name, AccountId, Arn, EntityKind, IamPath, NameRule, Principal};
use crate::query::{Node, ParamError, Params};
use crate::store::{Found, StoreError};

pub(super) type Output = Result<Option<Vec<Node>>, IamError>;

impl From<ParamError> for IamError {
    fn from(e: ParamError) -> Self {
        IamError::Validation(e.0)
    }
}

/// One request being served.
pub(super) struct Ctx<'a> {
    pub svc: &'a IamService,
    pub caller: &'a Caller,
    pub p: &'a Params,
}

impl Ctx<'_> {
    pub fn account(&self) -> &AccountId {
        &self.caller.account_id
    }

    pub fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        Arn::iam(self.account(), kind, path, name)
    }

    /// Authorizes `action` (e.g. `iam:CreateUser`) on `resource`.
    pub async fn allow(&self, action: &str, resource: &str) -> Result<(), IamError> {
        self.allow_with(action, resource, |_| {}).await
    }

    pub async fn allow_with(
        &self,
        action: &str,
        resource: &str,
        extra: impl FnOnce(&mut RequestContext),
    ) -> Result<(), IamError> {
        let mut ctx = self.svc.context_for(self.caller, action, resource).await?;
        extra(&mut ctx);
        self.svc.authorize(self.caller, &ctx).await
    }

    pub fn name(&self, param: &str, rule: NameRule) -> Result<&str, IamError> {
        let v = self.p.required(param)?;
        validate_name(rule, v)?;
        Ok(v)
    }

    pub fn path(&self, param: &str) -> Result<String, IamError> {
        Ok(match self.p.get(param) {
            Some(p) => IamPath::parse(p)?.as_str().to_owned(),
            None => "/".to_owned(),
        })
    }

    /// A user, group or role of the caller's account, or AWS's NoSuchEntity.
    pub async fn principal(&self, kind: EntityKind, name: &str) -> Result<Principal, IamError> {
        match self.svc.store.get_principal(self.account(), kind, name).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound(_)) => Err(IamError::NoSuchEntity(format!(
                "The {} with name {name} cannot be found.",
                kind.as_str()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Loads a user, group or role once, authorizes `action` on its ARN, and
    /// returns it. A missing entity is authorized on the ARN it would have at
    /// the root path, so the caller learns it is missing only if allowed.
    pub async fn authorized_entity(
        &self,
        kind: EntityKind,
        name: &str,
        action: &str,
    ) -> Result<Principal, IamError> {
        self.authorized_entity_with(kind, name, action, |_| {}).await
    }

    pub async fn authorized_entity_with(
        &self,
        kind: EntityKind,
        name: &str,
        action: &str,
        extra: impl FnOnce(&mut RequestContext),
    ) -> Result<Principal, IamError> {
        let found = self.svc.store.get_principal(self.account(), kind, name).await.found()?;
        let arn = found.as_ref().map_or_else(|| self.arn(kind.as_str(), "/", name), |p| p.arn.clone());
        self.allow_with(action, &arn, extra).await?;
        found.ok_or_else(|| {
            IamError::NoSuchEntity(format!("The {} with name {name} cannot be found.", kind.as_str()))
        })
    }
}

pub(super) fn canonical_action_name(lower: &str) -> Option<&'static str> {
    ACTIONS.iter().copied().find(|a| a.eq_ignore_ascii_case(lower))
}

/// The action as spelled in the request, when this build serves it (exact case, as AWS).
pub fn known_action(action: &str) -> Option<&'static str> {
    ACTIONS.iter().copied().find(|a| *a == action)
}

crate::query::action_table! {
    async fn dispatch(c: &Ctx<'_>; action) -> Output;
    unknown: |other| IamError::InvalidAction(format!("Could not find operation {other} for version 2010-05-08"));
    "CreateUser" => users::create(c).await,
    "GetUser" => users::get(c).await,
    "ListUsers" => users::list(c).await,
    "UpdateUser" => users::update(c).await,
    "DeleteUser" => users::delete(c).await,
    "CreateGroup" => groups::create(c).await,
    "GetGroup" => groups::get(c).await,
    "ListGroups" => groups::list(c).await,
    "UpdateGroup" => groups::update(c).await,
    "DeleteGroup" => groups::delete(c).await,
    "AddUserToGroup" => groups::add_user(c).await,
    "RemoveUserFromGroup" => groups::remove_user(c).await,
    "ListGroupsForUser" => groups::list_for_user(c).await,
    "CreateRole" => roles::create(c).await,
    "GetRole" => roles::get(c).await,
    "ListRoles" => roles::list(c).await,
    "UpdateRole" => roles::update(c, false).await,
    "UpdateRoleDescription" => roles::update(c, true).await,
    "DeleteRole" => roles::delete(c).await,
    "UpdateAssumeRolePolicy" => roles::update_trust(c).await,
    "PutUserPolicy" => policies::put_inline(c, EntityKind::User).await,
    "PutGroupPolicy" => policies::put_inline(c, EntityKind::Group).await,
    "PutRolePolicy" => policies::put_inline(c, EntityKind::Role).await,
    "GetUserPolicy" => policies::get_inline(c, EntityKind::User).await,
    "GetGroupPolicy" => policies::get_inline(c, EntityKind::Group).await,
    "GetRolePolicy" => policies::get_inline(c, EntityKind::Role).await,
    "DeleteUserPolicy" => policies::delete_inline(c, EntityKind::User).await,
    "DeleteGroupPolicy" => policies::delete_inline(c, EntityKind::Group).await,
    "DeleteRolePolicy" => policies::delete_inline(c, EntityKind::Role).await,
    "ListUserPolicies" => policies::list_inline(c, EntityKind::User).await,
    "ListGroupPolicies" => policies::list_inline(c, EntityKind::Group).await,
    "ListRolePolicies" => policies::list_inline(c, EntityKind::Role).await,
    "AttachUserPolicy" => policies::attach(c, EntityKind::User).await,
    "AttachGroupPolicy" => policies::attach(c, EntityKind::Group).await,
    "AttachRolePolicy" => policies::attach(c, EntityKind::Role).await,
    "DetachUserPolicy" => policies::detach(c, EntityKind::User).await,
    "DetachGroupPolicy" => policies::detach(c, EntityKind::Group).await,
    "DetachRolePolicy" => policies::detach(c, EntityKind::Role).await,
    "ListAttachedUserPolicies" => policies::list_attached(c, EntityKind::User).await,
    "ListAttachedGroupPolicies" => policies::list_attached(c, EntityKind::Group).await,
    "ListAttachedRolePolicies" => policies::list_attached(c, EntityKind::Role).await,
    "PutUserPermissionsBoundary" => policies::put_boundary(c, EntityKind::User).await,
    "PutRolePermissionsBoundary" => policies::put_boundary(c, EntityKind::Role).await,
    "DeleteUserPermissionsBoundary" => policies::delete_boundary(c, EntityKind::User).await,
    "DeleteRolePermissionsBoundary" => policies::delete_boundary(c, EntityKind::Role).await,
    "CreatePolicy" => managed::create(c).await,
    "GetPolicy" => managed::get(c).await,
    "ListPolicies" => managed::list(c).await,
    "DeletePolicy" => managed::delete(c).await,
    "ListEntitiesForPolicy" => managed::list_entities(c).await,
    "CreatePolicyVersion" => managed::create_version(c).await,
    "GetPolicyVersion" => managed::get_version(c).await,
    "ListPolicyVersions" => managed::list_versions(c).await,
    "DeletePolicyVersion" => managed::delete_version(c).await,
    "SetDefaultPolicyVersion" => managed::set_default_version(c).await,
    "CreateAccessKey" => credentials::create_access_key(c).await,
    "ListAccessKeys" => credentials::list_access_keys(c).await,
    "UpdateAccessKey" => credentials::update_access_key(c).await,
    "DeleteAccessKey" => credentials::delete_access_key(c).await,
    "GetAccessKeyLastUsed" => credentials::access_key_last_used(c).await,
    "CreateLoginProfile" => credentials::create_login_profile(c).await,
    "GetLoginProfile" => credentials::get_login_profile(c).await,
    "UpdateLoginProfile" => credentials::update_login_profile(c).await,
    "DeleteLoginProfile" => credentials::delete_login_profile(c).await,
    "ChangePassword" => credentials::change_password(c).await,
    "GetAccountPasswordPolicy" => credentials::get_password_policy(c).await,
    "UpdateAccountPasswordPolicy" => credentials::update_password_policy(c).await,
    "DeleteAccountPasswordPolicy" => credentials::delete_password_policy(c).await,
    "CreateVirtualMFADevice" => mfa::create(c).await,
    "DeleteVirtualMFADevice" => mfa::delete(c).await,
    "ListVirtualMFADevices" => mfa::list_virtual(c).await,
    "EnableMFADevice" => mfa::enable(c).await,
    "DeactivateMFADevice" => mfa::deactivate(c).await,
    "ResyncMFADevice" => mfa::resync(c).await,
    "ListMFADevices" => mfa::list_for_user(c).await,
    "CreateSAMLProvider" => providers::create(c).await,
    "GetSAMLProvider" => providers::get(c).await,
    "ListSAMLProviders" => providers::list(c).await,
    "UpdateSAMLProvider" => providers::update(c).await,
    "DeleteSAMLProvider" => providers::delete(c).await,
    "TagUser" => tags::tag(c, action).await,
    "TagRole" => tags::tag(c, action).await,
    "TagPolicy" => tags::tag(c, action).await,
    "TagSAMLProvider" => tags::tag(c, action).await,
    "TagMFADevice" => tags::tag(c, action).await,
    "UntagUser" => tags::untag(c, action).await,
    "UntagRole" => tags::untag(c, action).await,
    "UntagPolicy" => tags::untag(c, action).await,
    "UntagSAMLProvider" => tags::untag(c, action).await,
    "UntagMFADevice" => tags::untag(c, action).await,
    "ListUserTags" => tags::list(c, action).await,
    "ListRoleTags" => tags::list(c, action).await,
    "ListPolicyTags" => tags::list(c, action).await,
    "ListSAMLProviderTags" => tags::list(c, action).await,
    "ListMFADeviceTags" => tags::list(c, action).await,
    "SimulatePrincipalPolicy" => simulate::principal(c).await,
    "SimulateCustomPolicy" => simulate::custom(c).await,
    "GetContextKeysForPrincipalPolicy" => simulate::context_keys_principal(c).await,
    "GetContextKeysForCustomPolicy" => simulate::context_keys_custom(c).await,
    "GetAccountAuthorizationDetails" => account::authorization_details(c).await,
    "CreateAccountAlias" => account::create_alias(c).await,
    "DeleteAccountAlias" => account::delete_alias(c).await,
    "ListAccountAliases" => account::list_aliases(c).await,
    "GetAccountSummary" => account::summary(c).await,
}

/// Serves one IAM action for an authenticated caller. Returns the result
/// elements, or `None` for actions whose response has no Result.
pub async fn handle(svc: &IamService, caller: &Caller, action: &str, p: &Params) -> Output {
    dispatch(&Ctx { svc, caller, p }, action).await
}

/// Markers are sealed (AES-GCM with the master key) and bound to the list,
/// the account, the path prefix and the entity the list belongs to: opaque,
/// and useless if altered or moved.
fn marker_context(c: &Ctx<'_>, list: &str) -> String {
    let subject = ["UserName", "GroupName", "RoleName", "PolicyArn", "SerialNumber", "SAMLProviderArn"]
        .iter()
        .find_map(|p| c.p.get(p))
        .unwrap_or("");
    format!("iam-marker:{list}:{}:{}:{subject}", c.account(), c.p.get("PathPrefix").unwrap_or("/"))
}

/// The page a request asks for (`Marker`, `MaxItems`, default 100).
pub(super) fn page_ask(c: &Ctx<'_>, list: &str) -> Result<Page, IamError> {
    let invalid = || IamError::InvalidInput("Invalid Marker.".into());
    let max_items = c.p.int("MaxItems", 1, 1000)?.unwrap_or(100) as u32;
    let start = match c.p.get("Marker") {
        None => (0, String::new()),
        Some(marker) => {
            let key = c.svc.master.open(marker, &marker_context(c, list)).map_err(|_| invalid())?;
            let key = String::from_utf8(key).map_err(|_| invalid())?;
            let (section, after) = key.split_once(':').ok_or_else(invalid)?;
            (section.parse().map_err(|_| invalid())?, after.to_owned())
        }
    };
    Ok(Page { start, room: max_items, next: None })
}

/// One keyset page of a list read in one section (ListUsers) or in several
/// one after the other (ListPolicies: AWS's policies, then the account's;
/// GetAccountAuthorizationDetails: users, groups, roles, policies). Its
/// Marker holds the section and the last key shown: rows added or removed
/// meanwhile neither repeat nor hide others.
pub(super) struct Page {
    /// The section and the key after which this page starts.
    start: (usize, String),
    /// Rows this page still has room for.
    room: u32,
    /// Where the next page starts, once this one is full.
    next: Option<(usize, String)>,
}

impl Page {
    /// How to read section `s`: after which key (`None`: from its start), and
    /// at most how many rows (one more than fit, to learn whether more
    /// follow). `None` when the page is full or began past this section.
    pub fn read(&self, s: usize) -> Option<(Option<String>, u32)> {
        if self.next.is_some() || s < self.start.0 {
            return None;
        }
        let after = Some(self.start.1.clone()).filter(|k| s == self.start.0 && !k.is_empty());
        Some((after, self.room + 1))
    }

    /// `read(0)` for a list of one section.
    pub fn single(&self) -> (Option<String>, u32) {
        self.read(0).unwrap_or((None, 1))
    }

    /// What fits of the rows read from section `s`.
    pub fn keep<T>(&mut self, s: usize, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
        if rows.len() > self.room as usize {
            rows.truncate(self.room as usize);
            let after = match rows.last() {
                Some(last) => key(last),
                None if s == self.start.0 => self.start.1.clone(),
                None => String::new(),
            };
            self.next = Some((s, after));
        }
        self.room -= rows.len() as u32;
        rows
    }

    /// `IsTruncated`, and the sealed Marker of where the next page starts.
    pub fn end(self, c: &Ctx<'_>, list: &str) -> Vec<Node> {
        let mut out =
            vec![crate::query::text("IsTruncated", if self.next.is_some() { "true" } else { "false" })];
        if let Some((s, key)) = self.next {
            let marker = c.svc.master.seal(format!("{s}:{key}").as_bytes(), &marker_context(c, list));
            out.push(crate::query::text("Marker", marker));
        }
        out
    }
}

/// A list of one section as the answer: `rows` were read with `single()`'s
/// limit, one more than fit, so a further row means a next page.
pub(super) fn keyset_page<T>(
    c: &Ctx<'_>,
    list: &'static str,
    mut page: Page,
    rows: Vec<T>,
    key: impl Fn(&T) -> String,
    member: impl Fn(&T) -> crate::query::Member,
) -> Output {
    let rows = page.keep(0, rows, key);
    let mut out = vec![Node::List(list, rows.iter().map(member).collect())];
    out.extend(page.end(c, list));
    Ok(Some(out))
}

/// A short list (IAM's quotas keep it small: a user's tags, groups or keys, a
/// policy's versions) paged like the long ones, by the same sealed keyset
/// Marker: the items are read whole, ordered by `key`, and cut after the
/// Marker's key, so a row added or removed meanwhile moves nothing else.
pub(super) fn short_list_page<T>(
    c: &Ctx<'_>,
    list: &'static str,
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    member: impl Fn(&T) -> crate::query::Member,
) -> Output {
    let page = page_ask(c, list)?;
    items.sort_by_cached_key(&key);
    if let (Some(after), _) = page.single() {
        items.retain(|i| key(i) > after);
    }
    keyset_page(c, list, page, items, key, member)
}
