//! Tests of the warm pool against a counting backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::backend::{BoxFuture, SandboxSpec};
use crate::revision::FunctionRevision;

#[derive(Default)]
struct CountingBackend {
    launched: AtomicUsize,
    terminated: Mutex<Vec<String>>,
}

impl Backend for CountingBackend {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        _logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>> {
        Box::pin(async move {
            let n = self.launched.fetch_add(1, Ordering::SeqCst);
            Ok(Sandbox {
                id: spec.sandbox_id.clone(),
                endpoint: format!("127.0.0.1:{}", 10_000 + n),
                secret: spec.secret.clone(),
            })
        })
    }
    fn terminate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.terminated.lock().unwrap().push(id.to_owned());
            Ok(())
        })
    }
    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn pool(cap: u32) -> (WarmPool, Arc<CountingBackend>) {
    pool_with(cap, 1000, 1 << 20)
}

fn pool_with(
    cap: u32,
    max_sandboxes: u32,
    memory_budget_mb: u64,
) -> (WarmPool, Arc<CountingBackend>) {
    let backend = Arc::new(CountingBackend::default());
    let sinks: SinkFactory = Arc::new(|_, _| Arc::new(|_: &str| {}));
    let pool = WarmPool::new(
        backend.clone(),
        PoolSettings {
            max_instances_per_function: cap,
            idle_ttl: Duration::from_millis(50),
            max_sandboxes,
            memory_budget_mb,
        },
        sinks,
    );
    (pool, backend)
}

fn key() -> FunctionKey {
    key_of("f")
}

fn key_of(name: &str) -> FunctionKey {
    FunctionKey {
        account: "111111111111".into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

/// A revision of function `f` whose code digest is `code` (so equal codes share a deploy-id).
fn deploy(code: &str) -> Arc<FunctionRevision> {
    revision_of("f", code)
}

fn revision_of(name: &str, code: &str) -> Arc<FunctionRevision> {
    let config = crate::function::FunctionConfig::new(
        name,
        crate::function::PackageType::Zip,
        "r".into(),
        None,
        None,
        &crate::function::FunctionSettings::default(),
    );
    Arc::new(FunctionRevision::new(
        "111111111111".into(),
        "us-east-1".into(),
        name.into(),
        "$LATEST".into(),
        code.into(),
        config,
    ))
}

fn spec(rev: &Arc<FunctionRevision>, id: &str) -> SandboxSpec {
    SandboxSpec {
        sandbox_id: id.into(),
        revision: rev.clone(),
        code: None,
        layers: Vec::new(),
        lambox_url: String::new(),
        secret: "s".into(),
        initialization: Default::default(),
        log_stream: "2026/01/01/[$LATEST]example".into(),
    }
}

async fn lease(pool: &WarmPool, rev: &Arc<FunctionRevision>, id: &str) -> Lease {
    lease_of(pool, &key(), rev, id).await
}

async fn lease_of(
    pool: &WarmPool,
    key: &FunctionKey,
    rev: &Arc<FunctionRevision>,
    id: &str,
) -> Lease {
    match pool
        .acquire(key, rev, None, Duration::from_secs(1))
        .await
        .unwrap()
    {
        Slot::Warm(l) => l,
        Slot::Cold(p) => p.launch(&spec(rev, id)).await.unwrap(),
    }
}

async fn stopped(backend: &CountingBackend) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut stopped = backend.terminated.lock().unwrap().clone();
    stopped.sort();
    stopped
}

#[tokio::test]
async fn reuses_a_released_sandbox_of_the_same_deploy_id() {
    let (pool, backend) = pool(4);
    let a = deploy("a");
    let l = lease(&pool, &a, "s1").await;
    assert!(l.is_cold());
    l.release();
    let l = lease(&pool, &a, "s2").await;
    assert!(!l.is_cold());
    assert_eq!(l.sandbox_id(), "s1");
    assert_eq!(backend.launched.load(Ordering::SeqCst), 1);
    // Another deploy-id never gets that sandbox.
    let b = deploy("b");
    let other = lease(&pool, &b, "s3").await;
    assert_ne!(other.sandbox_id(), "s1");
    assert_eq!(pool.stats(&key()), (2, 2));
}

#[tokio::test]
async fn reserved_concurrency_throttles() {
    let (pool, _) = pool(4);
    let d = deploy("a");
    assert!(matches!(
        pool.acquire(&key(), &d, Some(0), Duration::ZERO).await,
        Err(PoolError::ReservedConcurrencyExceeded)
    ));
    let _held = lease(&pool, &d, "s1").await;
    assert!(matches!(
        pool.acquire(&key(), &d, Some(1), Duration::ZERO).await,
        Err(PoolError::ReservedConcurrencyExceeded)
    ));
}

#[tokio::test]
async fn waits_at_the_cap_until_a_release() {
    let (pool, _) = pool(1);
    let d = deploy("a");
    let held = lease(&pool, &d, "s1").await;
    assert!(matches!(
        pool.acquire(&key(), &d, None, Duration::from_millis(20))
            .await,
        Err(PoolError::Saturated)
    ));
    let waiter = {
        let pool = pool.clone();
        let d = d.clone();
        tokio::spawn(async move { lease(&pool, &d, "s2").await.sandbox_id().to_owned() })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    held.release();
    assert_eq!(waiter.await.unwrap(), "s1");
}

#[tokio::test]
async fn retired_and_dropped_sandboxes_are_stopped() {
    let (pool, backend) = pool(4);
    let d = deploy("a");
    let busy = lease(&pool, &d, "busy").await;
    let idle = lease(&pool, &d, "idle").await;
    idle.release();
    pool.retire(&key(), &d.deploy_id);
    busy.release();
    let dropped = lease(&pool, &d, "dropped").await;
    drop(dropped);
    assert_eq!(stopped(&backend).await, ["busy", "dropped", "idle"]);
    assert_eq!(pool.stats(&key()), (0, 0));
}

#[tokio::test]
async fn idle_sandboxes_are_reaped_after_the_ttl() {
    let (pool, backend) = pool(4);
    let d = deploy("a");
    lease(&pool, &d, "s1").await.release();
    assert_eq!(pool.reap_idle(), 0);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(pool.reap_idle(), 1);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(*backend.terminated.lock().unwrap(), ["s1"]);
}

/// A stale resolution may still ask for a retired deploy-id (or the same contents may become
/// current again): it gets a fresh sandbox, and the retired ones never come back.
#[tokio::test]
async fn retirement_is_final() {
    let (pool, backend) = pool(4);
    let d = deploy("a");
    let busy = lease(&pool, &d, "busy").await;
    pool.retire(&key(), &d.deploy_id);
    let again = lease(&pool, &d, "fresh").await;
    assert!(again.is_cold(), "a retired sandbox is never handed out");
    busy.release();
    again.release();
    assert_eq!(stopped(&backend).await, ["busy"]);
    let l = lease(&pool, &d, "unused").await;
    assert_eq!(l.sandbox_id(), "fresh");
}

/// Deleting a function stops its busy sandboxes of every deploy-id, not only of those that had
/// idle ones.
#[tokio::test]
async fn retiring_a_function_stops_every_busy_sandbox() {
    let (pool, backend) = pool(4);
    let (a, b) = (deploy("a"), deploy("b"));
    let busy_a = lease(&pool, &a, "a1").await;
    let busy_b = lease(&pool, &b, "b1").await;
    lease(&pool, &a, "a2").await.release();
    pool.retire_function(&key());
    busy_a.release();
    busy_b.release();
    assert_eq!(stopped(&backend).await, ["a1", "a2", "b1"]);
    assert_eq!(pool.totals(), PoolTotals::default());
}

#[tokio::test]
async fn the_global_cap_evicts_the_least_recently_used_idle_sandbox() {
    let (pool, backend) = pool_with(4, 2, 1 << 20);
    let (f, g, h) = (
        revision_of("f", "a"),
        revision_of("g", "a"),
        revision_of("h", "a"),
    );
    lease_of(&pool, &key_of("f"), &f, "f1").await.release();
    lease_of(&pool, &key_of("g"), &g, "g1").await.release();
    let busy = lease_of(&pool, &key_of("h"), &h, "h1").await;
    assert_eq!(stopped(&backend).await, ["f1"], "f1 was idle longest");
    assert_eq!(pool.totals().sandboxes, 2);
    let busy_g = lease_of(&pool, &key_of("g"), &g, "unused").await;
    assert_eq!(busy_g.sandbox_id(), "g1");
    // Both sandboxes are busy: nothing can make room.
    assert!(matches!(
        pool.acquire(&key_of("f"), &f, None, Duration::from_secs(1))
            .await,
        Err(PoolError::CapacityExhausted)
    ));
    drop(busy);
    assert!(
        pool.acquire(&key_of("f"), &f, None, Duration::ZERO)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_memory_budget_counts_configured_memory() {
    let (pool, _) = pool_with(10, 100, 256);
    let f = revision_of("f", "a");
    let one = lease(&pool, &f, "1").await;
    let two = lease(&pool, &f, "2").await;
    assert_eq!(
        pool.totals(),
        PoolTotals {
            sandboxes: 2,
            memory_mb: 256
        }
    );
    assert!(matches!(
        pool.acquire(&key(), &f, None, Duration::ZERO).await,
        Err(PoolError::CapacityExhausted)
    ));
    one.release();
    two.discard();
    assert_eq!(
        pool.totals(),
        PoolTotals {
            sandboxes: 1,
            memory_mb: 128
        }
    );
}

#[tokio::test]
async fn retirements_are_forgotten_once_nothing_born_before_them_is_out() {
    let (pool, _) = pool(4);
    let held = lease(&pool, &deploy("x"), "held").await;
    for i in 0..100 {
        pool.retire(&key(), &deploy(&i.to_string()).deploy_id);
    }
    let retired = |pool: &WarmPool| pool.inner.lock().functions[&key()].retired.len();
    assert_eq!(
        retired(&pool),
        100,
        "each may still have to stop the held sandbox"
    );
    held.release();
    assert_eq!(retired(&pool), 0);
}

/// At the function's cap, an idle sandbox of another of its deploy-ids makes room.
#[tokio::test]
async fn at_the_function_cap_an_idle_sandbox_of_another_deploy_id_makes_room() {
    let (pool, backend) = pool(1);
    lease(&pool, &deploy("a"), "a1").await.release();
    let b = lease(&pool, &deploy("b"), "b1").await;
    assert!(b.is_cold());
    assert_eq!(stopped(&backend).await, ["a1"]);
    assert_eq!(pool.stats(&key()), (1, 1));
}

/// Whatever happens in whatever order — acquire, launch, release, discard, drop a permit,
/// retire, retire everything, reap — the counts agree with what exists, and once everything
/// is given back and reaped, nothing is left.
#[tokio::test]
async fn counts_stay_true_under_any_sequence_of_operations() {
    let (pool, _) = pool_with(3, 5, 1 << 20);
    let deploys: Vec<_> = ["a", "b", "c"].iter().map(|c| deploy(c)).collect();
    let mut leases: Vec<Lease> = Vec::new();
    // A small deterministic generator: the sequence is the same on every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..2000 {
        let d = &deploys[next(3) as usize];
        match next(7) {
            0..=2 => match pool.acquire(&key(), d, None, Duration::ZERO).await {
                Ok(Slot::Warm(l)) => leases.push(l),
                Ok(Slot::Cold(p)) if next(4) == 0 => drop(p),
                Ok(Slot::Cold(p)) => {
                    leases.push(p.launch(&spec(d, &format!("s{step}"))).await.unwrap())
                }
                Err(PoolError::Saturated | PoolError::CapacityExhausted) => {}
                Err(e) => panic!("{e}"),
            },
            3 if !leases.is_empty() => {
                let i = next(leases.len() as u64) as usize;
                leases.swap_remove(i).release();
            }
            4 if !leases.is_empty() => {
                let i = next(leases.len() as u64) as usize;
                leases.swap_remove(i).discard();
            }
            5 => pool.retire(&key(), &d.deploy_id),
            _ => {
                if next(10) == 0 {
                    pool.retire_function(&key());
                }
            }
        }
        let (live, in_flight) = pool.stats(&key());
        assert_eq!(in_flight as usize, leases.len(), "step {step}");
        assert!(live >= in_flight && live <= 3, "step {step}: {live} live");
        assert_eq!(pool.totals().sandboxes, live, "step {step}");
        assert_eq!(
            pool.totals().memory_mb,
            u64::from(live) * 128,
            "step {step}"
        );
    }
    for l in leases.drain(..) {
        l.release();
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    pool.reap_idle();
    assert_eq!(pool.totals(), PoolTotals::default());
    assert!(pool.inner.lock().functions.is_empty());
}

/// Starts what `provision` allows, as the provisioned-concurrency manager does.
async fn fill_floor(pool: &WarmPool, rev: &Arc<FunctionRevision>) -> usize {
    let mut started = 0;
    while let Some(permit) = pool.provision(&key(), rev).unwrap() {
        started += 1;
        let lease = permit
            .launch(&spec(rev, &format!("pc{started}")))
            .await
            .unwrap();
        lease.release();
    }
    started
}

#[tokio::test]
async fn a_floor_is_filled_kept_from_reaping_and_eviction_and_refilled() {
    let (pool, backend) = pool_with(10, 3, 1 << 20);
    let rev = deploy("v1");
    assert!(
        pool.provision(&key(), &rev).unwrap().is_none(),
        "no floor, nothing to start"
    );
    pool.set_floor(&key(), &rev.deploy_id, 2);
    assert_eq!(fill_floor(&pool, &rev).await, 2);
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (2, 2));
    // Invocations find the provisioned sandboxes warm.
    let l = lease(&pool, &rev, "x").await;
    assert!(!l.is_cold());
    l.release();
    // Idle past the TTL, they are not reaped.
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(pool.reap_idle(), 0);
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (2, 2));
    // The global cap (3) does not evict them: with one more sandbox of another function busy,
    // a fourth is throttled rather than taking a provisioned one.
    let other = revision_of("g", "c");
    let busy = lease_of(&pool, &key_of("g"), &other, "g1").await;
    let third = revision_of("h", "c");
    assert!(matches!(
        pool.acquire(&key_of("h"), &third, None, Duration::from_millis(10))
            .await,
        Err(PoolError::CapacityExhausted)
    ));
    drop(busy);
    // One dies: the floor is short by one until it is refilled.
    let l = lease(&pool, &rev, "x").await;
    l.discard();
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (1, 2));
    assert_eq!(fill_floor(&pool, &rev).await, 1);
    assert_eq!(backend.launched.load(Ordering::SeqCst), 4);
    // Removing the floor lets them age out.
    pool.set_floor(&key(), &rev.deploy_id, 0);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(pool.reap_idle(), 2);
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (0, 0));
}

#[tokio::test]
async fn sandboxes_beyond_the_floor_are_reaped_as_usual() {
    let (pool, _backend) = pool(10);
    let rev = deploy("v1");
    pool.set_floor(&key(), &rev.deploy_id, 1);
    assert_eq!(fill_floor(&pool, &rev).await, 1);
    // A burst of three: two more on demand.
    let a = lease(&pool, &rev, "a").await;
    let b = lease(&pool, &rev, "b").await;
    let c = lease(&pool, &rev, "c").await;
    for l in [a, b, c] {
        l.release();
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(pool.reap_idle(), 2);
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (1, 1));
    // Retiring the deploy-id (its version was deleted) drops the floor with its sandboxes.
    pool.retire(&key(), &rev.deploy_id);
    assert_eq!(pool.provisioned(&key(), &rev.deploy_id), (0, 0));
}

#[tokio::test]
async fn invocations_are_served_by_provisioned_sandboxes_first() {
    let (pool, _backend) = pool(10);
    let rev = deploy("v1");
    // An on-demand sandbox exists first and is idle last…
    let on_demand = lease(&pool, &rev, "od").await;
    pool.set_floor(&key(), &rev.deploy_id, 1);
    assert_eq!(fill_floor(&pool, &rev).await, 1);
    on_demand.release();
    // …yet every sequential invocation gets the provisioned one.
    for _ in 0..3 {
        let l = lease(&pool, &rev, "x").await;
        assert_eq!(l.sandbox_id(), "pc1");
        l.release();
    }
}
