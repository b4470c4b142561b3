//! PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayerVersions, ListLayers,
//! DeleteLayerVersion; and the resolution of a function's `Layers` into the contents it pins.
//!
//! A layer named by the ARN of another account is that account's: it may be read (GetLayerVersion
//! and by ARN, and used by functions) when its version's policy grants the caller
//! `lambda:GetLayerVersion`; everything else on it is refused, as AWS refuses it.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::code::code_sha256;
use lambox_core::layer::{
    self, FunctionLayer, LAYER_VERSION_ARN_PATTERN, LayerRef, LayerVersionRef, check_version_number,
};
use lambox_core::policy::{access_denied, allows};
use lambox_core::presign::Artifact;
use lambox_core::time::format_timestamp;
use lambox_core::validate::ValidationErrors;
use lambox_store::{
    CodeUpload, LayerFilter, LayerVersionRecord, NewLayerVersion, Scope, StoreError,
};
use serde::{Deserialize, Serialize};

use super::package::{CheckedZip, ZipFile, package, parse_package_request};
use super::versions::{decode_marker, encode_marker, max_items_up_to};
use super::{Ctx, json_response, no_content};
use crate::error::ApiError;

/// The action reading a layer version needs.
pub(super) const GET_LAYER_VERSION: &str = "lambda:GetLayerVersion";

/// The layer a `LayerName` label names, with the scope it lives in.
pub(super) fn layer_of(ctx: &Ctx<'_>, label: &str) -> Result<LayerRef, ApiError> {
    LayerRef::parse(label, &ctx.caller.account, &ctx.caller.region)
        .map_err(|e| LambdaError::Validation(e).into())
}

pub(super) fn scope_of(layer: &LayerRef) -> Scope {
    Scope {
        account: layer.account.clone(),
        region: layer.region.clone(),
    }
}

/// Refuses an operation other than reading on another account's layer, as AWS does.
pub(super) fn own_layer_only(
    ctx: &Ctx<'_>,
    layer: &LayerRef,
    action: &str,
    resource: &str,
) -> Result<(), ApiError> {
    if layer.account == ctx.caller.account && layer.region == ctx.caller.region {
        return Ok(());
    }
    Err(access_denied(&ctx.caller.account, &ctx.caller.region, action, resource).into())
}

/// A version number label: a number (AWS's serialization error otherwise), at least 1.
pub(super) fn version_number(raw: &str) -> Result<i64, ApiError> {
    let n: i64 = raw
        .parse()
        .map_err(|_| ApiError::Serialization(format!("VersionNumber is not a number: {raw}")))?;
    check_version_number(n)?;
    Ok(n)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentInput {
    zip_file: Option<ZipFile>,
    #[serde(rename = "S3Bucket")]
    s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    s3_object_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    description: Option<String>,
    content: Option<ContentInput>,
    compatible_runtimes: Option<Vec<String>>,
    license_info: Option<String>,
    compatible_architectures: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContentOut {
    location: String,
    code_sha256: String,
    code_size: u64,
}

/// `GetLayerVersionResponse` (also PublishLayerVersion's answer).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerVersionOut<'a> {
    content: ContentOut,
    layer_arn: String,
    layer_version_arn: String,
    description: &'a str,
    created_date: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_runtimes: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_architectures: Option<&'a [String]>,
}

/// `LayerVersionsListItem`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerVersionItem<'a> {
    layer_version_arn: String,
    version: i64,
    description: &'a str,
    created_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_runtimes: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_architectures: Option<&'a [String]>,
}

fn version_item<'a>(layer: &LayerRef, v: &'a LayerVersionRecord) -> LayerVersionItem<'a> {
    LayerVersionItem {
        layer_version_arn: layer.version_arn(v.version),
        version: v.version,
        description: &v.description,
        created_date: format_timestamp(v.created_ms),
        compatible_runtimes: v.compatible_runtimes.as_deref(),
        license_info: v.license_info.as_deref(),
        compatible_architectures: v.compatible_architectures.as_deref(),
    }
}

fn version_out<'a>(
    ctx: &Ctx<'_>,
    layer: &LayerRef,
    v: &'a LayerVersionRecord,
) -> LayerVersionOut<'a> {
    let presigned = ctx.state.signer.sign(
        Artifact::Layer,
        &layer.account,
        &v.code_sha256_hex,
        lambox_core::time::now_millis() / 1000,
    );
    LayerVersionOut {
        content: ContentOut {
            location: format!(
                "{}/_lambox/layer/{}?{}",
                ctx.base_url(),
                v.code_sha256_hex,
                presigned.query()
            ),
            code_sha256: hex_to_base64(&v.code_sha256_hex),
            code_size: v.code_size,
        },
        layer_arn: layer.arn(),
        layer_version_arn: layer.version_arn(v.version),
        description: &v.description,
        created_date: format_timestamp(v.created_ms),
        version: v.version,
        compatible_runtimes: v.compatible_runtimes.as_deref(),
        license_info: v.license_info.as_deref(),
        compatible_architectures: v.compatible_architectures.as_deref(),
    }
}

/// `CodeSha256` (base64 of the digest) from the stored hex.
fn hex_to_base64(hex: &str) -> String {
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    code_sha256(&digest)
}

pub(super) async fn publish(ctx: &Ctx<'_>, label: &str, body: Bytes) -> Result<Response, ApiError> {
    let layer = layer_of(ctx, label)?;
    own_layer_only(ctx, &layer, "lambda:PublishLayerVersion", &layer.arn())?;
    let input: PublishInput = parse_package_request(body)?;
    let mut errors = ValidationErrors::new();
    if input.content.is_none() {
        errors.violation_raw("content", "null", "Member must not be null");
    }
    layer::check_publish(
        input.description.as_deref(),
        input.license_info.as_deref(),
        input.compatible_runtimes.as_deref().unwrap_or_default(),
        input
            .compatible_architectures
            .as_deref()
            .unwrap_or_default(),
        &mut errors,
    );
    errors.into_result().map_err(LambdaError::Validation)?;
    let content = input.content.unwrap_or_default();
    let CheckedZip {
        bytes,
        sha256_hex,
        unzipped_size,
        ..
    } = package(
        ctx,
        content.zip_file,
        content.s3_bucket.as_deref(),
        content.s3_key.as_deref(),
        content.s3_object_version.as_deref(),
    )
    .await?;
    let record = ctx
        .state
        .store
        .publish_layer_version(NewLayerVersion {
            scope: &scope_of(&layer),
            name: &layer.name,
            description: input.description.as_deref().unwrap_or_default(),
            license_info: input.license_info.as_deref(),
            compatible_runtimes: input.compatible_runtimes.as_deref(),
            compatible_architectures: input.compatible_architectures.as_deref(),
            blob: CodeUpload {
                sha256_hex: &sha256_hex,
                bytes: &bytes,
                unzipped_size: Some(unzipped_size),
            },
            unzipped_size,
            now_ms: lambox_core::time::now_millis(),
        })
        .await?;
    tracing::info!(layer = %layer.name, version = record.version, account = %layer.account, "layer version published");
    Ok(json_response(
        StatusCode::CREATED,
        &version_out(ctx, &layer, &record),
    ))
}

/// A layer version the caller may read: its own, or another account's whose policy grants it
/// `lambda:GetLayerVersion`. `None` when it does not exist (in the caller's account; another
/// account's missing version is refused like one it may not read, revealing nothing).
async fn readable_version(
    ctx: &Ctx<'_>,
    layer: &LayerRef,
    version: i64,
) -> Result<Option<LayerVersionRecord>, ApiError> {
    let found = ctx
        .state
        .store
        .layer_version(&scope_of(layer), &layer.name, version)
        .await?;
    if layer.account == ctx.caller.account && layer.region == ctx.caller.region {
        return Ok(found.map(|(v, _)| v));
    }
    match found {
        // Another region's layers are not reachable from this one.
        _ if layer.region != ctx.caller.region => Err(access_denied(
            &ctx.caller.account,
            &ctx.caller.region,
            GET_LAYER_VERSION,
            &layer.version_arn(version),
        )
        .into()),
        Some((v, statements))
            if allows(
                &statements,
                &ctx.caller.account,
                &ctx.caller.region,
                GET_LAYER_VERSION,
            ) =>
        {
            Ok(Some(v))
        }
        _ => Err(access_denied(
            &ctx.caller.account,
            &ctx.caller.region,
            GET_LAYER_VERSION,
            &layer.version_arn(version),
        )
        .into()),
    }
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str, version: &str) -> Result<Response, ApiError> {
    let layer = layer_of(ctx, label)?;
    let version = version_number(version)?;
    let v = readable_version(ctx, &layer, version)
        .await?
        .ok_or_else(layer::resource_not_found)?;
    Ok(json_response(StatusCode::OK, &version_out(ctx, &layer, &v)))
}

pub(super) async fn get_by_arn(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let Some(arn) = ctx.query.get("Arn") else {
        let mut e = ValidationErrors::new();
        e.violation_raw("arn", "null", "Member must not be null");
        return Err(LambdaError::Validation(e).into());
    };
    let Some(parsed) = LayerVersionRef::parse(arn) else {
        let mut e = ValidationErrors::new();
        e.pattern("arn", arn, LAYER_VERSION_ARN_PATTERN);
        return Err(LambdaError::Validation(e).into());
    };
    check_version_number(parsed.version)?;
    let v = readable_version(ctx, &parsed.layer, parsed.version)
        .await?
        .ok_or_else(layer::resource_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &version_out(ctx, &parsed.layer, &v),
    ))
}

/// The filters and page size of ListLayers and ListLayerVersions.
fn list_params<'q>(ctx: &'q Ctx<'_>) -> Result<(LayerFilter<'q>, u32), ApiError> {
    let filter = LayerFilter {
        runtime: ctx.query.get("CompatibleRuntime"),
        architecture: ctx.query.get("CompatibleArchitecture"),
    };
    let mut errors = ValidationErrors::new();
    layer::check_list_filters(filter.runtime, filter.architecture, &mut errors);
    let limit = max_items_up_to(ctx, 50, 50, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    Ok((filter, limit))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsOut<'a> {
    layer_versions: Vec<LayerVersionItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list_versions(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let layer = layer_of(ctx, label)?;
    let (filter, limit) = list_params(ctx)?;
    own_layer_only(ctx, &layer, "lambda:ListLayerVersions", &layer.arn())?;
    let before = decode_marker(ctx.query.get("Marker"))?
        .map(|m| m.parse::<i64>())
        .transpose()
        .map_err(|_| LambdaError::InvalidParameterValue("Invalid marker".to_owned()))?;
    let (versions, more) = ctx
        .state
        .store
        .list_layer_versions(&scope_of(&layer), &layer.name, filter, before, limit)
        .await?;
    let next_marker = more
        .then(|| {
            versions
                .last()
                .map(|v| encode_marker(&v.version.to_string()))
        })
        .flatten();
    let body = ListVersionsOut {
        layer_versions: versions.iter().map(|v| version_item(&layer, v)).collect(),
        next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerItem<'a> {
    layer_name: &'a str,
    layer_arn: String,
    latest_matching_version: LayerVersionItem<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLayersOut<'a> {
    layers: Vec<LayerItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let (filter, limit) = list_params(ctx)?;
    let after = decode_marker(ctx.query.get("Marker"))?;
    let (latest, more) = ctx
        .state
        .store
        .list_layers(&ctx.caller, filter, after.as_deref(), limit)
        .await?;
    let refs: Vec<LayerRef> = latest
        .iter()
        .map(|v| LayerRef {
            region: ctx.caller.region.clone(),
            account: ctx.caller.account.clone(),
            name: v.name.clone(),
        })
        .collect();
    let body = ListLayersOut {
        layers: latest
            .iter()
            .zip(&refs)
            .map(|(v, layer)| LayerItem {
                layer_name: &v.name,
                layer_arn: layer.arn(),
                latest_matching_version: version_item(layer, v),
            })
            .collect(),
        next_marker: more
            .then(|| latest.last().map(|v| encode_marker(&v.name)))
            .flatten(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

pub(super) async fn delete(
    ctx: &Ctx<'_>,
    label: &str,
    version: &str,
) -> Result<Response, ApiError> {
    let layer = layer_of(ctx, label)?;
    let version = version_number(version)?;
    own_layer_only(
        ctx,
        &layer,
        "lambda:DeleteLayerVersion",
        &layer.version_arn(version),
    )?;
    ctx.state
        .store
        .delete_layer_version(&scope_of(&layer), &layer.name, version)
        .await?;
    tracing::info!(layer = %layer.name, version, account = %layer.account, "layer version deleted");
    Ok(no_content())
}

/// Resolves a function's `Layers` (validated: pattern, count, distinct layers, the function's
/// region) into the contents it pins: each version must exist and be readable by the caller's
/// account, with AWS's errors otherwise.
pub(super) async fn resolve_function_layers(
    ctx: &Ctx<'_>,
    arns: &[String],
) -> Result<Vec<FunctionLayer>, ApiError> {
    let mut resolved = Vec::with_capacity(arns.len());
    for arn in arns {
        let not_found =
            || LambdaError::InvalidParameterValue(format!("Layer version {arn} does not exist."));
        let Some(parsed) = LayerVersionRef::parse(arn) else {
            return Err(not_found().into());
        };
        let found = ctx
            .state
            .store
            .layer_version(&scope_of(&parsed.layer), &parsed.layer.name, parsed.version)
            .await?;
        let Some((v, statements)) = found else {
            return Err(not_found().into());
        };
        // The caller must be able to read the layer (AWS checks the caller's
        // lambda:GetLayerVersion), also when it changes another account's function.
        let caller = &ctx.caller;
        if parsed.layer.account != caller.account
            && !allows(
                &statements,
                &caller.account,
                &caller.region,
                GET_LAYER_VERSION,
            )
        {
            return Err(
                access_denied(&caller.account, &caller.region, GET_LAYER_VERSION, arn).into(),
            );
        }
        resolved.push(FunctionLayer {
            arn: parsed.arn(),
            sha256_hex: v.code_sha256_hex,
            code_size: v.code_size,
            unzipped_size: v.unzipped_size,
        });
    }
    Ok(resolved)
}

/// AWS's refusal of code and layers that unzip to more than the limit together.
pub(super) fn check_combined_size(
    ctx: &Ctx<'_>,
    code_unzipped: u64,
    layers: &[FunctionLayer],
) -> Result<(), ApiError> {
    let limit = ctx.state.config.limits.max_unzipped_bytes;
    let total = code_unzipped + layers.iter().map(|l| l.unzipped_size).sum::<u64>();
    if layers.is_empty() || total <= limit {
        return Ok(());
    }
    Err(LambdaError::InvalidParameterValue(format!(
        "Function code combined with layers exceeds the maximum allowed size of {limit} bytes. \
         The actual size is {total} bytes."
    ))
    .into())
}

/// The unzipped size of a stored package (measured from the blob when it was stored before
/// lambox recorded sizes).
pub(super) async fn stored_unzipped_size(ctx: &Ctx<'_>, sha256_hex: &str) -> Result<u64, ApiError> {
    match ctx.state.store.code_unzipped_size(sha256_hex).await? {
        Some(Some(n)) => Ok(n),
        Some(None) => {
            let Some(zip) = ctx.state.store.code_blob(sha256_hex).await? else {
                return Ok(0);
            };
            let measured = tokio::task::spawn_blocking(move || {
                lambox_core::code::inspect_zip(&zip, u64::MAX, u64::MAX).map(|p| p.unzipped_size)
            })
            .await
            .map_err(|e| LambdaError::Service(e.to_string()))?;
            Ok(measured.unwrap_or(0))
        }
        None => Ok(0),
    }
}

/// The answer when a layer's content went away between reading it and pinning it.
pub(super) fn layer_gone(arns: &[String]) -> impl Fn(StoreError) -> ApiError + use<'_> {
    move |e| match e {
        StoreError::LayerContentGone => LambdaError::InvalidParameterValue(format!(
            "Layer version {} does not exist.",
            arns.join(", ")
        ))
        .into(),
        e => e.into(),
    }
}
