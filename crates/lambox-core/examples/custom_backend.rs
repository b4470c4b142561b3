//! The warm pool with a backend of your own: here an in-memory one whose "sandboxes" are just
//! names. It shows what the pool does for any backend: one sandbox per invocation at a time,
//! reuse of a warm sandbox for the same deploy-id, a fresh one for changed contents, and
//! retirement stopping the stale ones.
//!
//! `cargo run -p lambox-core --example custom_backend`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambox_core::backend::{Backend, BackendError, BoxFuture, LogSink, Sandbox, SandboxSpec};
use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use lambox_core::pool::{FunctionKey, PoolSettings, SinkFactory, Slot, WarmPool};
use lambox_core::revision::FunctionRevision;

/// Sandboxes that exist only as entries in a list.
#[derive(Default)]
struct InMemory {
    started: AtomicUsize,
    alive: Mutex<Vec<String>>,
}

impl Backend for InMemory {
    fn kind(&self) -> &'static str {
        "in-memory"
    }

    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        _logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>> {
        Box::pin(async move {
            let n = self.started.fetch_add(1, Ordering::SeqCst);
            self.alive.lock().unwrap().push(spec.sandbox_id.clone());
            Ok(Sandbox {
                id: spec.sandbox_id.clone(),
                // Where a real backend's agent would listen.
                endpoint: format!("in-memory:{n}"),
                secret: spec.secret.clone(),
            })
        })
    }

    fn terminate<'a>(&'a self, sandbox_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.alive.lock().unwrap().retain(|s| s != sandbox_id);
            Ok(())
        })
    }

    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>> {
        Box::pin(async { Ok(self.alive.lock().unwrap().clone()) })
    }
}

fn revision(timeout: i64) -> Arc<FunctionRevision> {
    let config = FunctionConfig::new(
        "hello",
        PackageType::Zip,
        "arn:aws:iam::111111111111:role/r".into(),
        None,
        None,
        &FunctionSettings {
            runtime: Some("python3.12".into()),
            handler: Some("handler.handler".into()),
            timeout: Some(timeout),
            ..Default::default()
        },
    );
    Arc::new(FunctionRevision::new(
        "111111111111".into(),
        "us-east-1".into(),
        "hello".into(),
        "$LATEST".into(),
        "0f".repeat(32),
        config,
    ))
}

/// A warm sandbox of `rev`, or a new one.
async fn sandbox_for(
    pool: &WarmPool,
    key: &FunctionKey,
    rev: &Arc<FunctionRevision>,
    n: usize,
) -> lambox_core::pool::Lease {
    match pool
        .acquire(key, rev, None, Duration::from_secs(1))
        .await
        .unwrap()
    {
        Slot::Warm(lease) => lease,
        Slot::Cold(permit) => {
            let spec = SandboxSpec {
                sandbox_id: format!("sandbox-{n}"),
                revision: rev.clone(),
                code: None,
                layers: Vec::new(),
                lambox_url: "http://127.0.0.1:4566".into(),
                secret: "only-lambox-knows".into(),
                initialization: Default::default(),
                log_stream: "2026/01/01/[$LATEST]example".into(),
            };
            permit.launch(&spec).await.unwrap()
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let backend = Arc::new(InMemory::default());
    let no_logs: SinkFactory = Arc::new(|_, _| Arc::new(|_: &str| {}));
    let pool = WarmPool::new(
        backend.clone(),
        PoolSettings {
            max_instances_per_function: 4,
            idle_ttl: Duration::from_secs(600),
            max_sandboxes: 100,
            memory_budget_mb: 8192,
        },
        no_logs,
    );
    let key = FunctionKey {
        account: "111111111111".into(),
        region: "us-east-1".into(),
        name: "hello".into(),
    };
    let v1 = revision(3);
    let lease = sandbox_for(&pool, &key, &v1, 1).await;
    println!(
        "first invoke: {} (cold: {})",
        lease.sandbox_id(),
        lease.is_cold()
    );
    lease.release();
    let lease = sandbox_for(&pool, &key, &v1, 2).await;
    println!(
        "second invoke: {} (cold: {})",
        lease.sandbox_id(),
        lease.is_cold()
    );
    assert!(
        !lease.is_cold(),
        "the same deploy-id reuses the warm sandbox"
    );
    lease.release();

    // A changed timeout is baked into the sandbox: a new deploy-id, a new sandbox.
    let v2 = revision(10);
    assert_ne!(v1.deploy_id, v2.deploy_id);
    pool.retire(&key, &v1.deploy_id);
    let lease = sandbox_for(&pool, &key, &v2, 3).await;
    println!(
        "after the update: {} (cold: {})",
        lease.sandbox_id(),
        lease.is_cold()
    );
    lease.release();
    tokio::time::sleep(Duration::from_millis(10)).await;
    println!(
        "started {} sandboxes; alive now: {:?}",
        backend.started.load(Ordering::SeqCst),
        backend.alive.lock().unwrap()
    );
    assert_eq!(*backend.alive.lock().unwrap(), ["sandbox-3"]);
}
