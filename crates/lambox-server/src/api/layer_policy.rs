//! AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission: who else
//! may read (and so use) a layer version.

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::layer::{LayerPermissionRequest, LayerRef, version_not_found};
use lambox_core::policy::{document, with_statement, without_statement};
use lambox_core::validate::ValidationErrors;
use lambox_store::StoreError;
use serde::{Deserialize, Serialize};

use super::layers::{layer_of, own_layer_only, scope_of, version_number};
use super::{Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddInput {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    organization_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddOutput {
    statement: String,
    revision_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetOutput {
    policy: String,
    revision_id: String,
}

fn revision_mismatch() -> ApiError {
    LambdaError::PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy \
         API to retrieve the latest Revision Id"
            .to_owned(),
    )
    .into()
}

/// The layer and version of a policy operation, refused for another account's layer.
fn addressed(
    ctx: &Ctx<'_>,
    label: &str,
    version: &str,
    action: &str,
) -> Result<(LayerRef, i64), ApiError> {
    let layer = layer_of(ctx, label)?;
    let version = version_number(version)?;
    own_layer_only(ctx, &layer, action, &layer.version_arn(version))?;
    Ok((layer, version))
}

fn refusal(layer: &LayerRef, version: i64) -> impl Fn(Refusal) -> ApiError + use<'_> {
    move |r| match r {
        Refusal::Api(e) => e,
        Refusal::Store(StoreError::NotFound) => {
            version_not_found(&layer.version_arn(version)).into()
        }
        Refusal::Store(StoreError::RevisionMismatch) => revision_mismatch(),
        Refusal::Store(e) => e.into(),
    }
}

pub(super) async fn add(ctx: &Ctx<'_>, label: &str, version: &str) -> Result<Response, ApiError> {
    let input: AddInput = ctx.json()?;
    let request = LayerPermissionRequest {
        statement_id: input.statement_id,
        action: input.action,
        principal: input.principal,
        organization_id: input.organization_id,
    };
    let mut errors = ValidationErrors::new();
    request.check(&mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    let (layer, version) = addressed(ctx, label, version, "lambda:AddLayerVersionPermission")?;
    let statement = request.statement(&layer.version_arn(version), &layer.region);
    let text = serde_json::to_string(&statement).expect("a statement serializes");
    let revision = uuid::Uuid::new_v4().to_string();
    ctx.state
        .store
        .update_layer_policy(
            &scope_of(&layer),
            &layer.name,
            version,
            ctx.query.get("RevisionId"),
            &revision,
            |current| {
                let statements = current.map(std::mem::take).unwrap_or_default();
                with_statement(statements, statement).map_err(|e| Refusal::Api(e.into()))
            },
        )
        .await
        .map_err(refusal(&layer, version))?;
    tracing::info!(layer = %layer.name, version, account = %layer.account, "layer permission added");
    Ok(json_response(
        StatusCode::CREATED,
        &AddOutput {
            statement: text,
            revision_id: revision,
        },
    ))
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str, version: &str) -> Result<Response, ApiError> {
    let (layer, version) = addressed(ctx, label, version, "lambda:GetLayerVersionPolicy")?;
    let policy = ctx
        .state
        .store
        .layer_policy(&scope_of(&layer), &layer.name, version)
        .await
        .map_err(|e| refusal(&layer, version)(Refusal::Store(e)))?
        .ok_or_else(|| {
            ApiError::from(LambdaError::ResourceNotFound(
                "No policy is associated with the given resource.".to_owned(),
            ))
        })?;
    Ok(json_response(
        StatusCode::OK,
        &GetOutput {
            policy: document(&policy.statements),
            revision_id: policy.revision_id,
        },
    ))
}

pub(super) async fn remove(
    ctx: &Ctx<'_>,
    label: &str,
    version: &str,
    sid: &str,
) -> Result<Response, ApiError> {
    let (layer, version) = addressed(ctx, label, version, "lambda:RemoveLayerVersionPermission")?;
    ctx.state
        .store
        .update_layer_policy(
            &scope_of(&layer),
            &layer.name,
            version,
            ctx.query.get("RevisionId"),
            &uuid::Uuid::new_v4().to_string(),
            |current| {
                let statements = current.map(std::mem::take).unwrap_or_default();
                without_statement(statements, sid).map_err(|e| Refusal::Api(e.into()))
            },
        )
        .await
        .map_err(refusal(&layer, version))?;
    tracing::info!(layer = %layer.name, version, account = %layer.account, "layer permission removed");
    Ok(no_content())
}
