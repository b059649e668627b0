//! A bounded memo of values that are costly to check and cheap to keep
//! (parsed policies, verified tokens, checked metadata), shared by requests.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

pub(crate) struct Memo<K, V> {
    limit: usize,
    entries: Mutex<HashMap<K, Arc<V>>>,
}

impl<K: Hash + Eq, V> Memo<K, V> {
    /// Keeps at most `limit` entries; when full it starts over (every entry
    /// can be made again, so no eviction order is needed).
    pub fn new(limit: usize) -> Self {
        Memo { limit, entries: Mutex::new(HashMap::new()) }
    }

    /// The value kept for `key`, or the one `make` builds (kept when it is Ok).
    pub fn get_or_try<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        if let Some(hit) = self.entries.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        let value = Arc::new(make()?);
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= self.limit {
                m.clear();
            }
            m.insert(key, value.clone());
        }
        Ok(value)
    }
}
