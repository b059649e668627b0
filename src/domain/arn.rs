use std::fmt;

/// What every built-in (AWS managed) policy ARN starts with.
pub const AWS_MANAGED_POLICY_PREFIX: &str = "arn:aws:iam::aws:policy/";
/// The built-in policy every account's administrator gets.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// An ARN split into AWS's six parts. IAM and STS ARNs have an empty region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    /// Everything after the fifth colon, e.g. `user/division/alice`.
    pub resource: String,
}

impl Arn {
    pub fn parse(s: &str) -> Option<Arn> {
        let mut parts = s.splitn(6, ':');
        let (arn, partition, service, region, account, resource) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if arn != "arn" || partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }

    /// `arn:aws:iam::ACCT:<kind><path><name>` for an IAM entity.
    pub fn iam(account: &str, kind: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:{kind}{path}{name}")
    }

    /// `arn:aws:iam::ACCT:root`: the account's root user, and the account as a principal.
    pub fn root(account: &str) -> String {
        format!("arn:aws:iam::{account}:root")
    }

    /// The account a root ARN names.
    pub fn account_of_root(arn: &str) -> Option<&str> {
        arn.strip_prefix("arn:aws:iam::")?.strip_suffix(":root")
    }

    /// A role without a path, as role mappings and the IdP name them.
    pub fn role(account: &str, name: &str) -> String {
        Self::iam(account, "role", "/", name)
    }

    pub fn saml_provider(account: &str, name: &str) -> String {
        Self::iam(account, "saml-provider", "/", name)
    }

    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`.
    pub fn assumed_role(account: &str, role: &str, session: &str) -> String {
        format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
    }

    pub fn federated_user(account: &str, name: &str) -> String {
        format!("arn:aws:sts::{account}:federated-user/{name}")
    }

    /// A built-in (AWS managed) policy.
    pub fn aws_managed_policy(name: &str) -> String {
        format!("{AWS_MANAGED_POLICY_PREFIX}{name}")
    }

    /// The role an `assumed-role` session ARN belongs to.
    pub fn role_of_session(session: &str) -> Option<String> {
        let a = Arn::parse(session).filter(|a| a.service == "sts")?;
        let (role, _session) = a.resource.strip_prefix("assumed-role/")?.split_once('/')?;
        Some(Self::role(&a.account, role))
    }

    /// The resource type and the name (last path segment), e.g. (`role`, `Dev`).
    pub fn resource_type_and_name(&self) -> Option<(&str, &str)> {
        let (kind, rest) = self.resource.split_once('/')?;
        let name = rest.rsplit('/').next()?;
        Some((kind, name))
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iam_arns_and_keeps_colons_in_the_resource() {
        let a = Arn::parse("arn:aws:iam::111122223333:role/team/Dev").unwrap();
        assert_eq!(a.account, "111122223333");
        assert_eq!(a.resource_type_and_name(), Some(("role", "Dev")));
        let b = Arn::parse("arn:aws:s3:::bucket/a:b").unwrap();
        assert_eq!(b.resource, "bucket/a:b");
        assert_eq!(b.to_string(), "arn:aws:s3:::bucket/a:b");
        assert!(Arn::parse("arn:aws:iam::1").is_none());
        assert!(Arn::parse("nope:aws:iam::1:x").is_none());
    }

    #[test]
    fn builds_and_reads_the_arns_idbroker_names() {
        assert_eq!(Arn::root("111122223333"), "arn:aws:iam::111122223333:root");
        assert_eq!(Arn::account_of_root("arn:aws:iam::111122223333:root"), Some("111122223333"));
        assert_eq!(Arn::account_of_root("arn:aws:iam::111122223333:user/root"), None);
        assert_eq!(
            Arn::role_of_session("arn:aws:sts::111122223333:assumed-role/Dev/alice").as_deref(),
            Some("arn:aws:iam::111122223333:role/Dev")
        );
        assert_eq!(Arn::role_of_session("arn:aws:sts::111122223333:federated-user/bob"), None);
        assert_eq!(Arn::aws_managed_policy("ReadOnlyAccess"), "arn:aws:iam::aws:policy/ReadOnlyAccess");
    }
}
