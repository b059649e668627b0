//! Failed sign-ins, counted in the database so every node counts them all,
//! and the rule that keeps one source's failures from locking out others.
//! Past a limit, sign-in answers 429 without asking the directory.
//!
//! The rule, after AD FS extranet smart lockout: an address from which a user
//! completed a sign-in in the last 30 days is *familiar* to that user.
//! - A failure from a familiar address counts against that user's familiar
//!   budget only (`max_failures_per_user`): a user's own typos lock out no
//!   one else, and an attacker elsewhere cannot lock the user out at home.
//! - A failure from an unfamiliar address counts against the user's
//!   unfamiliar budget (`max_failures_per_user`: guessing one account from
//!   anywhere stops, while its owner still signs in from familiar addresses)
//!   and against the address (`max_failures_per_address`: a spray from one
//!   address stops, for every account to which that address is not familiar).
//!
//! So behind one NAT, a spray from that address stops at the address's budget
//! for newcomers and at each account's own budget for the others, and the
//! employees who have signed in from there before keep signing in. Keycloak's
//! brute-force detection counts per user only; counting per address as well
//! is what slows a spray across many accounts. IPv6 addresses count per /64,
//! the block one subscriber is usually given.
use crate::store::{Store, StoreError};
use std::net::IpAddr;

/// How long a completed sign-in keeps its address familiar.
const FAMILIAR_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Clone)]
pub struct Throttle {
    store: Store,
    per_user: u32,
    per_address: u32,
    window: i64,
}

/// A sign-in attempt the throttle let through: what a failure or a success
/// of it is recorded against.
#[derive(Debug, Clone)]
pub struct Attempt {
    user: String,
    address: String,
    familiar: bool,
    at: i64,
}

/// Spelling variants of one name (case, surrounding spaces) share a count,
/// as the directory matches them to one entry.
fn user_key(user: &str) -> String {
    user.trim().to_lowercase()
}

/// An address as counted: IPv6 by its /64.
fn address_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => address.to_owned(),
    }
}

impl Attempt {
    /// The failure counters this attempt's failure adds to.
    fn counters(&self) -> Vec<String> {
        if self.familiar {
            vec![format!("uf:{}", self.user)]
        } else {
            vec![format!("uu:{}", self.user), format!("a:{}", self.address)]
        }
    }
}

impl Throttle {
    pub fn new(store: Store, per_user: u32, per_address: u32, window_seconds: i64) -> Throttle {
        Throttle { store, per_user, per_address, window: window_seconds }
    }

    /// A sign-in for `user` from `address` about to be tried now, or None
    /// when the budgets it would count against are spent.
    pub async fn attempt(&self, user: &str, address: &str, now: i64) -> Result<Option<Attempt>, StoreError> {
        let (user, address) = (user_key(user), address_key(address));
        let familiar = self.store.is_familiar_source(&user, &address, now - FAMILIAR_SECONDS).await?;
        let attempt = Attempt { user, address, familiar, at: now };
        let counters = attempt.counters();
        let keys: Vec<&str> = counters.iter().map(String::as_str).collect();
        let counts = self.store.count_signin_failures(&keys, now - self.window).await?;
        let within = counters.iter().zip(counts).all(|(key, n)| {
            let limit = if key.starts_with("a:") { self.per_address } else { self.per_user };
            n < i64::from(limit)
        });
        Ok(within.then_some(attempt))
    }

    pub async fn record_failure(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let counters = attempt.counters();
        let keys: Vec<&str> = counters.iter().map(String::as_str).collect();
        self.store.record_signin_failure(&keys, attempt.at).await
    }

    /// A completed sign-in: its address is familiar to the user from now on.
    pub async fn record_success(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.store.record_familiar_source(&attempt.user, &attempt.address, attempt.at).await
    }

    /// Forgets failures older than the window and addresses no longer familiar.
    pub async fn purge(&self, now: i64) -> Result<u64, StoreError> {
        let failures = self.store.purge_signin_failures(now - self.window).await?;
        Ok(failures + self.store.purge_familiar_sources(now - FAMILIAR_SECONDS).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_variants_of_a_name_share_a_key_and_ipv6_counts_per_64() {
        assert_eq!(user_key("alice"), user_key(" ALICE "));
        assert_ne!(user_key("alice"), user_key("alicE2"));
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), address_key("2001:db8:1:2:bbbb::9"));
        assert_ne!(address_key("2001:db8:1:2::1"), address_key("2001:db8:1:3::1"));
        assert_eq!(address_key("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn a_familiar_failure_counts_against_the_user_alone() {
        let at = |familiar| Attempt { user: "alice".into(), address: "192.0.2.1".into(), familiar, at: 0 };
        assert_eq!(at(true).counters(), ["uf:alice"]);
        assert_eq!(at(false).counters(), ["uu:alice", "a:192.0.2.1"]);
    }
}
