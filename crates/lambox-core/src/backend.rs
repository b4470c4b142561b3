//! The `Backend` trait: what the process, Docker and Kubernetes backends implement to start and
//! stop sandboxes. A sandbox runs lambox's agent, which serves the push protocol of
//! [`crate::protocol`] on the endpoint the backend reports.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::revision::FunctionRevision;

/// A boxed future, so that backends can be used as `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Receives a sandbox's log stream, one line at a time (without the newline).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Where deployment packages are stored (lambox's store). Backends read a package only when
/// they have not unpacked it before, so a cold start of known code does not read the zip.
pub trait CodeSource: Send + Sync + 'static {
    /// The zip whose lowercase hex SHA-256 is `sha256_hex`.
    fn zip<'a>(&'a self, sha256_hex: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BackendError>>;
}

/// A deployment package to put at `/var/task`, named by its digest and read on demand.
#[derive(Clone)]
pub struct CodePackage {
    /// Lowercase hex SHA-256 of the zip.
    pub sha256_hex: String,
    /// Where the zip is read from.
    pub source: Arc<dyn CodeSource>,
}

impl CodePackage {
    /// Reads the zip.
    pub async fn zip(&self) -> Result<Vec<u8>, BackendError> {
        self.source.zip(&self.sha256_hex).await
    }
}

impl std::fmt::Debug for CodePackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodePackage")
            .field("sha256_hex", &self.sha256_hex)
            .finish_non_exhaustive()
    }
}

/// Everything a backend needs to start one sandbox.
#[derive(Clone)]
pub struct SandboxSpec {
    /// Unique id of the sandbox (32 lowercase hex digits).
    pub sandbox_id: String,
    /// What it runs.
    pub revision: Arc<FunctionRevision>,
    /// The code of a Zip function.
    pub code: Option<CodePackage>,
    /// The function's layers, in order, to extract into `/opt` (a later one's files replace an
    /// earlier one's); their digests are the revision's `config.layers`.
    pub layers: Vec<CodePackage>,
    /// How lambox is reached from the host (`http://127.0.0.1:4566`); a backend whose
    /// sandboxes live elsewhere rewrites the host.
    pub lambox_url: String,
    /// The secret pushes to the sandbox's agent are authenticated with, and its answers proved
    /// with (see [`crate::protocol::PUSH_AUTH`]); the backend hands it to the agent (and to
    /// nothing else it starts).
    pub secret: String,
    /// Whether it is started ahead for provisioned concurrency or for an invocation.
    pub initialization: Initialization,
    /// Its log stream (`2024/01/01/[$LATEST]<sandbox id>`, see
    /// [`crate::revision::log_stream_name`]), as its code sees it and its logs are kept under.
    pub log_stream: String,
}

/// How a sandbox comes to be, as Lambda tells the code in it (`AWS_LAMBDA_INITIALIZATION_TYPE`).
/// Not part of the deploy-id: a provisioned sandbox serves the same invocations as any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Initialization {
    /// Started for an invocation that found no idle sandbox.
    #[default]
    OnDemand,
    /// Started ahead, initialized before its first invocation.
    ProvisionedConcurrency,
}

impl Initialization {
    /// The value of `AWS_LAMBDA_INITIALIZATION_TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "on-demand",
            Self::ProvisionedConcurrency => "provisioned-concurrency",
        }
    }

    /// Sets `AWS_LAMBDA_INITIALIZATION_TYPE` in a sandbox environment to this.
    pub fn apply(self, env: &mut [(String, String)]) {
        for (k, v) in env.iter_mut() {
            if k == "AWS_LAMBDA_INITIALIZATION_TYPE" {
                self.as_str().clone_into(v);
            }
        }
    }
}

/// A started sandbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// Its id, as in the spec.
    pub id: String,
    /// `host:port` of its agent's invoke endpoint.
    pub endpoint: String,
    /// The secret its agent requires on every push (the spec's).
    pub secret: String,
}

impl std::fmt::Debug for SandboxSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the revision's environment (it may hold the function's secrets), nor the
        // sandbox's secret.
        f.debug_struct("SandboxSpec")
            .field("sandbox_id", &self.sandbox_id)
            .field("function", &self.revision.function_arn())
            .field("version", &self.revision.version)
            .field("deploy_id", &self.revision.deploy_id)
            .field("code", &self.code)
            .field("layers", &self.layers)
            .field("lambox_url", &self.lambox_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Why a backend operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The sandbox could not be started.
    #[error("cannot start the sandbox: {0}")]
    Launch(String),
    /// The backend cannot run this function (e.g. a runtime it has no interpreter for).
    #[error("{0}")]
    Unsupported(String),
    /// The function's image is not there and cannot be pulled.
    #[error("{0}")]
    Image(String),
    /// The deployment package could not be read from its source.
    #[error("cannot read the function's code: {0}")]
    Code(String),
    /// An I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Starts and stops sandboxes. Implementations label what they start with their installation
/// so that [`Backend::list_owned`] finds exactly the sandboxes an earlier run of this lambox
/// left behind.
pub trait Backend: Send + Sync + 'static {
    /// `process`, `docker`, `k8s`.
    fn kind(&self) -> &'static str;

    /// Gets ready to run `revision` soon (e.g. pulls its image), right after it is created or
    /// its code changes, so that the first invoke does not wait for it. Does nothing by default.
    fn prepare<'a>(&'a self, revision: &'a FunctionRevision) -> BoxFuture<'a, ()> {
        let _ = revision;
        Box::pin(async {})
    }

    /// Starts a sandbox and waits until its agent accepts invocations. The sandbox's log stream
    /// goes to `logs`.
    fn launch<'a>(
        &'a self,
        spec: &'a SandboxSpec,
        logs: LogSink,
    ) -> BoxFuture<'a, Result<Sandbox, BackendError>>;

    /// Stops a sandbox and removes what it left. Stopping one that is gone is not an error.
    fn terminate<'a>(&'a self, sandbox_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;

    /// The ids of every sandbox of this installation that exists now.
    fn list_owned(&self) -> BoxFuture<'_, Result<Vec<String>, BackendError>>;
}
