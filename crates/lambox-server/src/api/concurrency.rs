//! PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::NameShape;
use lambox_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};

use lambox_store::StoreError;

use super::{Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    reserved_concurrent_executions: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    #[serde(skip_serializing_if = "Option::is_none")]
    reserved_concurrent_executions: Option<u32>,
}

pub(super) fn unqualified(ctx: &Ctx<'_>, label: &str) -> Result<String, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    if f.qualifier.is_some() {
        return Err(LambdaError::InvalidParameterValue(
            "This operation is permitted on Lambda functions only. Aliases and versions do not \
             support this operation. Please specify either a function name or an unqualified function ARN."
                .into(),
        )
        .into());
    }
    Ok(f.name)
}

pub(super) async fn put(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = unqualified(ctx, label)?;
    let input: PutInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    let n = match input.reserved_concurrent_executions {
        None => {
            errors.violation_raw(
                "reservedConcurrentExecutions",
                "null",
                "Member must not be null",
            );
            0
        }
        Some(n) if n < 0 => {
            errors.min_value("reservedConcurrentExecutions", n, 0);
            0
        }
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
    };
    errors.into_result().map_err(LambdaError::Validation)?;
    let limits = &ctx.state.config.limits;
    let (account, min_unreserved) = (
        u64::from(limits.account_concurrency),
        u64::from(limits.min_unreserved_concurrency),
    );
    ctx.state
        .store
        .update_reserved_concurrency(&ctx.scope, &name, |others| {
            let unreserved = account.saturating_sub(others + u64::from(n));
            if unreserved < min_unreserved {
                // Without `Type`, as AWS sends it (recorded).
                return Err(Refusal::Api(
                    LambdaError::InvalidParameterValueUntyped(format!(
                        "Specified ReservedConcurrentExecutions for function decreases account's \
                         UnreservedConcurrentExecution below its minimum value of [{min_unreserved}]."
                    ))
                    .into(),
                ));
            }
            Ok(Some(n))
        })
        .await
        .map_err(|r| match r {
            // AWS names the version in this one message.
            Refusal::Store(StoreError::NotFound) => {
                ctx.not_found(&name, Some(lambox_core::arn::LATEST))
            }
            r => ctx.refusal_error(&name)(r),
        })?;
    ctx.state.invoker.reserved_changed(&ctx.scope, &name);
    Ok(json_response(
        StatusCode::OK,
        &Output {
            reserved_concurrent_executions: Some(n),
        },
    ))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = unqualified(ctx, label)?;
    let function = ctx.load_function(&name).await?;
    Ok(json_response(
        StatusCode::OK,
        &Output {
            reserved_concurrent_executions: function.reserved_concurrency,
        },
    ))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = unqualified(ctx, label)?;
    ctx.state
        .store
        .update_reserved_concurrency(&ctx.scope, &name, |_| Ok::<_, StoreError>(None))
        .await
        .map_err(ctx.store_error(&name))?;
    ctx.state.invoker.reserved_changed(&ctx.scope, &name);
    Ok(no_content())
}
