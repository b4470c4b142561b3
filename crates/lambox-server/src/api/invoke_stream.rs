//! InvokeWithResponseStream: the function's response as AWS's event stream, each piece sent as
//! the function writes it (a function that does not stream answers with its whole response as
//! one chunk), then `InvokeComplete` with the error and the log tail. Failures after the checks
//! still answer 200: they are told in `InvokeComplete`, as AWS tells them.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;

use super::Ctx;
use super::invoke::{invoke_error, prepare};
use crate::error::ApiError;
use crate::eventstream::{invoke_complete, payload_chunk};
use crate::http::ChannelBody;
use crate::invoke::Answer;
use crate::invoke::stream::{StreamEvent, StreamOutcome};

/// `InvokeComplete`'s payload.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvokeComplete {
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_result: Option<String>,
}

/// `InvokeComplete` of an invocation that ended with `error` (the function's error JSON).
fn complete(error: Option<&[u8]>, log_tail: Option<String>) -> Bytes {
    let (error_code, error_details) = match error {
        None => (None, None),
        Some(e) => {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(e).ok();
            let code = parsed
                .as_ref()
                .and_then(|v| v.get("errorType"))
                .and_then(|t| t.as_str())
                .unwrap_or("Unhandled")
                .to_owned();
            let details = parsed
                .as_ref()
                .and_then(|v| v.get("errorMessage"))
                .and_then(|m| m.as_str())
                .map_or_else(|| String::from_utf8_lossy(e).into_owned(), str::to_owned);
            (Some(code), Some(details))
        }
    };
    let json = serde_json::to_vec(&InvokeComplete {
        error_code,
        error_details,
        log_result: log_tail,
    })
    .expect("InvokeComplete serializes");
    invoke_complete(&json).into()
}

pub(super) async fn invoke(ctx: &Ctx<'_>, label: &str) -> Result<Response, ApiError> {
    let prepared = prepare(ctx, label, true).await?;
    if prepared.is_dry_run() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let limit = ctx.state.config.limits.max_streamed_response_bytes;
    let answer = ctx
        .state
        .invoker
        .invoke_answer(&prepared.resolved, &prepared.request, Some(limit))
        .await
        .map_err(invoke_error)?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    // `ResponseStreamContentType` is the Content-Type header (AWS's model binds it there): the
    // type of what the function streams, JSON for a whole answer.
    let (executed_version, content_type) = match answer {
        Answer::Whole(result) => {
            let mut frames = Vec::new();
            if result.function_error {
                frames.extend_from_slice(&complete(Some(&result.body), result.log_tail));
            } else {
                frames.extend_from_slice(&payload_chunk(&result.body));
                frames.extend_from_slice(&complete(None, result.log_tail));
            }
            let _ = tx.try_send(Ok(frames.into()));
            (result.executed_version, "application/json".to_owned())
        }
        Answer::Stream(mut stream) => {
            let version = stream.executed_version().to_owned();
            let content_type = stream.content_type().to_owned();
            // Runs to the stream's end; a client that goes away leaves the rest to the
            // stream's own drain.
            tokio::spawn(async move {
                // A client that stops reading does not hold the sandbox past the deadline:
                // the stream is dropped, and read to its end without it.
                let deadline = stream.deadline();
                while let Some(event) = stream.next().await {
                    let frame = match event {
                        StreamEvent::Chunk(c) => payload_chunk(&c).into(),
                        StreamEvent::End(StreamOutcome {
                            error, log_tail, ..
                        }) => complete(error.as_deref(), log_tail),
                    };
                    if !matches!(
                        tokio::time::timeout_at(deadline, tx.send(Ok(frame))).await,
                        Ok(Ok(()))
                    ) {
                        return;
                    }
                }
            });
            (version, content_type)
        }
    };
    let mut r = Response::new(Body::new(ChannelBody(rx)));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert("content-type", v);
    }
    if let Ok(v) = HeaderValue::from_str(&executed_version) {
        h.insert("x-amz-executed-version", v);
    }
    Ok(r)
}
