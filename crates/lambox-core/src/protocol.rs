//! The push protocol between lambox and the agent in every sandbox: the RIE-compatible invoke
//! path plus the headers lambox adds to it and the agent answers with.
//!
//! A request without lambox's headers is served as AWS's Runtime Interface Emulator serves it
//! (a fresh request id, the function's timeout as deadline), so the agent also works under tools
//! made for the RIE.

/// The path invocations are pushed to, as AWS's Runtime Interface Emulator serves it.
pub const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// Request: the invocation's request id.
pub const REQUEST_ID: &str = "lambox-request-id";
/// Request: the deadline, epoch milliseconds.
pub const DEADLINE_MS: &str = "lambox-deadline-ms";
/// Request: the ARN the caller invoked (qualified as invoked).
pub const INVOKED_ARN: &str = "lambox-invoked-function-arn";
/// Request: the client context, decoded JSON text.
pub const CLIENT_CONTEXT: &str = "lambox-client-context";
/// Request: the Cognito identity, JSON text.
pub const COGNITO_IDENTITY: &str = "lambox-cognito-identity";
/// Request: the X-Ray trace header.
pub const TRACE_ID: &str = "lambox-trace-id";
/// Request: `Tail` asks for the last 4 KB of the invocation's log in [`LOG_TAIL`].
pub const LOG_TYPE: &str = "lambox-log-type";

/// Request: [`push_auth`] of the push under the sandbox's secret; an agent started with a secret
/// refuses pushes without it. The secret itself never travels.
pub const PUSH_AUTH: &str = "lambox-push-auth";

/// Response: [`answer_proof`] of the answer under the sandbox's secret: lambox takes no answer
/// without it (whatever else may answer at a dead sandbox's address), and none whose body or
/// error flag differ from what the agent proved.
pub const AGENT_PROOF: &str = "lambox-agent-proof";

/// Response: `Unhandled` when the function failed (AWS's header, passed through unchanged).
pub const FUNCTION_ERROR: &str = "x-amz-function-error";
/// Response: base64 of the last 4 KB of the invocation's log, when asked.
pub const LOG_TAIL: &str = "lambox-log-tail";
/// Response: microseconds the runtime client held the event (from `next` to its answer).
pub const RUNTIME_US: &str = "lambox-runtime-us";

/// Environment: the id of the sandbox, on every process in it (a reaper matches it before it
/// signals a recorded pid).
pub const SANDBOX_ID_ENV: &str = "LAMBOX_SANDBOX_ID";
/// Environment: the agent's secret, for agents that cannot be given it on standard input
/// (containers); the agent keeps it from its runtime.
pub const AGENT_SECRET_ENV: &str = "LAMBOX_AGENT_SECRET";
/// Environment: the runtime command an agent runs when the function brings no `bootstrap`
/// (lambox's runtime client for the function's runtime family).
pub const FALLBACK_BOOTSTRAP_ENV: &str = "LAMBOX_FALLBACK_BOOTSTRAP";

/// The runtime version that really runs (`python:3.12.1`), for the agent's init log
/// (`INIT_START Runtime Version: …`); set by backends that know it.
pub const RUNTIME_VERSION_ENV: &str = "LAMBOX_RUNTIME_VERSION";

/// The runtime version's ARN, for the same line.
pub const RUNTIME_VERSION_ARN_ENV: &str = "LAMBOX_RUNTIME_VERSION_ARN";

/// The function's `SystemLogLevel` when its log format is JSON: which of the platform's
/// records the agent writes.
pub const SYSTEM_LOG_LEVEL_ENV: &str = "LAMBOX_SYSTEM_LOG_LEVEL";

/// What the init log must say besides, when the machine runs another version than the
/// runtime names.
pub const RUNTIME_NOTE_ENV: &str = "LAMBOX_RUNTIME_NOTE";
/// File in the sandbox directory (`--sandbox-dir`) the agent writes its runtime's pid to.
pub const RUNTIME_PID_FILE: &str = "runtime.pid";

/// The first line an agent prints on its standard output once both its listeners are bound:
/// `lambox-agent ready invoke=<addr> runtime-api=<addr>`. Everything after it is the sandbox's
/// log stream.
pub const READY_PREFIX: &str = "lambox-agent ready";

/// Parses the agent's ready line into (invoke address, Runtime API address).
pub fn parse_ready_line(line: &str) -> Option<(String, String)> {
    let rest = line.trim_end().strip_prefix(READY_PREFIX)?;
    let mut invoke = None;
    let mut runtime_api = None;
    for part in rest.split_whitespace() {
        if let Some(v) = part.strip_prefix("invoke=") {
            invoke = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("runtime-api=") {
            runtime_api = Some(v.to_owned());
        }
    }
    Some((invoke?, runtime_api?))
}

/// The ready line for the given addresses.
pub fn ready_line(invoke: &str, runtime_api: &str) -> String {
    format!("{READY_PREFIX} invoke={invoke} runtime-api={runtime_api}")
}

/// An error's body as Lambda writes it: `{"errorType": …, "errorMessage": …}`.
pub fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"errorType": error_type, "errorMessage": message}))
        .expect("error body serializes")
}

pub(crate) fn keyed(secret: &str, parts: &[&[u8]]) -> String {
    let mut message = Vec::new();
    for p in parts {
        // Length-prefixed, so that no two different inputs sign the same text.
        message.extend_from_slice(&(p.len() as u64).to_be_bytes());
        message.extend_from_slice(p);
    }
    crate::code::lower_hex(&crate::crypto::hmac_sha256(secret.as_bytes(), &message))
}

/// What lambox sends in [`PUSH_AUTH`]: the hex HMAC-SHA256, under the sandbox's secret, of the
/// request id, the deadline header, the stream limit header (`""` without one) and the
/// payload's SHA-256.
pub fn push_auth(
    secret: &str,
    request_id: &str,
    deadline_ms: &str,
    stream_limit: &str,
    payload: &[u8],
) -> String {
    let digest = crate::code::sha256(payload);
    keyed(
        secret,
        &[
            b"push",
            request_id.as_bytes(),
            deadline_ms.as_bytes(),
            stream_limit.as_bytes(),
            &digest,
        ],
    )
}

/// What an agent answers with in [`AGENT_PROOF`]: the hex HMAC-SHA256, under the sandbox's
/// secret, of the request id, whether the function failed and the answer's SHA-256.
pub fn answer_proof(secret: &str, request_id: &str, function_error: bool, body: &[u8]) -> String {
    let digest = crate::code::sha256(body);
    let failed: &[u8] = if function_error { b"1" } else { b"0" };
    keyed(secret, &[b"answer", request_id.as_bytes(), failed, &digest])
}

/// Largest response a function may return, bytes (AWS's limit).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticators_bind_everything_they_cover() {
        let base = push_auth("s", "r", "1000", "", b"{}");
        assert_eq!(base.len(), 64);
        assert_ne!(base, push_auth("t", "r", "1000", "", b"{}"));
        assert_ne!(base, push_auth("s", "q", "1000", "", b"{}"));
        assert_ne!(base, push_auth("s", "r", "1001", "", b"{}"));
        assert_ne!(base, push_auth("s", "r", "1000", "1", b"{}"));
        assert_ne!(base, push_auth("s", "r", "1000", "", b"{ }"));
        let answer = answer_proof("s", "r", false, b"1");
        assert_ne!(answer, answer_proof("s", "r", true, b"1"));
        assert_ne!(answer, answer_proof("s", "r", false, b"2"));
        assert_ne!(
            answer,
            push_auth("s", "r", "0", "", b"1"),
            "a push is never an answer"
        );
    }

    #[test]
    fn ready_line_round_trips() {
        let line = ready_line("127.0.0.1:4000", "127.0.0.1:9001");
        assert_eq!(
            parse_ready_line(&format!("{line}\n")),
            Some(("127.0.0.1:4000".into(), "127.0.0.1:9001".into()))
        );
        assert_eq!(parse_ready_line("hello"), None);
        assert_eq!(parse_ready_line("lambox-agent ready invoke=x"), None);
    }
}
