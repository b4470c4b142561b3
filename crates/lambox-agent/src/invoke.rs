//! The push endpoint: one invocation in, its outcome (with Lambda's log lines and timings) out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{HeaderMap, HeaderValue};
use lambox_core::protocol;

use crate::agent::{Agent, Invocation, Outcome};
use crate::platform::{self, LogStyle, Status};
use crate::report::{self, Report};

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn epoch_ms() -> u64 {
    u64::try_from(lambox_core::time::now_millis()).unwrap_or(0)
}

/// An X-Ray trace header for an invocation that came without one.
fn new_trace_id() -> String {
    let secs = epoch_ms() / 1000;
    let r = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &r[..24],
        &r[16..32]
    )
}

enum Ending {
    Answered(Outcome),
    TimedOut,
    Exited(crate::agent::Exit),
}

/// Runs one pushed invocation to its end.
pub async fn invoke(agent: &Arc<Agent>, headers: &HeaderMap, body: Bytes) -> Response<Full<Bytes>> {
    let _one_at_a_time = agent.busy.lock().await;
    let started = Instant::now();
    let settings = &agent.settings;
    let request_id =
        header(headers, protocol::REQUEST_ID).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let deadline_ms = header(headers, protocol::DEADLINE_MS)
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| epoch_ms() + settings.timeout.as_millis() as u64);
    let want_tail = header(headers, protocol::LOG_TYPE).as_deref() == Some("Tail");
    let invocation = Invocation {
        request_id: request_id.clone(),
        deadline_ms,
        invoked_arn: header(headers, protocol::INVOKED_ARN)
            .unwrap_or_else(|| settings.default_arn.clone()),
        client_context: header(headers, protocol::CLIENT_CONTEXT),
        cognito_identity: header(headers, protocol::COGNITO_IDENTITY),
        trace_id: header(headers, protocol::TRACE_ID).unwrap_or_else(new_trace_id),
        body,
    };

    let style = settings.log_style;
    // A cold sandbox's init lines (INIT_START) come before START, as on Lambda.
    let runtime = agent.ensure_runtime();
    {
        let mut out = agent.output();
        out.begin_capture();
        match style {
            LogStyle::Text => out.line(&report::start_line(&request_id, &settings.version)),
            _ => {
                let arn = &invocation.invoked_arn;
                if let Some(line) =
                    platform::start(style, &report::now_z(), &request_id, arn, &settings.version)
                {
                    out.line(&line);
                }
            }
        }
    }
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            let message =
                format!("RequestId: {request_id} Error: could not start the runtime: {e}");
            agent.output().line(&message);
            let tail = agent.output().end_capture();
            return answer(
                proof(agent, &request_id),
                true,
                protocol::error_body("Runtime.InvalidEntrypoint", &message).into(),
                want_tail.then_some(tail),
                None,
            );
        }
    };
    let outcome = agent.offer(invocation);
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(epoch_ms()));
    let ending = tokio::select! {
        o = outcome => match o {
            Ok(o) => Ending::Answered(o),
            Err(_) => Ending::Exited(agent.exited(runtime.generation).await),
        },
        () = tokio::time::sleep(remaining) => Ending::TimedOut,
        exit = agent.exited(runtime.generation) => Ending::Exited(exit),
    };
    let runtime_time = agent.finish();
    let max_memory = agent.max_memory_mb();
    let init = if runtime.cold {
        agent.init_duration(runtime.generation)
    } else {
        None
    };
    let (failed, body, status): (bool, Bytes, Status) = match ending {
        Ending::Answered(Outcome::Response(body)) => (false, body, Status::Success),
        Ending::Answered(Outcome::Error(body)) => (true, body, Status::Error),
        Ending::Answered(Outcome::InitError(body)) => {
            // The runtime is of no further use; the next invocation starts a new one.
            agent.kill_runtime();
            (true, body, Status::Failure)
        }
        Ending::TimedOut => {
            agent.kill_runtime();
            let (t, message) = report::timeout_error(&request_id, settings.timeout);
            agent.output().line(&format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                lambox_core::time::format_timestamp(epoch_ms() as i64).replace("+0000", "Z"),
                settings.timeout.as_secs_f64()
            ));
            (
                true,
                protocol::error_body(&t, &message).into(),
                Status::Timeout,
            )
        }
        Ending::Exited(exit) => {
            let (t, message) = report::exit_error(&request_id, exit.code, exit.signal);
            agent.output().line(&message);
            (
                true,
                protocol::error_body(&t, &message).into(),
                Status::Failure,
            )
        }
    };
    agent.drain_output();
    let duration = started.elapsed();
    let tail = {
        let mut out = agent.output();
        let r = Report {
            duration,
            memory_size_mb: settings.memory_mb,
            max_memory_used_mb: max_memory,
            init,
        };
        match style {
            LogStyle::Text => {
                out.line(&report::end_line(&request_id));
                out.line(&report::report_line(&request_id, &r));
            }
            _ => {
                let now = report::now_z();
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let done = platform::runtime_done(
                    style,
                    &now,
                    &request_id,
                    status,
                    ms(duration),
                    body.len(),
                );
                let error_type = failed.then(|| error_type_of(&body)).flatten();
                let metrics = platform::Metrics {
                    duration_ms: ms(duration),
                    billed_ms: report::billed_ms(duration, init),
                    memory_size_mb: settings.memory_mb,
                    max_memory_used_mb: max_memory,
                    init_ms: init.map(ms),
                };
                let reported = platform::report(
                    style,
                    &now,
                    &request_id,
                    &metrics,
                    status,
                    error_type.as_deref(),
                );
                for line in [done, reported].into_iter().flatten() {
                    out.line(&line);
                }
            }
        }
        out.end_capture()
    };
    answer(
        proof(agent, &request_id),
        failed,
        body,
        want_tail.then_some(tail),
        runtime_time,
    )
}

/// The `errorType` of a function's error body, if it names one.
fn error_type_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("errorType")?.as_str().map(str::to_owned)
}

/// Who proves an answer: the agent's secret and the request id, when the agent has a secret.
fn proof(agent: &Agent, request_id: &str) -> Option<(String, String)> {
    let secret = agent.settings.secret.clone()?;
    Some((secret, request_id.to_owned()))
}

/// The agent's answer: the function's result or error JSON, marked as AWS marks a function
/// error, proved under the secret, with the log tail when asked and the time the runtime client
/// held the event.
fn answer(
    proof: Option<(String, String)>,
    failed: bool,
    body: Bytes,
    tail: Option<Vec<u8>>,
    runtime_time: Option<Duration>,
) -> Response<Full<Bytes>> {
    let proved = proof
        .map(|(secret, request_id)| protocol::answer_proof(&secret, &request_id, failed, &body));
    let mut response = Response::new(Full::new(body));
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(p) = proved.and_then(|p| HeaderValue::from_str(&p).ok()) {
        h.insert(protocol::AGENT_PROOF, p);
    }
    if failed {
        h.insert(
            protocol::FUNCTION_ERROR,
            HeaderValue::from_static("Unhandled"),
        );
    }
    if let Some(tail) = tail
        && let Ok(v) =
            HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(tail))
    {
        h.insert(protocol::LOG_TAIL, v);
    }
    if let Some(r) = runtime_time {
        h.insert(
            protocol::RUNTIME_US,
            HeaderValue::from_str(&r.as_micros().to_string()).expect("digits"),
        );
    }
    response
}
