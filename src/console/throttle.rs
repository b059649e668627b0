//! Failed sign-ins counted per user name and per source address in a sliding
//! window; past the limit, sign-in answers 429 without asking the directory.
//! Kept in memory on each node: a throttle is a brake, not a record.
use std::collections::HashMap;
use std::sync::Mutex;

/// Spelling variants of one name (case, surrounding spaces) share a count,
/// as the directory matches them to one entry.
fn user_key(user: &str) -> String {
    format!("u:{}", user.trim().to_lowercase())
}

pub struct Throttle {
    per_user: u32,
    per_address: u32,
    window: i64,
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl Throttle {
    pub fn new(per_user: u32, per_address: u32, window_seconds: i64) -> Throttle {
        Throttle { per_user, per_address, window: window_seconds, failures: Mutex::new(HashMap::new()) }
    }

    fn count(map: &mut HashMap<String, Vec<i64>>, key: &str, since: i64) -> u32 {
        match map.get_mut(key) {
            Some(times) => {
                times.retain(|&t| t > since);
                times.len() as u32
            }
            None => 0,
        }
    }

    /// Whether a sign-in for `user` from `address` may be tried now.
    pub fn allows(&self, user: &str, address: &str, now: i64) -> bool {
        let Ok(mut map) = self.failures.lock() else { return false };
        let since = now - self.window;
        Self::count(&mut map, &user_key(user), since) < self.per_user
            && Self::count(&mut map, &format!("a:{address}"), since) < self.per_address
    }

    pub fn record_failure(&self, user: &str, address: &str, now: i64) {
        let Ok(mut map) = self.failures.lock() else { return };
        if map.len() > 100_000 {
            // Bounded memory under a spray: forget entries that aged out.
            let since = now - self.window;
            map.retain(|_, times| times.iter().any(|&t| t > since));
        }
        map.entry(user_key(user)).or_default().push(now);
        map.entry(format!("a:{address}")).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_address_limits_apply_within_the_window() {
        let t = Throttle::new(3, 5, 300);
        for _ in 0..3 {
            assert!(t.allows("alice", "10.0.0.1", 1000));
            t.record_failure("alice", "10.0.0.1", 1000);
        }
        assert!(!t.allows("alice", "10.0.0.9", 1001), "per user, from any address");
        assert!(!t.allows("ALICE", "10.0.0.9", 1001), "user names compare without case");
        assert!(!t.allows(" alice ", "10.0.0.9", 1001), "or surrounding spaces");
        assert!(t.allows("bob", "10.0.0.1", 1001));
        t.record_failure("bob", "10.0.0.1", 1001);
        t.record_failure("carol", "10.0.0.1", 1001);
        assert!(!t.allows("dave", "10.0.0.1", 1002), "per address, for any user");
        assert!(t.allows("alice", "10.0.0.9", 1301), "the window slides");
    }
}
