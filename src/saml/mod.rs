//! The SAML side of idbroker; the only module (with `idp`) that uses samael.
//! Today: checking an identity provider's metadata before it is trusted.
mod trust;

pub use trust::{validate_idp_metadata, IdpMetadata, MetadataError};
