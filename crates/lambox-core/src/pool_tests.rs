//! Tests of the warm pool against a counting backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::backend::BoxFuture;

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
    let backend = Arc::new(CountingBackend::default());
    let sinks: SinkFactory = Arc::new(|_, _| Arc::new(|_: &str| {}));
    let pool = WarmPool::new(
        backend.clone(),
        PoolSettings {
            max_instances_per_function: cap,
            idle_ttl: Duration::from_millis(50),
        },
        sinks,
    );
    (pool, backend)
}

fn key() -> FunctionKey {
    FunctionKey {
        account: "111111111111".into(),
        region: "us-east-1".into(),
        name: "f".into(),
    }
}

fn spec(id: &str) -> SandboxSpec {
    let config = crate::function::FunctionConfig::new(
        "f",
        crate::function::PackageType::Zip,
        "r".into(),
        None,
        None,
        &crate::function::FunctionSettings::default(),
    );
    SandboxSpec {
        sandbox_id: id.into(),
        revision: Arc::new(crate::revision::FunctionRevision::new(
            "111111111111".into(),
            "us-east-1".into(),
            "f".into(),
            "$LATEST".into(),
            "aa".into(),
            config,
        )),
        code: None,
        lambox_url: String::new(),
    }
}

async fn lease(pool: &WarmPool, deploy: &DeployId, id: &str) -> Lease {
    match pool
        .acquire(&key(), deploy, None, Duration::from_secs(1))
        .await
        .unwrap()
    {
        Slot::Warm(l) => l,
        Slot::Cold(p) => p.launch(&spec(id)).await.unwrap(),
    }
}

#[tokio::test]
async fn reuses_a_released_sandbox_of_the_same_deploy_id() {
    let (pool, backend) = pool(4);
    let a = DeployId::of("$LATEST", "a", &spec("x").revision.config);
    let l = lease(&pool, &a, "s1").await;
    assert!(l.is_cold());
    l.release();
    let l = lease(&pool, &a, "s2").await;
    assert!(!l.is_cold());
    assert_eq!(l.sandbox_id(), "s1");
    assert_eq!(backend.launched.load(Ordering::SeqCst), 1);
    // Another deploy-id never gets that sandbox.
    let b = DeployId::of("$LATEST", "b", &spec("x").revision.config);
    let other = lease(&pool, &b, "s3").await;
    assert_ne!(other.sandbox_id(), "s1");
    assert_eq!(pool.stats(&key()), (2, 2));
}

#[tokio::test]
async fn reserved_concurrency_throttles() {
    let (pool, _) = pool(4);
    let d = DeployId::of("$LATEST", "a", &spec("x").revision.config);
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
    let d = DeployId::of("$LATEST", "a", &spec("x").revision.config);
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
    let d = DeployId::of("$LATEST", "a", &spec("x").revision.config);
    let busy = lease(&pool, &d, "busy").await;
    let idle = lease(&pool, &d, "idle").await;
    idle.release();
    pool.retire(&key(), &d);
    busy.release();
    let dropped = lease(&pool, &d, "dropped").await;
    drop(dropped);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut stopped = backend.terminated.lock().unwrap().clone();
    stopped.sort();
    assert_eq!(stopped, ["busy", "dropped", "idle"]);
    assert_eq!(pool.stats(&key()), (0, 0));
}

#[tokio::test]
async fn idle_sandboxes_are_reaped_after_the_ttl() {
    let (pool, backend) = pool(4);
    let d = DeployId::of("$LATEST", "a", &spec("x").revision.config);
    lease(&pool, &d, "s1").await.release();
    assert_eq!(pool.reap_idle(), 0);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(pool.reap_idle(), 1);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(*backend.terminated.lock().unwrap(), ["s1"]);
}
