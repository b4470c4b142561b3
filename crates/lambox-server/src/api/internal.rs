//! lambox's own endpoints under `/_lambox/`: code downloads and health.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lambox_core::LambdaError;

use super::AppState;
use crate::error::ApiError;
use crate::routing::Operation;

pub(super) async fn handle(state: &AppState, op: &Operation) -> Result<Response, ApiError> {
    match op {
        Operation::DownloadCode(sha) => {
            let blob = state.store.code_blob(sha).await?.ok_or_else(|| {
                LambdaError::ResourceNotFound(
                    "The resource you requested does not exist.".to_owned(),
                )
            })?;
            Ok((
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/zip"),
                )],
                blob,
            )
                .into_response())
        }
        Operation::Health => Ok((StatusCode::OK, "ok").into_response()),
        _ => unreachable!("only internal operations are routed here"),
    }
}
