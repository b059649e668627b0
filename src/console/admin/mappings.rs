//! Directory group -> role rules of the built-in IdP, at run time: an
//! administrator sees and changes the rules for roles of their own account
//! (`idbroker:ListRoleMappings`, `idbroker:UpdateRoleMappings` on the role),
//! and previews, for one user name, the groups the directory returns (nested
//! ones resolved) and the roles they map to, with a proposed rule or without.
//! Every node reads a change within seconds (the change counter).
use super::{AdminConsole, AdminError};
use crate::audit::AuditEvent;
use crate::domain::Arn;
use crate::iam::Caller;
use crate::idp::roles::{role_pairs, RoleRule};
use crate::store::{StoreError, StoredMapping};

pub const LIST_ROLE_MAPPINGS: &str = "idbroker:ListRoleMappings";
pub const UPDATE_ROLE_MAPPINGS: &str = "idbroker:UpdateRoleMappings";
const MAX_DN_CHARS: usize = 1024;

pub struct MappingRow {
    pub group_dn: String,
    pub role_arn: String,
    pub created: String,
}

pub struct MappingPreview {
    pub username: String,
    pub dn: String,
    /// (DN, name) of every group, nested ones included.
    pub groups: Vec<(String, String)>,
    /// The roles of this account the user gets now.
    pub roles: Vec<String>,
    /// The roles the proposed rule would add.
    pub added: Vec<String>,
}

fn refused(message: impl Into<String>) -> AdminError {
    AdminError::Refused("InvalidInput", message.into())
}

/// A role ARN of `account`, or why not.
fn role_of(account: &str, role_arn: &str) -> Result<(), AdminError> {
    match Arn::parse(role_arn) {
        Some(a) if a.service == "iam" && a.resource.starts_with("role/") && a.account == account => Ok(()),
        Some(a) if a.service == "iam" && a.resource.starts_with("role/") => {
            Err(AdminError::Refused("AccessDenied", format!("{role_arn} is a role of another account.")))
        }
        _ => Err(refused(format!("`{role_arn}` is not a role ARN ({}).", Arn::role(account, "NAME")))),
    }
}

fn checked_dn(group_dn: &str) -> Result<&str, AdminError> {
    let dn = group_dn.trim();
    if dn.is_empty() || dn.len() > MAX_DN_CHARS || !dn.contains('=') {
        return Err(refused("The group must be a distinguished name (cn=...,ou=...,dc=...)."));
    }
    Ok(dn)
}

impl AdminConsole {
    pub async fn mappings(&self, caller: &Caller) -> Result<Vec<MappingRow>, AdminError> {
        self.authorize(caller, LIST_ROLE_MAPPINGS, "*").await?;
        Ok(self
            .store
            .account_role_mappings(&caller.account_id)
            .await?
            .into_iter()
            .map(|m| MappingRow {
                group_dn: m.group_dn,
                role_arn: m.role_arn,
                created: crate::domain::iso_time(m.created_at),
            })
            .collect())
    }

    /// Adds (`add`) or removes a rule for a role of the caller's account.
    pub async fn change_mapping(
        &self,
        caller: &Caller,
        group_dn: &str,
        role_arn: &str,
        add: bool,
    ) -> (Result<(), AdminError>, AuditEvent) {
        let action = if add { "CreateRoleMapping" } else { "DeleteRoleMapping" };
        let outcome = self.apply_mapping(caller, group_dn, role_arn, add).await;
        let failure = outcome.as_ref().err().map(|e| (e.code().to_owned(), e.to_string()));
        let params = crate::query::Params::from_pairs(vec![
            ("GroupDN".into(), group_dn.to_owned()),
            ("RoleArn".into(), role_arn.to_owned()),
        ]);
        (outcome, self.audit_event(caller, "idbroker.admin", action, &params, failure))
    }

    async fn apply_mapping(
        &self,
        caller: &Caller,
        group_dn: &str,
        role_arn: &str,
        add: bool,
    ) -> Result<(), AdminError> {
        let role_arn = role_arn.trim();
        self.authorize(caller, UPDATE_ROLE_MAPPINGS, role_arn).await?;
        let group_dn = checked_dn(group_dn)?;
        role_of(&caller.account_id, role_arn)?;
        let outcome = if add {
            let mapping = StoredMapping {
                group_dn: group_dn.to_owned(),
                role_arn: role_arn.to_owned(),
                account_id: caller.account_id.to_string(),
                created_at: self.clock.now().timestamp(),
            };
            self.store.insert_role_mapping(&mapping).await
        } else {
            self.store.delete_role_mapping(&caller.account_id, group_dn, role_arn).await
        };
        match outcome {
            Err(StoreError::Conflict(_)) => Err(refused("That rule exists already.")),
            Err(StoreError::NotFound(_)) => {
                Err(AdminError::Refused("NoSuchEntity", "There is no such rule.".into()))
            }
            // This node applies it at once; the others when they see the change.
            r => Ok(r.and(self.rules.reload(&self.store).await)?),
        }
    }

    /// What `username` gets from the directory and the rules (those in the
    /// database, plus `proposed` when given), limited to this account's roles.
    pub async fn preview_mapping(
        &self,
        caller: &Caller,
        username: &str,
        proposed: Option<(&str, &str)>,
    ) -> Result<MappingPreview, AdminError> {
        self.authorize(caller, LIST_ROLE_MAPPINGS, "*").await?;
        let directory = self.directory.as_ref().ok_or_else(|| refused("No directory is configured."))?;
        let user = directory.lookup(username.trim()).await.map_err(|e| match e {
            crate::directory::DirectoryError::Refused(_) => {
                refused(format!("The directory has no user `{}`.", username.trim()))
            }
            other => AdminError::Internal(other.to_string()),
        })?;
        let rules: Vec<RoleRule> = self
            .store
            .role_mappings()
            .await?
            .into_iter()
            .map(|m| RoleRule { group_dn: m.group_dn, role_arn: m.role_arn })
            .collect();
        let ours = |pairs: Vec<String>| -> Vec<String> {
            pairs
                .into_iter()
                .filter_map(|p| p.split(',').next().map(str::to_owned))
                .filter(|r| role_of(&caller.account_id, r).is_ok())
                .collect()
        };
        let roles = ours(role_pairs(&user.groups, &rules));
        let added = match proposed {
            Some((group_dn, role_arn)) => {
                let mut with = rules.clone();
                with.push(RoleRule {
                    group_dn: checked_dn(group_dn)?.to_owned(),
                    role_arn: role_arn.trim().to_owned(),
                });
                ours(role_pairs(&user.groups, &with)).into_iter().filter(|r| !roles.contains(r)).collect()
            }
            None => Vec::new(),
        };
        Ok(MappingPreview {
            username: user.username,
            dn: user.dn,
            groups: user.groups.into_iter().map(|g| (g.dn, g.name)).collect(),
            roles,
            added,
        })
    }
}
