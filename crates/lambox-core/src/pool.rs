//! The warm pool: which sandboxes exist for which function revision, which are idle, and who
//! may start another. One invocation runs per sandbox at a time.
//!
//! Sandboxes are keyed by (account, region, function) and then by deploy-id, so an instance is
//! only ever reused for a revision whose sandbox contents are identical. Concurrency is counted
//! per function: reserved concurrency caps it (and 0 throttles everything), and the number of
//! sandboxes per function is capped; beyond the cap callers wait for one to be released.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::backend::{Backend, BackendError, LogSink, Sandbox, SandboxSpec};
use crate::revision::DeployId;

/// Which function a sandbox belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionKey {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub name: String,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most sandboxes one function may have at once.
    pub max_instances_per_function: u32,
    /// An idle sandbox older than this is stopped.
    pub idle_ttl: Duration,
}

/// Why no sandbox was handed out.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Reserved concurrency is exhausted (or 0).
    #[error("reserved concurrency exceeded")]
    ReservedConcurrencyExceeded,
    /// The function is at its sandbox cap and none became free in time.
    #[error("no sandbox became free in time")]
    Saturated,
    /// Starting a sandbox failed.
    #[error(transparent)]
    Launch(#[from] BackendError),
}

/// Makes the log sink of a new sandbox: given its function and sandbox id.
pub type SinkFactory = Arc<dyn Fn(&FunctionKey, &str) -> LogSink + Send + Sync>;

struct Idle {
    sandbox: Sandbox,
    since: Instant,
}

#[derive(Default)]
struct Slots {
    /// Leases and launch permits out now.
    in_flight: u32,
    /// Sandboxes alive or being started.
    live: u32,
    idle: HashMap<DeployId, Vec<Idle>>,
    /// Deploy-ids whose busy sandboxes are stopped instead of kept when released.
    retired: HashSet<DeployId>,
    released: Arc<Notify>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    settings: PoolSettings,
    sinks: SinkFactory,
    functions: Mutex<HashMap<FunctionKey, Slots>>,
}

impl Inner {
    fn terminate_later(self: &Arc<Self>, sandboxes: Vec<Sandbox>) {
        for sandbox in sandboxes {
            let backend = self.backend.clone();
            tokio::spawn(async move {
                if let Err(e) = backend.terminate(&sandbox.id).await {
                    tracing::warn!(sandbox = %sandbox.id, error = %e, "could not stop a sandbox");
                }
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FunctionKey, Slots>> {
        self.functions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The warm pool; cheap to clone.
#[derive(Clone)]
pub struct WarmPool {
    inner: Arc<Inner>,
}

/// What [`WarmPool::acquire`] hands out.
pub enum Slot {
    /// A warm sandbox of the right deploy-id.
    Warm(Lease),
    /// Permission to start one.
    Cold(LaunchPermit),
}

/// Permission to start a sandbox; dropping it unused gives the slot back.
pub struct LaunchPermit {
    inner: Arc<Inner>,
    key: FunctionKey,
    deploy: DeployId,
    used: bool,
}

/// One sandbox, lent for one invocation. Give it back with [`Lease::release`]; one that broke is
/// [`Lease::discard`]ed. Dropping a lease discards its sandbox, since whether it is still
/// usable is unknown.
pub struct Lease {
    inner: Arc<Inner>,
    key: FunctionKey,
    deploy: DeployId,
    sandbox: Option<Sandbox>,
    cold: bool,
}

impl WarmPool {
    /// A pool over `backend`.
    pub fn new(backend: Arc<dyn Backend>, settings: PoolSettings, sinks: SinkFactory) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                settings,
                sinks,
                functions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The backend sandboxes are started with.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// A warm sandbox of `deploy`, or permission to start one. Fails at once when reserved
    /// concurrency is exhausted; waits up to `max_wait` for a sandbox when the function is at
    /// its cap.
    pub async fn acquire(
        &self,
        key: &FunctionKey,
        deploy: &DeployId,
        reserved: Option<u32>,
        max_wait: Duration,
    ) -> Result<Slot, PoolError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let released = {
                let mut functions = self.inner.lock();
                // Look up before inserting: the key is cloned only for a function's first lease.
                if !functions.contains_key(key) {
                    functions.insert(key.clone(), Slots::default());
                }
                let slots = functions.get_mut(key).expect("inserted above");
                if reserved.is_some_and(|r| slots.in_flight >= r) {
                    return Err(PoolError::ReservedConcurrencyExceeded);
                }
                slots.retired.remove(deploy);
                if let Some(idle) = slots.idle.get_mut(deploy).and_then(Vec::pop) {
                    slots.in_flight += 1;
                    return Ok(Slot::Warm(Lease {
                        inner: self.inner.clone(),
                        key: key.clone(),
                        deploy: deploy.clone(),
                        sandbox: Some(idle.sandbox),
                        cold: false,
                    }));
                }
                let cap = self.inner.settings.max_instances_per_function;
                let permit = |slots: &mut Slots| {
                    slots.in_flight += 1;
                    LaunchPermit {
                        inner: self.inner.clone(),
                        key: key.clone(),
                        deploy: deploy.clone(),
                        used: false,
                    }
                };
                if slots.live < cap {
                    slots.live += 1;
                    return Ok(Slot::Cold(permit(slots)));
                }
                // At the cap: an idle sandbox of another deploy-id makes room.
                if let Some(stale) = slots.idle.values_mut().find_map(Vec::pop) {
                    self.inner.terminate_later(vec![stale.sandbox]);
                    return Ok(Slot::Cold(permit(slots)));
                }
                slots.released.clone()
            };
            let notified = released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check once more now that a release cannot be missed, then wait.
            {
                let functions = self.inner.lock();
                let Some(slots) = functions.get(key) else {
                    continue;
                };
                if slots.live < self.inner.settings.max_instances_per_function
                    || slots.idle.values().any(|v| !v.is_empty())
                {
                    continue;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(PoolError::Saturated);
            }
        }
    }

    /// Stops the idle sandboxes of `deploy` and keeps its busy ones from returning to the pool.
    pub fn retire(&self, key: &FunctionKey, deploy: &DeployId) {
        let stale = {
            let mut functions = self.inner.lock();
            let Some(slots) = functions.get_mut(key) else {
                return;
            };
            slots.retired.insert(deploy.clone());
            let stale = slots.idle.remove(deploy).unwrap_or_default();
            slots.live -= stale.len() as u32;
            slots.released.notify_waiters();
            stale
        };
        self.inner
            .terminate_later(stale.into_iter().map(|i| i.sandbox).collect());
    }

    /// Stops every sandbox of a function (idle now, busy ones when released).
    pub fn retire_function(&self, key: &FunctionKey) {
        let stale = {
            let mut functions = self.inner.lock();
            let Some(slots) = functions.get_mut(key) else {
                return;
            };
            let mut stale = Vec::new();
            for (deploy, idle) in slots.idle.drain() {
                slots.retired.insert(deploy);
                stale.extend(idle);
            }
            slots.live -= stale.len() as u32;
            slots.released.notify_waiters();
            stale
        };
        self.inner
            .terminate_later(stale.into_iter().map(|i| i.sandbox).collect());
    }

    /// Stops sandboxes idle for longer than the TTL; returns how many.
    pub fn reap_idle(&self) -> usize {
        let ttl = self.inner.settings.idle_ttl;
        let stale = {
            let mut functions = self.inner.lock();
            let mut stale = Vec::new();
            for slots in functions.values_mut() {
                let mut reaped = 0;
                for idle in slots.idle.values_mut() {
                    let (old, fresh): (Vec<Idle>, Vec<Idle>) =
                        idle.drain(..).partition(|i| i.since.elapsed() >= ttl);
                    *idle = fresh;
                    reaped += old.len();
                    stale.extend(old);
                }
                slots.live -= reaped as u32;
                slots.idle.retain(|_, v| !v.is_empty());
                if reaped > 0 {
                    slots.released.notify_waiters();
                }
            }
            functions.retain(|_, s| s.live > 0 || s.in_flight > 0);
            stale
        };
        let n = stale.len();
        self.inner
            .terminate_later(stale.into_iter().map(|i| i.sandbox).collect());
        n
    }

    /// Stops every idle sandbox and waits for the backend; busy ones stop when released.
    pub async fn shutdown(&self) {
        let idle: Vec<Sandbox> = {
            let mut functions = self.inner.lock();
            let mut all = Vec::new();
            for slots in functions.values_mut() {
                for (deploy, idle) in slots.idle.drain() {
                    slots.retired.insert(deploy);
                    slots.live -= idle.len() as u32;
                    all.extend(idle.into_iter().map(|i| i.sandbox));
                }
            }
            all
        };
        for sandbox in idle {
            let _ = self.inner.backend.terminate(&sandbox.id).await;
        }
    }

    /// (sandboxes alive, leases out) of a function.
    pub fn stats(&self, key: &FunctionKey) -> (u32, u32) {
        self.inner
            .lock()
            .get(key)
            .map_or((0, 0), |s| (s.live, s.in_flight))
    }
}

impl LaunchPermit {
    /// Starts the sandbox and lends it out.
    pub async fn launch(mut self, spec: &SandboxSpec) -> Result<Lease, PoolError> {
        let sink = (self.inner.sinks)(&self.key, &spec.sandbox_id);
        let sandbox = self.inner.backend.launch(spec, sink).await?;
        self.used = true;
        Ok(Lease {
            inner: self.inner.clone(),
            key: self.key.clone(),
            deploy: self.deploy.clone(),
            sandbox: Some(sandbox),
            cold: true,
        })
    }
}

impl Drop for LaunchPermit {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        let mut functions = self.inner.lock();
        if let Some(slots) = functions.get_mut(&self.key) {
            slots.in_flight -= 1;
            slots.live -= 1;
            slots.released.notify_one();
        }
    }
}

impl Lease {
    /// `host:port` of the sandbox's agent.
    pub fn endpoint(&self) -> &str {
        &self
            .sandbox
            .as_ref()
            .expect("lease holds a sandbox")
            .endpoint
    }

    /// The sandbox's id.
    pub fn sandbox_id(&self) -> &str {
        &self.sandbox.as_ref().expect("lease holds a sandbox").id
    }

    /// Whether the sandbox was started for this lease.
    pub fn is_cold(&self) -> bool {
        self.cold
    }

    /// Gives the sandbox back for the next invocation.
    pub fn release(mut self) {
        self.give_back(true);
    }

    /// Stops the sandbox: it failed in a way that makes it unusable.
    pub fn discard(mut self) {
        self.give_back(false);
    }

    fn give_back(&mut self, healthy: bool) {
        let Some(sandbox) = self.sandbox.take() else {
            return;
        };
        let stop = {
            let mut functions = self.inner.lock();
            let slots = functions.entry(self.key.clone()).or_default();
            slots.in_flight -= 1;
            let keep = healthy && !slots.retired.contains(&self.deploy);
            slots.released.notify_one();
            if keep {
                slots
                    .idle
                    .entry(self.deploy.clone())
                    .or_default()
                    .push(Idle {
                        sandbox,
                        since: Instant::now(),
                    });
                None
            } else {
                slots.live -= 1;
                Some(sandbox)
            }
        };
        if let Some(sandbox) = stop {
            self.inner.terminate_later(vec![sandbox]);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.give_back(false);
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
