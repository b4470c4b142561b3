//! Provisioned concurrency: keeping the sandboxes of each stored config started.
//!
//! Each config is a floor in the warm pool on the deploy-id of the version it names (an alias's
//! primary version). One task reconciles them: on every change it is told of, and once a second
//! to replace sandboxes that died, it re-resolves each config (so an alias that moved moves its
//! floor), sets the floor, and starts the missing sandboxes one by one, initialized ahead
//! (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`), then parks them idle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lambox_core::backend::Initialization;
use lambox_core::pool::FunctionKey;
use lambox_core::revision::DeployId;
use lambox_store::{ProvisionedRecord, Scope, Store, StoreError};

use super::Invoker;

/// Which config: a function's qualifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConfigKey {
    scope: Scope,
    name: String,
    qualifier: String,
}

#[derive(Debug)]
struct Target {
    requested: u32,
    /// Where its floor is set now.
    placed: Option<(FunctionKey, DeployId)>,
    /// Why the last start failed, while it is short.
    failure: Option<String>,
    /// Sandboxes being started for it now (alive in the pool's count, not yet serving).
    starting: u32,
}

/// What a config has reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedStatus {
    /// Sandboxes started for it (at most the requested number).
    pub allocated: u32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: &'static str,
    /// Why it failed.
    pub reason: Option<String>,
}

/// The provisioned-concurrency configs lambox keeps, and the task that keeps them.
#[derive(Clone)]
pub struct ProvisionedConcurrency {
    invoker: Arc<Invoker>,
    targets: Arc<Mutex<HashMap<ConfigKey, Target>>>,
}

fn key_of(r: &ProvisionedRecord) -> ConfigKey {
    ConfigKey {
        scope: r.scope.clone(),
        name: r.function_name.clone(),
        qualifier: r.qualifier.clone(),
    }
}

impl ProvisionedConcurrency {
    /// The configs stored in `store`, to be kept by [`ProvisionedConcurrency::run`].
    pub async fn load(invoker: Arc<Invoker>, store: &Store) -> Result<Self, StoreError> {
        let this = Self {
            invoker,
            targets: Arc::default(),
        };
        for record in store.all_provisioned().await? {
            this.put(&record);
        }
        Ok(this)
    }

    fn targets(&self) -> MutexGuard<'_, HashMap<ConfigKey, Target>> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A config was stored (and committed).
    pub fn put(&self, record: &ProvisionedRecord) {
        let placed = {
            let mut targets = self.targets();
            let target = targets.entry(key_of(record)).or_insert(Target {
                requested: record.requested,
                placed: None,
                failure: None,
                starting: 0,
            });
            target.requested = record.requested;
            target.failure = None;
            target.placed.clone()
        };
        if let Some((key, deploy)) = placed {
            self.invoker
                .pool()
                .set_floor(&key, &deploy, record.requested);
        }
        self.invoker.changes.notify_one();
    }

    /// A config was deleted (and committed): its floor goes, and with it its idle sandboxes.
    pub fn remove(&self, scope: &Scope, name: &str, qualifier: &str) {
        let removed = self.targets().remove(&ConfigKey {
            scope: scope.clone(),
            name: name.to_owned(),
            qualifier: qualifier.to_owned(),
        });
        if let Some((key, deploy)) = removed.and_then(|t| t.placed) {
            self.invoker.pool().retire(&key, &deploy);
        }
    }

    /// The state of one config.
    pub fn status(&self, scope: &Scope, name: &str, qualifier: &str) -> ProvisionedStatus {
        let targets = self.targets();
        let Some(target) = targets.get(&ConfigKey {
            scope: scope.clone(),
            name: name.to_owned(),
            qualifier: qualifier.to_owned(),
        }) else {
            return ProvisionedStatus {
                allocated: 0,
                status: "IN_PROGRESS",
                reason: None,
            };
        };
        let allocated = target.placed.as_ref().map_or(0, |(key, deploy)| {
            self.invoker
                .pool()
                .provisioned(key, deploy)
                .0
                .saturating_sub(target.starting)
                .min(target.requested)
        });
        let (status, reason) = match &target.failure {
            _ if allocated >= target.requested => ("READY", None),
            Some(reason) => ("FAILED", Some(reason.clone())),
            None => ("IN_PROGRESS", None),
        };
        ProvisionedStatus {
            allocated,
            status,
            reason,
        }
    }

    /// Keeps the configs' sandboxes started until lambox stops.
    pub async fn run(self) {
        loop {
            self.reconcile().await;
            let _ =
                tokio::time::timeout(Duration::from_secs(1), self.invoker.changes.notified()).await;
        }
    }

    /// One pass over every config.
    async fn reconcile(&self) {
        let keys: Vec<ConfigKey> = self.targets().keys().cloned().collect();
        for config in keys {
            self.reconcile_one(&config).await;
        }
    }

    async fn reconcile_one(&self, config: &ConfigKey) {
        let pool = self.invoker.pool();
        let resolved = match self
            .invoker
            .resolve(&config.scope, &config.name, Some(&config.qualifier))
            .await
        {
            Ok(Some(r)) => r,
            // Its version, alias or function is gone, and the store deleted the config with it.
            Ok(None) => {
                self.remove(&config.scope, &config.name, &config.qualifier);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot resolve a provisioned concurrency config");
                return;
            }
        };
        let rev = resolved.revision.clone();
        let here = (resolved.key.clone(), rev.deploy_id.clone());
        let (previous, requested) = {
            let mut targets = self.targets();
            let Some(target) = targets.get_mut(config) else {
                return;
            };
            let previous = target.placed.replace(here.clone());
            (previous, target.requested)
        };
        if let Some((key, deploy)) = previous.filter(|p| *p != here) {
            // The alias moved: the old version's sandboxes are no longer provisioned.
            pool.set_floor(&key, &deploy, 0);
        }
        pool.set_floor(&here.0, &here.1, requested);
        loop {
            let permit = match pool.provision(&here.0, &rev) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    self.failed(config, e.to_string());
                    break;
                }
            };
            let spec = self
                .invoker
                .sandbox_spec(&rev, Initialization::ProvisionedConcurrency);
            self.starting(config, true);
            let launched = permit.launch(&spec).await;
            self.starting(config, false);
            match launched {
                Ok(lease) => lease.release(),
                Err(e) => {
                    self.failed(config, e.to_string());
                    break;
                }
            }
        }
    }

    fn starting(&self, config: &ConfigKey, started: bool) {
        if let Some(target) = self.targets().get_mut(config) {
            if started {
                target.starting += 1;
            } else {
                target.starting = target.starting.saturating_sub(1);
            }
        }
    }

    fn failed(&self, config: &ConfigKey, reason: String) {
        tracing::warn!(function = %config.name, qualifier = %config.qualifier, %reason, "a provisioned sandbox did not start");
        if let Some(target) = self.targets().get_mut(config) {
            target.failure = Some(reason);
        }
    }
}
