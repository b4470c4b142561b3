//! PublishVersion and ListVersionsByFunction, and how every operation that takes a qualifier
//! finds the version it names (a number, `$LATEST`, or an alias's version).

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use lambox_core::LambdaError;
use lambox_core::alias::is_version;
use lambox_core::arn::{LATEST, NameShape};
use lambox_core::code::code_sha256;
use lambox_core::validate::ValidationErrors;
use lambox_store::{StoreError, VersionRecord};
use serde::{Deserialize, Serialize};

use super::wire::{self, View, hex_digest};
use super::{Ctx, Refusal, json_response};
use crate::error::ApiError;

/// The version a qualifier names, with the qualifier to show in ARNs (the alias's name when an
/// alias was named). `ResourceNotFoundException` for the qualified ARN when nothing matches.
pub(super) async fn load_qualified(
    ctx: &Ctx<'_>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<VersionRecord, ApiError> {
    let store = &ctx.state.store;
    let not_found = || ctx.not_found(name, qualifier);
    let version = match qualifier {
        None => LATEST.to_owned(),
        Some(q) if is_version(q) => q.to_owned(),
        Some(alias) => match store.get_alias(&ctx.scope, name, alias).await {
            Ok(Some(a)) => a.function_version,
            Ok(None) | Err(StoreError::NotFound) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        },
    };
    store
        .get_version(&ctx.scope, name, &version)
        .await?
        .ok_or_else(not_found)
}

/// `ResourceNotFoundException` unless the function and the qualifier (a version or an alias)
/// exist.
pub(super) async fn check_qualified(
    ctx: &Ctx<'_>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<(), ApiError> {
    load_qualified(ctx, name, qualifier).await.map(|_| ())
}

/// AWS's answer for a version or alias that is not there: "Cannot find alias arn" for a name
/// an alias could have, "Function not found" (qualified) for anything else.
pub(super) fn missing_qualifier(ctx: &Ctx<'_>, name: &str, qualifier: &str) -> ApiError {
    let alias_like = !is_version(qualifier)
        && qualifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if alias_like {
        LambdaError::ResourceNotFound(format!(
            "Cannot find alias arn: {}",
            ctx.arn(name, Some(qualifier))
        ))
        .into()
    } else {
        ctx.not_found(name, Some(qualifier))
    }
}

/// `MaxItems` of a list operation (1–10,000; `default` when absent), into `errors`.
pub(super) fn max_items(ctx: &Ctx<'_>, default: u32, errors: &mut ValidationErrors) -> u32 {
    max_items_up_to(ctx, default, 10_000, errors)
}

/// `MaxItems` of a list operation (1–`max`; `default` when absent), into `errors`.
pub(super) fn max_items_up_to(
    ctx: &Ctx<'_>,
    default: u32,
    max: i64,
    errors: &mut ValidationErrors,
) -> u32 {
    let Some(raw) = ctx.query.get("MaxItems") else {
        return default;
    };
    match raw.parse::<i64>() {
        Ok(n) if n < 1 => {
            errors.min_value("maxItems", n, 1);
            1
        }
        Ok(n) if n > max => {
            errors.max_value("maxItems", n, max);
            1
        }
        Ok(n) => u32::try_from(n).unwrap_or(default),
        Err(_) => {
            errors.violation("maxItems", raw, "Member must be a number");
            1
        }
    }
}

/// Opaque markers of list operations: base64 of the last item's key.
pub(super) fn encode_marker(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// The key of a marker, or AWS's refusal of one lambox did not hand out.
pub(super) fn decode_marker(marker: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(m) = marker.filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(Some)
        .ok_or_else(|| LambdaError::InvalidParameterValue(format!("Invalid marker: {m}")).into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    code_sha256: Option<String>,
    description: Option<String>,
    revision_id: Option<String>,
}

pub(super) async fn publish(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    let input: PublishInput = ctx.json()?;
    if let Some(d) = &input.description
        && d.chars().count() > 256
    {
        let mut e = ValidationErrors::new();
        e.max_length("description", d, 256);
        return Err(LambdaError::Validation(e).into());
    }
    let published = ctx
        .state
        .store
        .publish_version(
            &ctx.scope,
            &f.name,
            &uuid::Uuid::new_v4().to_string(),
            input.description.as_deref(),
            |latest| {
                if input
                    .revision_id
                    .as_deref()
                    .is_some_and(|r| r != latest.revision_id)
                {
                    return Err(Refusal::Store(StoreError::RevisionMismatch));
                }
                let current = code_sha256(&hex_digest(&latest.code_sha256_hex));
                if let Some(given) = input.code_sha256.as_deref()
                    && given != current
                {
                    return Err(Refusal::Api(
                        LambdaError::InvalidParameterValue(format!(
                            "CodeSHA256 ({given}) is different from current CodeSHA256 in \
                             $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST."
                        ))
                        .into(),
                    ));
                }
                Ok(())
            },
        )
        .await
        .map_err(ctx.refusal_error(&f.name))?;
    ctx.state.invoker.prepare(&ctx.scope, &published);
    tracing::info!(function = %f.name, version = %published.version, account = %ctx.scope.account, "version published");
    Ok(json_response(
        StatusCode::CREATED,
        &wire::function_configuration(&ctx.scope, &published, View::Current, true),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsOutput<'a> {
    versions: Vec<wire::FunctionConfiguration<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    let mut errors = ValidationErrors::new();
    let limit = max_items(ctx, 50, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    let after = match decode_marker(ctx.query.get("Marker"))? {
        None => None,
        Some(key) => Some(key.parse::<i64>().map_err(|_| {
            LambdaError::InvalidParameterValue(format!(
                "Invalid marker: {}",
                ctx.query.get("Marker").unwrap_or_default()
            ))
        })?),
    };
    let (versions, more) = ctx
        .state
        .store
        .list_function_versions(&ctx.scope, &f.name, after, limit)
        .await
        .map_err(ctx.store_error(&f.name))?;
    let next_marker = more
        .then(|| versions.last())
        .flatten()
        .map(|v| encode_marker(&version_seq(&v.version).to_string()));
    let body = ListVersionsOutput {
        versions: versions
            .iter()
            .map(|v| wire::function_configuration(&ctx.scope, v, View::Listed, true))
            .collect(),
        next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// The ordering number of a version name: 0 for `$LATEST`.
fn version_seq(version: &str) -> i64 {
    version.parse().unwrap_or(0)
}
