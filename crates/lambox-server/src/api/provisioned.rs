//! PutProvisionedConcurrencyConfig, GetProvisionedConcurrencyConfig,
//! ListProvisionedConcurrencyConfigs, DeleteProvisionedConcurrencyConfig.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::{LATEST, NameShape};
use lambox_core::time::format_timestamp;
use lambox_core::validate::ValidationErrors;
use lambox_store::{ProvisionedRecord, StoreError};
use serde::{Deserialize, Serialize};

use super::versions::{decode_marker, encode_marker, max_items, missing_qualifier};
use super::{Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    provisioned_concurrent_executions: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    function_arn: Option<String>,
    requested_provisioned_concurrent_executions: u32,
    available_provisioned_concurrent_executions: u32,
    allocated_provisioned_concurrent_executions: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    last_modified: String,
}

fn output(ctx: &Ctx<'_>, r: &ProvisionedRecord, with_arn: bool) -> ConfigOutput {
    let s = ctx
        .state
        .provisioned
        .status(&r.scope, &r.function_name, &r.qualifier);
    ConfigOutput {
        function_arn: with_arn.then(|| ctx.arn(&r.function_name, Some(&r.qualifier))),
        requested_provisioned_concurrent_executions: r.requested,
        available_provisioned_concurrent_executions: s.allocated,
        allocated_provisioned_concurrent_executions: s.allocated,
        status: s.status,
        status_reason: s.reason,
        last_modified: format_timestamp(r.last_modified_ms),
    }
}

/// The function and qualifier a request names. The qualifier must be a published version or
/// an alias; `latest_refusal` is AWS's message when it is `$LATEST`.
fn target(ctx: &Ctx<'_>, label: &str, latest_refusal: &str) -> Result<(String, String), ApiError> {
    let f = ctx.function(label, NameShape::Plain, true)?;
    let Some(qualifier) = f.qualifier else {
        let mut e = ValidationErrors::new();
        e.violation_raw("qualifier", "null", "Member must not be null");
        return Err(LambdaError::Validation(e).into());
    };
    if qualifier == LATEST {
        return Err(LambdaError::InvalidParameterValue(latest_refusal.to_owned()).into());
    }
    Ok((f.name, qualifier))
}

/// Checks that the version or alias exists.
async fn check_target(ctx: &Ctx<'_>, name: &str, qualifier: &str) -> Result<(), ApiError> {
    match super::versions::check_qualified(ctx, name, Some(qualifier)).await {
        Ok(()) => Ok(()),
        Err(_) => Err(missing_qualifier(ctx, name, qualifier)),
    }
}

const UNPUBLISHED: &str =
    "Provisioned Concurrency Configs cannot be applied to unpublished function versions.";
const NOT_ALIAS_OR_VERSION: &str =
    "The function resource provided must be an alias or a published version.";

pub(super) async fn put(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let input: PutInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    let requested = match input.provisioned_concurrent_executions {
        None => {
            errors.violation_raw(
                "provisionedConcurrentExecutions",
                "null",
                "Member must not be null",
            );
            0
        }
        Some(n) if n < 1 => {
            errors.min_value("provisionedConcurrentExecutions", n, 1);
            0
        }
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
    };
    errors.into_result().map_err(LambdaError::Validation)?;
    let (name, qualifier) = target(ctx, label, UNPUBLISHED)?;
    let limits = &ctx.state.config.limits;
    let account = u64::from(limits.account_concurrency);
    let min_unreserved = u64::from(limits.min_unreserved_concurrency);
    let record = ctx
        .state
        .store
        .put_provisioned(
            &ctx.scope,
            &name,
            &qualifier,
            requested,
            lambox_core::time::now_millis(),
            |c| {
                let refuse =
                    |m: String| Err(Refusal::Api(LambdaError::InvalidParameterValue(m).into()));
                // The account's limits: AWS sends these without `Type` (recorded).
                let over_limit = |m: String| {
                    Err(Refusal::Api(
                        LambdaError::InvalidParameterValueUntyped(m).into(),
                    ))
                };
                if c.overlaps {
                    return Err(Refusal::Api(
                        LambdaError::ResourceConflict(
                            if c.is_alias {
                                "Alias can't be used for Provisioned Concurrency configuration on \
                                 an already Provisioned version"
                            } else {
                                "Version is pointed by a Provisioned Concurrency alias"
                            }
                            .to_owned(),
                        )
                        .into(),
                    ));
                }
                match c.reserved {
                    Some(reserved) if requested > reserved => refuse(
                        "Requested Provisioned Concurrency should not be greater than the \
                         reservedConcurrentExecution for function"
                            .to_owned(),
                    ),
                    Some(_) => Ok(()),
                    None => {
                        let unreserved = account.saturating_sub(c.held_elsewhere);
                        if u64::from(requested) > unreserved {
                            over_limit(format!(
                                "Specified ConcurrentExecutions for function is greater than \
                                 account's unreserved concurrency [{unreserved}]."
                            ))
                        } else if unreserved - u64::from(requested) < min_unreserved {
                            over_limit(format!(
                                "Specified ConcurrentExecutions for function decreases account's \
                                 UnreservedConcurrentExecution below its minimum value of \
                                 [{min_unreserved}]."
                            ))
                        } else {
                            Ok(())
                        }
                    }
                }
            },
        )
        .await
        .map_err(|r| match r {
            Refusal::Api(e) => e,
            Refusal::Store(
                StoreError::NotFound | StoreError::VersionNotFound(_) | StoreError::AliasNotFound,
            ) => missing_qualifier(ctx, &name, &qualifier),
            Refusal::Store(e) => e.into(),
        })?;
    ctx.state.provisioned.put(&record);
    tracing::info!(function = %name, qualifier = %qualifier, requested, account = %ctx.scope.account, "provisioned concurrency set");
    let mut body = output(ctx, &record, false);
    // The answer reports what the put found, before any sandbox was started for it.
    body.status = "IN_PROGRESS";
    body.allocated_provisioned_concurrent_executions = 0;
    body.available_provisioned_concurrent_executions = 0;
    body.status_reason = None;
    Ok(json_response(StatusCode::ACCEPTED, &body))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = target(ctx, label, NOT_ALIAS_OR_VERSION)?;
    check_target(ctx, &name, &qualifier).await?;
    let record = ctx
        .state
        .store
        .provisioned(&ctx.scope, &name, &qualifier)
        .await
        .map_err(|_| missing_qualifier(ctx, &name, &qualifier))?
        .ok_or_else(|| {
            LambdaError::ProvisionedConcurrencyConfigNotFound(
                "No Provisioned Concurrency Config found for this function".to_owned(),
            )
        })?;
    Ok(json_response(StatusCode::OK, &output(ctx, &record, false)))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOutput {
    provisioned_concurrency_configs: Vec<ConfigOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    let mut errors = ValidationErrors::new();
    let limit = max_items(ctx, 50, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    let after = decode_marker(ctx.query.get("Marker"))?;
    let (records, more) = ctx
        .state
        .store
        .list_provisioned(&ctx.scope, &f.name, after.as_deref(), limit)
        .await
        .map_err(ctx.store_error(&f.name))?;
    let next_marker = more
        .then(|| records.last())
        .flatten()
        .map(|r| encode_marker(&r.qualifier));
    Ok(json_response(
        StatusCode::OK,
        &ListOutput {
            provisioned_concurrency_configs: records.iter().map(|r| output(ctx, r, true)).collect(),
            next_marker,
        },
    ))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = target(ctx, label, NOT_ALIAS_OR_VERSION)?;
    check_target(ctx, &name, &qualifier).await?;
    // Deleting a config that is not there is not an error, as on AWS.
    ctx.state
        .store
        .delete_provisioned(&ctx.scope, &name, &qualifier)
        .await
        .map_err(|_| missing_qualifier(ctx, &name, &qualifier))?;
    ctx.state.provisioned.remove(&ctx.scope, &name, &qualifier);
    tracing::info!(function = %name, qualifier = %qualifier, account = %ctx.scope.account, "provisioned concurrency removed");
    Ok(no_content())
}
