//! CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, DeleteFunction.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use lambox_core::LambdaError;
use lambox_core::arn::{FunctionRef, LATEST, NameShape};
use lambox_core::checks::{check_architectures, check_settings_constraints, check_settings_rules};

use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use lambox_core::presign::Artifact;
use lambox_core::validate::ValidationErrors;
use lambox_store::{CodeUpload, ListCursor, NewFunction, StoreError};
use serde::{Deserialize, Serialize};

use super::layers::{check_combined_size, layer_gone, resolve_function_layers};
use super::package::{ZipFile, code_identity, missing_zip, package, parse_package_request};
use super::versions::load_qualified;
use super::wire::{self, View};
use super::{Ctx, json_response, no_content};
use crate::error::ApiError;

/// `FunctionCode`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CodeInput {
    pub zip_file: Option<ZipFile>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    pub s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateFunctionInput {
    function_name: Option<String>,
    code: Option<CodeInput>,
    #[serde(default)]
    publish: bool,
    package_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    architectures: Option<Vec<String>>,
    #[serde(flatten)]
    settings: FunctionSettings,
}

/// AWS's refusal of layers on a function of a container image.
pub(super) fn no_layers_for_images() -> LambdaError {
    LambdaError::InvalidParameterValue(
        "Lambda layers are not supported for functions created with container images.".to_owned(),
    )
}

/// AWS's refusal of more tags than a function may have.
pub(super) fn tags_limit(ctx: &Ctx<'_>, count: usize) -> Result<(), LambdaError> {
    if count > ctx.state.config.limits.max_tags {
        return Err(LambdaError::InvalidParameterValue(
            "Number of tags exceeds resource tag limit.".to_owned(),
        ));
    }
    Ok(())
}

pub(super) async fn create(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let input: CreateFunctionInput = parse_package_request(body)?;
    let limits = &ctx.state.config.limits;
    let mut errors = ValidationErrors::new();
    let name_ref = match &input.function_name {
        None => {
            errors.violation_raw("functionName", "null", "Member must not be null");
            None
        }
        Some(n) => FunctionRef::parse(n, NameShape::Plain)
            .map_err(|e| errors.extend(e))
            .ok(),
    };
    if input.settings.role.is_none() {
        errors.violation_raw("role", "null", "Member must not be null");
    }
    if input.code.is_none() {
        errors.violation_raw("code", "null", "Member must not be null");
    }
    check_settings_constraints(&input.settings, limits, &mut errors);
    if let Some(archs) = &input.architectures {
        check_architectures(archs, &mut errors);
    }
    let package_type = match input.package_type.as_deref() {
        None | Some("Zip") => PackageType::Zip,
        Some("Image") => PackageType::Image,
        Some(other) => {
            errors.violation(
                "packageType",
                other,
                "Member must satisfy enum value set: [Zip, Image]",
            );
            PackageType::Zip
        }
    };
    errors.into_result().map_err(LambdaError::Validation)?;
    let name_ref = name_ref.expect("validated");
    let name = name_ref
        .resolve(&ctx.scope.account, &ctx.scope.region, None)?
        .name;
    if name.chars().count() > 64 {
        let mut e = ValidationErrors::new();
        e.max_length("functionName", &name, 64);
        return Err(LambdaError::InvalidParameterValue(e.to_string()).into());
    }
    check_settings_rules(&input.settings, &ctx.scope.region, limits)?;
    let code = input.code.unwrap_or_default();
    let s = &input.settings;
    match package_type {
        PackageType::Zip => {
            if s.runtime.is_none() || s.handler.is_none() {
                return Err(LambdaError::InvalidParameterValue(
                    "Runtime and Handler are mandatory parameters for functions created with \
                     deployment packages."
                        .to_owned(),
                )
                .into());
            }
            if code.image_uri.is_some() {
                return Err(LambdaError::InvalidParameterValue(
                    "Please don't provide ImageUri when creating a function with packageType Zip."
                        .to_owned(),
                )
                .into());
            }
            if code.zip_file.is_none() && code.s3_bucket.is_none() && code.s3_key.is_none() {
                return Err(missing_zip().into());
            }
        }
        PackageType::Image => {
            if code.image_uri.is_none() {
                return Err(LambdaError::InvalidParameterValue(
                    "Please provide ImageUri when creating a function with packageType Image."
                        .to_owned(),
                )
                .into());
            }
            if code.zip_file.is_some()
                || code.s3_bucket.is_some()
                || s.runtime.is_some()
                || s.handler.is_some()
            {
                return Err(LambdaError::InvalidParameterValue(
                    "Runtime and Handler are not supported for functions created with container \
                     images, and code must be given as ImageUri."
                        .to_owned(),
                )
                .into());
            }
        }
    }
    if package_type == PackageType::Image && s.layers.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(no_layers_for_images().into());
    }
    let layer_arns = s.layers.clone().unwrap_or_default();
    let layers = resolve_function_layers(ctx, &layer_arns).await?;
    let tags = input.tags.unwrap_or_default();
    tags_limit(ctx, tags.len())?;

    let zip = match package_type {
        PackageType::Zip => Some(
            package(
                ctx,
                code.zip_file,
                code.s3_bucket.as_deref(),
                code.s3_key.as_deref(),
                code.s3_object_version.as_deref(),
            )
            .await?,
        ),
        PackageType::Image => None,
    };
    check_combined_size(ctx, zip.as_ref().map_or(0, |z| z.unzipped_size), &layers)?;
    let (code_sha, code_size) = code_identity(zip.as_ref(), code.image_uri.as_deref());
    let mut config = FunctionConfig::new(
        &name,
        package_type,
        s.role.clone().expect("validated"),
        input.architectures.and_then(|a| a.into_iter().next()),
        code.image_uri.clone(),
        s,
    );
    config.layers = layers;
    let revision_id = uuid::Uuid::new_v4().to_string();
    let published_revision_id = uuid::Uuid::new_v4().to_string();
    let created = ctx
        .state
        .store
        .create_function(NewFunction {
            scope: &ctx.scope,
            name: &name,
            config: &config,
            code_sha256_hex: &code_sha,
            code_size,
            blob: zip.as_ref().map(|z| CodeUpload {
                sha256_hex: &z.sha256_hex,
                bytes: &z.bytes,
                unzipped_size: Some(z.unzipped_size),
            }),
            tags: &tags,
            publish: input.publish,
            revision_id: &revision_id,
            published_revision_id: &published_revision_id,
            now_ms: lambox_core::time::now_millis(),
        })
        .await
        .map_err(|e| match e {
            StoreError::FunctionExists => ApiError::from(LambdaError::ResourceConflict(format!(
                "Function already exist: {name}"
            ))),
            e => layer_gone(&layer_arns)(e),
        })?;
    ctx.state.invoker.prepare(&ctx.scope, &created);
    tracing::info!(function = %name, account = %ctx.scope.account, region = %ctx.scope.region, "function created");
    Ok(json_response(
        StatusCode::CREATED,
        &wire::function_configuration(&ctx.scope, &created, View::Created, false),
    ))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let function = ctx
        .state
        .store
        .get_function(&ctx.scope, &f.name)
        .await?
        .ok_or_else(|| ctx.not_found(&f.name, f.qualifier.as_deref()))?;
    let version = match f.qualifier.as_deref() {
        None | Some(LATEST) => function.latest.clone(),
        Some(q) => load_qualified(ctx, &f.name, Some(q)).await?,
    };
    let body = wire::GetFunctionResponse {
        configuration: wire::function_configuration_at(
            &ctx.scope,
            &version,
            View::Current,
            f.qualifier.as_deref(),
        ),
        code: wire::code_location(
            &version,
            &ctx.base_url(),
            &ctx.state
                .signer
                .sign(
                    Artifact::Code,
                    &ctx.scope.account,
                    &version.code_sha256_hex,
                    lambox_core::time::now_millis() / 1000,
                )
                .query(),
        ),
        tags: (!function.tags.is_empty()).then_some(&function.tags),
        concurrency: function.reserved_concurrency.map(|n| wire::Concurrency {
            reserved_concurrent_executions: n,
        }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

pub(super) async fn get_configuration(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let version = load_qualified(ctx, &f.name, f.qualifier.as_deref()).await?;
    Ok(json_response(
        StatusCode::OK,
        &wire::function_configuration_at(
            &ctx.scope,
            &version,
            View::Current,
            f.qualifier.as_deref(),
        ),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListFunctionsOutput<'a> {
    functions: Vec<wire::FunctionConfiguration<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

/// Markers are opaque to clients: base64 of `<seq>:<name>`.
fn encode_marker(c: &ListCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", c.seq, c.name))
}

fn decode_marker(m: &str) -> Option<ListCursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (seq, name) = raw.split_once(':')?;
    Some(ListCursor {
        name: name.to_owned(),
        seq: seq.parse().ok()?,
    })
}

pub(super) async fn list(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let mut errors = ValidationErrors::new();
    let all = match ctx.query.get("FunctionVersion") {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            errors.violation(
                "functionVersion",
                other,
                "Member must satisfy enum value set: [ALL]",
            );
            false
        }
    };
    let max_items = match ctx.query.get("MaxItems") {
        None => 50,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n < 1 => {
                errors.min_value("maxItems", n, 1);
                1
            }
            Ok(n) if n > 10_000 => {
                errors.max_value("maxItems", n, 10_000);
                1
            }
            Ok(n) => u32::try_from(n).unwrap_or(50),
            Err(_) => {
                return Err(ApiError::Serialization(format!(
                    "MaxItems is not a number: {raw}"
                )));
            }
        },
    };
    errors.into_result().map_err(LambdaError::Validation)?;
    let cursor =
        match ctx.query.get("Marker") {
            None | Some("") => None,
            Some(m) => Some(decode_marker(m).ok_or_else(|| {
                LambdaError::InvalidParameterValue(format!("Invalid marker: {m}"))
            })?),
        };
    let (versions, next) = ctx
        .state
        .store
        .list_versions(&ctx.scope, cursor.as_ref(), max_items, all)
        .await?;
    let body = ListFunctionsOutput {
        functions: versions
            .iter()
            .map(|v| wire::function_configuration(&ctx.scope, v, View::Listed, all))
            .collect(),
        next_marker: next.as_ref().map(encode_marker),
    };
    Ok(json_response(StatusCode::OK, &body))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let store = &ctx.state.store;
    match f.qualifier.as_deref() {
        None => {
            store
                .delete_function(&ctx.scope, &f.name)
                .await
                .map_err(ctx.store_error(&f.name))?;
            ctx.state.invoker.function_deleted(&ctx.scope, &f.name);
        }
        // Refused before anything is looked up, as AWS does (recorded for a missing function).
        Some(LATEST) => {
            return Err(LambdaError::InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function.".to_owned(),
            )
            .into());
        }
        Some(q) if is_alias_shaped(q) => {
            return Err(LambdaError::InvalidParameterValue(
                "Deletion of aliases is not currently supported.".to_owned(),
            )
            .into());
        }
        Some(q) => {
            let Some(seq) = q.parse::<i64>().ok().filter(|n| *n > 0) else {
                // Neither a version nor an alias (`$latest`): nothing of an existing function
                // to delete; a missing function is named without it (recorded).
                ctx.load_function(&f.name).await?;
                return Ok(no_content());
            };
            let deleted = store
                .delete_version(&ctx.scope, &f.name, seq)
                .await
                .map_err(|e| match e {
                    StoreError::VersionInUse(aliases) => {
                        ApiError::from(LambdaError::ResourceConflict(format!(
                            "Unable to delete version because the following aliases reference \
                             it: [{}]",
                            aliases.join(", ")
                        )))
                    }
                    e => ctx.store_error(&f.name)(e),
                })?;
            // A version that is not there is not an error, as on AWS.
            if let Some(deleted) = deleted {
                ctx.state.invoker.version_deleted(&ctx.scope, &deleted);
            }
        }
    }
    tracing::info!(function = %f.name, account = %ctx.scope.account, region = %ctx.scope.region, qualifier = ?f.qualifier, "function deleted");
    Ok(no_content())
}

/// Whether a qualifier could name an alias: letters, digits, `-` and `_`, not only digits.
fn is_alias_shaped(q: &str) -> bool {
    !q.is_empty()
        && q.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !q.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_shaped_like_aliases() {
        assert!(is_alias_shaped("live"));
        assert!(is_alias_shaped("v-1_a"));
        assert!(!is_alias_shaped("12"));
        assert!(!is_alias_shaped("$latest"));
        assert!(!is_alias_shaped(""));
    }

    #[test]
    fn markers_round_trip() {
        let c = ListCursor {
            name: "fn:odd".into(),
            seq: 3,
        };
        assert_eq!(decode_marker(&encode_marker(&c)), Some(c));
        assert_eq!(decode_marker("!!"), None);
    }
}
