//! CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
//! DeleteFunctionUrlConfig, ListFunctionUrlConfigs: a function's (or an alias's) URL and how it
//! answers. The URLs themselves are served by `crate::urls`.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::NameShape;
use lambox_core::time::format_timestamp;
use lambox_core::validate::ValidationErrors;
use lambox_store::{StoreError, UrlRecord, UrlSettings};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::versions::{decode_marker, encode_marker, max_items_up_to};
use super::{Ctx, json_response, no_content};
use crate::error::ApiError;
use crate::urls::cors::Cors;

/// The pattern of a URL's qualifier: an alias, never a version or `$LATEST`.
const QUALIFIER_PATTERN: &str = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)";
static ALIAS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[0-9a-zA-Z_-]+$").expect("alias pattern"));

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UrlInput {
    auth_type: Option<String>,
    cors: Option<Cors>,
    invoke_mode: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UrlOut {
    function_url: String,
    function_arn: String,
    auth_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors: Option<serde_json::Value>,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoke_mode: Option<String>,
}

/// Which answer a URL is shown in: AWS leaves fields out of some.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Created,
    Updated,
    Read,
}

/// The URL a configuration answers at.
pub(crate) fn function_url(ctx: &Ctx<'_>, url_id: &str) -> String {
    crate::urls::url_of(&ctx.state.config, url_id, &ctx.scope.region)
}

fn url_out(ctx: &Ctx<'_>, u: &UrlRecord, shown: Shown) -> UrlOut {
    let qualifier = (!u.qualifier.is_empty()).then_some(u.qualifier.as_str());
    let time = |ms: i64| format_timestamp(ms).replace("+0000", "Z");
    UrlOut {
        function_url: function_url(ctx, &u.url_id),
        function_arn: ctx.arn(&u.function_name, qualifier),
        auth_type: u.auth_type.clone(),
        cors: u.cors.as_deref().and_then(|c| serde_json::from_str(c).ok()),
        creation_time: time(u.created_ms),
        last_modified_time: (shown != Shown::Created).then(|| time(u.modified_ms)),
        invoke_mode: match shown {
            Shown::Read => Some(
                u.invoke_mode
                    .clone()
                    .unwrap_or_else(|| "BUFFERED".to_owned()),
            ),
            _ => u.invoke_mode.clone(),
        },
    }
}

/// The function and qualifier (`""` for none) a URL operation addresses, after AWS's checks of
/// the qualifier (an alias only, checked before anything is looked up).
fn addressed(ctx: &Ctx<'_>, label: &str) -> Result<(String, String), ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(q) = ctx.query.get("Qualifier")
        && (!ALIAS_RE.is_match(q) || q.chars().all(|c| c.is_ascii_digit()))
    {
        errors.pattern("qualifier", q, QUALIFIER_PATTERN);
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    let f = ctx.function(label, NameShape::Plain, true)?;
    Ok((f.name, f.qualifier.unwrap_or_default()))
}

/// The model's checks of a URL's settings.
fn check(input: &UrlInput, creating: bool) -> Result<UrlSettings, ApiError> {
    let mut errors = ValidationErrors::new();
    match input.auth_type.as_deref() {
        None if creating => errors.violation_raw("authType", "null", "Member must not be null"),
        None | Some("NONE" | "AWS_IAM") => {}
        Some(other) => errors.violation(
            "authType",
            other,
            "Member must satisfy enum value set: [AWS_IAM, NONE]",
        ),
    }
    if let Some(m) = input.invoke_mode.as_deref()
        && m != "BUFFERED"
        && m != "RESPONSE_STREAM"
    {
        errors.violation(
            "invokeMode",
            m,
            "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]",
        );
    }
    if let Some(c) = &input.cors {
        let list = |errors: &mut ValidationErrors,
                    field: &str,
                    v: &Option<Vec<String>>,
                    max_items: usize,
                    max_len: usize| {
            if let Some(items) = v {
                if items.len() > max_items {
                    errors.violation(
                        field,
                        format!("[{}]", items.join(", ")),
                        &format!("Member must have length less than or equal to {max_items}"),
                    );
                } else if items.iter().any(|i| i.chars().count() > max_len) {
                    errors.violation(
                        field,
                        format!("[{}]", items.join(", ")),
                        &format!(
                            "Member must satisfy constraint: [Member must have length less than or equal to {max_len}]"
                        ),
                    );
                }
            }
        };
        list(
            &mut errors,
            "cors.allowHeaders",
            &c.allow_headers,
            100,
            1024,
        );
        list(
            &mut errors,
            "cors.exposeHeaders",
            &c.expose_headers,
            100,
            1024,
        );
        list(&mut errors, "cors.allowMethods", &c.allow_methods, 6, 6);
        list(&mut errors, "cors.allowOrigins", &c.allow_origins, 100, 253);
        if let Some(age) = c.max_age {
            if age < 0 {
                errors.min_value("cors.maxAge", age, 0);
            } else if age > 86_400 {
                errors.max_value("cors.maxAge", age, 86_400);
            }
        }
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    Ok(UrlSettings {
        auth_type: input.auth_type.clone(),
        cors: input
            .cors
            .as_ref()
            .map(|c| Some(serde_json::to_string(c).expect("cors serializes"))),
        invoke_mode: input.invoke_mode.clone(),
    })
}

fn not_found(message: &str) -> ApiError {
    LambdaError::ResourceNotFound(message.to_owned()).into()
}

const NO_FUNCTION: &str = "Function does not exist";
const NO_RESOURCE: &str = "The resource you requested does not exist.";

/// Store errors of a URL operation, in its wording of "not found".
fn refused(missing: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound | StoreError::AliasNotFound => not_found(missing),
        e => e.into(),
    }
}

pub(super) async fn create(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = addressed(ctx, label)?;
    let settings = check(&ctx.json()?, true)?;
    let url_id = uuid::Uuid::new_v4().simple().to_string();
    let created = ctx
        .state
        .store
        .create_url(
            &ctx.scope,
            &name,
            &qualifier,
            &url_id,
            &settings,
            lambox_core::time::now_millis(),
        )
        .await
        .map_err(|e| match e {
            StoreError::UrlExists => LambdaError::ResourceConflict(format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  \
                 FunctionUrlConfig exists for this Lambda function",
                ctx.arn(&name, (!qualifier.is_empty()).then_some(qualifier.as_str()))
            ))
            .into(),
            e => refused(NO_FUNCTION)(e),
        })?;
    tracing::info!(function = %name, url = %url_id, account = %ctx.scope.account, "function URL created");
    Ok(json_response(
        StatusCode::CREATED,
        &url_out(ctx, &created, Shown::Created),
    ))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = addressed(ctx, label)?;
    let url = ctx
        .state
        .store
        .url(&ctx.scope, &name, &qualifier)
        .await
        .map_err(refused(NO_RESOURCE))?
        .ok_or_else(|| not_found(NO_RESOURCE))?;
    Ok(json_response(
        StatusCode::OK,
        &url_out(ctx, &url, Shown::Read),
    ))
}

pub(super) async fn update(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = addressed(ctx, label)?;
    let settings = check(&ctx.json()?, false)?;
    let url = ctx
        .state
        .store
        .update_url(
            &ctx.scope,
            &name,
            &qualifier,
            &settings,
            lambox_core::time::now_millis(),
        )
        .await
        .map_err(refused(NO_FUNCTION))?
        .ok_or_else(|| not_found(NO_RESOURCE))?;
    Ok(json_response(
        StatusCode::OK,
        &url_out(ctx, &url, Shown::Updated),
    ))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let (name, qualifier) = addressed(ctx, label)?;
    ctx.state
        .store
        .delete_url(&ctx.scope, &name, &qualifier)
        .await
        .map_err(refused(NO_RESOURCE))?
        .ok_or_else(|| not_found(NO_RESOURCE))?;
    Ok(no_content())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOut {
    function_url_configs: Vec<UrlOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    let mut errors = ValidationErrors::new();
    let limit = max_items_up_to(ctx, 50, 50, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    // A marker names the last qualifier shown, which may be `""` (the function's own URL).
    let after = decode_marker(ctx.query.get("Marker"))?
        .map(|m| {
            m.strip_prefix("q:").map(str::to_owned).ok_or_else(|| {
                ApiError::from(LambdaError::InvalidParameterValue(format!(
                    "Invalid marker: {}",
                    ctx.query.get("Marker").unwrap_or_default()
                )))
            })
        })
        .transpose()?;
    let (urls, more) = ctx
        .state
        .store
        .list_urls(&ctx.scope, &f.name, after.as_deref(), limit)
        .await
        .map_err(refused(NO_FUNCTION))?;
    let next_marker = more
        .then(|| {
            urls.last()
                .map(|u| encode_marker(&format!("q:{}", u.qualifier)))
        })
        .flatten();
    let body = ListOut {
        function_url_configs: urls.iter().map(|u| url_out(ctx, u, Shown::Read)).collect(),
        next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}
