//! Pure data with its invariants: ids, names and ARNs in AWS's shapes.
mod arn;
mod ids;

pub use arn::Arn;
pub use ids::{
    validate_name, AccountId, EntityKind, IamPath, IdError, NameRule, ACCESS_KEY_PREFIX_LONG_TERM,
    ACCESS_KEY_PREFIX_TEMPORARY,
};
