//! Failed sign-ins counted per user name and per source address within a
//! sliding window, in the database so every node counts them all. Past the
//! limit, sign-in answers 429 without asking the directory.
use crate::store::{Store, StoreError};

pub struct Throttle {
    store: Store,
    per_user: u32,
    per_address: u32,
    window: i64,
}

/// Spelling variants of one name (case, surrounding spaces) share a count,
/// as the directory matches them to one entry.
fn user_key(user: &str) -> String {
    format!("u:{}", user.trim().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("a:{address}")
}

impl Throttle {
    pub fn new(store: Store, per_user: u32, per_address: u32, window_seconds: i64) -> Throttle {
        Throttle { store, per_user, per_address, window: window_seconds }
    }

    /// Whether a sign-in for `user` from `address` may be tried now.
    pub async fn allows(&self, user: &str, address: &str, now: i64) -> Result<bool, StoreError> {
        let [by_user, by_address] = self
            .store
            .count_signin_failures([&user_key(user), &address_key(address)], now - self.window)
            .await?;
        Ok(by_user < i64::from(self.per_user) && by_address < i64::from(self.per_address))
    }

    pub async fn record_failure(&self, user: &str, address: &str, now: i64) -> Result<(), StoreError> {
        self.store.record_signin_failure(&[&user_key(user), &address_key(address)], now).await
    }

    /// Forgets failures older than the window.
    pub async fn purge(&self, now: i64) -> Result<u64, StoreError> {
        self.store.purge_signin_failures(now - self.window).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_variants_of_a_name_share_a_key() {
        assert_eq!(user_key("alice"), user_key(" ALICE "));
        assert_ne!(user_key("alice"), user_key("alicE2"));
        assert_ne!(user_key("10.0.0.1"), address_key("10.0.0.1"));
    }
}
