//! Put/Get/Update/Delete/ListFunctionEventInvokeConfigs.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::{LATEST, NameShape};
use lambox_core::validate::ValidationErrors;
use lambox_store::{EventInvokeConfig, StoreError};
use serde::{Deserialize, Serialize};

use super::{Ctx, json_response, no_content};
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct Destination {
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfig {
    #[serde(default)]
    on_success: Option<Destination>,
    #[serde(default)]
    on_failure: Option<Destination>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    maximum_retry_attempts: Option<i64>,
    maximum_event_age_in_seconds: Option<i64>,
    destination_config: Option<DestinationConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    last_modified: f64,
    function_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum_retry_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum_event_age_in_seconds: Option<u32>,
    destination_config: DestinationConfig,
}

const DESTINATION_PATTERN: &str = r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)";

fn output(ctx: &Ctx<'_>, name: &str, c: &EventInvokeConfig) -> Output {
    let dest = |d: &Option<String>| Destination {
        destination: d.clone(),
    };
    Output {
        last_modified: c.last_modified_ms as f64 / 1000.0,
        function_arn: ctx.arn(name, Some(&c.qualifier)),
        maximum_retry_attempts: c.max_retry_attempts,
        maximum_event_age_in_seconds: c.max_event_age_seconds,
        destination_config: DestinationConfig {
            on_success: Some(dest(&c.on_success)),
            on_failure: Some(dest(&c.on_failure)),
        },
    }
}

/// The function and qualifier an event-invoke-config request names, after checking both exist.
async fn target(ctx: &Ctx<'_>, label: &str) -> Result<(String, String), ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    super::versions::check_qualified(ctx, &f.name, f.qualifier.as_deref()).await?;
    let qualifier = f.qualifier.unwrap_or_else(|| LATEST.to_owned());
    Ok((f.name, qualifier))
}

fn missing(ctx: &Ctx<'_>, name: &str, qualifier: &str) -> ApiError {
    LambdaError::ResourceNotFound(format!(
        "The function {} doesn't have an EventInvokeConfig",
        ctx.arn(name, Some(qualifier))
    ))
    .into()
}

/// Checks a config; returns the Lambda function destinations it names, resolved to full ARNs.
async fn check(ctx: &Ctx<'_>, name: &str, input: &Input) -> Result<Resolved, ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(n) = input.maximum_retry_attempts {
        if n < 0 {
            errors.min_value("maximumRetryAttempts", n, 0);
        } else if n > 2 {
            errors.max_value("maximumRetryAttempts", n, 2);
        }
    }
    if let Some(n) = input.maximum_event_age_in_seconds {
        if n < 60 {
            errors.min_value("maximumEventAgeInSeconds", n, 60);
        } else if n > 21_600 {
            errors.max_value("maximumEventAgeInSeconds", n, 21_600);
        }
    }
    let destinations: Vec<(&str, &str)> = input
        .destination_config
        .iter()
        .flat_map(|d| {
            [("onSuccess", &d.on_success), ("onFailure", &d.on_failure)]
                .into_iter()
                .filter_map(|(f, d)| Some((f, d.as_ref()?.destination.as_deref()?)))
        })
        .collect();
    for (field, arn) in &destinations {
        if !(arn.is_empty() || arn.starts_with("arn:aws") || arn.starts_with("kafka://")) {
            errors.pattern(
                &format!("destinationConfig.{field}.destination"),
                arn,
                DESTINATION_PATTERN,
            );
        }
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    if input.maximum_retry_attempts.is_none()
        && input.maximum_event_age_in_seconds.is_none()
        && destinations.is_empty()
    {
        return Err(LambdaError::InvalidParameterValue(
            "You must specify at least one of error handling or destination setting.".into(),
        )
        .into());
    }
    let mut resolved = Resolved::default();
    for (field, arn) in destinations {
        if !arn.contains(":lambda:") {
            continue;
        }
        let Ok(d) = lambox_core::arn::FunctionRef::parse(arn, NameShape::Plain) else {
            return Err(LambdaError::InvalidParameterValue(format!(
                "The destination ARN {arn} is invalid."
            ))
            .into());
        };
        // A partial ARN names a function of the caller's account and region.
        let scope = lambox_store::Scope {
            account: d
                .account
                .clone()
                .unwrap_or_else(|| ctx.scope.account.clone()),
            region: d.region.clone().unwrap_or_else(|| ctx.scope.region.clone()),
        };
        let full = lambox_core::arn::function_arn(
            &scope.region,
            &scope.account,
            &d.name,
            d.qualifier.as_deref(),
        );
        if d.name == name && scope == ctx.scope {
            return Err(LambdaError::InvalidParameterValue(
                "You can't specify the function as a destination for itself.".into(),
            )
            .into());
        }
        // Another account's function is a destination only when its policy lets this
        // function's account invoke it (AWS checks the execution role; lambox has no roles, so
        // the account stands for it).
        if scope.account != ctx.scope.account
            && !ctx
                .state
                .invoker
                .may_invoke(&ctx.scope.account, &scope, &d.name, d.qualifier.as_deref())
                .await?
        {
            return Err(LambdaError::InvalidParameterValue(format!(
                "The function execution role does not have permissions to call InvokeFunction \
                 on {full}"
            ))
            .into());
        }
        if ctx
            .state
            .store
            .get_function(&scope, &d.name)
            .await?
            .is_none()
        {
            return Err(LambdaError::InvalidParameterValue(format!(
                "The destination ARN {arn} is invalid."
            ))
            .into());
        }
        match field {
            "onSuccess" => resolved.on_success = Some(full),
            _ => resolved.on_failure = Some(full),
        }
    }
    Ok(resolved)
}

/// Lambda function destinations as stored: full ARNs.
#[derive(Default)]
struct Resolved {
    on_success: Option<String>,
    on_failure: Option<String>,
}

fn to_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn dest_of(d: &Option<Destination>) -> Option<String> {
    d.as_ref()
        .and_then(|d| d.destination.clone())
        .filter(|s| !s.is_empty())
}

/// Put (replace) when `merge` is false; Update (merge) when true.
pub(super) async fn put(ctx: &Ctx<'_>, label: &str, merge: bool) -> Result<Response, ApiError> {
    let (name, qualifier) = target(ctx, label).await?;
    let input: Input = ctx.json()?;
    let resolved = check(ctx, &name, &input).await?;
    let store = &ctx.state.store;
    let existing = store
        .event_invoke_config(&ctx.scope, &name, &qualifier)
        .await?;
    if merge && existing.is_none() {
        return Err(missing(ctx, &name, &qualifier));
    }
    let base = if merge { existing } else { None };
    let dc = input.destination_config.clone().unwrap_or_default();
    let config = EventInvokeConfig {
        qualifier: qualifier.clone(),
        max_retry_attempts: to_u32(input.maximum_retry_attempts)
            .or(base.as_ref().and_then(|b| b.max_retry_attempts)),
        max_event_age_seconds: to_u32(input.maximum_event_age_in_seconds)
            .or(base.as_ref().and_then(|b| b.max_event_age_seconds)),
        on_success: match &dc.on_success {
            Some(_) => resolved.on_success.or_else(|| dest_of(&dc.on_success)),
            None => base.as_ref().and_then(|b| b.on_success.clone()),
        },
        on_failure: match &dc.on_failure {
            Some(_) => resolved.on_failure.or_else(|| dest_of(&dc.on_failure)),
            None => base.as_ref().and_then(|b| b.on_failure.clone()),
        },
        last_modified_ms: lambox_core::time::now_millis(),
    };
    store
        .put_event_invoke_config(&ctx.scope, &name, &config)
        .await
        .map_err(ctx.store_error(&name))?;
    Ok(json_response(StatusCode::OK, &output(ctx, &name, &config)))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let qualifier = f.qualifier.clone().unwrap_or_else(|| LATEST.to_owned());
    let config = ctx
        .state
        .store
        .event_invoke_config(&ctx.scope, &f.name, &qualifier)
        .await?
        .ok_or_else(|| missing(ctx, &f.name, &qualifier))?;
    Ok(json_response(
        StatusCode::OK,
        &output(ctx, &f.name, &config),
    ))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let qualifier = f.qualifier.clone().unwrap_or_else(|| LATEST.to_owned());
    ctx.state
        .store
        .delete_event_invoke_config(&ctx.scope, &f.name, &qualifier)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing(ctx, &f.name, &qualifier),
            e => e.into(),
        })?;
    Ok(no_content())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOutput {
    function_event_invoke_configs: Vec<Output>,
}

pub(super) async fn list(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    ctx.load_function(&f.name).await?;
    let configs = ctx
        .state
        .store
        .event_invoke_configs(&ctx.scope, &f.name)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOutput {
            function_event_invoke_configs: configs
                .iter()
                .map(|c| output(ctx, &f.name, c))
                .collect(),
        },
    ))
}
