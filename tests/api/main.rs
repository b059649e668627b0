//! One integration-test binary: the real application on port 0, a fresh
//! database per test (SQLite by default, PostgreSQL when TEST_DATABASE_URL is
//! set), requests signed with SigV4 as a client would.
mod helpers;
mod keys;
mod lockout;
mod pages;
#[path = "../support/test_idp.rs"]
#[allow(dead_code)] // the offline addressing serves the unit tests and the harness
mod test_idp;

mod active_directory;
mod admin;
mod audit_trail;
mod authentication;
mod authorization;
mod browser;
mod changes;
mod cli;
mod console_signin;
mod credentials;
mod entities;
mod mfa;
mod policies;
mod providers;
mod saml;
mod saml_wrapping;
mod service;
mod service_providers;
mod signin;
mod sts;
mod tenants;
mod web_surface;
