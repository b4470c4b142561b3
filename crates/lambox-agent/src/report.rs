//! The lines Lambda writes around every invocation, and AWS's error bodies for failures the
//! agent itself detects. Pure formatting.

use std::time::Duration;

/// `INIT_START Runtime Version: <version>\tRuntime Version ARN: <arn>`, as a sandbox's init
/// phase begins.
pub fn init_start_line(version: &str, arn: &str) -> String {
    format!("INIT_START Runtime Version: {version}\tRuntime Version ARN: {arn}")
}

/// Now, as Lambda's records and lines write it (`2024-05-20T16:29:45.022Z`).
pub fn now_z() -> String {
    lambox_core::time::format_timestamp(lambox_core::time::now_millis()).replace("+0000", "Z")
}

/// The billed duration: the invocation's, with the init phase's on a cold start (Lambda bills
/// the init phase too), rounded up to the millisecond.
pub fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    let ms = (duration + init.unwrap_or_default()).as_secs_f64() * 1000.0;
    ms.ceil().max(1.0) as u64
}

/// `START RequestId: <id> Version: <version>`.
pub fn start_line(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}")
}

/// `END RequestId: <id>`.
pub fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// The measurements in a REPORT line.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// From push to answer.
    pub duration: Duration,
    /// Configured memory, MB.
    pub memory_size_mb: u32,
    /// Peak resident memory of the runtime, MB.
    pub max_memory_used_mb: u64,
    /// Runtime start-up, on a cold start.
    pub init: Option<Duration>,
}

/// `REPORT RequestId: …\tDuration: … ms\tBilled Duration: … ms\t…`, tab-separated as Lambda
/// writes it.
pub fn report_line(request_id: &str, r: &Report) -> String {
    let ms = r.duration.as_secs_f64() * 1000.0;
    let billed = billed_ms(r.duration, r.init);
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {} MB\tMax Memory Used: {} MB\t",
        r.memory_size_mb, r.max_memory_used_mb
    );
    if let Some(init) = r.init {
        line.push_str(&format!(
            "Init Duration: {:.2} ms\t",
            init.as_secs_f64() * 1000.0
        ));
    }
    line
}

/// The error body of an invocation that ran out of time.
pub fn timeout_error(request_id: &str, timeout: Duration) -> (String, String) {
    let message = format!(
        "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
        timeout.as_secs_f64()
    );
    ("Sandbox.Timedout".to_owned(), message)
}

/// The error body of an invocation whose runtime exited; `code` is its exit status, `signal`
/// the signal that killed it.
pub fn exit_error(request_id: &str, code: Option<i32>, signal: Option<i32>) -> (String, String) {
    let reason = match (code, signal) {
        (Some(0), _) => "Runtime exited without providing a reason".to_owned(),
        (Some(c), _) => format!("Runtime exited with error: exit status {c}"),
        (None, Some(s)) => format!("Runtime exited with error: signal: {s}"),
        (None, None) => "Runtime exited without providing a reason".to_owned(),
    };
    (
        "Runtime.ExitError".to_owned(),
        format!("RequestId: {request_id} Error: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_like_lambda() {
        let r = Report {
            duration: Duration::from_micros(3_654),
            memory_size_mb: 128,
            max_memory_used_mb: 71,
            init: Some(Duration::from_micros(107_850)),
        };
        assert_eq!(
            report_line("id-1", &r),
            "REPORT RequestId: id-1\tDuration: 3.65 ms\tBilled Duration: 112 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 71 MB\tInit Duration: 107.85 ms\t",
            "a cold start bills its init too (3.654 + 107.85 ms, rounded up)"
        );
        let warm = report_line("x", &Report { init: None, ..r });
        assert!(!warm.contains("Init") && warm.contains("Billed Duration: 4 ms"));
    }

    #[test]
    fn failure_messages() {
        assert_eq!(
            timeout_error("abc", Duration::from_secs(1)).1,
            "RequestId: abc Error: Task timed out after 1.00 seconds"
        );
        assert_eq!(
            exit_error("abc", Some(1), None).1,
            "RequestId: abc Error: Runtime exited with error: exit status 1"
        );
        assert_eq!(
            exit_error("abc", None, Some(9)).1,
            "RequestId: abc Error: Runtime exited with error: signal: 9"
        );
        assert_eq!(
            start_line("a", "$LATEST"),
            "START RequestId: a Version: $LATEST"
        );
        assert_eq!(end_line("a"), "END RequestId: a");
    }
}
