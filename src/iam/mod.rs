//! IAM: accounts, users, groups, roles, policies, keys, MFA and SAML providers,
//! and the IAM Query API actions over them.
mod actions;
pub(crate) mod authn;
mod builtin;
mod console_signin;
mod error;
mod password_policy;
pub mod policy;
pub(crate) mod service;

pub use actions::{handle, known_action};
pub use authn::{AuthError, Caller, CallerKind, Origin};
pub use console_signin::{ConsoleIdentity, SignInError};
pub use error::IamError;
pub use service::{AccountCreated, IamService};
