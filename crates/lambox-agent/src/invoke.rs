//! The push endpoint: one invocation in, its outcome (with Lambda's log lines and timings) out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use hyper::Response;
use hyper::header::{HeaderMap, HeaderValue};
use lambox_core::{answer_stream, protocol};

use crate::agent::{Agent, Invocation, Outcome};
use crate::body::{AgentBody, whole};
use crate::platform::{self, LogStyle, Status};
use crate::report::{self, Report};
use crate::streamed;

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub(crate) fn epoch_ms() -> u64 {
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

/// Runs one pushed invocation to its end (a streamed answer: to the start of its stream, whose
/// end a task of its own sees to).
pub async fn invoke(agent: &Arc<Agent>, headers: &HeaderMap, body: Bytes) -> Response<AgentBody> {
    let one_at_a_time = agent.busy.clone().lock_owned().await;
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
        stream_limit: header(headers, answer_stream::STREAM_LIMIT).and_then(|l| l.parse().ok()),
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
    let closing = Closing {
        request_id: request_id.clone(),
        started,
        generation: runtime.generation,
        cold: runtime.cold,
        want_tail,
        deadline_ms,
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
    let (failed, body, status): (bool, Bytes, Status) = match ending {
        Ending::Answered(Outcome::Stream(stream)) => {
            return streamed::answer(agent.clone(), one_at_a_time, closing, stream);
        }
        Ending::Answered(Outcome::Response(body)) => (false, body, Status::Success),
        Ending::Answered(Outcome::Error(body)) => (true, body, Status::Error),
        Ending::Answered(Outcome::InitError(body)) => {
            // The runtime is of no further use; the next invocation starts a new one.
            let measured = closing.measure(agent);
            agent.kill_runtime();
            let tail = closing.close(agent, &measured, Status::Failure, Some(&body), body.len());
            return answer(
                proof(agent, &request_id),
                true,
                body,
                tail,
                measured.runtime_time,
            );
        }
        Ending::TimedOut => {
            let measured = closing.measure(agent);
            let body = timed_out(agent, &request_id);
            let tail = closing.close(agent, &measured, Status::Timeout, Some(&body), body.len());
            return answer(
                proof(agent, &request_id),
                true,
                body,
                tail,
                measured.runtime_time,
            );
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
    let measured = closing.measure(agent);
    let error = failed.then_some(&body[..]);
    let tail = closing.close(agent, &measured, status, error, body.len());
    answer(
        proof(agent, &request_id),
        failed,
        body,
        tail,
        measured.runtime_time,
    )
}

/// Kills a runtime past its deadline, says so in the log, and gives Lambda's error.
pub(crate) fn timed_out(agent: &Agent, request_id: &str) -> Bytes {
    let timeout = agent.settings.timeout;
    agent.kill_runtime();
    let (t, message) = report::timeout_error(request_id, timeout);
    agent.output().line(&format!(
        "{} {request_id} Task timed out after {:.2} seconds",
        lambox_core::time::format_timestamp(epoch_ms() as i64).replace("+0000", "Z"),
        timeout.as_secs_f64()
    ));
    protocol::error_body(&t, &message).into()
}

/// What the end of an invocation needs to know of its start.
pub(crate) struct Closing {
    pub(crate) request_id: String,
    pub(crate) started: Instant,
    pub(crate) generation: u64,
    pub(crate) cold: bool,
    pub(crate) want_tail: bool,
    pub(crate) deadline_ms: u64,
}

/// What is measured as an invocation ends (before a runtime past its deadline is killed).
pub(crate) struct Measured {
    pub(crate) runtime_time: Option<Duration>,
    max_memory: u64,
    init: Option<Duration>,
}

impl Closing {
    /// Ends the invocation in flight and measures it.
    pub(crate) fn measure(&self, agent: &Agent) -> Measured {
        Measured {
            runtime_time: agent.finish(),
            max_memory: agent.max_memory_mb(),
            init: if self.cold {
                agent.init_duration(self.generation)
            } else {
                None
            },
        }
    }

    /// Writes the invocation's last lines (END and REPORT, or the JSON platform records) and
    /// gives the log tail when it was asked for.
    pub(crate) fn close(
        &self,
        agent: &Agent,
        measured: &Measured,
        status: Status,
        error: Option<&[u8]>,
        response_len: usize,
    ) -> Option<Vec<u8>> {
        let settings = &agent.settings;
        let request_id = &self.request_id;
        agent.drain_output();
        let duration = self.started.elapsed();
        let mut out = agent.output();
        let r = Report {
            duration,
            memory_size_mb: settings.memory_mb,
            max_memory_used_mb: measured.max_memory,
            init: measured.init,
        };
        match settings.log_style {
            LogStyle::Text => {
                out.line(&report::end_line(request_id));
                out.line(&report::report_line(request_id, &r));
            }
            style => {
                let now = report::now_z();
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let done = platform::runtime_done(
                    style,
                    &now,
                    request_id,
                    status,
                    ms(duration),
                    response_len,
                );
                let error_type = error.and_then(error_type_of);
                let metrics = platform::Metrics {
                    duration_ms: ms(duration),
                    billed_ms: report::billed_ms(duration, measured.init),
                    memory_size_mb: settings.memory_mb,
                    max_memory_used_mb: measured.max_memory,
                    init_ms: measured.init.map(ms),
                };
                let reported = platform::report(
                    style,
                    &now,
                    request_id,
                    &metrics,
                    status,
                    error_type.as_deref(),
                );
                for line in [done, reported].into_iter().flatten() {
                    out.line(&line);
                }
            }
        }
        let tail = out.end_capture();
        self.want_tail.then_some(tail)
    }
}

/// The `errorType` of a function's error body, if it names one.
pub(crate) fn error_type_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("errorType")?.as_str().map(str::to_owned)
}

/// Who proves an answer: the agent's secret and the request id, when the agent has a secret.
pub(crate) fn proof(agent: &Agent, request_id: &str) -> Option<(String, String)> {
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
) -> Response<AgentBody> {
    let proved = proof
        .map(|(secret, request_id)| protocol::answer_proof(&secret, &request_id, failed, &body));
    let mut response = Response::new(whole(body));
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
