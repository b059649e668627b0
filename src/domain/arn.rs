use std::fmt;

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
}
