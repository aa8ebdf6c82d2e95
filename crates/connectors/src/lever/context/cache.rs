//! A TTL cache of Lever objects by key, with single-flight fetches:
//! concurrent misses for one key wait for a single request, so a burst of
//! interviews for one posting reads the posting once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One cache entry: fetched once at a time (single flight), reused until
/// its TTL passes.
#[derive(Default)]
struct Slot {
    value: Mutex<Option<(Instant, Arc<Value>)>>,
}

/// A TTL cache of Lever objects by key, with single-flight fetches.
pub(crate) struct TtlCache {
    ttl: Duration,
    max_entries: usize,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TtlCache {
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries: max_entries.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value, or `fetch`'s (stored). `Ok(None)`-free: errors are
    /// not cached. Returns whether it was a hit.
    pub(crate) fn get_or_fetch<E>(
        &self,
        key: &str,
        fetch: impl FnOnce() -> Result<Value, E>,
    ) -> Result<(Arc<Value>, bool), E> {
        let slot = {
            let mut slots = lock(&self.slots);
            if slots.len() >= self.max_entries && !slots.contains_key(key) {
                self.evict(&mut slots);
            }
            slots.entry(key.to_string()).or_default().clone()
        };
        // Held while fetching: a second caller for the same key waits here
        // and then finds the value.
        let mut value = lock(&slot.value);
        if let Some((at, v)) = value.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok((v.clone(), true));
            }
        }
        let fresh = Arc::new(fetch()?);
        *value = Some((Instant::now(), fresh.clone()));
        Ok((fresh, false))
    }

    /// Drops expired and empty entries; when still full, the oldest half.
    fn evict(&self, slots: &mut HashMap<String, Arc<Slot>>) {
        let mut ages: Vec<(String, Option<Instant>)> = slots
            .iter()
            .map(|(k, s)| {
                // An entry being fetched right now is kept.
                let at = match s.value.try_lock() {
                    Ok(v) => v.as_ref().map(|(at, _)| *at),
                    Err(_) => Some(Instant::now()),
                };
                (k.clone(), at)
            })
            .collect();
        ages.retain(|(k, at)| match at {
            Some(at) if at.elapsed() < self.ttl => true,
            _ => {
                slots.remove(k);
                false
            }
        });
        if slots.len() >= self.max_entries {
            ages.sort_by_key(|(_, at)| *at);
            for (k, _) in ages.iter().take(ages.len().div_ceil(2)) {
                slots.remove(k);
            }
        }
    }

    /// Forgets one key (to read it again on purpose).
    pub(crate) fn forget(&self, key: &str) {
        lock(&self.slots).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn cache_is_single_flight_and_expires() {
        let cache = Arc::new(TtlCache::new(Duration::from_millis(200), 10));
        let calls = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                std::thread::spawn(move || {
                    cache
                        .get_or_fetch::<()>("postings/p", || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(json!({"id": "p"}))
                        })
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        std::thread::sleep(Duration::from_millis(250));
        let (_, hit) = cache
            .get_or_fetch::<()>("postings/p", || Ok(json!({})))
            .unwrap();
        assert!(!hit, "expired entries are fetched again");
        // Errors are not cached.
        assert!(cache.get_or_fetch("x", || Err::<Value, _>("down")).is_err());
        let (_, hit) = cache.get_or_fetch::<()>("x", || Ok(json!(1))).unwrap();
        assert!(!hit);
    }

    #[test]
    fn cache_stays_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60), 4);
        for i in 0..20 {
            cache
                .get_or_fetch::<()>(&format!("k{i}"), || Ok(json!(i)))
                .unwrap();
        }
        assert!(lock(&cache.slots).len() <= 4);
    }
}
