//! GetAccountSettings.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::{Ctx, json_response};
use crate::error::ApiError;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountLimit {
    total_code_size: u64,
    code_size_unzipped: u64,
    code_size_zipped: u64,
    concurrent_executions: u32,
    unreserved_concurrent_executions: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountUsage {
    total_code_size: u64,
    function_count: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountSettings {
    account_limit: AccountLimit,
    account_usage: AccountUsage,
}

pub(super) async fn settings(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let usage = ctx.state.store.account_usage(&ctx.scope).await?;
    let limits = &ctx.state.config.limits;
    let body = AccountSettings {
        account_limit: AccountLimit {
            total_code_size: limits.total_code_size,
            code_size_unzipped: limits.max_unzipped_bytes,
            code_size_zipped: limits.max_zipped_bytes,
            concurrent_executions: limits.account_concurrency,
            unreserved_concurrent_executions: u64::from(limits.account_concurrency)
                .saturating_sub(usage.reserved_concurrency),
        },
        account_usage: AccountUsage {
            total_code_size: usage.total_code_size,
            function_count: usage.function_count,
        },
    };
    Ok(json_response(StatusCode::OK, &body))
}
