//! lambox's own endpoints under `/_lambox/`: presigned code downloads and health.
//!
//! A download answers as S3 answers a presigned `GetObject`: the archive, or a 403 with S3's
//! XML error when the URL's signature does not match or it has expired.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lambox_core::presign::{Artifact, PresignError, Presigned};

use super::AppState;
use crate::error::ApiError;
use crate::routing::{Operation, Query};

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        )],
        body,
    )
        .into_response()
}

pub(super) async fn handle(
    state: &AppState,
    op: &Operation,
    query: &Query,
) -> Result<Response, ApiError> {
    let (artifact, sha) = match op {
        Operation::DownloadCode(sha) => (Artifact::Code, sha),
        Operation::DownloadLayer(sha) => (Artifact::Layer, sha),
        Operation::Health => return Ok((StatusCode::OK, "ok").into_response()),
        _ => unreachable!("only internal operations are routed here"),
    };
    let presigned =
        Presigned::from_pairs(query.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let now = lambox_core::time::now_millis() / 1000;
    let checked = presigned
        .ok_or(PresignError::Missing)
        .and_then(|p| state.signer.verify(artifact, sha, &p, now));
    match checked {
        Ok(()) => {}
        Err(PresignError::Expired) => {
            return Ok(s3_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Request has expired",
            ));
        }
        Err(PresignError::BadSignature) => {
            return Ok(s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you \
                 provided. Check your key and signing method.",
            ));
        }
        Err(_) => {
            return Ok(s3_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access Denied",
            ));
        }
    }
    let Some(blob) = state.store.code_blob(sha).await? else {
        return Ok(s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ));
    };
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
