//! STS and request authentication. `sigv4` is pure canonicalisation and signing.
//! This build serves `GetCallerIdentity`; the credential-issuing actions
//! (`AssumeRoleWithSAML`, `AssumeRole`, ...) come with session tokens.
pub mod sigv4;

use crate::iam::Caller;
use crate::query::{text, Node};

#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("{0}")]
    InvalidAction(String),
}

impl StsError {
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            StsError::InvalidAction(_) => ("InvalidAction", 400),
        }
    }
}

/// STS actions this build serves.
pub const ACTIONS: &[&str] = &["GetCallerIdentity"];

pub fn handle(caller: &Caller, action: &str) -> Result<Option<Vec<Node>>, StsError> {
    match action {
        "GetCallerIdentity" => Ok(Some(vec![
            text("UserId", &caller.user_id),
            text("Account", &caller.account_id),
            text("Arn", &caller.arn),
        ])),
        other => {
            Err(StsError::InvalidAction(format!("Could not find operation {other} for version 2011-06-15")))
        }
    }
}
