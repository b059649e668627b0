//! IAM: accounts, users, groups, roles, policies, keys, MFA and SAML providers.
pub mod policy;
