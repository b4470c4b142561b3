//! What starting a lambox does before it serves: open (and migrate) the store, start the
//! configured backend, reap the sandboxes an earlier run of this installation left, and build
//! the shared state with its background tasks (idle reaper, event queue).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambox_backend_process::{ProcessBackend, ProcessBackendConfig};
use lambox_core::backend::{Backend, BackendError};
use lambox_core::pool::{PoolSettings, WarmPool};
use lambox_core::presign::UrlSigner;
use lambox_store::{Durability, Store, StoreError};
use tokio::task::AbortHandle;

use crate::api::AppState;
use crate::auth::Authenticator;
use crate::config::{BackendKind, Config, DurabilityMode};
use crate::invoke::Invoker;
use crate::invoke::logs::LogCollector;
use crate::invoke::provisioned::ProvisionedConcurrency;
use crate::invoke::queue::EventQueue;

/// Why a lambox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address is taken or not ours to bind.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// What was asked for.
        addr: std::net::SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backend could not be started.
    #[error("cannot start the {kind} backend: {source}")]
    Backend {
        /// `process`, `docker`.
        kind: &'static str,
        /// Why.
        source: BackendError,
    },
    /// This build of lambox lacks the cargo feature the configuration needs.
    #[error("this lambox was built without the `{0}` feature")]
    FeatureMissing(&'static str),
    /// A file or directory could not be created.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The tasks a running lambox keeps in the background; aborted when it stops, so that nothing
/// of it (and none of its sandboxes) outlives it.
#[derive(Debug, Default)]
pub struct Background(Mutex<Vec<AbortHandle>>);

impl Background {
    /// Keeps `handle` to abort later.
    pub fn keep(&self, handle: AbortHandle) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// Aborts every task kept.
    pub fn abort_all(&self) {
        for h in self.0.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            h.abort();
        }
    }
}

/// Opens the store, reaps the sandboxes an earlier run left, and builds the shared state, with
/// `backend` or else the configured one. `config.listen` must be the address actually bound
/// (sandboxes reach lambox by it).
pub async fn open_state(
    mut config: Config,
    backend: Option<Arc<dyn Backend>>,
) -> Result<Arc<AppState>, StartError> {
    // Absolute from here on: sandboxes (and `lambox isolate`) start in other directories.
    config.data_dir = std::path::absolute(&config.data_dir)?;
    let durability = match config.durability {
        DurabilityMode::Full => Durability::Full,
        DurabilityMode::Normal => Durability::Normal,
    };
    let store = Store::open(&config.data_dir, durability).await?;
    store.set_transition_window(Duration::from_millis(config.state_transition_ms));
    let installation_id = store
        .installation_id(&uuid::Uuid::new_v4().simple().to_string())
        .await?;
    let url_key = store
        .installation_fact("url_signing_key", &crate::invoke::random_secret())
        .await?;
    let signer = UrlSigner::new(url_key.as_bytes());
    let background = Background::default();
    let backend = match backend {
        Some(b) => b,
        None => configured_backend(&config, &installation_id, &store, &background).await?,
    };
    reap(&backend).await;
    let logs = LogCollector::start(
        store.clone(),
        config.logs.keep_per_function,
        config.logs.keep_events_per_group,
    );
    let pool = WarmPool::new(
        backend,
        PoolSettings {
            max_instances_per_function: config.pool.max_instances_per_function.max(1),
            idle_ttl: Duration::from_secs(config.pool.idle_ttl_seconds),
            max_sandboxes: config.pool.max_sandboxes.max(1),
            memory_budget_mb: config.pool.memory_budget_mb,
        },
        Arc::new(move |key, spec| logs.sink(key, spec)),
    );
    let reaper = pool.clone();
    let every = Duration::from_secs(config.pool.idle_ttl_seconds.clamp(1, 60));
    let reaping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = reaper.reap_idle();
            if n > 0 {
                tracing::debug!(stopped = n, "idle sandboxes stopped");
            }
        }
    });
    background.keep(reaping.abort_handle());
    // Log groups' retention (PutRetentionPolicy): expired events go within a minute.
    let expiring = store.clone();
    background.keep(
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                match expiring
                    .expire_log_events(lambox_core::time::now_millis())
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(events = n, "expired log events deleted"),
                    Err(e) => tracing::warn!(error = %e, "expiring log events failed"),
                }
            }
        })
        .abort_handle(),
    );
    let invoker = Arc::new(Invoker::new(store.clone(), pool, config.lambox_url()));
    let queue = EventQueue::start(
        store.clone(),
        invoker.clone(),
        config.async_events.workers,
        Duration::from_secs_f64(config.async_events.retry_base_seconds.max(0.0)),
    );
    background.keep(queue.dispatcher());
    let provisioned = ProvisionedConcurrency::load(invoker.clone(), &store).await?;
    background.keep(tokio::spawn(provisioned.clone().run()).abort_handle());
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
        provisioned,
        background,
    }))
}

/// The command that starts an agent: `process.agent` when set (the `lambox` binary sets itself),
/// else this program when it is `lambox`, else a `lambox` or `lambox-agent` next to it (an
/// embedding test binary lives in `target/debug/deps`, an example in `target/debug/examples`),
/// else `lambox` on `PATH`.
fn agent_command(config: &Config) -> Vec<String> {
    let chosen: PathBuf = if config.process.agent.is_empty() {
        let exe = std::env::current_exe().unwrap_or_default();
        let is_lambox = exe.file_name().is_some_and(|n| n == "lambox");
        let beside = |dir: Option<&Path>| {
            let dir = dir?;
            ["lambox", "lambox-agent"]
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
        };
        if is_lambox {
            exe
        } else {
            beside(exe.parent())
                .or_else(|| beside(exe.parent().and_then(Path::parent)))
                .unwrap_or_else(|| PathBuf::from("lambox"))
        }
    } else {
        PathBuf::from(&config.process.agent)
    };
    // `lambox-agent` (the static agent) takes the agent's arguments directly; `lambox`, whatever
    // its file is called, takes them after `agent`.
    let standalone = chosen
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("lambox-agent"));
    let mut command = vec![chosen.display().to_string()];
    if !standalone {
        command.push("agent".to_owned());
    }
    command
}

/// The configured backend.
async fn configured_backend(
    config: &Config,
    installation_id: &str,
    store: &Store,
    background: &Background,
) -> Result<Arc<dyn Backend>, StartError> {
    Ok(match config.backend {
        BackendKind::Process => {
            let agent = agent_command(config);
            // `lambox isolate` or `lambox-agent isolate`: the same program as the agent.
            let isolate_command = if config.process.namespaces {
                vec![agent[0].clone(), "isolate".to_owned()]
            } else {
                Vec::new()
            };
            let backend = Arc::new(ProcessBackend::new(ProcessBackendConfig {
                sandboxes_dir: config.data_dir.join("sandboxes"),
                code_dir: config.data_dir.join("code"),
                runtimes_dir: config.data_dir.join("runtimes"),
                layer_sets_dir: config.data_dir.join("layer-sets"),
                isolate_command,
                hidden_dirs: vec![config.data_dir.clone()],
                agent_command: agent,
                python: config.process.python.clone(),
                node: config.process.node.clone(),
                interpreters: config.process.interpreters.clone(),
                installation_id: installation_id.to_owned(),
            })?);
            // Before serving, so that what it removes cannot be code unpacked for a function
            // created meanwhile.
            backend.retain_code(store.code_blob_digests().await?).await;
            // Not needed before serving: it saves the first cold start a probe.
            let warming = backend.clone();
            let warm_up = tokio::spawn(async move { warming.warm_up().await });
            background.keep(warm_up.abort_handle());
            backend
        }
        #[cfg(feature = "docker")]
        BackendKind::Docker => {
            use lambox_backend_docker::{DockerBackend, DockerBackendConfig, ImageMap};
            let d = &config.docker;
            let agent = if d.agent.is_empty() {
                std::env::current_exe()?.with_file_name("lambox-agent")
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
                .await
                .map_err(|source| StartError::Backend {
                    kind: "docker",
                    source,
                })?,
            )
        }
        #[cfg(not(feature = "docker"))]
        BackendKind::Docker => return Err(StartError::FeatureMissing("docker")),
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
