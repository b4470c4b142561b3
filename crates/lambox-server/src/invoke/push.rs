//! The client side of the push protocol: one invocation to one agent, and its answer, read
//! within the invocation's deadline and the response limit whatever the agent does.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::Request;
use hyper::header::HeaderValue;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use lambox_core::backend::Sandbox;
use lambox_core::protocol;
use lambox_core::revision::FunctionRevision;

use super::{InvokeRequest, InvokeResult};
use lambox_core::answer_stream;

/// What a push brought back: a whole answer, or the start of a streamed one.
pub(super) enum Pushed {
    /// The whole answer.
    Whole(InvokeResult),
    /// A streamed answer: its runtime's content type and the framed rest.
    Stream {
        content_type: String,
        body: hyper::body::Incoming,
        /// When the agent must have ended it.
        deadline: tokio::time::Instant,
    },
}

/// The HTTP client invocations are pushed with.
pub(super) type AgentClient = Client<HttpConnector, Full<Bytes>>;

/// How long past the invocation's deadline an agent may take to answer (it may have to kill a
/// runtime first).
const GRACE: Duration = Duration::from_secs(10);

/// Why a push did not produce an answer.
#[derive(Debug)]
pub(super) enum Push {
    /// The connection was never established: the event did not reach the sandbox.
    NeverArrived(String),
    /// The answer is larger than a function may return.
    TooLarge,
    /// It may have run; it must not be retried.
    Broken(String),
}

/// Pushes one invocation to a sandbox's agent and reads its answer, within the invocation's
/// timeout (plus a margin for a runtime the agent has to kill) and the response limit. With a
/// `stream_limit`, a runtime's streaming response comes back as a stream whose headers the agent
/// proved (its frames are read, and their end checked, by `super::stream`).
pub(super) async fn push(
    client: &AgentClient,
    sandbox: &Sandbox,
    rev: &FunctionRevision,
    req: &InvokeRequest,
    timeout: Duration,
    stream_limit: Option<u64>,
) -> Result<Pushed, Push> {
    let deadline = lambox_core::time::now_millis() + timeout.as_millis() as i64;
    let answer_by = tokio::time::Instant::now() + timeout + GRACE;
    let endpoint = &sandbox.endpoint;
    let mut request = Request::post(format!("http://{endpoint}{}", protocol::INVOKE_PATH))
        .body(Full::new(req.payload.clone()))
        .map_err(|e| Push::Broken(e.to_string()))?;
    let h = request.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    let deadline = deadline.to_string();
    let limit = stream_limit.map(|l| l.to_string()).unwrap_or_default();
    set(
        protocol::PUSH_AUTH,
        &protocol::push_auth(
            &sandbox.secret,
            &req.request_id,
            &deadline,
            &limit,
            &req.payload,
        ),
    );
    if stream_limit.is_some() {
        set(answer_stream::STREAM_LIMIT, &limit);
    }
    set(protocol::REQUEST_ID, &req.request_id);
    set(protocol::DEADLINE_MS, &deadline);
    set(protocol::INVOKED_ARN, &req.invoked_arn);
    if let Some(c) = &req.client_context {
        set(protocol::CLIENT_CONTEXT, c);
    }
    if req.tail {
        set(protocol::LOG_TYPE, "Tail");
    }
    // The agent answers by the deadline; the margin covers a runtime it has to kill. The
    // deadline bounds the body as well as the headers.
    let answered = tokio::time::timeout(timeout + GRACE, async {
        let response = match client.request(request).await {
            Err(e) if e.is_connect() => return Err(Push::NeverArrived(e.to_string())),
            Err(e) => return Err(Push::Broken(e.to_string())),
            Ok(r) => r,
        };
        let (parts, body) = response.into_parts();
        if parts.status != hyper::StatusCode::OK {
            return Err(Push::Broken(format!(
                "{endpoint} answered {}",
                parts.status
            )));
        }
        let streamed = stream_limit.is_some()
            && parts
                .headers
                .get(answer_stream::ANSWER_MODE)
                .is_some_and(|m| m == "stream");
        if streamed {
            let proven = parts
                .headers
                .get(protocol::AGENT_PROOF)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| {
                    let expected = answer_stream::stream_proof(&sandbox.secret, &req.request_id);
                    lambox_core::crypto::constant_time_eq(p, &expected)
                });
            if !proven {
                return Err(Push::NeverArrived(format!(
                    "{endpoint} answered without the agent's proof"
                )));
            }
            let content_type = parts
                .headers
                .get(answer_stream::STREAM_CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(answer_stream::DEFAULT_CONTENT_TYPE)
                .to_owned();
            return Ok(Err((content_type, body)));
        }
        // The agent holds runtimes to the response limit; a larger answer is refused the
        // same way rather than read without bound.
        let limit = protocol::MAX_RESPONSE_BYTES + 64 * 1024;
        let body = match Limited::new(body, limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => return Err(Push::TooLarge),
            Err(e) => return Err(Push::Broken(e.to_string())),
        };
        // Whatever else may answer at a dead sandbox's address (a recycled address, a proxy),
        // only the agent holding the secret can prove this answer is its own; an answer without
        // the proof never came from the agent, so the event never reached it.
        let function_error = parts.headers.contains_key(protocol::FUNCTION_ERROR);
        let proven = parts
            .headers
            .get(protocol::AGENT_PROOF)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| {
                let expected =
                    protocol::answer_proof(&sandbox.secret, &req.request_id, function_error, &body);
                lambox_core::crypto::constant_time_eq(p, &expected)
            });
        if !proven {
            return Err(Push::NeverArrived(format!(
                "{endpoint} answered without the agent's proof"
            )));
        }
        Ok(Ok((parts, body)))
    })
    .await;
    let (parts, body) = match answered {
        Err(_) => return Err(Push::Broken("the agent did not answer".into())),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Err((content_type, body)))) => {
            return Ok(Pushed::Stream {
                content_type,
                body,
                deadline: answer_by,
            });
        }
        Ok(Ok(Ok(whole))) => whole,
    };
    let text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Pushed::Whole(InvokeResult {
        executed_version: rev.version.clone(),
        body,
        function_error: parts.headers.contains_key(protocol::FUNCTION_ERROR),
        log_tail: text(protocol::LOG_TAIL),
        runtime_us: text(protocol::RUNTIME_US).and_then(|v| v.parse().ok()),
    }))
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
