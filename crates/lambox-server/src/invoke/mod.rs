//! Running functions: resolving what to run, taking a sandbox from the warm pool (or starting
//! one), pushing the invocation to its agent and reading the outcome. Shared by synchronous
//! invokes and the asynchronous event queue.

pub mod logs;
pub mod provisioned;
mod push;
pub mod queue;
pub mod revisions;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambox_core::alias::is_version;
use lambox_core::arn::{LATEST, function_arn};
use lambox_core::backend::{
    BackendError, BoxFuture, CodePackage, CodeSource, Initialization, SandboxSpec,
};
use lambox_core::pool::{PoolError, Slot, WarmPool};
use lambox_core::protocol;
use lambox_core::revision::FunctionRevision;
use lambox_store::{Scope, Store, StoreError, VersionRecord};

use self::push::{Push, Pushed};
use self::stream::ResponseStream;

/// What an invocation that takes streamed answers gets.
#[derive(Debug)]
pub enum Answer {
    /// The whole answer (a function that does not stream, or one that failed before it did).
    Whole(InvokeResult),
    /// The function's streamed response.
    Stream(ResponseStream),
}
use self::revisions::{Resolved, RevisionCache, function_key};

/// One invocation to run.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Request id (the caller's `x-amzn-RequestId`).
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// Decoded client context JSON.
    pub client_context: Option<String>,
    /// Return the log tail.
    pub tail: bool,
    /// The ARN as invoked (with the qualifier the caller gave).
    pub invoked_arn: String,
}

/// How an invocation ended.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    /// The version that ran.
    pub executed_version: String,
    /// The function's result or error JSON.
    pub body: Bytes,
    /// The function failed (`body` is its error).
    pub function_error: bool,
    /// Base64 of the log's last 4 KB, when asked.
    pub log_tail: Option<String>,
    /// Microseconds the runtime client held the event.
    pub runtime_us: Option<u64>,
}

/// Why an invocation did not run.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// Reserved concurrency is exhausted.
    #[error("throttled by reserved concurrency")]
    ReservedConcurrency,
    /// Every sandbox stayed busy.
    #[error("no sandbox became free in time")]
    Saturated,
    /// lambox's global sandbox capacity is in use.
    #[error("the sandbox capacity is exhausted")]
    CapacityExhausted,
    /// lambox is stopping.
    #[error("lambox is stopping")]
    ShuttingDown,
    /// The backend cannot run this function.
    #[error("{0}")]
    Unsupported(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sandbox broke off the invocation.
    #[error("the sandbox failed: {0}")]
    Sandbox(String),
}

/// Runs invocations.
pub struct Invoker {
    store: Store,
    pool: WarmPool,
    client: Client<HttpConnector, Full<Bytes>>,
    revisions: RevisionCache,
    code: Arc<dyn CodeSource>,
    lambox_url: String,
    /// Notified after every write that can change what a qualifier resolves to (provisioned
    /// concurrency follows it).
    pub(crate) changes: tokio::sync::Notify,
}

/// The store as the backends' source of deployment packages.
struct StoredCode(Store);

impl CodeSource for StoredCode {
    fn zip<'a>(&'a self, sha256_hex: &'a str) -> BoxFuture<'a, Result<Vec<u8>, BackendError>> {
        Box::pin(async move {
            match self.0.code_blob(sha256_hex).await {
                Ok(Some(zip)) => Ok(zip),
                Ok(None) => Err(BackendError::Code("it is missing from the store".into())),
                Err(e) => Err(BackendError::Code(e.to_string())),
            }
        })
    }
}

impl Invoker {
    /// An invoker over `pool`.
    pub fn new(store: Store, pool: WarmPool, lambox_url: String) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(300))
            .build(connector);
        Self {
            code: Arc::new(StoredCode(store.clone())),
            store,
            pool,
            client,
            revisions: RevisionCache::default(),
            lambox_url,
            changes: tokio::sync::Notify::new(),
        }
    }

    /// The warm pool.
    pub fn pool(&self) -> &WarmPool {
        &self.pool
    }

    /// What `name:qualifier` runs (a version, or an alias with its routing). `None` when the
    /// function, version or alias does not exist.
    pub async fn resolve(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<Arc<Resolved>>, StoreError> {
        let qualifier = qualifier.unwrap_or(LATEST);
        let key = function_key(scope, name);
        if let Some(r) = self.revisions.get(&key, qualifier) {
            return Ok(Some(r));
        }
        let ticket = self.revisions.begin_read(&key);
        let Some(function) = self.store.get_function(scope, name).await? else {
            return Ok(None);
        };
        let (version, additional) = if is_version(qualifier) {
            (qualifier.to_owned(), None)
        } else {
            match self.store.get_alias(scope, name, qualifier).await {
                Ok(Some(alias)) => (alias.function_version, alias.additional),
                Ok(None) | Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let load = async |version: &str| -> Result<Option<Arc<FunctionRevision>>, StoreError> {
            let record = if version == LATEST {
                Some(function.latest.clone())
            } else {
                self.store.get_version(scope, name, version).await?
            };
            Ok(record.map(|r| Arc::new(revision(scope, r))))
        };
        let Some(primary) = load(&version).await? else {
            return Ok(None);
        };
        let additional = match additional {
            Some((v, weight)) => match load(&v).await? {
                Some(rev) => Some((rev, weight)),
                None => return Ok(None),
            },
            None => None,
        };
        let policy = self
            .store
            .policy(scope, name, crate::api::policy_qualifier(Some(qualifier)))
            .await?
            .map_or_else(Vec::new, |p| p.statements);
        let resolved = Arc::new(Resolved {
            revision: primary,
            additional,
            policy: policy.into(),
            reserved: function.reserved_concurrency,
            key,
        });
        self.revisions.insert(ticket, qualifier, resolved.clone());
        Ok(Some(resolved))
    }

    /// A resource policy of a function changed (and was committed).
    pub fn policy_changed(&self, scope: &Scope, name: &str) {
        self.revisions.invalidate(&function_key(scope, name));
    }

    /// Whether account `caller` may invoke `name:qualifier` of `scope`: its own functions
    /// always, another account's when the qualifier's policy allows it. `false` when the
    /// function, version or alias does not exist.
    pub async fn may_invoke(
        &self,
        caller: &str,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<bool, StoreError> {
        let Some(resolved) = self.resolve(scope, name, qualifier).await? else {
            return Ok(false);
        };
        Ok(caller == scope.account
            || lambox_core::policy::allows(
                &resolved.policy,
                caller,
                &scope.region,
                "lambda:InvokeFunction",
            ))
    }

    /// An alias of a function was created, updated or deleted (and committed).
    pub fn aliases_changed(&self, scope: &Scope, name: &str) {
        self.revisions.invalidate(&function_key(scope, name));
        self.changes.notify_one();
    }

    /// A function was created: let the backend get ready for it (pull its image) in the
    /// background.
    pub fn prepare(&self, scope: &Scope, record: &VersionRecord) {
        self.prepare_revision(revision(scope, record.clone()));
    }

    fn prepare_revision(&self, revision: FunctionRevision) {
        let backend = self.pool.backend().clone();
        tokio::spawn(async move { backend.prepare(&revision).await });
    }

    /// A function's reserved concurrency changed (and was committed).
    pub fn reserved_changed(&self, scope: &Scope, name: &str) {
        self.revisions.invalidate(&function_key(scope, name));
    }

    /// `$LATEST` was updated from `previous` to `latest` (and committed): resolutions of the
    /// function are dropped, the sandboxes of the old revision are retired unless the new one
    /// bakes in exactly the same (same deploy-id), and the backend gets ready for the new one.
    pub fn latest_changed(&self, scope: &Scope, previous: &VersionRecord, latest: &VersionRecord) {
        let key = function_key(scope, &latest.function_name);
        self.revisions.invalidate(&key);
        let old = revision(scope, previous.clone());
        let new = revision(scope, latest.clone());
        if old.deploy_id != new.deploy_id {
            self.pool.retire(&key, &old.deploy_id);
        }
        self.prepare_revision(new);
    }

    /// A function was deleted (and committed): its sandboxes go.
    pub fn function_deleted(&self, scope: &Scope, name: &str) {
        let key = function_key(scope, name);
        self.revisions.invalidate(&key);
        self.pool.retire_function(&key);
        self.changes.notify_one();
    }

    /// One published version was deleted (and committed): its sandboxes go.
    pub fn version_deleted(&self, scope: &Scope, deleted: &VersionRecord) {
        let key = function_key(scope, &deleted.function_name);
        self.revisions.invalidate(&key);
        self.pool
            .retire(&key, &revision(scope, deleted.clone()).deploy_id);
        self.changes.notify_one();
    }

    pub(crate) fn sandbox_spec(
        &self,
        rev: &Arc<FunctionRevision>,
        initialization: Initialization,
    ) -> SandboxSpec {
        let sandbox_id = uuid::Uuid::new_v4().simple().to_string();
        SandboxSpec {
            sandbox_id: sandbox_id.clone(),
            revision: rev.clone(),
            code: rev.config.image_uri.is_none().then(|| CodePackage {
                sha256_hex: rev.code_sha256_hex.clone(),
                source: self.code.clone(),
            }),
            layers: rev
                .config
                .layers
                .iter()
                .map(|l| CodePackage {
                    sha256_hex: l.sha256_hex.clone(),
                    source: self.code.clone(),
                })
                .collect(),
            lambox_url: self.lambox_url.clone(),
            secret: random_secret(),
            initialization,
            log_stream: lambox_core::revision::log_stream_name(
                lambox_core::time::now_millis(),
                &rev.version,
                &sandbox_id,
            ),
        }
    }

    /// Runs one invocation to its end.
    pub async fn invoke(
        &self,
        resolved: &Resolved,
        req: &InvokeRequest,
    ) -> Result<InvokeResult, InvokeError> {
        match self.invoke_answer(resolved, req, None).await? {
            Answer::Whole(result) => Ok(result),
            // Not asked for; read whole all the same.
            Answer::Stream(s) => Ok(s.collect(protocol::MAX_RESPONSE_BYTES).await),
        }
    }

    /// Runs one invocation whose caller takes a streamed answer of up to `stream_limit` bytes
    /// (InvokeWithResponseStream, function URLs in `RESPONSE_STREAM` mode); `None`: whole
    /// answers only.
    pub async fn invoke_answer(
        &self,
        resolved: &Resolved,
        req: &InvokeRequest,
        stream_limit: Option<u64>,
    ) -> Result<Answer, InvokeError> {
        // A draw only for an alias that routes (it reads the OS random source).
        let rev = match resolved.additional {
            Some(_) => resolved.pick(random_draw()),
            None => &resolved.revision,
        };
        let key = &resolved.key;
        let timeout = Duration::from_secs(u64::from(rev.config.timeout));
        // A sandbox whose agent cannot be reached never saw the event: try another.
        for _ in 0..3 {
            let slot = self
                .pool
                .acquire(key, rev, resolved.reserved, timeout)
                .await?;
            let lease = match slot {
                Slot::Warm(lease) => lease,
                Slot::Cold(permit) => {
                    let spec = self.sandbox_spec(rev, Initialization::OnDemand);
                    match permit.launch(&spec).await {
                        Ok(lease) => lease,
                        Err(PoolError::Launch(BackendError::Launch(message))) => {
                            return Ok(Answer::Whole(entrypoint_error(
                                rev,
                                &req.request_id,
                                &message,
                            )));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            match push::push(
                &self.client,
                lease.sandbox(),
                rev,
                req,
                timeout,
                stream_limit,
            )
            .await
            {
                Ok(Pushed::Whole(result)) => {
                    lease.release();
                    return Ok(Answer::Whole(result));
                }
                Ok(Pushed::Stream {
                    content_type,
                    body,
                    deadline,
                }) => {
                    return Ok(Answer::Stream(ResponseStream::new(
                        rev.version.clone(),
                        content_type,
                        stream_limit.unwrap_or_default(),
                        body,
                        lease,
                        req.request_id.clone(),
                        deadline,
                    )));
                }
                Err(Push::NeverArrived(e)) => {
                    tracing::warn!(sandbox = %lease.sandbox_id(), error = %e, "sandbox unreachable; trying another");
                    lease.discard();
                }
                Err(Push::Broken(e)) => {
                    lease.discard();
                    return Err(InvokeError::Sandbox(e));
                }
                Err(Push::TooLarge) => {
                    lease.discard();
                    return Ok(Answer::Whole(response_too_large(rev)));
                }
            }
        }
        Err(InvokeError::Sandbox("no reachable sandbox".into()))
    }
}

/// What a stored version runs.
fn revision(scope: &Scope, record: VersionRecord) -> FunctionRevision {
    FunctionRevision::new(
        scope.account.clone(),
        scope.region.clone(),
        record.function_name,
        record.version,
        record.code_sha256_hex,
        record.config,
    )
}

impl From<PoolError> for InvokeError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::ReservedConcurrencyExceeded => Self::ReservedConcurrency,
            PoolError::Saturated => Self::Saturated,
            PoolError::CapacityExhausted => Self::CapacityExhausted,
            PoolError::ShutDown => Self::ShuttingDown,
            PoolError::Launch(BackendError::Unsupported(m) | BackendError::Image(m)) => {
                Self::Unsupported(m)
            }
            PoolError::Launch(other) => Self::Sandbox(other.to_string()),
            other => Self::Sandbox(other.to_string()),
        }
    }
}

/// A sandbox that cannot start its runtime fails the invocation as Lambda fails it: with a
/// function error, not a service error.
fn entrypoint_error(rev: &FunctionRevision, request_id: &str, message: &str) -> InvokeResult {
    let message = format!("RequestId: {request_id} Error: {message}");
    InvokeResult {
        executed_version: rev.version.clone(),
        body: protocol::error_body("Runtime.InvalidEntrypoint", &message).into(),
        function_error: true,
        log_tail: None,
        runtime_us: None,
    }
}

/// An answer larger than the response limit fails the invocation as Lambda fails it.
fn response_too_large(rev: &FunctionRevision) -> InvokeResult {
    let message = format!(
        "Response payload size exceeded maximum allowed payload size ({} bytes).",
        protocol::MAX_RESPONSE_BYTES
    );
    InvokeResult {
        executed_version: rev.version.clone(),
        body: protocol::error_body("Function.ResponseSizeTooLarge", &message).into(),
        function_error: true,
        log_tail: None,
        runtime_us: None,
    }
}

/// A uniform random number in `[0, 1)` from the operating system's random source (53 of a v4
/// UUID's random bits: one draw per invocation of an alias needs no faster generator).
pub(crate) fn random_draw() -> f64 {
    // The low 64 bits start with the two variant bits (always `10`): keep the 62 below them.
    let random62 = (uuid::Uuid::new_v4().as_u128() as u64) & ((1 << 62) - 1);
    (random62 >> 9) as f64 / (1u64 << 53) as f64
}

/// 64 hex digits from the operating system's random source (two v4 UUIDs: 244 random bits).
pub(crate) fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The ARN a caller invoked: qualified when it gave a qualifier.
pub fn invoked_arn(scope: &Scope, name: &str, qualifier: Option<&str>) -> String {
    function_arn(&scope.region, &scope.account, name, qualifier)
}

#[cfg(test)]
mod draw_tests {
    #[test]
    fn draws_are_uniform_in_the_unit_interval() {
        let draws: Vec<f64> = (0..20_000).map(|_| super::random_draw()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        // Each quarter of the interval gets about 5,000 of them (sd ~61).
        for q in 0..4 {
            let lo = f64::from(q) / 4.0;
            let n = draws
                .iter()
                .filter(|d| (lo..lo + 0.25).contains(*d))
                .count();
            assert!((4_400..5_600).contains(&n), "quarter {q}: {n}");
        }
    }
}
