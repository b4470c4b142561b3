//! The warm pool's bookkeeping under its lock: per function, the sandboxes alive, lent out and
//! idle, and the retirements that keep stale sandboxes from coming back; across functions, the
//! totals the global cap is checked against.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::{FunctionKey, PoolTotals};
use crate::backend::Sandbox;
use crate::revision::DeployId;

/// An idle sandbox: since when, when it was born, and the memory it counts.
pub(super) struct Idle {
    pub(super) sandbox: Sandbox,
    pub(super) since: Instant,
    pub(super) born: u64,
    pub(super) memory_mb: u64,
    /// Started ahead for provisioned concurrency.
    pub(super) provisioned: bool,
}

/// One function's sandboxes.
#[derive(Default)]
pub(super) struct Slots {
    /// Leases and launch permits out now.
    pub(super) in_flight: u32,
    /// Sandboxes alive or being started.
    pub(super) live: u32,
    pub(super) idle: HashMap<DeployId, Vec<Idle>>,
    /// Deploy-id → sequence number of its last retirement: sandboxes born before it are stopped
    /// when released.
    pub(super) retired: HashMap<DeployId, u64>,
    /// Sequence number of the last retirement of the whole function.
    pub(super) retired_all: u64,
    /// Births of the sandboxes out now (as leases or permits), with their counts.
    pub(super) out: BTreeMap<u64, u32>,
    pub(super) released: Arc<Notify>,
    /// Provisioned sandboxes (started ahead) alive or being started, by deploy-id.
    pub(super) provisioned: HashMap<DeployId, u32>,
    /// Provisioned concurrency: how many sandboxes of a deploy-id are kept alive (idle ones
    /// among them are neither reaped nor evicted).
    pub(super) floors: HashMap<DeployId, u32>,
}

impl Slots {
    pub(super) fn lend(&mut self, born: u64) {
        self.in_flight += 1;
        *self.out.entry(born).or_default() += 1;
    }

    pub(super) fn give_back(&mut self, born: u64) {
        debug_assert!(self.in_flight > 0, "a lease given back twice");
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(n) = self.out.get_mut(&born) {
            *n -= 1;
            if *n == 0 {
                self.out.remove(&born);
            }
        }
        self.forget_old_retirements();
    }

    /// Whether a sandbox born at `born` of `deploy` may serve again.
    pub(super) fn is_current(&self, deploy: &DeployId, born: u64) -> bool {
        born > self.retired_all && self.retired.get(deploy).is_none_or(|r| born > *r)
    }

    /// Provisioned sandboxes of `deploy` alive or being started.
    pub(super) fn provisioned_alive(&self, deploy: &DeployId) -> u32 {
        self.provisioned.get(deploy).copied().unwrap_or(0)
    }

    /// How many idle provisioned sandboxes of `deploy` its floor protects: as many as the floor
    /// asks for beyond the busy provisioned ones.
    pub(super) fn protected_idle(&self, deploy: &DeployId) -> usize {
        let floor = self.floors.get(deploy).copied().unwrap_or(0) as usize;
        let idle = self
            .idle
            .get(deploy)
            .map_or(0, |v| v.iter().filter(|i| i.provisioned).count());
        let busy = (self.provisioned_alive(deploy) as usize).saturating_sub(idle);
        floor.saturating_sub(busy).min(idle)
    }

    /// Whether an idle sandbox may be evicted to make room: not while a floor holds it.
    pub(super) fn evictable(&self, deploy: &DeployId, idle: &Idle) -> bool {
        !(idle.provisioned && self.floors.contains_key(deploy))
    }

    /// Counts a new sandbox of `deploy`.
    pub(super) fn born(&mut self, deploy: &DeployId, provisioned: bool) {
        self.live += 1;
        if provisioned {
            *self.provisioned.entry(deploy.clone()).or_default() += 1;
        }
    }

    /// A retirement only matters while a sandbox born before it is out; it bounds the map.
    pub(super) fn forget_old_retirements(&mut self) {
        match self.out.keys().next().copied() {
            None => self.retired.clear(),
            Some(oldest) => self.retired.retain(|_, r| oldest < *r),
        }
    }
}

/// Everything under the pool's lock.
#[derive(Default)]
pub(super) struct State {
    pub(super) functions: HashMap<FunctionKey, Slots>,
    pub(super) totals: PoolTotals,
    /// Orders births and retirements.
    pub(super) seq: u64,
    /// Shut down: nothing more is started or lent.
    pub(super) closed: bool,
}

impl State {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Takes one sandbox of `deploy` out of the counts (it stops or never started).
    pub(super) fn forget(
        &mut self,
        key: &FunctionKey,
        deploy: &DeployId,
        memory_mb: u64,
        provisioned: bool,
    ) {
        debug_assert!(self.totals.sandboxes > 0, "a sandbox forgotten twice");
        if let Some(slots) = self.functions.get_mut(key) {
            slots.live = slots.live.saturating_sub(1);
            if provisioned && let Some(n) = slots.provisioned.get_mut(deploy) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    slots.provisioned.remove(deploy);
                }
            }
        }
        self.totals.sandboxes = self.totals.sandboxes.saturating_sub(1);
        self.totals.memory_mb = self.totals.memory_mb.saturating_sub(memory_mb);
    }

    /// The idle sandboxes of every function that may be evicted (those of deploy-ids without
    /// provisioned concurrency), and their memory.
    pub(super) fn idle_totals(&self) -> PoolTotals {
        let mut t = PoolTotals::default();
        for idle in self.functions.values().flat_map(|s| {
            s.idle
                .iter()
                .flat_map(move |(d, v)| v.iter().filter(move |i| s.evictable(d, i)))
        }) {
            t.sandboxes += 1;
            t.memory_mb += idle.memory_mb;
        }
        t
    }

    /// Removes the least recently used evictable idle sandbox of any function, to make room.
    pub(super) fn evict_lru(&mut self) -> Option<Sandbox> {
        let (key, deploy, at) = self
            .functions
            .iter()
            .flat_map(|(k, s)| {
                s.idle.iter().filter_map(move |(d, v)| {
                    let at = v.iter().position(|i| s.evictable(d, i))?;
                    Some((v[at].since, k, d, at))
                })
            })
            .min_by_key(|(since, ..)| *since)
            .map(|(_, k, d, at)| (k.clone(), d.clone(), at))?;
        let slots = self.functions.get_mut(&key)?;
        let list = slots.idle.get_mut(&deploy)?;
        let oldest = list.remove(at);
        if list.is_empty() {
            slots.idle.remove(&deploy);
        }
        slots.released.notify_one();
        self.forget(&key, &deploy, oldest.memory_mb, oldest.provisioned);
        Some(oldest.sandbox)
    }
}
