//! The AWS Lambda REST API: one dispatcher that routes, reads the body within the operation's
//! limit, authenticates, runs the operation and stamps `x-amzn-RequestId` on every answer.

mod account;
mod admin;
mod aliases;
mod concurrency;
mod event_invoke;
mod function_settings;
mod functions;
mod internal;
mod invoke;
mod invoke_stream;
mod layer_policy;
mod layers;
mod logs;
mod package;
mod policy;
mod provisioned;
mod tags;
mod update;
mod urls;
mod versions;
pub mod wire;

pub(crate) use policy::policy_qualifier;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use lambox_core::LambdaError;
use lambox_core::arn::{FunctionRef, NameShape, ResolvedFunction, check_qualifier};
use lambox_core::lifecycle::Transition;
use lambox_core::presign::UrlSigner;
use lambox_core::validate::ValidationErrors;
use lambox_store::{FunctionRecord, Scope, Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{Authenticator, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::invoke::Invoker;
use crate::invoke::queue::EventQueue;
use crate::routing::{Operation, Query, route, route_target};

/// What every request handler shares.
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The effective configuration.
    pub config: Config,
    /// Derives callers.
    pub auth: Authenticator,
    /// Presigns download URLs (`Code.Location`).
    pub signer: UrlSigner,
    /// Runs functions.
    pub invoker: Arc<Invoker>,
    /// The asynchronous event queue.
    pub queue: EventQueue,
    /// The provisioned-concurrency configs kept started.
    pub provisioned: crate::invoke::provisioned::ProvisionedConcurrency,
    /// Tasks that end when lambox stops.
    pub background: crate::start::Background,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// One request, authenticated and read.
pub(crate) struct Ctx<'a> {
    pub state: &'a Arc<AppState>,
    /// The request's `x-amzn-RequestId` (also an invocation's request id).
    pub request_id: &'a str,
    /// Where the addressed function lives: the caller's account and region, or, for a function
    /// of another account named by ARN (and allowed by its policy), that account.
    pub scope: Scope,
    /// Who is calling (the account of the credentials).
    pub caller: Scope,
    pub headers: &'a axum::http::HeaderMap,
    pub query: Query,
    pub body: Bytes,
}

impl Ctx<'_> {
    /// Whether the caller addresses a function of another account.
    pub fn is_cross_account(&self) -> bool {
        self.scope.account != self.caller.account
    }

    /// The body as the operation's input shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.body)
    }

    /// Resolves a `FunctionName` label (with the `Qualifier` query parameter where the operation
    /// takes one) to a function of the caller's account and region.
    pub fn function(
        &self,
        name: &str,
        shape: NameShape,
        with_qualifier: bool,
    ) -> Result<ResolvedFunction, ApiError> {
        let qualifier = if with_qualifier {
            self.query.get("Qualifier")
        } else {
            None
        };
        let mut errors = ValidationErrors::new();
        if let Some(q) = qualifier {
            check_qualifier(q, &mut errors);
        }
        let parsed = FunctionRef::parse(name, shape);
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                errors.extend(e);
                return Err(LambdaError::Validation(errors).into());
            }
        };
        errors.into_result().map_err(LambdaError::Validation)?;
        Ok(parsed.resolve(&self.scope.account, &self.scope.region, qualifier)?)
    }

    /// Maps a store error about function `name` to its API error: a missing function is
    /// `ResourceNotFoundException`, a stale `RevisionId` `PreconditionFailedException`.
    pub fn store_error(&self, name: &str) -> impl Fn(StoreError) -> ApiError + use<> {
        let arn = self.arn(name, None);
        move |e| match e {
            StoreError::NotFound => LambdaError::function_not_found(&arn).into(),
            StoreError::RevisionMismatch => LambdaError::revision_mismatch().into(),
            StoreError::TransitionUnderWay(t) => transition_conflict(t, &arn).into(),
            e => e.into(),
        }
    }

    /// Maps the refusal of a read-modify-write of function `name` to its API error.
    pub fn refusal_error(&self, name: &str) -> impl Fn(Refusal) -> ApiError + use<> {
        let store_error = self.store_error(name);
        move |r| match r {
            Refusal::Store(e) => store_error(e),
            Refusal::Api(e) => e,
        }
    }

    /// A function of this scope, or `ResourceNotFoundException` for it.
    pub async fn load_function(&self, name: &str) -> Result<FunctionRecord, ApiError> {
        self.state
            .store
            .get_function(&self.scope, name)
            .await?
            .ok_or_else(|| self.not_found(name, None))
    }

    /// `ResourceNotFoundException` for a function (or version) of this scope.
    pub fn not_found(&self, name: &str, qualifier: Option<&str>) -> ApiError {
        LambdaError::function_not_found(&self.arn(name, qualifier)).into()
    }

    /// `http://<host the client used>`, for URLs lambox hands out.
    pub fn base_url(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| self.state.config.listen.to_string(), str::to_owned);
        format!("http://{host}")
    }

    /// The ARN of a function of this scope.
    pub fn arn(&self, name: &str, qualifier: Option<&str>) -> String {
        lambox_core::arn::function_arn(&self.scope.region, &self.scope.account, name, qualifier)
    }
}

/// AWS's refusal of an update while the function's last change is still taking effect.
fn transition_conflict(transition: Transition, arn: &str) -> LambdaError {
    LambdaError::ResourceConflict(match transition {
        Transition::Updating => format!(
            "The operation cannot be performed at this time. An update is in progress for \
             resource: {arn}"
        ),
        Transition::Creating => "The operation cannot be performed at this time. The function \
                                 is currently in the following state: Pending"
            .to_owned(),
    })
}

/// Why a read-modify-write of a function did not happen: the store refused, or the new state
/// is not allowed.
pub(crate) enum Refusal {
    Store(StoreError),
    Api(ApiError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A request body as an operation's input shape (an empty body as `{}`).
pub(crate) fn parse_json<'de, T: serde::Deserialize<'de>>(body: &'de [u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(bytes).map_err(|e| ApiError::Serialization(e.to_string()))
}

/// A JSON answer with `status`.
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::from(LambdaError::Service(e.to_string())).into_response(),
    }
}

/// 204 with no body.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The axum handler for every request.
pub async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    // A function URL's request is the function's, not an API call.
    if let Some(addressed) = crate::urls::addressed_by(&parts) {
        let mut response = crate::urls::serve(&state, parts, body, addressed, &request_id).await;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-RequestId", v);
        }
        return response;
    }
    let result = match read_request(&state, &parts, body).await {
        Err(e) => Err(e),
        Ok(Read::Answered(r)) => Ok(r),
        // A read may stop with its client.
        Ok(Read::Operation(op, query, bytes)) if op.is_read_only() => {
            run(&state, &parts, op, query, bytes, &request_id).await
        }
        Ok(Read::Operation(op, query, bytes)) => {
            // A change runs to its end in a task of its own, even if the client goes away: a
            // write that committed must still invalidate what it changed, and an invocation
            // must still give its sandbox back in a known state. (The body was read above, in
            // the connection's task: reading it from another task would cost a wake-up per part.)
            let (task_state, task_parts, task_id) =
                (state.clone(), parts.clone(), request_id.clone());
            match tokio::spawn(async move {
                run(&task_state, &task_parts, op, query, bytes, &task_id).await
            })
            .await
            {
                Ok(result) => result,
                Err(e) => Err(ApiError::from(LambdaError::Service(format!(
                    "the request failed: {e}"
                )))),
            }
        }
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    tracing::debug!(
        method = %parts.method,
        path = parts.uri.path(),
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "served"
    );
    // Lets benchmarks tell lambox's time from the runtime's (see `cargo xtask bench invoke`).
    if response.headers().contains_key("x-lambox-runtime-us") {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        response
            .headers_mut()
            .insert("x-lambox-server-us", HeaderValue::from(micros));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    response
}

fn body_limit(op: &Operation, config: &Config) -> u64 {
    match op {
        Operation::CreateFunction | Operation::UpdateFunctionCode(_) => {
            config.limits.max_code_request_bytes
        }
        // Payload limits are checked by the operation, with its own error; this only bounds
        // what is read.
        Operation::Invoke(_)
        | Operation::InvokeAsync(_)
        | Operation::InvokeWithResponseStream(_) => 7 * 1024 * 1024,
        _ => 6 * 1024 * 1024,
    }
}

/// Reads the body up to `limit` bytes, waiting at most `idle` for each part of it. A larger body
/// is still drained up to twice the limit, so that a client that is still sending reads AWS's
/// 413 instead of a broken connection; one declared larger than that is refused at once.
pub(crate) async fn read_body(
    body: Body,
    limit: u64,
    declared: Option<u64>,
    op: &str,
    idle: std::time::Duration,
) -> Result<Bytes, ApiError> {
    let drain_at_most = limit.saturating_mul(2).max(1 << 20);
    let too_large = || {
        ApiError::from(LambdaError::RequestEntityTooLarge(format!(
            "Request must be smaller than {limit} bytes for the {op} operation"
        )))
    };
    if declared.is_some_and(|n| n > drain_at_most) {
        return Err(too_large());
    }
    let mut body = body;
    // Each part within `idle`, the whole within ten times that: a client dripping a byte just
    // in time does not hold a connection for hours.
    let whole = tokio::time::Instant::now() + idle * 10;
    let mut over = declared.is_some_and(|n| n > limit);
    // Grown as the body arrives: a client's Content-Length is not memory to set aside.
    let mut buf = Vec::new();
    let mut seen: u64 = 0;
    loop {
        let wait = idle.min(whole.saturating_duration_since(tokio::time::Instant::now()));
        let frame = match tokio::time::timeout(wait, body.frame()).await {
            Err(_) => return Err(ApiError::RequestTimeout),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|e| {
                ApiError::Serialization(format!("could not read the request body: {e}"))
            })?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > limit {
            over = true;
            buf = Vec::new();
        }
        if over {
            if seen > drain_at_most {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if over {
        return Err(too_large());
    }
    Ok(Bytes::from(buf))
}

/// What reading a request gave: an answer already (lambox's own endpoints), or an operation
/// with its query and body.
enum Read {
    Answered(Response),
    Operation(Operation, Query, Bytes),
}

/// Routes a request and reads its body within the operation's limit.
async fn read_request(state: &Arc<AppState>, parts: &Parts, body: Body) -> Result<Read, ApiError> {
    let path = parts.uri.path();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let op = route(parts.method.as_str(), path)
        .or_else(|| route_target(parts.method.as_str(), path, target))
        .ok_or_else(|| ApiError::UnknownOperation(format!("{} {path}", parts.method)))?;
    let query = Query::parse(parts.uri.query());
    if op.is_internal() {
        return internal::handle(state, &op, &query)
            .await
            .map(Read::Answered);
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let idle = std::time::Duration::from_secs(state.config.http.read_timeout_seconds.max(1));
    let body = read_body(
        body,
        body_limit(&op, &state.config),
        declared,
        op.name(),
        idle,
    )
    .await?;
    Ok(Read::Operation(op, query, body))
}

/// Authenticates and runs an operation.
async fn run(
    state: &Arc<AppState>,
    parts: &Parts,
    op: Operation,
    query: Query,
    body: Bytes,
    request_id: &str,
) -> Result<Response, ApiError> {
    let Caller { account, region } =
        state
            .auth
            .caller(parts, &query, &body, op.signing_service())?;
    let caller = Scope { account, region };
    let mut scope = caller.clone();
    // Another account's function, named by ARN: its resource policy decides, here for every
    // operation but the invocations, which decide on the policy their resolution carries.
    if let Some(label) = op.function_label()
        && let Some(owner) = policy::other_account(label, &caller)
    {
        scope.account = owner;
        if !matches!(
            op,
            Operation::Invoke(_)
                | Operation::InvokeAsync(_)
                | Operation::InvokeWithResponseStream(_)
        ) {
            policy::authorize(state, &caller, &scope, label, &query, &op.action()).await?;
        }
    }
    // An operation that carries a package owns its body, to drop it once the package is
    // decoded (`package.rs`).
    let (body, package_body) = if op.carries_package() {
        (Bytes::new(), body)
    } else {
        (body, Bytes::new())
    };
    let ctx = Ctx {
        state,
        request_id,
        scope,
        caller,
        headers: &parts.headers,
        query,
        body,
    };
    use Operation as Op;
    match op {
        Op::CreateFunction => functions::create(&ctx, package_body).await,
        Op::ListFunctions => functions::list(&ctx).await,
        Op::GetFunction(f) => functions::get(&ctx, &f).await,
        Op::GetFunctionConfiguration(f) => functions::get_configuration(&ctx, &f).await,
        Op::DeleteFunction(f) => functions::delete(&ctx, &f).await,
        Op::UpdateFunctionCode(f) => update::code(&ctx, &f, package_body).await,
        Op::UpdateFunctionConfiguration(f) => update::configuration(&ctx, &f).await,
        Op::TagResource(r) => tags::tag(&ctx, &r).await,
        Op::UntagResource(r) => tags::untag(&ctx, &r).await,
        Op::ListTags(r) => tags::list(&ctx, &r).await,
        Op::GetAccountSettings => account::settings(&ctx).await,
        Op::Invoke(f) => invoke::invoke(&ctx, &f).await,
        Op::InvokeAsync(f) => invoke::invoke_async(&ctx, &f).await,
        Op::InvokeWithResponseStream(f) => invoke_stream::invoke(&ctx, &f).await,
        Op::PutFunctionConcurrency(f) => concurrency::put(&ctx, &f).await,
        Op::GetFunctionConcurrency(f) => concurrency::get(&ctx, &f).await,
        Op::DeleteFunctionConcurrency(f) => concurrency::delete(&ctx, &f).await,
        Op::PutFunctionEventInvokeConfig(f) => event_invoke::put(&ctx, &f, false).await,
        Op::UpdateFunctionEventInvokeConfig(f) => event_invoke::put(&ctx, &f, true).await,
        Op::GetFunctionEventInvokeConfig(f) => event_invoke::get(&ctx, &f).await,
        Op::DeleteFunctionEventInvokeConfig(f) => event_invoke::delete(&ctx, &f).await,
        Op::ListFunctionEventInvokeConfigs(f) => event_invoke::list(&ctx, &f).await,
        Op::PublishVersion(f) => versions::publish(&ctx, &f).await,
        Op::ListVersionsByFunction(f) => versions::list(&ctx, &f).await,
        Op::CreateAlias(f) => aliases::create(&ctx, &f).await,
        Op::ListAliases(f) => aliases::list(&ctx, &f).await,
        Op::GetAlias(f, a) => aliases::get(&ctx, &f, &a).await,
        Op::UpdateAlias(f, a) => aliases::update(&ctx, &f, &a).await,
        Op::DeleteAlias(f, a) => aliases::delete(&ctx, &f, &a).await,
        Op::GetFunctionCodeSigningConfig(f) => function_settings::get_code_signing(&ctx, &f).await,
        Op::PutFunctionCodeSigningConfig(f) => function_settings::put_code_signing(&ctx, &f).await,
        Op::DeleteFunctionCodeSigningConfig(f) => {
            function_settings::delete_code_signing(&ctx, &f).await
        }
        Op::GetRuntimeManagementConfig(f) => {
            function_settings::get_runtime_management(&ctx, &f).await
        }
        Op::PutRuntimeManagementConfig(f) => {
            function_settings::put_runtime_management(&ctx, &f).await
        }
        Op::GetFunctionRecursionConfig(f) => function_settings::get_recursion(&ctx, &f).await,
        Op::PutFunctionRecursionConfig(f) => function_settings::put_recursion(&ctx, &f).await,
        Op::PutProvisionedConcurrencyConfig(f) => provisioned::put(&ctx, &f).await,
        Op::GetProvisionedConcurrencyConfig(f) if ctx.query.get("List") == Some("ALL") => {
            provisioned::list(&ctx, &f).await
        }
        Op::GetProvisionedConcurrencyConfig(f) => provisioned::get(&ctx, &f).await,
        Op::DeleteProvisionedConcurrencyConfig(f) => provisioned::delete(&ctx, &f).await,
        Op::AddPermission(f) => policy::add(&ctx, &f).await,
        Op::GetPolicy(f) => policy::get(&ctx, &f).await,
        Op::RemovePermission(f, sid) => policy::remove(&ctx, &f, &sid).await,
        Op::PublishLayerVersion(l) => layers::publish(&ctx, &l, package_body).await,
        Op::ListLayerVersions(l) => layers::list_versions(&ctx, &l).await,
        Op::GetLayerVersion(l, v) => layers::get(&ctx, &l, &v).await,
        Op::DeleteLayerVersion(l, v) => layers::delete(&ctx, &l, &v).await,
        Op::ListLayers if ctx.query.get("find") == Some("LayerVersion") => {
            layers::get_by_arn(&ctx).await
        }
        Op::ListLayers => layers::list(&ctx).await,
        Op::AddLayerVersionPermission(l, v) => layer_policy::add(&ctx, &l, &v).await,
        Op::GetLayerVersionPolicy(l, v) => layer_policy::get(&ctx, &l, &v).await,
        Op::RemoveLayerVersionPermission(l, v, sid) => {
            layer_policy::remove(&ctx, &l, &v, &sid).await
        }
        Op::CreateFunctionUrlConfig(f) => urls::create(&ctx, &f).await,
        Op::GetFunctionUrlConfig(f) => urls::get(&ctx, &f).await,
        Op::UpdateFunctionUrlConfig(f) => urls::update(&ctx, &f).await,
        Op::DeleteFunctionUrlConfig(f) => urls::delete(&ctx, &f).await,
        Op::ListFunctionUrlConfigs(f) => urls::list(&ctx, &f).await,
        Op::CloudWatchLogs(target) => logs::handle(&ctx, &target).await,
        Op::AdminLogs => admin::logs(&ctx).await,
        Op::AdminDestinationRecords => admin::destination_records(&ctx).await,
        Op::DownloadCode(_) | Op::DownloadLayer(_) | Op::Health => {
            unreachable!("internal operations return above")
        }
    }
}
