//! Settings lambox stores and answers with but does not act on: a function's code signing
//! config (signatures are not verified), its runtime management config (lambox runs the one
//! runtime it has), its recursion config (lambox does not detect loops).

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::NameShape;
use lambox_core::validate::ValidationErrors;
use lambox_store::SettingKind;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

use super::concurrency::unqualified;
use super::versions::check_qualified;
use super::{Ctx, json_response, no_content};
use crate::error::ApiError;

const CSC_ARN_PATTERN: &str = r"arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:code-signing-config:csc-[a-z0-9]{17}";

static CSC_ARN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:(?:aws[a-zA-Z-]*)?:lambda:(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:code-signing-config:csc-[a-z0-9]{17}$")
        .expect("code signing config pattern")
});

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CodeSigningOutput<'a> {
    code_signing_config_arn: &'a str,
    function_name: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeSigningInput {
    code_signing_config_arn: Option<String>,
}

fn stored_string(value: Option<String>) -> Option<String> {
    value.and_then(|v| serde_json::from_str::<String>(&v).ok())
}

pub(super) async fn get_code_signing(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    let arn = stored_string(
        ctx.state
            .store
            .function_setting(&ctx.scope, &f.name, "", SettingKind::CodeSigning)
            .await
            .map_err(ctx.store_error(&f.name))?,
    );
    Ok(json_response(
        StatusCode::OK,
        &CodeSigningOutput {
            code_signing_config_arn: arn.as_deref().unwrap_or(""),
            function_name: &f.name,
        },
    ))
}

pub(super) async fn put_code_signing(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    let input: CodeSigningInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    match &input.code_signing_config_arn {
        None => errors.violation_raw("codeSigningConfigArn", "null", "Member must not be null"),
        Some(arn) => {
            if arn.chars().count() > 200 {
                errors.max_length("codeSigningConfigArn", arn, 200);
            }
            if !CSC_ARN_RE.is_match(arn) {
                errors.pattern("codeSigningConfigArn", arn, CSC_ARN_PATTERN);
            }
        }
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    let arn = input.code_signing_config_arn.expect("validated");
    ctx.state
        .store
        .put_function_setting(
            &ctx.scope,
            &f.name,
            "",
            SettingKind::CodeSigning,
            Some(&serde_json::to_string(&arn).expect("a string serializes")),
        )
        .await
        .map_err(ctx.store_error(&f.name))?;
    Ok(json_response(
        StatusCode::OK,
        &CodeSigningOutput {
            code_signing_config_arn: &arn,
            function_name: &f.name,
        },
    ))
}

pub(super) async fn delete_code_signing(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, false)?;
    ctx.state
        .store
        .put_function_setting(&ctx.scope, &f.name, "", SettingKind::CodeSigning, None)
        .await
        .map_err(ctx.store_error(&f.name))?;
    Ok(no_content())
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeManagement {
    update_runtime_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version_arn: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeManagementOutput {
    #[serde(flatten)]
    config: RuntimeManagement,
    function_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeManagementInput {
    update_runtime_on: Option<String>,
    runtime_version_arn: Option<String>,
}

pub(super) async fn get_runtime_management(
    ctx: &Ctx<'_>,
    label: &str,
) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    check_qualified(ctx, &f.name, f.qualifier.as_deref()).await?;
    let qualifier = f.qualifier.as_deref().unwrap_or("");
    let stored = ctx
        .state
        .store
        .function_setting(
            &ctx.scope,
            &f.name,
            qualifier,
            SettingKind::RuntimeManagement,
        )
        .await
        .map_err(ctx.store_error(&f.name))?;
    let config = stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(RuntimeManagement {
            update_runtime_on: "Auto".to_owned(),
            runtime_version_arn: None,
        });
    Ok(json_response(
        StatusCode::OK,
        &RuntimeManagementOutput {
            config,
            function_arn: ctx.arn(&f.name, f.qualifier.as_deref()),
        },
    ))
}

pub(super) async fn put_runtime_management(
    ctx: &Ctx<'_>,
    label: &str,
) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let input: RuntimeManagementInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    match input.update_runtime_on.as_deref() {
        None => errors.violation_raw("updateRuntimeOn", "null", "Member must not be null"),
        Some("Auto" | "Manual" | "FunctionUpdate") => {}
        Some(other) => errors.violation(
            "updateRuntimeOn",
            other,
            "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
        ),
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    let mode = input.update_runtime_on.expect("validated");
    if mode == "Manual" && input.runtime_version_arn.is_none() {
        return Err(LambdaError::InvalidParameterValue(
            "RuntimeVersionArn must be specified when UpdateRuntimeOn is Manual.".to_owned(),
        )
        .into());
    }
    check_qualified(ctx, &f.name, f.qualifier.as_deref()).await?;
    let config = RuntimeManagement {
        update_runtime_on: mode,
        runtime_version_arn: input.runtime_version_arn,
    };
    ctx.state
        .store
        .put_function_setting(
            &ctx.scope,
            &f.name,
            f.qualifier.as_deref().unwrap_or(""),
            SettingKind::RuntimeManagement,
            Some(&serde_json::to_string(&config).expect("config serializes")),
        )
        .await
        .map_err(ctx.store_error(&f.name))?;
    Ok(json_response(
        StatusCode::OK,
        &RuntimeManagementOutput {
            config,
            function_arn: ctx.arn(&f.name, f.qualifier.as_deref()),
        },
    ))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Recursion {
    recursive_loop: Option<String>,
}

pub(super) async fn get_recursion(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = unqualified(ctx, label)?;
    let stored = stored_string(
        ctx.state
            .store
            .function_setting(&ctx.scope, &name, "", SettingKind::Recursion)
            .await
            .map_err(ctx.store_error(&name))?,
    );
    Ok(json_response(
        StatusCode::OK,
        &Recursion {
            recursive_loop: Some(stored.unwrap_or_else(|| "Terminate".to_owned())),
        },
    ))
}

pub(super) async fn put_recursion(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = unqualified(ctx, label)?;
    let input: Recursion = ctx.json()?;
    let mut errors = ValidationErrors::new();
    match input.recursive_loop.as_deref() {
        None => errors.violation_raw("recursiveLoop", "null", "Member must not be null"),
        Some("Terminate" | "Allow") => {}
        Some(other) => errors.violation(
            "recursiveLoop",
            other,
            "Member must satisfy enum value set: [Terminate, Allow]",
        ),
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    let value = input.recursive_loop.expect("validated");
    ctx.state
        .store
        .put_function_setting(
            &ctx.scope,
            &name,
            "",
            SettingKind::Recursion,
            Some(&serde_json::to_string(&value).expect("a string serializes")),
        )
        .await
        .map_err(ctx.store_error(&name))?;
    Ok(json_response(
        StatusCode::OK,
        &Recursion {
            recursive_loop: Some(value),
        },
    ))
}
