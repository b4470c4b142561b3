//! lambox's admin API under `/_lambox/admin/`, for the caller's account and region: invocation
//! logs and the destination records kept for destinations lambox does not host.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::NameShape;
use serde::Serialize;

use super::{Ctx, json_response};
use crate::error::ApiError;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogEntry {
    id: i64,
    request_id: String,
    timestamp: String,
    log: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Logs {
    invocations: Vec<LogEntry>,
    /// Pass as `After` to read on.
    next_after: i64,
}

fn number(ctx: &Ctx<'_>, name: &str, default: i64) -> Result<i64, ApiError> {
    ctx.query.get(name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| {
            LambdaError::InvalidParameterValue(format!("{name} must be a number")).into()
        })
    })
}

/// Most log text one page carries; a reader pages on with `NextAfter`.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// `GET /_lambox/admin/logs?FunctionName=…&After=…&Limit=…`
pub(super) async fn logs(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let label = ctx
        .query
        .get("FunctionName")
        .ok_or_else(|| LambdaError::InvalidParameterValue("FunctionName is required".into()))?;
    // A name or an ARN, as the Lambda API takes it; a function that is not there is AWS's 404,
    // not an empty page.
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    ctx.load_function(&f.name).await?;
    let name = &f.name;
    let after = number(ctx, "After", 0)?;
    let limit = number(ctx, "Limit", 100)?.clamp(1, 1000) as u32;
    let logs = ctx
        .state
        .store
        .invocation_logs(&ctx.scope, name, after, limit, MAX_PAGE_BYTES)
        .await?;
    let next_after = logs.last().map_or(after, |l| l.id);
    Ok(json_response(
        StatusCode::OK,
        &Logs {
            invocations: logs
                .into_iter()
                .map(|l| LogEntry {
                    id: l.id,
                    request_id: l.request_id,
                    timestamp: lambox_core::time::format_timestamp(l.created_ms),
                    log: l.text,
                })
                .collect(),
            next_after,
        },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    id: i64,
    function_name: String,
    destination: String,
    condition: String,
    timestamp: String,
    record: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Records {
    records: Vec<Record>,
    next_after: i64,
}

/// `GET /_lambox/admin/destination-records?After=…&Limit=…`
pub(super) async fn destination_records(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let after = number(ctx, "After", 0)?;
    let limit = number(ctx, "Limit", 100)?.clamp(1, 1000) as u32;
    let records = ctx
        .state
        .store
        .destination_records(&ctx.scope, after, limit)
        .await?;
    let next_after = records.last().map_or(after, |r| r.id);
    Ok(json_response(
        StatusCode::OK,
        &Records {
            records: records
                .into_iter()
                .map(|r| Record {
                    id: r.id,
                    function_name: r.function_name,
                    destination: r.destination,
                    condition: r.condition,
                    timestamp: lambox_core::time::format_timestamp(r.created_ms),
                    record: serde_json::from_str(&r.record).unwrap_or(serde_json::Value::Null),
                })
                .collect(),
            next_after,
        },
    ))
}
