//! The Lambda Runtime API, as the runtime process sees it on `AWS_LAMBDA_RUNTIME_API`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use lambox_core::protocol::{self, MAX_RESPONSE_BYTES};

use crate::agent::{Agent, Outcome, Refusal};

const PREFIX: &str = "/2018-06-01/runtime/";
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, br#"{"status":"OK"}"#.to_vec())
}

fn refused(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json(status, protocol::error_body(error_type, message))
}

/// Serves one Runtime API request.
pub async fn handle(agent: Arc<Agent>, req: Request<Incoming>) -> Response<Full<Bytes>> {
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
async fn read(req: Request<Incoming>) -> Result<(Bytes, Option<hyper::HeaderMap>), ()> {
    let collected = Limited::new(req.into_body(), MAX_RESPONSE_BYTES + 1)
        .collect()
        .await
        .map_err(|_| ())?;
    let trailers = collected.trailers().cloned();
    Ok((collected.to_bytes(), trailers))
}

fn complete(agent: &Agent, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    match agent.complete(id, outcome) {
        Ok(()) => accepted(),
        Err(Refusal::UnknownRequestId) => refused(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("Invalid request ID: {id}"),
        ),
    }
}

async fn next(agent: &Agent) -> Response<Full<Bytes>> {
    let Some(inv) = agent.next_invocation().await else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Restarted",
            "the runtime was restarted",
        );
    };
    let mut r = Response::new(Full::new(inv.body));
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

async fn response(agent: &Agent, id: &str, req: Request<Incoming>) -> Response<Full<Bytes>> {
    // Streaming responses (`Lambda-Runtime-Function-Response-Mode: streaming`) arrive chunked,
    // with an error reported in trailers; both are collected here for a buffered invoke.
    let Ok((body, trailers)) = read(req).await else {
        return response_too_large(agent, id);
    };
    if body.len() > MAX_RESPONSE_BYTES {
        return response_too_large(agent, id);
    }
    if trailers
        .as_ref()
        .is_some_and(|t| t.contains_key(ERROR_TYPE))
    {
        let error_body = trailers
            .as_ref()
            .and_then(|t| t.get(ERROR_BODY))
            .and_then(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .ok()
            })
            .unwrap_or_default();
        return complete(agent, id, Outcome::Error(error_body.into()));
    }
    complete(agent, id, Outcome::Response(body))
}

fn response_too_large(agent: &Agent, id: &str) -> Response<Full<Bytes>> {
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
