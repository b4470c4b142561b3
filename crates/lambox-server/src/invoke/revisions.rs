//! The function revisions invocations run, cached so that a warm invoke does not touch SQLite.
//! Every write to a function takes its entries out (the server makes every write, so the cache
//! cannot go stale).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lambox_core::pool::FunctionKey;
use lambox_core::revision::FunctionRevision;
use lambox_store::Scope;

/// A revision ready to run, with the function-level settings an invocation needs.
#[derive(Debug)]
pub struct Resolved {
    /// What runs.
    pub revision: Arc<FunctionRevision>,
    /// Reserved concurrency of the function.
    pub reserved: Option<u32>,
    /// The function's key in the warm pool.
    pub key: FunctionKey,
}

type Key = (String, String, String, String);

/// Cache of resolved revisions by (account, region, function, version).
#[derive(Debug, Default)]
pub struct RevisionCache {
    entries: Mutex<HashMap<Key, Arc<Resolved>>>,
}

fn key(scope: &Scope, name: &str, version: &str) -> Key {
    (
        scope.account.clone(),
        scope.region.clone(),
        name.to_owned(),
        version.to_owned(),
    )
}

impl RevisionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Resolved>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached revision of a version.
    pub fn get(&self, scope: &Scope, name: &str, version: &str) -> Option<Arc<Resolved>> {
        self.lock().get(&key(scope, name, version)).cloned()
    }

    /// Caches a revision.
    pub fn insert(&self, scope: &Scope, name: &str, version: &str, resolved: Arc<Resolved>) {
        self.lock().insert(key(scope, name, version), resolved);
    }

    /// Sets the reserved concurrency of every cached version of a function.
    pub fn set_reserved(&self, scope: &Scope, name: &str, reserved: Option<u32>) {
        for (k, entry) in self.lock().iter_mut() {
            if k.0 == scope.account && k.1 == scope.region && k.2 == name {
                *entry = Arc::new(Resolved {
                    revision: entry.revision.clone(),
                    reserved,
                    key: entry.key.clone(),
                });
            }
        }
    }

    /// Removes and returns the entries of a function: one version's, or all when `version` is
    /// `None`.
    pub fn take(&self, scope: &Scope, name: &str, version: Option<&str>) -> Vec<Arc<Resolved>> {
        let mut entries = self.lock();
        let keys: Vec<Key> = entries
            .keys()
            .filter(|(a, r, n, v)| {
                *a == scope.account
                    && *r == scope.region
                    && n == name
                    && version.is_none_or(|x| x == v)
            })
            .cloned()
            .collect();
        keys.iter().filter_map(|k| entries.remove(k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};

    use super::*;

    fn resolved(version: &str) -> Arc<Resolved> {
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
                version.into(),
                "aa".into(),
                config,
            )),
            reserved: None,
            key: FunctionKey {
                account: "1".into(),
                region: "r".into(),
                name: "f".into(),
            },
        })
    }

    #[test]
    fn entries_of_a_function_are_updated_and_taken_together() {
        let cache = RevisionCache::default();
        let scope = Scope {
            account: "1".into(),
            region: "r".into(),
        };
        let other = Scope {
            account: "2".into(),
            region: "r".into(),
        };
        cache.insert(&scope, "f", "$LATEST", resolved("$LATEST"));
        cache.insert(&scope, "f", "1", resolved("1"));
        cache.insert(&other, "f", "$LATEST", resolved("$LATEST"));
        cache.set_reserved(&scope, "f", Some(5));
        assert_eq!(cache.get(&scope, "f", "1").unwrap().reserved, Some(5));
        assert_eq!(cache.get(&other, "f", "$LATEST").unwrap().reserved, None);
        assert_eq!(cache.take(&scope, "f", Some("1")).len(), 1);
        assert!(cache.get(&scope, "f", "$LATEST").is_some());
        assert_eq!(cache.take(&scope, "f", None).len(), 1);
        assert!(cache.get(&other, "f", "$LATEST").is_some());
    }
}
