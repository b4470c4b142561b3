//! UpdateFunctionCode and UpdateFunctionConfiguration.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::NameShape;
use lambox_core::checks::{check_architectures, check_settings_constraints, check_settings_rules};
use lambox_core::function::{FunctionConfig, FunctionSettings, PackageType};
use lambox_core::validate::ValidationErrors;
use lambox_store::{CodeUpload, LatestUpdate, StoreError, VersionRecord};
use serde::Deserialize;

use super::functions::no_layers_for_images;
use super::layers::{
    check_combined_size, layer_gone, resolve_function_layers, stored_unzipped_size,
};
use super::package::{ZipFile, code_identity, package, parse_package_request};
use super::wire::{self, View};
use super::{Ctx, Refusal, json_response};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateCodeInput {
    zip_file: Option<ZipFile>,
    #[serde(rename = "S3Bucket")]
    s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    s3_object_version: Option<String>,
    image_uri: Option<String>,
    #[serde(default)]
    publish: bool,
    #[serde(default)]
    dry_run: bool,
    revision_id: Option<String>,
    architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateConfigurationInput {
    revision_id: Option<String>,
    #[serde(flatten)]
    settings: FunctionSettings,
}

/// The answer of an update: `$LATEST` in progress, or, when a version was published, that
/// version as AWS shows a new one (its qualified ARN, `State: Pending`; recorded).
fn updated(ctx: &Ctx<'_>, latest: &VersionRecord, published: Option<&VersionRecord>) -> Response {
    let body = match published {
        Some(v) => wire::function_configuration(&ctx.scope, v, View::Created, true),
        None => wire::function_configuration(&ctx.scope, latest, View::Updated, false),
    };
    json_response(StatusCode::OK, &body)
}

pub(super) async fn code(ctx: &Ctx<'_>, label: &str, body: Bytes) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    let input: UpdateCodeInput = parse_package_request(body)?;
    if let Some(archs) = &input.architectures {
        let mut errors = ValidationErrors::new();
        check_architectures(archs, &mut errors);
        errors.into_result().map_err(LambdaError::Validation)?;
    }
    let store = &ctx.state.store;
    let current = ctx.load_function(&f.name).await?;
    let package_type = current.latest.config.package_type;
    let new_code = match package_type {
        PackageType::Zip => {
            if input.image_uri.is_some() {
                return Err(LambdaError::InvalidParameterValue(
                    "Please don't provide ImageUri when updating a function with packageType Zip."
                        .to_owned(),
                )
                .into());
            }
            Some(
                package(
                    ctx,
                    input.zip_file,
                    input.s3_bucket.as_deref(),
                    input.s3_key.as_deref(),
                    input.s3_object_version.as_deref(),
                )
                .await?,
            )
        }
        PackageType::Image => {
            if input.image_uri.is_none() {
                return Err(LambdaError::InvalidParameterValue(
                    "Please provide ImageUri when updating a function with packageType Image."
                        .to_owned(),
                )
                .into());
            }
            None
        }
    };
    if let Some(z) = &new_code {
        check_combined_size(ctx, z.unzipped_size, &current.latest.config.layers)?;
    }
    let (code_sha, code_size) = code_identity(new_code.as_ref(), input.image_uri.as_deref());
    // The architecture and image change on top of the configuration as it is when the update
    // commits, so a configuration update that lands in between is kept.
    let arch = input.architectures.and_then(|a| a.into_iter().next());
    let with_new_code = |mut config: FunctionConfig| {
        if let Some(arch) = &arch {
            config.architecture.clone_from(arch);
        }
        if package_type == PackageType::Image {
            config.image_uri.clone_from(&input.image_uri);
        }
        config
    };
    if input.dry_run {
        if input
            .revision_id
            .as_deref()
            .is_some_and(|r| r != current.latest.revision_id)
        {
            return Err(LambdaError::revision_mismatch().into());
        }
        let preview = VersionRecord {
            code_sha256_hex: code_sha,
            code_size,
            config: with_new_code(current.latest.config.clone()),
            ..current.latest
        };
        return Ok(updated(ctx, &preview, None));
    }
    let outcome = store
        .update_latest(&ctx.scope, &f.name, input.revision_id.as_deref(), |now| {
            Ok::<_, StoreError>(LatestUpdate {
                config: with_new_code(now.latest.config.clone()),
                code: Some((
                    code_sha.clone(),
                    code_size,
                    new_code.as_ref().map(|z| CodeUpload {
                        sha256_hex: &z.sha256_hex,
                        bytes: &z.bytes,
                        unzipped_size: Some(z.unzipped_size),
                    }),
                )),
                revision_id: uuid::Uuid::new_v4().to_string(),
                now_ms: lambox_core::time::now_millis(),
                publish_revision_id: input.publish.then(|| uuid::Uuid::new_v4().to_string()),
            })
        })
        .await
        .map_err(ctx.store_error(&f.name))?;
    ctx.state
        .invoker
        .latest_changed(&ctx.scope, &outcome.previous, &outcome.latest);
    tracing::info!(function = %f.name, account = %ctx.scope.account, region = %ctx.scope.region, "function code updated");
    Ok(updated(ctx, &outcome.latest, outcome.published.as_ref()))
}

pub(super) async fn configuration(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Plain, false)?;
    let input: UpdateConfigurationInput = ctx.json()?;
    let limits = &ctx.state.config.limits;
    let mut errors = ValidationErrors::new();
    check_settings_constraints(&input.settings, limits, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    check_settings_rules(&input.settings, &ctx.scope.region, limits)?;
    let layer_arns = input.settings.layers.clone();
    let layers = match &layer_arns {
        None => None,
        Some(arns) => {
            let current = ctx.load_function(&f.name).await?.latest;
            if current.config.package_type == PackageType::Image && !arns.is_empty() {
                return Err(no_layers_for_images().into());
            }
            let layers = resolve_function_layers(ctx, arns).await?;
            if current.has_blob {
                let code = stored_unzipped_size(ctx, &current.code_sha256_hex).await?;
                check_combined_size(ctx, code, &layers)?;
            }
            Some(layers)
        }
    };
    let outcome = ctx
        .state
        .store
        .update_latest(&ctx.scope, &f.name, input.revision_id.as_deref(), |current| {
            let mut config = current.latest.config.clone();
            if config.package_type == PackageType::Image
                && (input.settings.runtime.is_some() || input.settings.handler.is_some())
            {
                return Err(Refusal::Api(
                    LambdaError::InvalidParameterValue(
                        "Runtime and Handler are not supported for functions created with container images."
                            .to_owned(),
                    )
                    .into(),
                ));
            }
            config.apply(&input.settings);
            if let Some(layers) = &layers {
                config.layers.clone_from(layers);
            }
            Ok(LatestUpdate {
                config,
                code: None,
                revision_id: uuid::Uuid::new_v4().to_string(),
                now_ms: lambox_core::time::now_millis(),
                publish_revision_id: None,
            })
        })
        .await
        .map_err(|r| match r {
            Refusal::Store(StoreError::LayerContentGone) => {
                layer_gone(layer_arns.as_deref().unwrap_or_default())(StoreError::LayerContentGone)
            }
            r => ctx.refusal_error(&f.name)(r),
        })?;
    ctx.state
        .invoker
        .latest_changed(&ctx.scope, &outcome.previous, &outcome.latest);
    tracing::info!(function = %f.name, account = %ctx.scope.account, region = %ctx.scope.region, "function configuration updated");
    Ok(updated(ctx, &outcome.latest, None))
}
