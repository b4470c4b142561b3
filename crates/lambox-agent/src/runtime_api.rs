//! The Lambda Runtime API, as the runtime process sees it on `AWS_LAMBDA_RUNTIME_API`.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use lambox_core::answer_stream::DEFAULT_CONTENT_TYPE;
use lambox_core::protocol::{self, MAX_RESPONSE_BYTES};
use tokio::sync::mpsc;

use crate::agent::{Agent, Outcome, Piece, Refusal, StreamStart};
use crate::body::{AgentBody, whole};

const PREFIX: &str = "/2018-06-01/runtime/";
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";
const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";

fn json(status: StatusCode, body: Vec<u8>) -> Response<AgentBody> {
    let mut r = Response::new(whole(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn accepted() -> Response<AgentBody> {
    json(StatusCode::ACCEPTED, br#"{"status":"OK"}"#.to_vec())
}

fn refused(status: StatusCode, error_type: &str, message: &str) -> Response<AgentBody> {
    json(status, protocol::error_body(error_type, message))
}

/// Serves one Runtime API request.
pub async fn handle(agent: Arc<Agent>, req: Request<Incoming>) -> Response<AgentBody> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return refused(StatusCode::NOT_FOUND, "InvalidRequest", "unknown path");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method(), parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(&agent).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            response(&agent, &id, req).await
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let body = read(req).await.map(|(b, _)| b).unwrap_or_default();
            complete(&agent, &id, Outcome::Error(body))
        }
        (&Method::POST, ["init", "error"]) => {
            let body = read(req).await.map(|(b, _)| b).unwrap_or_default();
            agent.init_failed(body);
            accepted()
        }
        _ => refused(StatusCode::NOT_FOUND, "InvalidRequest", "unknown path"),
    }
}

/// The body (up to the response limit) and its trailers.
async fn read(req: Request<Incoming>) -> Result<(Bytes, Option<HeaderMap>), ()> {
    let collected = Limited::new(req.into_body(), MAX_RESPONSE_BYTES + 1)
        .collect()
        .await
        .map_err(|_| ())?;
    let trailers = collected.trailers().cloned();
    Ok((collected.to_bytes(), trailers))
}

fn complete(agent: &Agent, id: &str, outcome: Outcome) -> Response<AgentBody> {
    match agent.complete(id, outcome) {
        Ok(()) => accepted(),
        Err(Refusal::UnknownRequestId) => refused(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("Invalid request ID: {id}"),
        ),
    }
}

async fn next(agent: &Agent) -> Response<AgentBody> {
    let Some(inv) = agent.next_invocation().await else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Restarted",
            "the runtime was restarted",
        );
    };
    let mut r = Response::new(whole(inv.body));
    let h = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &inv.request_id);
    set("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &inv.invoked_arn);
    set("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(c) = &inv.client_context {
        set("lambda-runtime-client-context", c);
    }
    if let Some(c) = &inv.cognito_identity {
        set("lambda-runtime-cognito-identity", c);
    }
    r
}

async fn response(agent: &Agent, id: &str, req: Request<Incoming>) -> Response<AgentBody> {
    let streaming = req
        .headers()
        .get(RESPONSE_MODE)
        .is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if streaming && let Some(limit) = agent.stream_limit(id) {
        return stream(agent, id, req, limit).await;
    }
    // A streaming response to an invocation that takes whole answers (Invoke) is collected,
    // with an error reported in its trailers, as is any response that arrives chunked.
    let Ok((body, trailers)) = read(req).await else {
        return response_too_large(agent, id);
    };
    if body.len() > MAX_RESPONSE_BYTES {
        return response_too_large(agent, id);
    }
    if let Some(error) = trailers.as_ref().and_then(trailer_error) {
        return complete(agent, id, Outcome::Error(error.into_bytes().into()));
    }
    complete(agent, id, Outcome::Response(body))
}

/// The function's error JSON a streaming response's trailers report, if they report one: the
/// body is base64 of the error JSON (Lambda's runtimes send `{errorType, errorMessage, …}`);
/// one that does not decode to JSON keeps the type, as Lambda keeps it.
fn trailer_error(trailers: &HeaderMap) -> Option<String> {
    let error_type = trailers
        .get(ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())?;
    let decoded = trailers
        .get(ERROR_BODY)
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .ok()
        })
        .filter(|b| serde_json::from_slice::<serde_json::Value>(b).is_ok_and(|v| v.is_object()));
    Some(match decoded {
        Some(json) => String::from_utf8_lossy(&json).into_owned(),
        None => String::from_utf8_lossy(&protocol::error_body(error_type, "")).into_owned(),
    })
}

/// Passes a streaming response on to the invocation as it arrives, at most `limit` bytes.
/// The channel is bounded: a runtime writing faster than lambox reads waits.
async fn stream(
    agent: &Agent,
    id: &str,
    req: Request<Incoming>,
    limit: u64,
) -> Response<AgentBody> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_owned();
    let (tx, pieces) = mpsc::channel(8);
    if let Err(Refusal::UnknownRequestId) = agent.complete(
        id,
        Outcome::Stream(StreamStart {
            content_type,
            pieces,
        }),
    ) {
        return refused(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("Invalid request ID: {id}"),
        );
    }
    let mut body = req.into_body();
    let mut sent: u64 = 0;
    let end = loop {
        match body.frame().await {
            None => break None,
            Some(Err(e)) => {
                break Some(protocol::error_body(
                    "Runtime.TruncatedResponse",
                    &format!("the runtime's response broke off: {e}"),
                ));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    sent += data.len() as u64;
                    if sent > limit {
                        let message = format!(
                            "Response payload size exceeded maximum allowed payload size ({limit} bytes)."
                        );
                        let _ = tx
                            .send(Piece::End(Some(
                                String::from_utf8_lossy(&protocol::error_body(
                                    "Function.ResponseSizeTooLarge",
                                    &message,
                                ))
                                .into_owned(),
                            )))
                            .await;
                        return refused(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "RequestEntityTooLarge",
                            &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
                        );
                    }
                    // The invocation may have ended (a timeout): the rest goes nowhere.
                    if tx.send(Piece::Data(data)).await.is_err() {
                        return accepted();
                    }
                }
                Err(frame) => {
                    if let Some(error) = frame.trailers_ref().and_then(trailer_error) {
                        let _ = tx.send(Piece::End(Some(error))).await;
                        return accepted();
                    }
                }
            },
        }
    };
    let _ = tx
        .send(Piece::End(
            end.map(|b| String::from_utf8_lossy(&b).into_owned()),
        ))
        .await;
    accepted()
}

fn response_too_large(agent: &Agent, id: &str) -> Response<AgentBody> {
    let message = format!(
        "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
    );
    let _ = agent.complete(
        id,
        Outcome::Error(protocol::error_body("Function.ResponseSizeTooLarge", &message).into()),
    );
    refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}
