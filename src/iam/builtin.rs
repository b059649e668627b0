//! AWS managed policies that idbroker provides in every account. They have no
//! stored row; their ARNs live in the `aws` account as on AWS.

pub use crate::domain::ADMINISTRATOR_ACCESS;

/// (name, description, document) of each built-in policy.
const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        "Provides read-only access to AWS services and resources.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Get*","*:List*","*:Describe*","*:Simulate*"],"Resource":"*"}]}"#,
    ),
    (
        "IAMFullAccess",
        "Provides full access to IAM.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    ),
    (
        "IAMReadOnlyAccess",
        "Provides read only access to IAM.",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Simulate*"],"Resource":"*"}]}"#,
    ),
];

pub struct BuiltinPolicy {
    pub arn: String,
    pub name: &'static str,
    pub description: &'static str,
    pub document: &'static str,
}

pub fn find(arn: &str) -> Option<BuiltinPolicy> {
    let name = arn.strip_prefix(crate::domain::AWS_MANAGED_POLICY_PREFIX)?;
    BUILTIN.iter().find(|(n, _, _)| *n == name).map(|(name, description, document)| BuiltinPolicy {
        arn: arn.to_owned(),
        name,
        description,
        document,
    })
}

pub fn all() -> impl Iterator<Item = BuiltinPolicy> {
    BUILTIN.iter().filter_map(|(n, _, _)| find(&crate::domain::Arn::aws_managed_policy(n)))
}
