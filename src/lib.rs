//! idbroker: an identity broker with an AWS-compatible IAM and STS.
//!
//! Dependencies point inward (see `shared/docs/design.md`): `web` is the only
//! module that knows actix-web, `store` the only one that knows sqlx, and the
//! domain logic (`iam`, `iam::policy`, `sigv4`) is plain Rust.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod client;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod directory;
pub mod doctor;
pub mod domain;
pub mod fetch;
pub mod iam;
pub mod idp;
pub mod keys;
mod memo;
pub mod metrics;
pub mod operator;
pub mod query;
pub mod saml;
pub mod sigv4;
pub mod startup;
pub mod store;
pub mod sts;
pub mod telemetry;
pub mod web;
