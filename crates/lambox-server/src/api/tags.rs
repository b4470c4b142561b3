//! TagResource, UntagResource, ListTags.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::{FunctionRef, NameShape};
use lambox_core::validate::ValidationErrors;
use lambox_store::StoreError;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::functions::tags_limit;
use super::{Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;

const TAGGABLE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)";

static TAGGABLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:(?:aws[a-zA-Z-]*):lambda:(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:(?:function:[a-zA-Z0-9_-]+(?::(?:\$LATEST|[a-zA-Z0-9_-]+))?|layer:[a-zA-Z0-9_-]+|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9_-]+)$")
        .expect("taggable resource pattern")
});

/// The function a taggable resource ARN names, after AWS's checks.
fn tagged_function(ctx: &Ctx<'_>, resource: &str) -> Result<String, ApiError> {
    let len = resource.chars().count();
    let mut errors = ValidationErrors::new();
    if len > 256 {
        errors.max_length("resource", resource, 256);
    }
    if !TAGGABLE_RE.is_match(resource) {
        errors.pattern("resource", resource, TAGGABLE_PATTERN);
    }
    errors.into_result().map_err(LambdaError::Validation)?;
    match resource.split(':').nth(5) {
        Some("function") => {}
        // Event source mappings and capacity providers are not stored by lambox yet, so none
        // exists; AWS names what it did not find.
        Some("event-source-mapping") => {
            return Err(LambdaError::ResourceNotFound(format!(
                "Event source mapping not found: {resource}"
            ))
            .into());
        }
        Some("capacity-provider") => {
            return Err(LambdaError::ResourceNotFound(format!(
                "Capacity provider not found: {resource}"
            ))
            .into());
        }
        _ => {
            return Err(LambdaError::ResourceNotFound(
                "The resource you requested does not exist.".to_owned(),
            )
            .into());
        }
    }
    let parsed = FunctionRef::parse(resource, NameShape::Plain).map_err(LambdaError::Validation)?;
    if parsed.qualifier.is_some() {
        return Err(LambdaError::InvalidParameterValue(
            "Tags on function aliases and versions are not supported. Please specify a function ARN."
                .to_owned(),
        )
        .into());
    }
    Ok(parsed
        .resolve(&ctx.scope.account, &ctx.scope.region, None)?
        .name)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    tags: Option<BTreeMap<String, String>>,
}

pub(super) async fn tag(ctx: &Ctx<'_>, resource: &str) -> Result<Response, ApiError> {
    let name = tagged_function(ctx, resource)?;
    let input: TagInput = ctx.json()?;
    let Some(new_tags) = input.tags else {
        let mut e = ValidationErrors::new();
        e.violation_raw("tags", "null", "Member must not be null");
        return Err(LambdaError::Validation(e).into());
    };
    if new_tags.is_empty() {
        return Err(LambdaError::InvalidParameterValue(
            "An error occurred and the request cannot be processed.".to_owned(),
        )
        .into());
    }
    ctx.state
        .store
        .update_tags(
            &ctx.scope,
            &name,
            &uuid::Uuid::new_v4().to_string(),
            |tags| {
                tags.extend(new_tags);
                tags_limit(ctx, tags.len()).map_err(|e| Refusal::Api(e.into()))
            },
        )
        .await
        .map_err(ctx.refusal_error(&name))?;
    Ok(no_content())
}

pub(super) async fn untag(ctx: &Ctx<'_>, resource: &str) -> Result<Response, ApiError> {
    let name = tagged_function(ctx, resource)?;
    let keys: Vec<String> = ctx
        .query
        .all("tagKeys")
        .into_iter()
        .map(str::to_owned)
        .collect();
    if keys.is_empty() {
        let mut e = ValidationErrors::new();
        e.violation_raw("tagKeys", "null", "Member must not be null");
        return Err(LambdaError::Validation(e).into());
    }
    ctx.state
        .store
        .update_tags::<StoreError>(
            &ctx.scope,
            &name,
            &uuid::Uuid::new_v4().to_string(),
            |tags| {
                for k in &keys {
                    tags.remove(k);
                }
                Ok(())
            },
        )
        .await
        .map_err(ctx.store_error(&name))?;
    Ok(no_content())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsOutput {
    tags: BTreeMap<String, String>,
}

pub(super) async fn list(ctx: &Ctx<'_>, resource: &str) -> Result<Response, ApiError> {
    let name = tagged_function(ctx, resource)?;
    let function = ctx.load_function(&name).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListTagsOutput {
            tags: function.tags,
        },
    ))
}
