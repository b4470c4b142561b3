//! Invoke and InvokeAsync.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lambox_core::LambdaError;
use lambox_core::arn::{LATEST, NameShape};
use lambox_core::validate::ValidationErrors;

use std::sync::Arc;

use lambox_core::policy::{access_denied, allows};

use super::Ctx;
use crate::error::ApiError;
use crate::invoke::revisions::Resolved;
use crate::invoke::{InvokeError, InvokeRequest};

/// Largest synchronous payload (6 MB).
const MAX_SYNC_PAYLOAD: usize = 6_291_456;
/// Largest asynchronous payload (1 MB).
const MAX_ASYNC_PAYLOAD: usize = 1_048_576;
/// Largest client context, decoded.
const MAX_CLIENT_CONTEXT: usize = 3583;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

fn header<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    ctx.headers.get(name).and_then(|v| v.to_str().ok())
}

/// An invocation, checked and resolved, ready to run.
pub(super) struct Prepared {
    kind: InvocationType,
    pub(super) name: String,
    pub(super) qualifier: Option<String>,
    pub(super) request: InvokeRequest,
    pub(super) resolved: Arc<Resolved>,
}

impl Prepared {
    /// Whether the caller asked only for the checks (`DryRun`).
    pub(super) fn is_dry_run(&self) -> bool {
        self.kind == InvocationType::DryRun
    }
}

/// The checks of an invocation's headers and payload, in AWS's order, and the resolution of
/// what it runs. `streaming`: InvokeWithResponseStream, which takes no `Event` invocations.
pub(super) async fn prepare(
    ctx: &Ctx<'_>,
    label: &str,
    streaming: bool,
) -> Result<Prepared, ApiError> {
    let mut errors = ValidationErrors::new();
    let kind = match header(ctx, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => InvocationType::RequestResponse,
        "Event" if !streaming => InvocationType::Event,
        "DryRun" => InvocationType::DryRun,
        other => {
            errors.violation(
                "invocationType",
                other,
                if streaming {
                    "Member must satisfy enum value set: [RequestResponse, DryRun]"
                } else {
                    "Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                },
            );
            InvocationType::RequestResponse
        }
    };
    let tail = match header(ctx, "x-amz-log-type").unwrap_or("None") {
        "None" => false,
        "Tail" => true,
        other => {
            errors.violation(
                "logType",
                other,
                "Member must satisfy enum value set: [None, Tail]",
            );
            false
        }
    };
    errors.into_result().map_err(LambdaError::Validation)?;
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let qualifier = f.qualifier.as_deref();
    let payload = ctx.body.clone();
    let limit = if kind == InvocationType::Event {
        MAX_ASYNC_PAYLOAD
    } else {
        MAX_SYNC_PAYLOAD
    };
    let operation = if streaming {
        "InvokeWithResponseStream"
    } else {
        "InvokeFunction"
    };
    if payload.len() > limit {
        return Err(LambdaError::RequestEntityTooLarge(format!(
            "Request must be smaller than {limit} bytes for the {operation} operation"
        ))
        .into());
    }
    if !payload.is_empty()
        && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload)
    {
        return Err(LambdaError::InvalidRequestContent(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        ))
        .into());
    }
    let client_context = match header(ctx, "x-amz-client-context") {
        None => None,
        Some(encoded) => Some(decode_client_context(encoded)?),
    };
    let invoker = &ctx.state.invoker;
    let resolved = invoker.resolve(&ctx.scope, &f.name, qualifier).await?;
    let resolved = allowed(ctx, resolved, &f.name, qualifier)?;
    Ok(Prepared {
        kind,
        request: InvokeRequest {
            request_id: ctx.request_id.to_owned(),
            payload,
            client_context,
            tail,
            invoked_arn: ctx.arn(&f.name, qualifier),
        },
        name: f.name,
        qualifier: f.qualifier,
        resolved,
    })
}

pub(super) async fn invoke(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let Prepared {
        kind,
        name,
        qualifier,
        request,
        resolved,
    } = prepare(ctx, label, false).await?;
    match kind {
        InvocationType::DryRun => Ok(StatusCode::NO_CONTENT.into_response()),
        InvocationType::Event => {
            let version = qualifier.as_deref().unwrap_or(LATEST);
            ctx.state
                .queue
                .enqueue(
                    &ctx.scope,
                    &name,
                    version,
                    &request.request_id,
                    &request.payload,
                )
                .await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        InvocationType::RequestResponse => {
            // (The dispatcher runs this to its end even if the caller goes away.)
            let result = ctx
                .state
                .invoker
                .invoke(&resolved, &request)
                .await
                .map_err(invoke_error)?;
            let mut r = Response::new(Body::from(result.body));
            let h = r.headers_mut();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&result.executed_version) {
                h.insert("x-amz-executed-version", v);
            }
            if result.function_error {
                h.insert(
                    "x-amz-function-error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            if let Some(tail) = result.log_tail.and_then(|t| HeaderValue::from_str(&t).ok()) {
                h.insert("x-amz-log-result", tail);
            }
            if let Some(us) = result.runtime_us {
                h.insert("x-lambox-runtime-us", HeaderValue::from(us));
            }
            Ok(r)
        }
    }
}

/// What an invocation runs, once the caller may run it: its own account's functions always,
/// another account's when the resolved qualifier's policy allows `lambda:InvokeFunction`
/// (and a missing function of another account is refused the same way, revealing nothing).
fn allowed(
    ctx: &Ctx<'_>,
    resolved: Option<Arc<Resolved>>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<Arc<Resolved>, ApiError> {
    let action = "lambda:InvokeFunction";
    if !ctx.is_cross_account() {
        // AWS names `$LATEST` when no qualifier was given (recorded).
        return resolved.ok_or_else(|| ctx.not_found(name, Some(qualifier.unwrap_or(LATEST))));
    }
    match resolved {
        Some(r) if allows(&r.policy, &ctx.caller.account, &ctx.caller.region, action) => Ok(r),
        _ => Err(access_denied(
            &ctx.caller.account,
            &ctx.caller.region,
            action,
            &ctx.arn(name, qualifier),
        )
        .into()),
    }
}

fn decode_client_context(encoded: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::from(LambdaError::InvalidParameterValue(
            "Client context must be a valid Base64-encoded JSON object.".into(),
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    if bytes.len() > MAX_CLIENT_CONTEXT {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes."
        ))
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err(invalid()),
    }
}

pub(super) fn invoke_error(e: InvokeError) -> ApiError {
    match e {
        InvokeError::ReservedConcurrency => LambdaError::TooManyRequests {
            message: "Rate Exceeded.".into(),
            reason: "ReservedFunctionConcurrentInvocationLimitExceeded".into(),
        }
        .into(),
        InvokeError::Saturated | InvokeError::CapacityExhausted => LambdaError::TooManyRequests {
            message: "Rate Exceeded.".into(),
            reason: "ConcurrentInvocationLimitExceeded".into(),
        }
        .into(),
        InvokeError::Unsupported(m) => LambdaError::Service(m).into(),
        InvokeError::ShuttingDown => LambdaError::Service("lambox is stopping".into()).into(),
        InvokeError::Store(e) => e.into(),
        InvokeError::Sandbox(m) => {
            LambdaError::Service(format!("lambox could not run the function: {m}")).into()
        }
    }
}

/// `POST /2014-11-13/functions/{name}/invoke-async` (deprecated): an Event invoke.
pub(super) async fn invoke_async(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    if ctx.body.len() > MAX_ASYNC_PAYLOAD {
        return Err(LambdaError::RequestEntityTooLarge(format!(
            "Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the InvokeAsync operation"
        ))
        .into());
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&ctx.body).is_err() && !ctx.body.is_empty() {
        return Err(LambdaError::InvalidRequestContent(
            "Could not parse request body into json".into(),
        )
        .into());
    }
    let qualifier = f.qualifier.as_deref();
    let resolved = ctx
        .state
        .invoker
        .resolve(&ctx.scope, &f.name, qualifier)
        .await?;
    allowed(ctx, resolved, &f.name, qualifier)?;
    ctx.state
        .queue
        .enqueue(
            &ctx.scope,
            &f.name,
            qualifier.unwrap_or(LATEST),
            ctx.request_id,
            &ctx.body,
        )
        .await?;
    Ok(super::json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({"Status": 202}),
    ))
}
