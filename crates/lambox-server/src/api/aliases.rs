//! CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::alias::{
    VersionWeights, check_alias_name, check_routing, check_version, check_weights,
};
use lambox_core::arn::NameShape;
use lambox_core::validate::ValidationErrors;
use lambox_store::{AliasRecord, AliasState, StoreError};
use serde::{Deserialize, Serialize};

use super::versions::{decode_marker, encode_marker, max_items};
use super::wire::{self, alias_configuration};
use super::{Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoutingInput {
    #[serde(default)]
    additional_version_weights: VersionWeights,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateInput {
    name: Option<String>,
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateInput {
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingInput>,
    revision_id: Option<String>,
}

fn check_description(description: Option<&str>, errors: &mut ValidationErrors) {
    if let Some(d) = description
        && d.chars().count() > 256
    {
        errors.max_length("description", d, 256);
    }
}

/// The function an alias operation names (its `FunctionName` in the plain shape).
fn function_name(ctx: &Ctx<'_>, label: &str) -> Result<String, ApiError> {
    Ok(ctx.function(label, NameShape::Plain, false)?.name)
}

/// Maps the store's refusals of an alias write to AWS's errors.
fn alias_error(
    ctx: &Ctx<'_>,
    name: &str,
    alias: &str,
    version: Option<&str>,
) -> impl Fn(Refusal) -> ApiError {
    let function_arn = ctx.arn(name, version);
    let alias_arn = ctx.arn(name, Some(alias));
    let scope = ctx.scope.clone();
    let name = name.to_owned();
    move |r| match r {
        Refusal::Api(e) => e,
        Refusal::Store(StoreError::NotFound) => {
            LambdaError::function_not_found(&function_arn).into()
        }
        Refusal::Store(StoreError::VersionNotFound(v)) => LambdaError::function_not_found(
            &lambox_core::arn::function_arn(&scope.region, &scope.account, &name, Some(&v)),
        )
        .into(),
        Refusal::Store(StoreError::AliasExists) => {
            LambdaError::ResourceConflict(format!("Alias already exists: {alias_arn}")).into()
        }
        Refusal::Store(StoreError::AliasNotFound) => {
            LambdaError::ResourceNotFound(format!("Alias not found: {alias_arn}")).into()
        }
        Refusal::Store(StoreError::RevisionMismatch) => LambdaError::revision_mismatch().into(),
        Refusal::Store(e) => e.into(),
    }
}

pub(super) async fn create(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = function_name(ctx, label)?;
    let input: CreateInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    match &input.name {
        None => errors.violation_raw("name", "null", "Member must not be null"),
        Some(a) => check_alias_name("name", a, &mut errors),
    }
    match &input.function_version {
        None => errors.violation_raw("functionVersion", "null", "Member must not be null"),
        Some(v) => check_version("functionVersion", v, &mut errors),
    }
    check_description(input.description.as_deref(), &mut errors);
    let weights = input
        .routing_config
        .unwrap_or_default()
        .additional_version_weights;
    check_weights(&weights, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    let (alias, version) = (
        input.name.expect("validated"),
        input.function_version.expect("validated"),
    );
    let additional = check_routing(&version, &weights)?;
    let state = AliasState {
        function_version: version.clone(),
        additional: additional.map(|a| (a.version, a.weight)),
        description: input.description.unwrap_or_default(),
        revision_id: uuid::Uuid::new_v4().to_string(),
    };
    let created = ctx
        .state
        .store
        .create_alias(&ctx.scope, &name, &alias, &state)
        .await
        .map_err(|e| alias_error(ctx, &name, &alias, Some(&version))(Refusal::Store(e)))?;
    ctx.state.invoker.aliases_changed(&ctx.scope, &name);
    tracing::info!(function = %name, alias = %alias, version = %version, account = %ctx.scope.account, "alias created");
    Ok(json_response(
        StatusCode::CREATED,
        &alias_configuration(&ctx.scope, &created),
    ))
}

/// Checks an alias name given in the path.
fn alias_label(alias: &str) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    check_alias_name("name", alias, &mut errors);
    Ok(errors.into_result().map_err(LambdaError::Validation)?)
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str, alias: &str) -> Result<Response, ApiError> {
    let name = function_name(ctx, label)?;
    alias_label(alias)?;
    let found = ctx
        .state
        .store
        .get_alias(&ctx.scope, &name, alias)
        .await
        .map_err(ctx.store_error(&name))?
        .ok_or_else(|| {
            LambdaError::ResourceNotFound(format!(
                "Cannot find alias arn: {}",
                ctx.arn(&name, Some(alias))
            ))
        })?;
    Ok(json_response(
        StatusCode::OK,
        &alias_configuration(&ctx.scope, &found),
    ))
}

/// Routing weights as the rules take them, from a stored alias.
fn stored_weights(a: &AliasRecord) -> VersionWeights {
    a.additional
        .iter()
        .map(|(v, w)| (v.clone(), Some(*w)))
        .collect()
}

pub(super) async fn update(ctx: &Ctx<'_>, label: &str, alias: &str) -> Result<Response, ApiError> {
    let name = function_name(ctx, label)?;
    alias_label(alias)?;
    let input: UpdateInput = ctx.json()?;
    let mut errors = ValidationErrors::new();
    if let Some(v) = &input.function_version {
        check_version("functionVersion", v, &mut errors);
    }
    check_description(input.description.as_deref(), &mut errors);
    let new_weights = input.routing_config.map(|r| r.additional_version_weights);
    if let Some(w) = &new_weights {
        check_weights(w, &mut errors);
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    let updated = ctx
        .state
        .store
        .update_alias(
            &ctx.scope,
            &name,
            alias,
            input.revision_id.as_deref(),
            |current| {
                let version = input
                    .function_version
                    .clone()
                    .unwrap_or_else(|| current.function_version.clone());
                let weights = new_weights
                    .clone()
                    .unwrap_or_else(|| stored_weights(current));
                let additional =
                    check_routing(&version, &weights).map_err(|e| Refusal::Api(e.into()))?;
                Ok(AliasState {
                    function_version: version,
                    additional: additional.map(|a| (a.version, a.weight)),
                    description: input
                        .description
                        .clone()
                        .unwrap_or_else(|| current.description.clone()),
                    revision_id: uuid::Uuid::new_v4().to_string(),
                })
            },
        )
        .await
        .map_err(alias_error(
            ctx,
            &name,
            alias,
            input.function_version.as_deref(),
        ))?;
    ctx.state.invoker.aliases_changed(&ctx.scope, &name);
    tracing::info!(function = %name, alias = %alias, version = %updated.function_version, account = %ctx.scope.account, "alias updated");
    Ok(json_response(
        StatusCode::OK,
        &alias_configuration(&ctx.scope, &updated),
    ))
}

pub(super) async fn delete(ctx: &Ctx<'_>, label: &str, alias: &str) -> Result<Response, ApiError> {
    let name = function_name(ctx, label)?;
    alias_label(alias)?;
    // Deleting an alias that is not there is not an error, as on AWS.
    ctx.state
        .store
        .delete_alias(&ctx.scope, &name, alias)
        .await
        .map_err(ctx.store_error(&name))?;
    ctx.state.invoker.aliases_changed(&ctx.scope, &name);
    tracing::info!(function = %name, alias = %alias, account = %ctx.scope.account, "alias deleted");
    Ok(no_content())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOutput<'a> {
    aliases: Vec<wire::AliasConfiguration<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub(super) async fn list(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let name = function_name(ctx, label)?;
    let mut errors = ValidationErrors::new();
    let version = ctx.query.get("FunctionVersion");
    if let Some(v) = version {
        check_version("functionVersion", v, &mut errors);
    }
    let limit = max_items(ctx, 50, &mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    let after = decode_marker(ctx.query.get("Marker"))?;
    let (aliases, more) = ctx
        .state
        .store
        .list_aliases(&ctx.scope, &name, version, after.as_deref(), limit)
        .await
        .map_err(ctx.store_error(&name))?;
    let next_marker = more
        .then(|| aliases.last())
        .flatten()
        .map(|a| encode_marker(&a.name));
    let body = ListOutput {
        aliases: aliases
            .iter()
            .map(|a| alias_configuration(&ctx.scope, a))
            .collect(),
        next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}
