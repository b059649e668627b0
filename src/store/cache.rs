//! Rows read on every exchange (SAML providers, principals by name), kept in
//! memory for as long as nothing that could change them has been written.
//! Each SQLite read costs about 150 µs of CPU in hand-offs to its thread,
//! half of an `AssumeRoleWithSAML` exchange (scripts/load_saml.sh).
//!
//! Invalidation, not expiry. A row is served from memory only if it was read
//! in the current generation, and the generation moves:
//! - on this node, right after any write to those tables commits;
//! - for writes by other nodes (or `idbroker` commands on the same SQLite
//!   file), when the shared change counter that every such write bumps is
//!   seen to move: `Store::watch_changes` polls it, so another node's change
//!   is in force here within one poll interval.
//!
//! The generation is taken before the row is read, so a change that commits
//! while the read runs leaves that row already stale. Nothing is kept until
//! the counter has been read once, and a poll that fails forgets everything.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Entries kept per table; when full a table starts over (any row can be read again).
const LIMIT: usize = 10_000;

pub(super) struct Rows<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Hash + Eq, V: Clone> Rows<K, V> {
    fn new() -> Self {
        Rows { entries: Mutex::new(HashMap::new()) }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Generation(u64);

pub(super) struct RowCache {
    /// Set once the shared change counter is being watched.
    enabled: AtomicBool,
    generation: AtomicU64,
    /// The shared change counter as last read.
    seen_changes: AtomicI64,
    pub(super) providers: Rows<String, crate::domain::SamlProvider>,
    /// By account, kind and lower-cased name.
    pub(super) principals: Rows<(String, &'static str, String), crate::domain::Principal>,
}

impl std::fmt::Debug for RowCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowCache").field("generation", &self.generation).finish_non_exhaustive()
    }
}

impl RowCache {
    pub(super) fn new() -> Self {
        RowCache {
            enabled: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            seen_changes: AtomicI64::new(i64::MIN),
            providers: Rows::new(),
            principals: Rows::new(),
        }
    }

    /// The shared change counter as just read (None: it could not be read).
    /// A move, or a failed read, makes every kept row stale.
    /// Returns whether the counter moved (or could not be read).
    pub(super) fn saw_changes(&self, changes: Option<i64>) -> bool {
        match changes {
            Some(n) => {
                let moved = self.seen_changes.swap(n, Ordering::AcqRel) != n;
                if moved {
                    self.changed();
                }
                self.enabled.store(true, Ordering::Release);
                moved
            }
            None => {
                self.enabled.store(false, Ordering::Release);
                self.seen_changes.store(i64::MIN, Ordering::Release);
                self.changed();
                true
            }
        }
    }

    /// To be taken before reading a row that may be kept.
    pub(super) fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// After a committed write to a cached table: every kept row is stale.
    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The row kept for `key`, if it was read in the current generation.
    pub(super) fn get<K: Hash + Eq, V: Clone>(&self, rows: &Rows<K, V>, key: &K) -> Option<V> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let now = self.generation().0;
        let entries = rows.entries.lock().ok()?;
        entries.get(key).filter(|(seen, _)| *seen == now).map(|(_, v)| v.clone())
    }

    /// Keeps a row read in generation `seen`.
    pub(super) fn put<K: Hash + Eq, V: Clone>(&self, rows: &Rows<K, V>, seen: Generation, key: K, value: &V) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut entries) = rows.entries.lock() {
            if entries.len() >= LIMIT {
                entries.clear();
            }
            entries.insert(key, (seen.0, value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched() -> RowCache {
        let cache = RowCache::new();
        cache.saw_changes(Some(0));
        cache
    }

    #[test]
    fn a_row_read_before_a_write_is_never_served_after_it() {
        let cache = watched();
        let rows: Rows<String, u32> = Rows::new();
        let seen = cache.generation();
        // A write commits while the read is under way.
        cache.changed();
        cache.put(&rows, seen, "k".into(), &1);
        assert_eq!(cache.get(&rows, &"k".to_owned()), None);

        let seen = cache.generation();
        cache.put(&rows, seen, "k".into(), &2);
        assert_eq!(cache.get(&rows, &"k".to_owned()), Some(2));
        cache.changed();
        assert_eq!(cache.get(&rows, &"k".to_owned()), None);
    }

    #[test]
    fn another_nodes_change_or_a_failed_poll_makes_rows_stale() {
        let cache = watched();
        let rows: Rows<String, u32> = Rows::new();
        cache.put(&rows, cache.generation(), "k".into(), &1);
        cache.saw_changes(Some(0));
        assert_eq!(cache.get(&rows, &"k".to_owned()), Some(1), "the counter did not move");
        cache.saw_changes(Some(1));
        assert_eq!(cache.get(&rows, &"k".to_owned()), None, "the counter moved");

        cache.put(&rows, cache.generation(), "k".into(), &2);
        cache.saw_changes(None);
        assert_eq!(cache.get(&rows, &"k".to_owned()), None, "the poll failed");
        cache.put(&rows, cache.generation(), "k".into(), &3);
        assert_eq!(cache.get(&rows, &"k".to_owned()), None, "nothing is kept until the next poll");
    }

    #[test]
    fn nothing_is_kept_before_the_counter_is_watched() {
        let cache = RowCache::new();
        let rows: Rows<String, u32> = Rows::new();
        cache.put(&rows, cache.generation(), "k".into(), &1);
        assert_eq!(cache.get(&rows, &"k".to_owned()), None);
    }
}
