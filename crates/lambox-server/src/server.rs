//! The embedding API: a real lambox started in-process on a free port (by default with a
//! temporary data directory), reached by any AWS client at [`ServerHandle::url`], and stopped,
//! with its sandboxes, when the handle is shut down or dropped — the way testcontainers users
//! start a database. The `lambox` binary serves through the same code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lambox_core::backend::Backend;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::AppState;
use crate::config::{BackendKind, Config};
use crate::start::{StartError, open_state};

/// Entry point of the embedding API: [`Server::builder`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A builder for a server on `127.0.0.1:0` (a free port) with a temporary data directory
    /// (and, since nothing of it survives the process, `durability = normal`) and the process
    /// backend, otherwise configured with lambox's defaults.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// How to start an embedded lambox; see [`Server::builder`].
pub struct ServerBuilder {
    config: Config,
    temporary_data_dir: bool,
    backend: Option<Arc<dyn Backend>>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("temporary_data_dir", &self.temporary_data_dir)
            .field("backend", &self.backend.as_ref().map(|b| b.kind()))
            .finish()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            config: Config {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..Config::default()
            },
            temporary_data_dir: true,
            backend: None,
        }
    }
}

impl ServerBuilder {
    /// Starts from `config` (its `listen` and `data_dir` included) instead of the defaults.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self.temporary_data_dir = false;
        self
    }

    /// Keeps state in `dir` (kept after the server stops) instead of a temporary directory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = dir.into();
        self.temporary_data_dir = false;
        self
    }

    /// Listens on `addr` (port 0: a free one).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }

    /// Runs sandboxes with `backend`.
    pub fn backend(mut self, backend: BackendKind) -> Self {
        self.config.backend = backend;
        self
    }

    /// Changes anything else of the configuration (a `data_dir` set here is kept, as with
    /// [`ServerBuilder::data_dir`]).
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let before = self.config.data_dir.clone();
        change(&mut self.config);
        if self.config.data_dir != before {
            self.temporary_data_dir = false;
        }
        self
    }

    /// Runs sandboxes with `backend` (one of your own, say an in-memory one in tests) instead
    /// of the configured one.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The data directory to use: the configured one, or a new temporary one.
    fn prepare_data_dir(
        config: &mut Config,
        temporary: bool,
    ) -> Result<Option<TempDir>, StartError> {
        if !temporary {
            return Ok(None);
        }
        let dir = tempfile::Builder::new().prefix("lambox-").tempdir()?;
        config.data_dir = dir.path().to_owned();
        // Nothing of a temporary directory outlives the process: commits need not wait for the
        // disk to survive a power loss.
        config.durability = crate::config::DurabilityMode::Normal;
        Ok(Some(dir))
    }

    /// Builds the application without a socket, to drive with `tower::ServiceExt::oneshot`:
    /// the API in milliseconds, against a real store.
    pub async fn build(self) -> Result<App, StartError> {
        let mut config = self.config;
        let temp = Self::prepare_data_dir(&mut config, self.temporary_data_dir)?;
        let state = open_state(config, self.backend).await?;
        Ok(App { state, _temp: temp })
    }

    /// Opens the store, starts the backend and serves until the handle is shut down or
    /// dropped. Returns once the server accepts requests.
    pub async fn spawn(self) -> Result<ServerHandle, StartError> {
        let mut config = self.config;
        let temp = Self::prepare_data_dir(&mut config, self.temporary_data_dir)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr()?;
        // Sandboxes reach lambox at the address actually bound, not at port 0.
        config.listen = addr;
        let state = open_state(config, self.backend).await?;
        tracing::info!(
            listen = %addr,
            data_dir = %state.config.data_dir.display(),
            "lambox is serving the AWS Lambda API"
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = state.clone();
        let task = tokio::spawn(async move {
            // The temporary data directory goes last, after everything in it has stopped.
            let _temp = temp;
            let header_timeout =
                Duration::from_secs(serving.config.http.read_timeout_seconds.max(1));
            let shutdown = async {
                let _ = stopped.await;
            };
            crate::http::serve(
                listener,
                crate::app(serving.clone()),
                header_timeout,
                serving.config.http.max_connections,
                shutdown,
            )
            .await;
            stop_state(&serving).await;
        });
        Ok(ServerHandle {
            addr,
            data_dir: state.config.data_dir.clone(),
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// What stopping does once nothing is served any more: background tasks end, idle sandboxes
/// stop (busy ones when their invocation ends), the store is checkpointed.
async fn stop_state(state: &Arc<AppState>) {
    state.background.abort_all();
    state.invoker.pool().shutdown().await;
    state.store.close().await;
    tracing::info!("lambox stopped");
}

/// A running embedded lambox. Dropping it stops the server and its sandboxes (without waiting;
/// a temporary data directory is removed once they have stopped); [`ServerHandle::shutdown`]
/// stops them and waits.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    data_dir: PathBuf,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// The application of a lambox that serves no socket; see [`ServerBuilder::build`]. Dropping it
/// stops its background tasks.
#[derive(Debug)]
pub struct App {
    state: Arc<AppState>,
    _temp: Option<TempDir>,
}

impl App {
    /// The HTTP application (cheap to clone; each `oneshot` takes one).
    pub fn router(&self) -> axum::Router {
        crate::app(self.state.clone())
    }

    /// The shared state (store, configuration, invoker).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.state.background.abort_all();
    }
}

impl ServerHandle {
    /// `http://127.0.0.1:<port>`: the endpoint URL for AWS clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where its state lives.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Stops serving, lets requests in flight finish, stops the sandboxes and waits for all of
    /// it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // The serving task stops the sandboxes if the runtime lives on; if it is going away,
        // the sandboxes' control pipes close with it and their agents stop on their own.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.background.abort_all();
    }
}

/// Serves with `config` until `shutdown` resolves, then stops everything: what `lambox serve`
/// runs.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let handle = Server::builder().config(config).spawn().await?;
    shutdown.await;
    handle.shutdown().await;
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
