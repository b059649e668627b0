//! Directory groups to AWS `Role` attribute values. A group whose name is
//! `AWS-<account id>-<role name>` grants that role (the AD FS convention);
//! explicit rules map a group DN to a role ARN. Every role is offered through
//! the built-in provider of the role's account.
use crate::directory::Group;
use crate::domain::{Arn, BUILTIN_PROVIDER};

/// The explicit rules in force on this node: the database's (the admin
/// console edits them), read again whenever they change.
pub struct RoleRules(crate::crypto::Shared<Vec<RoleRule>>);

impl RoleRules {
    /// Rules that are only these (tests, before the database is read).
    pub fn fixed(rules: Vec<RoleRule>) -> RoleRules {
        RoleRules(crate::crypto::Shared::new(rules))
    }

    pub async fn load(store: &crate::store::Store) -> Result<RoleRules, crate::store::StoreError> {
        let rules = RoleRules::fixed(Vec::new());
        rules.reload(store).await?;
        Ok(rules)
    }

    /// Reads the rules again (a change here or on another node).
    pub async fn reload(&self, store: &crate::store::Store) -> Result<(), crate::store::StoreError> {
        let rules = store.role_mappings().await?;
        self.0.set(
            rules.into_iter().map(|m| RoleRule { group_dn: m.group_dn, role_arn: m.role_arn }).collect(),
        );
        Ok(())
    }

    pub fn get(&self) -> std::sync::Arc<Vec<RoleRule>> {
        self.0.get()
    }
}

/// An explicit rule: members of the group (transitively) get the role.
#[derive(Debug, Clone)]
pub struct RoleRule {
    pub group_dn: String,
    pub role_arn: String,
}

fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(crate::domain::is_name_char)
}

/// The account of an `arn:aws:iam::<account>:role/<path/><name>` ARN.
fn account_of_role(arn: &str) -> Option<String> {
    let a = Arn::parse(arn).filter(|a| {
        a.partition == "aws" && a.service == "iam" && a.region.is_empty() && a.resource.starts_with("role/")
    })?;
    (a.account.len() == 12 && a.account.bytes().all(|b| b.is_ascii_digit())).then_some(a.account)
}

/// The `role-arn,provider-arn` pairs the groups grant, sorted, without repeats.
pub fn role_pairs(groups: &[Group], rules: &[RoleRule]) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for group in groups {
        if let Some(rest) = group.name.strip_prefix("AWS-") {
            if let Some((account, role)) = rest.split_once('-') {
                if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && valid_role_name(role)
                {
                    roles.push(Arn::role(account, role));
                }
            }
        }
        for rule in rules.iter().filter(|r| r.group_dn.eq_ignore_ascii_case(&group.dn)) {
            roles.push(rule.role_arn.clone());
        }
    }
    let mut pairs: Vec<String> = roles
        .iter()
        .filter_map(|role| {
            let account = account_of_role(role)?;
            Some(format!("{role},{}", Arn::saml_provider(&account, BUILTIN_PROVIDER)))
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(dn: &str, name: &str) -> Group {
        Group { dn: dn.into(), name: name.into() }
    }

    #[test]
    fn convention_and_rules_map_groups_to_roles() {
        let groups = [
            g("cn=AWS-111122223333-Dev,ou=groups", "AWS-111122223333-Dev"),
            g("cn=AWS-111122223333-Dev,ou=other", "AWS-111122223333-Dev"),
            g("cn=admins,ou=groups", "admins"),
            g("cn=AWS-12-Short,ou=groups", "AWS-12-Short"),
            g("cn=AWS-111122223333-bad/name,ou=groups", "AWS-111122223333-bad/name"),
            g("cn=staff,ou=groups", "staff"),
        ];
        let rules = [RoleRule {
            group_dn: "CN=Admins,OU=Groups".into(),
            role_arn: "arn:aws:iam::444455556666:role/Admin".into(),
        }];
        assert_eq!(
            role_pairs(&groups, &rules),
            vec![
                "arn:aws:iam::111122223333:role/Dev,arn:aws:iam::111122223333:saml-provider/idbroker",
                "arn:aws:iam::444455556666:role/Admin,arn:aws:iam::444455556666:saml-provider/idbroker",
            ]
        );
    }

    #[test]
    fn no_mapped_group_means_no_role() {
        assert!(role_pairs(&[g("cn=staff", "staff")], &[]).is_empty());
    }
}
