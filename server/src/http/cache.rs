//! The answer cache: synthesis answers kept in memory, bounded in bytes with
//! the least recently used dropped first, and identical requests in flight
//! merged into one inference (single flight). A key is a SHA-256 digest of
//! everything that decides an answer, so the cache keeps no request bytes.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// A digest of everything that decides an answer.
pub type Key = [u8; 32];

/// What a kept answer costs beyond its own bytes: its key in the map and in
/// the order, the map's slot and the entry's bookkeeping. Counted
/// generously, so that the cache's real size stays within its bound.
const ENTRY_OVERHEAD: usize = 256;

/// The key of `parts` (model, package digest, output format, request): the
/// SHA-256 of what their `Hash` feeds a hasher. A digest rather than a
/// 64-bit hash: with a hash a client could craft a collision and be
/// answered with another request's image.
pub fn key(parts: &impl Hash) -> Key {
    let mut hasher = KeyHasher(Sha256::new());
    parts.hash(&mut hasher);
    let mut key = [0; 32];
    key.copy_from_slice(&hasher.0.finalize());
    key
}

/// Feeds std's `Hash` into SHA-256.
struct KeyHasher(Sha256);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Keys are the whole digest (`key`); this is its first eight bytes.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// A map bounded in bytes that drops its least recently used entries first.
#[derive(Debug)]
pub struct Lru<K, V> {
    capacity: usize,
    bytes: usize,
    /// Counts uses; an entry's last use orders it in `order`.
    clock: u64,
    entries: HashMap<K, Entry<V>>,
    /// Keys by their last use, oldest first.
    order: BTreeMap<u64, K>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    bytes: usize,
    used: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map that holds at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            bytes: 0,
            clock: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The bytes of the entries held, as they were counted in.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, which becomes the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let entry = self.entries.get_mut(key)?;
        self.order.remove(&entry.used);
        self.clock += 1;
        entry.used = self.clock;
        self.order.insert(self.clock, key.clone());
        Some(&entry.value)
    }

    /// Keeps `value` under `key`, counted as `bytes`, dropping the least
    /// recently used entries until it fits; a value larger than the whole
    /// bound is not kept. Returns how many entries were dropped.
    pub fn insert(&mut self, key: K, value: V, bytes: usize) -> usize {
        if bytes > self.capacity {
            return 0;
        }
        if let Some(old) = self.entries.remove(&key) {
            self.order.remove(&old.used);
            self.bytes -= old.bytes;
        }
        let mut dropped = 0;
        while self.bytes + bytes > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.bytes;
                dropped += 1;
            }
        }
        self.clock += 1;
        self.order.insert(self.clock, key.clone());
        self.entries.insert(
            key,
            Entry {
                value,
                bytes,
                used: self.clock,
            },
        );
        self.bytes += bytes;
        dropped
    }
}

/// A value the cache keeps, and what it costs.
pub trait Weigh {
    /// The bytes it holds, counted generously.
    fn weight(&self) -> usize;
}

/// How an answer was come by: the `x-cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Kept from an identical request before.
    Hit,
    /// An identical request was being answered; this one waited for it and
    /// shares its answer.
    Merged,
    /// Made for this request (and kept, when it fits).
    Miss,
    /// The cache was not asked: it is off (`--cache-mb 0`), or the request
    /// said `Cache-Control: no-cache` or `no-store`.
    Bypass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Merged => "merged",
            Outcome::Miss => "miss",
            Outcome::Bypass => "bypass",
        }
    }
}

/// Counts for /metrics, read when it renders.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub merged: AtomicU64,
    pub evictions: AtomicU64,
    /// What the cache holds now, in bytes as it counts them.
    pub bytes: AtomicU64,
}

/// An answer being made, shared by every request that waits for it.
type Making<V> = BoxFuture<'static, Result<V, ApiError>>;

/// The answers kept and those being made, behind one lock that is never
/// held across an await.
struct Answers<V> {
    kept: Lru<Key, V>,
    /// Weak, so that an answer whose every client has gone is dropped (and
    /// its work with it: the model's queue skips works nobody waits for).
    making: HashMap<Key, WeakShared<Making<V>>>,
}

/// The cache a server's handlers share; clones share it.
pub struct AnswerCache<V> {
    answers: Arc<Mutex<Answers<V>>>,
    pub stats: Arc<CacheStats>,
    capacity: usize,
}

impl<V> Clone for AnswerCache<V> {
    fn clone(&self) -> Self {
        Self {
            answers: self.answers.clone(),
            stats: self.stats.clone(),
            capacity: self.capacity,
        }
    }
}

impl<V: Weigh + Clone + Send + Sync + 'static> AnswerCache<V> {
    /// A cache of at most `capacity` bytes; 0: off.
    pub fn new(capacity: usize) -> Self {
        Self {
            answers: Arc::new(Mutex::new(Answers {
                kept: Lru::new(capacity),
                making: HashMap::new(),
            })),
            stats: Arc::default(),
            capacity,
        }
    }

    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    /// The answer for `key`: the one kept, or the one being made for an
    /// identical request (shared), or else `make`'s. The answer being made
    /// goes on while any request waits for it, whichever of them gave up;
    /// an error is shared with those waiting but not kept.
    pub async fn get_or_make(
        &self,
        key: Key,
        make: impl Future<Output = Result<V, ApiError>> + Send + 'static,
    ) -> (Result<V, ApiError>, Outcome) {
        let (making, outcome) = {
            let mut answers = self.lock();
            if let Some(value) = answers.kept.get(&key) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                return (Ok(value.clone()), Outcome::Hit);
            }
            let in_progress = answers.making.get(&key).and_then(|m| m.upgrade());
            match in_progress {
                Some(making) => {
                    self.stats.merged.fetch_add(1, Ordering::Relaxed);
                    (making, Outcome::Merged)
                }
                None => {
                    self.stats.misses.fetch_add(1, Ordering::Relaxed);
                    let making = self.start(key, make);
                    // Answers nobody waits for any more leave the map here,
                    // so it holds only those in progress.
                    answers.making.retain(|_, m| m.upgrade().is_some());
                    if let Some(weak) = making.downgrade() {
                        answers.making.insert(key, weak);
                    }
                    (making, Outcome::Miss)
                }
            }
        };
        (making.await, outcome)
    }

    /// `make`, shared, keeping its answer when it is done. Nothing runs
    /// until a request awaits it.
    fn start(
        &self,
        key: Key,
        make: impl Future<Output = Result<V, ApiError>> + Send + 'static,
    ) -> Shared<Making<V>> {
        let cache = self.clone();
        async move {
            let result = make.await;
            cache.finish(key, &result);
            result
        }
        .boxed()
        .shared()
    }

    fn finish(&self, key: Key, result: &Result<V, ApiError>) {
        let mut answers = self.lock();
        answers.making.remove(&key);
        if let Ok(value) = result {
            let dropped = answers
                .kept
                .insert(key, value.clone(), value.weight() + ENTRY_OVERHEAD);
            self.stats
                .evictions
                .fetch_add(dropped as u64, Ordering::Relaxed);
            self.stats
                .bytes
                .store(answers.kept.bytes() as u64, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Answers<V>> {
        // Every change to the maps is complete before anything can panic.
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    impl Weigh for String {
        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn the_least_recently_used_entries_go_first_and_the_bound_holds() {
        let mut lru = Lru::new(100);
        assert_eq!(lru.insert("a", 1, 40), 0);
        assert_eq!(lru.insert("b", 2, 40), 0);
        assert_eq!(lru.get(&"a"), Some(&1), "a is now the most recently used");
        assert_eq!(lru.insert("c", 3, 40), 1, "one entry makes room");
        assert_eq!(lru.get(&"b"), None, "b was the least recently used");
        assert_eq!(lru.get(&"a"), Some(&1));
        assert_eq!(lru.get(&"c"), Some(&3));
        assert_eq!(lru.bytes(), 80);
        assert_eq!(lru.insert("d", 4, 90), 2, "a large entry drops both");
        assert_eq!((lru.len(), lru.bytes()), (1, 90));
        for (i, key) in ["e", "f", "g", "h", "i", "j"].into_iter().enumerate() {
            lru.insert(key, i, 30);
            assert!(lru.bytes() <= 100, "{} bytes", lru.bytes());
        }
        assert_eq!(lru.len(), 3, "the three most recent of 30 bytes fit");
        assert_eq!(lru.get(&"g"), None);
        assert_eq!(lru.get(&"h"), Some(&3));
    }

    #[test]
    fn a_value_larger_than_the_bound_is_not_kept_and_a_key_counts_once() {
        let mut lru = Lru::new(100);
        lru.insert("a", 1, 60);
        assert_eq!(lru.insert("huge", 2, 101), 0);
        assert_eq!(lru.get(&"huge"), None);
        assert_eq!(lru.get(&"a"), Some(&1), "nothing was dropped for it");
        assert_eq!(lru.insert("a", 3, 70), 0, "replaced, not dropped");
        assert_eq!((lru.len(), lru.bytes()), (1, 70));
        assert_eq!(lru.get(&"a"), Some(&3));
    }

    #[test]
    fn keys_tell_requests_apart() {
        assert_eq!(key(&("m", 1u64)), key(&("m", 1u64)));
        assert_ne!(key(&("m", 1u64)), key(&("m", 2u64)));
        assert_ne!(key(&("ab", "c")), key(&("a", "bc")));
    }

    /// Lets every spawned task run until it waits. The tests run on a
    /// paused clock (`start_paused`), which moves only when no task can run:
    /// this sleep ends after the others have done all they can by now.
    async fn until_the_others_wait() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    /// A `make` that counts its runs, takes `wait` (on the paused clock),
    /// and answers `answer`.
    fn making(
        runs: &Arc<AtomicUsize>,
        wait: Duration,
        answer: Result<String, ApiError>,
    ) -> impl Future<Output = Result<String, ApiError>> + Send + 'static {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(wait).await;
            answer
        }
    }

    #[tokio::test(start_paused = true)]
    async fn identical_requests_in_flight_are_made_once() {
        let cache = AnswerCache::<String>::new(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let requests: Vec<_> = (0..5)
            .map(|_| {
                let (cache, make) = (
                    cache.clone(),
                    making(&runs, Duration::from_millis(50), Ok("image".into())),
                );
                tokio::spawn(async move { cache.get_or_make([7; 32], make).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for request in requests {
            let (answer, outcome) = request.await.unwrap();
            assert_eq!(answer.unwrap(), "image");
            outcomes.push(outcome);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let count = |outcome: Outcome| outcomes.iter().filter(|o| **o == outcome).count();
        let (misses, merged) = (count(Outcome::Miss), count(Outcome::Merged));
        assert_eq!((misses, merged), (1, 4), "{outcomes:?}");
        let (answer, outcome) = cache
            .get_or_make([7; 32], making(&runs, Duration::ZERO, Ok("other".into())))
            .await;
        assert_eq!(
            (answer.unwrap(), outcome),
            ("image".to_string(), Outcome::Hit)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let stats = &cache.stats;
        assert_eq!(stats.misses.load(Ordering::Relaxed), 1);
        assert_eq!(stats.merged.load(Ordering::Relaxed), 4);
        assert_eq!(stats.hits.load(Ordering::Relaxed), 1);
        let bytes = stats.bytes.load(Ordering::Relaxed) as usize;
        assert_eq!(bytes, "image".len() + ENTRY_OVERHEAD);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_shared_with_those_waiting_but_not_kept() {
        let cache = AnswerCache::<String>::new(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let failing = || {
            making(
                &runs,
                Duration::from_millis(50),
                Err(ApiError::Conflict("too slow".into())),
            )
        };
        let (first, second) = tokio::join!(
            cache.get_or_make([1; 32], failing()),
            cache.get_or_make([1; 32], failing()),
        );
        assert!(matches!(first.0, Err(ApiError::Conflict(_))));
        assert!(matches!(second.0, Err(ApiError::Conflict(_))));
        assert_eq!((first.1, second.1), (Outcome::Miss, Outcome::Merged));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let (again, outcome) = cache.get_or_make([1; 32], failing()).await;
        assert!(again.is_err());
        assert_eq!(outcome, Outcome::Miss, "the error was not kept");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(cache.stats.bytes.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_goes_on_when_the_request_that_started_it_gives_up() {
        let cache = AnswerCache::<String>::new(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let first = {
            let (cache, make) = (
                cache.clone(),
                making(&runs, Duration::from_millis(100), Ok("image".into())),
            );
            tokio::spawn(async move { cache.get_or_make([2; 32], make).await })
        };
        until_the_others_wait().await;
        let second = {
            let (cache, make) = (
                cache.clone(),
                making(&runs, Duration::ZERO, Ok("other".into())),
            );
            tokio::spawn(async move { cache.get_or_make([2; 32], make).await })
        };
        until_the_others_wait().await;
        first.abort();
        let (answer, outcome) = second.await.unwrap();
        assert_eq!(
            (answer.unwrap(), outcome),
            ("image".to_string(), Outcome::Merged)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_gives_up_waiting_leaves_the_answer_to_the_others() {
        let cache = AnswerCache::<String>::new(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let spawn = |wait| {
            let (cache, make) = (cache.clone(), making(&runs, wait, Ok("image".into())));
            tokio::spawn(async move { cache.get_or_make([4; 32], make).await })
        };
        let first = spawn(Duration::from_millis(100));
        until_the_others_wait().await;
        let second = spawn(Duration::ZERO);
        until_the_others_wait().await;
        second.abort();
        let (answer, outcome) = first.await.unwrap();
        assert_eq!(
            (answer.unwrap(), outcome),
            ("image".to_string(), Outcome::Miss)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_nobody_waits_for_is_dropped_and_made_again_when_asked() {
        let cache = AnswerCache::<String>::new(1 << 20);
        let runs = Arc::new(AtomicUsize::new(0));
        let alone = {
            let (cache, make) = (
                cache.clone(),
                making(&runs, Duration::from_secs(10), Ok("never".into())),
            );
            tokio::spawn(async move { cache.get_or_make([3; 32], make).await })
        };
        until_the_others_wait().await;
        alone.abort();
        assert!(alone.await.unwrap_err().is_cancelled());
        let (answer, outcome) = cache
            .get_or_make([3; 32], making(&runs, Duration::ZERO, Ok("image".into())))
            .await;
        assert_eq!(
            (answer.unwrap(), outcome),
            ("image".to_string(), Outcome::Miss)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(cache.lock().making.len(), 0, "nothing left in progress");
    }
}
