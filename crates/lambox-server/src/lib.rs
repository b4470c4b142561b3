//! lambox-server: the AWS Lambda REST API over lambox's store, its configuration, and the
//! pieces of the `lambox` command.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod invoke;
pub mod routing;

use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use lambox_backend_docker::{DockerBackend, DockerBackendConfig, ImageMap};
use lambox_backend_process::{ProcessBackend, ProcessBackendConfig};
use lambox_core::backend::Backend;
use lambox_core::pool::{PoolSettings, WarmPool};
use lambox_core::presign::UrlSigner;
use lambox_store::{Durability, Store};
use tokio::net::TcpListener;

use crate::invoke::Invoker;
use crate::invoke::logs::LogCollector;
use crate::invoke::queue::EventQueue;

use crate::api::AppState;
use crate::auth::Authenticator;
use crate::config::{BackendKind, Config, DurabilityMode};

/// The HTTP application: every path goes to the dispatcher, which routes by AWS's rules.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new().fallback(api::dispatch).with_state(state)
}

/// Opens the store, reaps the sandboxes an earlier run left, and builds the shared state.
pub async fn open_state(config: Config) -> anyhow::Result<Arc<AppState>> {
    let durability = match config.durability {
        DurabilityMode::Full => Durability::Full,
        DurabilityMode::Normal => Durability::Normal,
    };
    let store = Store::open(&config.data_dir, durability).await?;
    let installation_id = store
        .installation_id(&uuid::Uuid::new_v4().simple().to_string())
        .await?;
    let random_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let url_key = store
        .installation_fact("url_signing_key", &random_key)
        .await?;
    let signer = UrlSigner::new(url_key.as_bytes());
    let backend = backend(&config, &installation_id, &store).await?;
    reap(&backend).await;
    let logs = LogCollector::start(store.clone(), config.logs.keep_per_function);
    let pool = WarmPool::new(
        backend,
        PoolSettings {
            max_instances_per_function: config.pool.max_instances_per_function.max(1),
            idle_ttl: Duration::from_secs(config.pool.idle_ttl_seconds),
            max_sandboxes: config.pool.max_sandboxes.max(1),
            memory_budget_mb: config.pool.memory_budget_mb,
        },
        Arc::new(move |key, sandbox| logs.sink(key, sandbox)),
    );
    let reaper = pool.clone();
    let every = Duration::from_secs(config.pool.idle_ttl_seconds.clamp(1, 60));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = reaper.reap_idle();
            if n > 0 {
                tracing::debug!(stopped = n, "idle sandboxes stopped");
            }
        }
    });
    let invoker = Arc::new(Invoker::new(store.clone(), pool, config.lambox_url()));
    let queue = EventQueue::start(
        store.clone(),
        invoker.clone(),
        config.async_events.workers,
        Duration::from_secs_f64(config.async_events.retry_base_seconds.max(0.0)),
    );
    let auth = Authenticator::new(
        &config.default_account,
        &config.default_region,
        &config.auth,
    );
    Ok(Arc::new(AppState {
        store,
        config,
        auth,
        signer,
        invoker,
        queue,
    }))
}

/// The configured backend.
async fn backend(
    config: &Config,
    installation_id: &str,
    store: &Store,
) -> anyhow::Result<Arc<dyn Backend>> {
    let exe = std::env::current_exe()?;
    Ok(match config.backend {
        BackendKind::Process => {
            let backend = Arc::new(ProcessBackend::new(ProcessBackendConfig {
                sandboxes_dir: config.data_dir.join("sandboxes"),
                code_dir: config.data_dir.join("code"),
                runtimes_dir: config.data_dir.join("runtimes"),
                agent_command: vec![exe.display().to_string(), "agent".to_owned()],
                python: config.process.python.clone(),
                node: config.process.node.clone(),
                installation_id: installation_id.to_owned(),
            })?);
            // Before serving, so that what it removes cannot be code unpacked for a function
            // created meanwhile.
            backend.retain_code(store.code_blob_digests().await?).await;
            // Not needed before serving: it saves the first cold start a probe.
            let warming = backend.clone();
            tokio::spawn(async move { warming.warm_up().await });
            backend
        }
        BackendKind::Docker => {
            let d = &config.docker;
            let agent = if d.agent.is_empty() {
                exe.with_file_name("lambox-agent")
            } else {
                d.agent.clone().into()
            };
            Arc::new(
                DockerBackend::connect(DockerBackendConfig {
                    installation_id: installation_id.to_owned(),
                    images: ImageMap(d.images.clone()),
                    agent_binary: agent,
                    network: Some(d.network.clone()).filter(|n| !n.is_empty()),
                    host_alias: d.host_alias.clone(),
                })
                .await?,
            )
        }
    })
}

/// Stops every sandbox an earlier run of this installation left behind.
async fn reap(backend: &Arc<dyn Backend>) {
    match backend.list_owned().await {
        Ok(ids) => {
            // Concurrently: a container takes the engine a while to remove.
            let count = ids.len();
            let mut stopping = tokio::task::JoinSet::new();
            for id in ids {
                let backend = backend.clone();
                stopping.spawn(async move {
                    if let Err(e) = backend.terminate(&id).await {
                        tracing::warn!(sandbox = %id, error = %e, "could not reap a sandbox");
                    }
                });
            }
            stopping.join_all().await;
            if count > 0 {
                tracing::info!(
                    count,
                    backend = backend.kind(),
                    "reaped sandboxes of an earlier run"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list sandboxes to reap"),
    }
}

/// Serves the API on `config.listen` until `shutdown` resolves, then drains and closes the store.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    let local = listener.local_addr()?;
    let state = open_state(config).await?;
    tracing::info!(
        listen = %local,
        data_dir = %state.config.data_dir.display(),
        "lambox is serving the AWS Lambda API"
    );
    let header_timeout = Duration::from_secs(state.config.http.read_timeout_seconds.max(1));
    http::serve(listener, app(state.clone()), header_timeout, shutdown).await;
    state.invoker.pool().shutdown().await;
    state.store.close().await;
    tracing::info!("lambox stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
