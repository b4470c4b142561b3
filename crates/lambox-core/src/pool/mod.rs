//! The warm pool: which sandboxes exist for which function revision, which are idle, and who
//! may start another. One invocation runs per sandbox at a time.
//!
//! Sandboxes are keyed by (account, region, function) and then by deploy-id, so an instance is
//! only ever reused for a revision whose sandbox contents are identical. Concurrency is counted
//! per function: reserved concurrency caps it (and 0 throttles everything), and the number of
//! sandboxes per function is capped; beyond that cap callers wait for one to be released.
//! Across all functions, a global cap bounds the number of sandboxes and the memory their
//! functions are configured with: the least recently used idle sandbox makes room for a new one,
//! and when none is idle the caller is throttled, as account concurrency throttles on AWS.
//!
//! Retirement is final: every sandbox carries the sequence number of its birth, and one born
//! before its deploy-id (or its whole function) was retired never returns to the pool, even if
//! the same contents become current again later (they then get fresh sandboxes).
//!
//! The pool's state sits behind one `std::sync::Mutex` that is never held across an `.await`.

mod lease;
mod state;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use self::state::{Idle, Slots, State};
use crate::backend::{Backend, BackendError, LogSink, Sandbox, SandboxSpec};
use crate::revision::{DeployId, FunctionRevision};

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
    /// Most sandboxes across all functions.
    pub max_sandboxes: u32,
    /// Most memory (the sum of the `MemorySize` of every sandbox's function) across all
    /// functions, in MB.
    pub memory_budget_mb: u64,
}

/// Why no sandbox was handed out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// Reserved concurrency is exhausted (or 0).
    #[error("reserved concurrency exceeded")]
    ReservedConcurrencyExceeded,
    /// The function is at its sandbox cap and none became free in time.
    #[error("no sandbox became free in time")]
    Saturated,
    /// The global cap is reached and no idle sandbox can make room.
    #[error("the sandbox capacity of this lambox is exhausted")]
    CapacityExhausted,
    /// The pool was shut down: it starts and lends no more sandboxes.
    #[error("the pool is shut down")]
    ShutDown,
    /// Starting a sandbox failed.
    #[error(transparent)]
    Launch(#[from] BackendError),
}

/// Makes the log sink of a new sandbox: given its function and what it is started as.
pub type SinkFactory = Arc<dyn Fn(&FunctionKey, &SandboxSpec) -> LogSink + Send + Sync>;

/// How many sandboxes there are, and how much memory their functions are configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolTotals {
    /// Sandboxes alive or being started.
    pub sandboxes: u32,
    /// The sum of their functions' `MemorySize`, MB.
    pub memory_mb: u64,
}

struct Inner {
    backend: Arc<dyn Backend>,
    settings: PoolSettings,
    sinks: SinkFactory,
    state: Mutex<State>,
}

impl Inner {
    fn terminate_later(self: &Arc<Self>, sandboxes: Vec<Sandbox>) {
        // A lease may be dropped where no runtime runs (after it has shut down): its sandbox is
        // then left to the backend (whose sandboxes stop when it is dropped, or on the next
        // start's reaping).
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            if !sandboxes.is_empty() {
                tracing::warn!(count = sandboxes.len(), "no runtime to stop sandboxes on");
            }
            return;
        };
        for sandbox in sandboxes {
            let backend = self.backend.clone();
            runtime.spawn(async move {
                if let Err(e) = backend.terminate(&sandbox.id).await {
                    tracing::warn!(sandbox = %sandbox.id, error = %e, "could not stop a sandbox");
                }
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
    born: u64,
    memory_mb: u64,
    provisioned: bool,
    used: bool,
}

/// One sandbox, lent for one invocation. Give it back with [`Lease::release`]; one that broke is
/// [`Lease::discard`]ed. Dropping a lease discards its sandbox, since whether it is still
/// usable is unknown.
pub struct Lease {
    inner: Arc<Inner>,
    key: FunctionKey,
    deploy: DeployId,
    born: u64,
    memory_mb: u64,
    provisioned: bool,
    sandbox: Option<Sandbox>,
    cold: bool,
}

/// What the pool decided under its lock.
enum Decision {
    Slot(Slot),
    Wait(Arc<Notify>),
}

impl WarmPool {
    /// A pool over `backend`.
    pub fn new(backend: Arc<dyn Backend>, settings: PoolSettings, sinks: SinkFactory) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                settings,
                sinks,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The backend sandboxes are started with.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// A warm sandbox of `revision`'s deploy-id, or permission to start one. Fails at once when
    /// reserved concurrency is exhausted or the global cap leaves no room; waits up to
    /// `max_wait` for a sandbox when the function is at its own cap.
    pub async fn acquire(
        &self,
        key: &FunctionKey,
        revision: &FunctionRevision,
        reserved: Option<u32>,
        max_wait: Duration,
    ) -> Result<Slot, PoolError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let deploy = &revision.deploy_id;
        let memory_mb = u64::from(revision.config.memory_size);
        loop {
            let (decision, evicted) = self.decide(key, deploy, memory_mb, reserved)?;
            self.inner.terminate_later(evicted);
            let released = match decision {
                Decision::Slot(slot) => return Ok(slot),
                Decision::Wait(released) => released,
            };
            let notified = released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check once more now that a release cannot be missed, then wait.
            {
                let state = self.inner.lock();
                let Some(slots) = state.functions.get(key) else {
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

    /// One round of [`WarmPool::acquire`] under the lock; returns the sandboxes it evicted.
    fn decide(
        &self,
        key: &FunctionKey,
        deploy: &DeployId,
        memory_mb: u64,
        reserved: Option<u32>,
    ) -> Result<(Decision, Vec<Sandbox>), PoolError> {
        let mut state = self.inner.lock();
        let state = &mut *state;
        if state.closed {
            return Err(PoolError::ShutDown);
        }
        // Look up before inserting: the key is cloned only for a function's first lease.
        if !state.functions.contains_key(key) {
            state.functions.insert(key.clone(), Slots::default());
        }
        let slots = state.functions.get_mut(key).expect("inserted above");
        if reserved.is_some_and(|r| slots.in_flight >= r) {
            return Err(PoolError::ReservedConcurrencyExceeded);
        }
        // The most recently used idle sandbox, a provisioned one first (as Lambda serves from
        // provisioned concurrency before it spills over to on-demand sandboxes).
        let warm = slots.idle.get_mut(deploy).and_then(|list| {
            let at = list
                .iter()
                .rposition(|i| i.provisioned)
                .or_else(|| list.len().checked_sub(1))?;
            Some(list.remove(at))
        });
        if let Some(idle) = warm {
            if slots.idle.get(deploy).is_some_and(Vec::is_empty) {
                slots.idle.remove(deploy);
            }
            slots.lend(idle.born);
            let lease = Lease {
                inner: self.inner.clone(),
                key: key.clone(),
                deploy: deploy.clone(),
                born: idle.born,
                memory_mb: idle.memory_mb,
                provisioned: idle.provisioned,
                sandbox: Some(idle.sandbox),
                cold: false,
            };
            return Ok((Decision::Slot(Slot::Warm(lease)), Vec::new()));
        }
        self.cold_slot(state, key, deploy, memory_mb, false)
    }

    /// Permission to start a sandbox of `deploy` (or a wait for room at the function's cap),
    /// evicting idle sandboxes the caps need gone; under the lock.
    fn cold_slot(
        &self,
        state: &mut State,
        key: &FunctionKey,
        deploy: &DeployId,
        memory_mb: u64,
        provisioned: bool,
    ) -> Result<(Decision, Vec<Sandbox>), PoolError> {
        let settings = &self.inner.settings;
        let slots = state
            .functions
            .get_mut(key)
            .expect("the caller inserted it");
        let mut evicted = Vec::new();
        if slots.live >= settings.max_instances_per_function {
            // At the function's cap: an idle sandbox of another of its deploy-ids (one without
            // provisioned concurrency) makes room.
            let Some(d) = slots
                .idle
                .keys()
                .find(|d| !slots.floors.contains_key(*d))
                .cloned()
            else {
                return Ok((Decision::Wait(slots.released.clone()), evicted));
            };
            let list = slots.idle.get_mut(&d).expect("present");
            let stale = list.remove(0);
            if list.is_empty() {
                slots.idle.remove(&d);
            }
            state.forget(key, &d, stale.memory_mb, stale.provisioned);
            evicted.push(stale.sandbox);
        }
        // The global cap: the least recently used idle sandboxes make room, or nothing does.
        let fits = |t: &PoolTotals| {
            t.sandboxes < settings.max_sandboxes
                && t.memory_mb + memory_mb <= settings.memory_budget_mb.max(memory_mb)
        };
        if !fits(&state.totals) {
            // Evict only when evicting every idle sandbox would make enough room.
            let idle = state.idle_totals();
            let busy = PoolTotals {
                sandboxes: state.totals.sandboxes - idle.sandboxes,
                memory_mb: state.totals.memory_mb - idle.memory_mb,
            };
            if !fits(&busy) {
                self.inner.terminate_later(evicted);
                return Err(PoolError::CapacityExhausted);
            }
            while !fits(&state.totals) {
                evicted.extend(state.evict_lru());
            }
        }
        let born = state.next_seq();
        state.totals.sandboxes += 1;
        state.totals.memory_mb += memory_mb;
        let slots = state.functions.get_mut(key).expect("inserted above");
        slots.born(deploy, provisioned);
        slots.lend(born);
        let permit = LaunchPermit {
            inner: self.inner.clone(),
            key: key.clone(),
            deploy: deploy.clone(),
            born,
            memory_mb,
            provisioned,
            used: false,
        };
        Ok((Decision::Slot(Slot::Cold(permit)), evicted))
    }

    /// Provisioned concurrency: keeps `floor` sandboxes of `deploy` alive (0 removes the floor;
    /// its idle sandboxes then age out like any other). [`WarmPool::provision`] starts them.
    pub fn set_floor(&self, key: &FunctionKey, deploy: &DeployId, floor: u32) {
        let mut state = self.inner.lock();
        let slots = state.functions.entry(key.clone()).or_default();
        if floor == 0 {
            slots.floors.remove(deploy);
        } else {
            slots.floors.insert(deploy.clone(), floor);
        }
    }

    /// (provisioned sandboxes of `deploy` alive or starting, its floor).
    pub fn provisioned(&self, key: &FunctionKey, deploy: &DeployId) -> (u32, u32) {
        let state = self.inner.lock();
        state.functions.get(key).map_or((0, 0), |s| {
            (
                s.provisioned_alive(deploy),
                s.floors.get(deploy).copied().unwrap_or(0),
            )
        })
    }

    /// Permission to start one more sandbox of `revision` when its deploy-id is below its
    /// floor; `None` when it is not. The global cap applies as to any launch.
    pub fn provision(
        &self,
        key: &FunctionKey,
        revision: &FunctionRevision,
    ) -> Result<Option<LaunchPermit>, PoolError> {
        let deploy = &revision.deploy_id;
        let (decision, evicted) = {
            let mut state = self.inner.lock();
            let state = &mut *state;
            if state.closed {
                return Err(PoolError::ShutDown);
            }
            let Some(slots) = state.functions.get(key) else {
                return Ok(None);
            };
            let floor = slots.floors.get(deploy).copied().unwrap_or(0);
            if slots.provisioned_alive(deploy) >= floor {
                return Ok(None);
            }
            let memory_mb = u64::from(revision.config.memory_size);
            self.cold_slot(state, key, deploy, memory_mb, true)?
        };
        self.inner.terminate_later(evicted);
        match decision {
            Decision::Slot(Slot::Cold(permit)) => Ok(Some(permit)),
            Decision::Slot(Slot::Warm(lease)) => {
                lease.release();
                Ok(None)
            }
            Decision::Wait(_) => Err(PoolError::Saturated),
        }
    }

    /// Stops the idle sandboxes of `deploy` and keeps its busy ones from returning to the pool.
    pub fn retire(&self, key: &FunctionKey, deploy: &DeployId) {
        let stale = {
            let mut state = self.inner.lock();
            let r = state.next_seq();
            let Some(slots) = state.functions.get_mut(key) else {
                return;
            };
            slots.retired.insert(deploy.clone(), r);
            slots.forget_old_retirements();
            let stale = slots.idle.remove(deploy).unwrap_or_default();
            slots.floors.remove(deploy);
            slots.released.notify_waiters();
            for s in &stale {
                state.forget(key, deploy, s.memory_mb, s.provisioned);
            }
            stale
        };
        self.inner
            .terminate_later(stale.into_iter().map(|i| i.sandbox).collect());
    }

    /// Stops every sandbox of a function (idle now, busy ones when released).
    pub fn retire_function(&self, key: &FunctionKey) {
        let stale = {
            let mut state = self.inner.lock();
            let r = state.next_seq();
            let Some(slots) = state.functions.get_mut(key) else {
                return;
            };
            slots.retired_all = r;
            slots.floors.clear();
            let stale: Vec<(DeployId, Idle)> = slots
                .idle
                .drain()
                .flat_map(|(d, v)| v.into_iter().map(move |i| (d.clone(), i)))
                .collect();
            slots.released.notify_waiters();
            for (d, s) in &stale {
                state.forget(key, d, s.memory_mb, s.provisioned);
            }
            stale
        };
        self.inner
            .terminate_later(stale.into_iter().map(|(_, i)| i.sandbox).collect());
    }

    /// Stops sandboxes idle for longer than the TTL; returns how many.
    pub fn reap_idle(&self) -> usize {
        let ttl = self.inner.settings.idle_ttl;
        let stale = {
            let mut state = self.inner.lock();
            let mut stale = Vec::new();
            for (key, slots) in &mut state.functions {
                let deploys: Vec<DeployId> = slots.idle.keys().cloned().collect();
                for deploy in deploys {
                    // The newest idle provisioned sandboxes a floor protects stay; of the rest,
                    // those idle past the TTL go.
                    let mut protect = slots.protected_idle(&deploy);
                    let idle = slots.idle.get_mut(&deploy).expect("listed above");
                    let mut kept = Vec::with_capacity(idle.len());
                    let mut old = Vec::new();
                    for i in idle.drain(..).rev() {
                        if i.provisioned && protect > 0 {
                            protect -= 1;
                            kept.push(i);
                        } else if i.since.elapsed() >= ttl {
                            old.push(i);
                        } else {
                            kept.push(i);
                        }
                    }
                    kept.reverse();
                    *idle = kept;
                    slots.live -= old.len() as u32;
                    for i in &old {
                        if i.provisioned
                            && let Some(n) = slots.provisioned.get_mut(&deploy)
                        {
                            *n = n.saturating_sub(1);
                        }
                    }
                    stale.extend(old.into_iter().map(|i| (key.clone(), i)));
                }
                slots.idle.retain(|_, v| !v.is_empty());
                slots.provisioned.retain(|_, n| *n > 0);
            }
            for (key, idle) in &stale {
                if let Some(slots) = state.functions.get(key) {
                    slots.released.notify_waiters();
                }
                state.totals.sandboxes = state.totals.sandboxes.saturating_sub(1);
                state.totals.memory_mb = state.totals.memory_mb.saturating_sub(idle.memory_mb);
            }
            state
                .functions
                .retain(|_, s| s.live > 0 || s.in_flight > 0 || !s.floors.is_empty());
            stale
        };
        let n = stale.len();
        self.inner
            .terminate_later(stale.into_iter().map(|(_, i)| i.sandbox).collect());
        n
    }

    /// Stops every idle sandbox and waits for the backend; busy ones stop when released. No
    /// sandbox is started or lent afterwards.
    pub async fn shutdown(&self) {
        let idle: Vec<Sandbox> = {
            let mut state = self.inner.lock();
            state.closed = true;
            let r = state.next_seq();
            let mut all = Vec::new();
            let mut freed = Vec::new();
            for (key, slots) in &mut state.functions {
                slots.retired_all = r;
                slots.floors.clear();
                for (deploy, list) in slots.idle.drain() {
                    for idle in list {
                        freed.push((
                            key.clone(),
                            deploy.clone(),
                            idle.memory_mb,
                            idle.provisioned,
                        ));
                        all.push(idle.sandbox);
                    }
                }
            }
            for (key, deploy, memory_mb, provisioned) in freed {
                state.forget(&key, &deploy, memory_mb, provisioned);
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
            .functions
            .get(key)
            .map_or((0, 0), |s| (s.live, s.in_flight))
    }

    /// The sandboxes of every function, and their memory.
    pub fn totals(&self) -> PoolTotals {
        self.inner.lock().totals
    }
}

#[cfg(test)]
mod tests;
