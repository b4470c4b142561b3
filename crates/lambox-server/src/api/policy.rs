//! AddPermission, GetPolicy, RemovePermission, and the check every operation on another
//! account's function passes (`authorize`).

use axum::http::StatusCode;
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::arn::{FunctionRef, LATEST, NameShape, function_arn};
use lambox_core::policy::{
    PermissionRequest, Statement, access_denied, allows, document, with_statement,
    without_statement,
};
use lambox_core::validate::ValidationErrors;
use lambox_store::{Scope, StoreError};
use serde::{Deserialize, Serialize};

use super::versions::missing_qualifier;
use super::{AppState, Ctx, Refusal, json_response, no_content};
use crate::error::ApiError;
use crate::routing::Query;

/// The policy a qualifier's statements live in: `""` for the function itself (and `$LATEST`).
pub(crate) fn policy_qualifier(qualifier: Option<&str>) -> &str {
    match qualifier {
        None | Some(LATEST) => "",
        Some(q) => q,
    }
}

/// The account another account's function belongs to, when `label` names one (by ARN) in the
/// caller's region; `None` for the caller's own functions and for what does not parse (the
/// operation then reports it).
pub(crate) fn other_account(label: &str, caller: &Scope) -> Option<String> {
    // A name naming an account has the account's 12 digits before a colon; a plain name (the
    // common case, on every invoke) is not parsed here at all.
    if !label.contains(':') {
        return None;
    }
    let f = FunctionRef::parse(label, NameShape::Namespaced).ok()?;
    let account = f.account?;
    (account != caller.account && f.region.is_none_or(|r| r == caller.region)).then_some(account)
}

/// Refuses, as AWS does, an operation of `caller` on a function of `owner` that no statement
/// of the addressed qualifier's policy allows. A function that does not exist has no policy:
/// its existence is not revealed.
pub(crate) async fn authorize(
    state: &AppState,
    caller: &Scope,
    owner: &Scope,
    label: &str,
    query: &Query,
    action: &str,
) -> Result<(), ApiError> {
    let f = FunctionRef::parse(label, NameShape::Namespaced).map_err(LambdaError::Validation)?;
    let qualifier = f.qualifier.as_deref().or(query.get("Qualifier"));
    let statements = match state
        .store
        .policy(owner, &f.name, policy_qualifier(qualifier))
        .await
    {
        Ok(Some(p)) => p.statements,
        Ok(None) | Err(StoreError::NotFound) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if allows(&statements, &caller.account, &caller.region, action) {
        return Ok(());
    }
    let resource = function_arn(&owner.region, &owner.account, &f.name, qualifier);
    Err(access_denied(&caller.account, &caller.region, action, &resource).into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddInput {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    source_arn: Option<String>,
    source_account: Option<String>,
    event_source_token: Option<String>,
    revision_id: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    function_url_auth_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddOutput {
    statement: String,
}

pub(super) async fn add(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let input: AddInput = ctx.json()?;
    let request = PermissionRequest {
        statement_id: input.statement_id,
        action: input.action,
        principal: input.principal,
        source_arn: input.source_arn,
        source_account: input.source_account,
        principal_org_id: input.principal_org_id,
        event_source_token: input.event_source_token,
        function_url_auth_type: input.function_url_auth_type,
    };
    let mut errors = ValidationErrors::new();
    request.check(&mut errors);
    errors.into_result().map_err(LambdaError::Validation)?;
    if f.qualifier.as_deref() == Some(LATEST) {
        return Err(LambdaError::InvalidParameterValue(
            "We currently do not support adding policies for $LATEST.".to_owned(),
        )
        .into());
    }
    let qualifier = f.qualifier.as_deref();
    let statement = request.statement(&ctx.arn(&f.name, qualifier), &ctx.scope.region)?;
    let text = serde_json::to_string(&statement).expect("a statement serializes");
    let updated = ctx
        .state
        .store
        .update_policy(
            &ctx.scope,
            &f.name,
            policy_qualifier(qualifier),
            input.revision_id.as_deref(),
            &uuid::Uuid::new_v4().to_string(),
            |current| {
                let statements = current.map(std::mem::take).unwrap_or_default();
                with_statement(statements, statement).map_err(|e| Refusal::Api(e.into()))
            },
        )
        .await
        .map_err(|r| match r {
            Refusal::Api(e) => e,
            Refusal::Store(StoreError::NotFound) => ctx.not_found(&f.name, None),
            Refusal::Store(StoreError::VersionNotFound(q)) => missing_qualifier(ctx, &f.name, &q),
            Refusal::Store(StoreError::AliasNotFound) => {
                missing_qualifier(ctx, &f.name, qualifier.unwrap_or_default())
            }
            Refusal::Store(StoreError::RevisionMismatch) => policy_revision_mismatch(),
            Refusal::Store(e) => e.into(),
        })?;
    debug_assert!(updated.is_some(), "a statement was added");
    ctx.state.invoker.policy_changed(&ctx.scope, &f.name);
    tracing::info!(function = %f.name, qualifier = ?qualifier, account = %ctx.scope.account, "permission added");
    Ok(json_response(
        StatusCode::CREATED,
        &AddOutput { statement: text },
    ))
}

fn policy_revision_mismatch() -> ApiError {
    LambdaError::PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API \
         to retrieve the latest Revision Id"
            .to_owned(),
    )
    .into()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetOutput {
    policy: String,
    revision_id: String,
}

fn no_such_resource() -> ApiError {
    LambdaError::ResourceNotFound("The resource you requested does not exist.".to_owned()).into()
}

pub(super) async fn get(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let policy = match ctx
        .state
        .store
        .policy(
            &ctx.scope,
            &f.name,
            policy_qualifier(f.qualifier.as_deref()),
        )
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) | Err(StoreError::NotFound) => return Err(no_such_resource()),
        Err(e) => return Err(e.into()),
    };
    Ok(json_response(
        StatusCode::OK,
        &GetOutput {
            policy: document(&policy.statements),
            revision_id: policy.revision_id,
        },
    ))
}

pub(super) async fn remove(ctx: &Ctx<'_>, label: &str, sid: &str) -> Result<Response, ApiError> {
    let f = ctx.function(label, NameShape::Namespaced, true)?;
    let qualifier = f.qualifier.as_deref();
    let no_policy = || {
        ApiError::from(LambdaError::ResourceNotFound(
            "No policy is associated with the given resource.".to_owned(),
        ))
    };
    ctx.state
        .store
        .update_policy(
            &ctx.scope,
            &f.name,
            policy_qualifier(qualifier),
            ctx.query.get("RevisionId"),
            &uuid::Uuid::new_v4().to_string(),
            |current: Option<&mut Vec<Statement>>| {
                let statements = current.ok_or_else(|| Refusal::Api(no_policy()))?;
                without_statement(std::mem::take(statements), sid)
                    .map_err(|e| Refusal::Api(e.into()))
            },
        )
        .await
        .map_err(|r| match r {
            Refusal::Api(e) => e,
            Refusal::Store(StoreError::NotFound) => LambdaError::ResourceNotFound(format!(
                "No policy found for: {}",
                ctx.arn(&f.name, None)
            ))
            .into(),
            Refusal::Store(StoreError::VersionNotFound(q)) => missing_qualifier(ctx, &f.name, &q),
            Refusal::Store(StoreError::AliasNotFound) => {
                missing_qualifier(ctx, &f.name, qualifier.unwrap_or_default())
            }
            Refusal::Store(StoreError::RevisionMismatch) => LambdaError::revision_mismatch().into(),
            Refusal::Store(e) => e.into(),
        })?;
    ctx.state.invoker.policy_changed(&ctx.scope, &f.name);
    tracing::info!(function = %f.name, qualifier = ?qualifier, sid, account = %ctx.scope.account, "permission removed");
    Ok(no_content())
}
