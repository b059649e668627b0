//! IAM policy documents: parsing with AWS's validation rules, and evaluation as
//! AWS documents it. Pure code: no I/O, no clock; the caller supplies the request
//! context (including `aws:CurrentTime` when a policy needs it).
mod condition;
mod context;
mod document;
mod eval;
mod glob;
mod variables;

pub use condition::{ConditionBlock, Operator};
pub use context::{PrincipalType, RequestContext, RequestPrincipal};
pub use document::{Effect, Policy, PolicyKind, Statement};
pub use eval::{evaluate, Decision, DenyReason, Evaluation, Grant, MatchedStatement, NamedPolicy, PolicySet};
pub use glob::{arn_like, glob_match};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl PolicyError {
    fn new(msg: impl Into<String>) -> Self {
        PolicyError(msg.into())
    }
}

#[cfg(test)]
mod tests;
