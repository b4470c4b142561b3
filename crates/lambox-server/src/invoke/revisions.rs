//! The function revisions invocations run, cached so that a warm invoke does not touch SQLite.
//!
//! A cache filled by readers while writers change the store can go stale: a reader that read
//! the old row and inserts after the writer invalidated would bring the old revision back. So
//! every write of a function bumps its generation (after it committed), and a reader's insert is
//! taken only if the function's generation did not move since the reader started: a resolution
//! is cached only when nothing wrote the function while it read. Generations are kept only while
//! a reader that started before them is still reading, which bounds their map.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use lambox_core::pool::FunctionKey;
use lambox_core::revision::FunctionRevision;
use lambox_store::Scope;

/// A revision ready to run, with the function-level settings an invocation needs; for an alias
/// with a routing configuration, the two revisions it shares invocations between.
#[derive(Debug)]
pub struct Resolved {
    /// What runs: the version asked for, or the alias's primary version.
    pub revision: Arc<FunctionRevision>,
    /// An alias's additional version and its share of invocations.
    pub additional: Option<(Arc<FunctionRevision>, f64)>,
    /// The resource policy of the qualifier resolved (another account's invocations need it).
    pub policy: Arc<[lambox_core::policy::Statement]>,
    /// Reserved concurrency of the function.
    pub reserved: Option<u32>,
    /// The function's key in the warm pool.
    pub key: FunctionKey,
}

impl Resolved {
    /// The revision one invocation runs, given `draw`, uniform in `[0, 1)`: the additional
    /// version for a `weight` share of draws, else the primary one.
    pub fn pick(&self, draw: f64) -> &Arc<FunctionRevision> {
        match &self.additional {
            Some((rev, weight)) if draw < *weight => rev,
            _ => &self.revision,
        }
    }
}

type Versions = HashMap<String, Arc<Resolved>>;

#[derive(Debug, Default)]
struct State {
    /// Function → version (or alias) → what it resolves to.
    entries: HashMap<FunctionKey, Versions>,
    /// Function → the epoch of its last write, while a reader older than it may still insert.
    writes: HashMap<FunctionKey, u64>,
    /// Counts every write.
    epoch: u64,
    /// The epochs readers in flight started at, with their counts.
    reading: BTreeMap<u64, u32>,
}

impl State {
    /// Drops the generations no reader in flight can be older than.
    fn prune(&mut self) {
        match self.reading.keys().next().copied() {
            None => self.writes.clear(),
            Some(oldest) => self.writes.retain(|_, w| *w > oldest),
        }
    }
}

/// Cache of resolved revisions by function and version.
#[derive(Debug, Default)]
pub struct RevisionCache {
    state: Arc<Mutex<State>>,
}

/// A read of the store in flight for one function: what it resolves may be cached through
/// [`RevisionCache::insert`] unless the function was written meanwhile.
#[derive(Debug)]
pub struct ReadTicket {
    state: Arc<Mutex<State>>,
    function: FunctionKey,
    started: u64,
}

impl Drop for ReadTicket {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(n) = state.reading.get_mut(&self.started) {
            *n -= 1;
            if *n == 0 {
                state.reading.remove(&self.started);
            }
        }
        state.prune();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pool key of a function of `scope`.
pub fn function_key(scope: &Scope, name: &str) -> FunctionKey {
    FunctionKey {
        account: scope.account.clone(),
        region: scope.region.clone(),
        name: name.to_owned(),
    }
}

impl RevisionCache {
    /// The cached resolution of a version.
    pub fn get(&self, key: &FunctionKey, version: &str) -> Option<Arc<Resolved>> {
        lock(&self.state).entries.get(key)?.get(version).cloned()
    }

    /// Starts a read of `key` from the store.
    pub fn begin_read(&self, key: &FunctionKey) -> ReadTicket {
        let mut state = lock(&self.state);
        let started = state.epoch;
        *state.reading.entry(started).or_default() += 1;
        ReadTicket {
            state: self.state.clone(),
            function: key.clone(),
            started,
        }
    }

    /// Caches what a read resolved, unless the function was written since the read began;
    /// returns whether it was cached.
    pub fn insert(&self, ticket: ReadTicket, version: &str, resolved: Arc<Resolved>) -> bool {
        let mut state = lock(&self.state);
        let written_since = state
            .writes
            .get(&ticket.function)
            .is_some_and(|w| *w > ticket.started);
        if written_since {
            return false;
        }
        state
            .entries
            .entry(ticket.function.clone())
            .or_default()
            .insert(version.to_owned(), resolved);
        // The guard drops before the ticket (a parameter), whose drop takes the lock again.
        true
    }

    /// A function was written (and committed): its entries go, and reads that began before this
    /// will not be cached.
    pub fn invalidate(&self, key: &FunctionKey) {
        let mut state = lock(&self.state);
        state.epoch += 1;
        let epoch = state.epoch;
        state.entries.remove(key);
        if !state.reading.is_empty() {
            state.writes.insert(key.clone(), epoch);
        }
        state.prune();
    }

    /// How many generations are kept (for tests of the bound).
    #[cfg(test)]
    fn generations(&self) -> usize {
        lock(&self.state).writes.len()
    }
}

#[cfg(test)]
mod tests {
    use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};

    use super::*;

    fn key(name: &str) -> FunctionKey {
        FunctionKey {
            account: "1".into(),
            region: "r".into(),
            name: name.into(),
        }
    }

    fn resolved(code: &str) -> Arc<Resolved> {
        let config = FunctionConfig::new(
            "f",
            PackageType::Zip,
            "r".into(),
            None,
            None,
            &FunctionSettings::default(),
        );
        Arc::new(Resolved {
            revision: Arc::new(FunctionRevision::new(
                "1".into(),
                "r".into(),
                "f".into(),
                "$LATEST".into(),
                code.into(),
                config,
            )),
            additional: None,
            policy: Arc::new([]),
            reserved: None,
            key: key("f"),
        })
    }

    #[test]
    fn a_read_that_overlaps_a_write_is_not_cached() {
        let cache = RevisionCache::default();
        let f = key("f");
        // The reader reads the old row…
        let ticket = cache.begin_read(&f);
        // …the writer commits and invalidates…
        cache.invalidate(&f);
        // …and the reader's insert is refused.
        assert!(!cache.insert(ticket, "$LATEST", resolved("old")));
        assert!(cache.get(&f, "$LATEST").is_none());
        // A read that starts after the write is cached.
        let ticket = cache.begin_read(&f);
        assert!(cache.insert(ticket, "$LATEST", resolved("new")));
        assert_eq!(
            cache.get(&f, "$LATEST").unwrap().revision.code_sha256_hex,
            "new"
        );
    }

    #[test]
    fn writes_to_other_functions_do_not_refuse_inserts() {
        let cache = RevisionCache::default();
        let ticket = cache.begin_read(&key("f"));
        cache.invalidate(&key("g"));
        assert!(cache.insert(ticket, "1", resolved("a")));
        cache.invalidate(&key("f"));
        assert!(cache.get(&key("f"), "1").is_none());
    }

    #[test]
    fn generations_are_kept_only_while_an_older_read_is_in_flight() {
        let cache = RevisionCache::default();
        for i in 0..100 {
            cache.invalidate(&key(&i.to_string()));
        }
        assert_eq!(cache.generations(), 0, "no reader: nothing to remember");
        let ticket = cache.begin_read(&key("f"));
        for i in 0..100 {
            cache.invalidate(&key(&i.to_string()));
        }
        assert_eq!(cache.generations(), 100);
        drop(ticket);
        assert_eq!(cache.generations(), 0);
    }

    /// Readers and writers on threads: once a write's invalidation has returned, no read that
    /// started afterwards finds the value from before it.
    #[test]
    fn never_serves_a_value_older_than_the_last_completed_write() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let cache = Arc::new(RevisionCache::default());
        // The "store": the current code version, and the last one whose invalidation completed.
        let stored = Arc::new(AtomicU64::new(0));
        let completed = Arc::new(AtomicU64::new(0));
        let f = key("f");
        let writer = {
            let (cache, stored, completed, f) =
                (cache.clone(), stored.clone(), completed.clone(), f.clone());
            std::thread::spawn(move || {
                for v in 1..=2000u64 {
                    stored.store(v, Ordering::SeqCst);
                    cache.invalidate(&f);
                    completed.store(v, Ordering::SeqCst);
                }
            })
        };
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (cache, stored, completed, f) =
                    (cache.clone(), stored.clone(), completed.clone(), f.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        let floor = completed.load(Ordering::SeqCst);
                        let seen = match cache.get(&f, "$LATEST") {
                            Some(r) => r.revision.code_sha256_hex.parse::<u64>().unwrap(),
                            None => {
                                let ticket = cache.begin_read(&f);
                                let v = stored.load(Ordering::SeqCst);
                                std::thread::yield_now();
                                cache.insert(ticket, "$LATEST", resolved(&v.to_string()));
                                v
                            }
                        };
                        assert!(seen >= floor, "served {seen} after write {floor} completed");
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
    }
}
