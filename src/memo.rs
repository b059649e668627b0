//! A bounded memo of values that are costly to check and cheap to keep
//! (parsed policies, verified tokens, checked metadata), shared by requests.
//!
//! Two generations: entries are added to the young one; when it is full, it
//! becomes the old one and the previous old one is dropped; an old entry that
//! is used again moves back to the young one. So the entries in use survive
//! (unlike a memo that starts over when full, whose every request misses once
//! the working set passes the limit), at O(1) per look-up without an LRU list.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

pub(crate) struct Memo<K, V> {
    /// Entries per generation: at most twice this are kept.
    generation: usize,
    entries: Mutex<Generations<K, V>>,
}

struct Generations<K, V> {
    young: HashMap<K, Arc<V>>,
    old: HashMap<K, Arc<V>>,
}

impl<K: Hash + Eq, V> Generations<K, V> {
    fn insert(&mut self, generation: usize, key: K, value: Arc<V>) {
        if self.young.len() >= generation {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }
}

impl<K: Hash + Eq, V> Memo<K, V> {
    /// Keeps at most `limit` entries, the most recently used.
    pub fn new(limit: usize) -> Self {
        Memo {
            generation: (limit / 2).max(1),
            entries: Mutex::new(Generations { young: HashMap::new(), old: HashMap::new() }),
        }
    }

    /// The value kept for `key`, or the one `make` builds (kept when it is Ok).
    pub fn get_or_try<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        if let Ok(mut g) = self.entries.lock() {
            if let Some(hit) = g.young.get(&key) {
                return Ok(hit.clone());
            }
            if let Some(hit) = g.old.remove(&key) {
                g.insert(self.generation, key, hit.clone());
                return Ok(hit);
            }
        }
        let value = Arc::new(make()?);
        if let Ok(mut g) = self.entries.lock() {
            g.insert(self.generation, key, value.clone());
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(memo: &Memo<u32, u32>, key: u32) -> bool {
        let mut built = false;
        memo.get_or_try::<()>(key, || {
            built = true;
            Ok(key)
        })
        .unwrap();
        built
    }

    #[test]
    fn entries_in_use_survive_a_full_memo() {
        let memo = Memo::new(4);
        assert!(made(&memo, 1));
        assert!(!made(&memo, 1));
        // A hot entry used between many cold ones is never built again.
        for cold in 100..200 {
            made(&memo, cold);
            assert!(!made(&memo, 1), "evicted at {cold}");
        }
        // At most `limit` entries are kept.
        let kept = memo.entries.lock().map(|g| g.young.len() + g.old.len()).unwrap();
        assert!(kept <= 4, "{kept}");
    }
}
