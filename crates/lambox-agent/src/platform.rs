//! The platform's own log records around invocations, as Lambda writes them for a function whose
//! `LoggingConfig.LogFormat` is `JSON`: one compact JSON object per line (`{"time", "type",
//! "record"}`) in place of the text `INIT_START`/`START`/`END`/`REPORT` lines, each at the level
//! Lambda gives it, written only when the function's `SystemLogLevel` lets it through. Pure
//! formatting.

use serde::Serialize;

/// A system log level, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `DEBUG`.
    Debug,
    /// `INFO` (the default).
    Info,
    /// `WARN`.
    Warn,
}

impl Level {
    /// Parses `SystemLogLevel` (`INFO` for anything unknown).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Self::Debug,
            "WARN" => Self::Warn,
            _ => Self::Info,
        }
    }
}

/// How the platform writes its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// Lambda's text lines.
    Text,
    /// JSON records of at least this level.
    Json(Level),
}

/// How an invocation ended, as the records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The function answered.
    Success,
    /// The function answered with an error.
    Error,
    /// It ran out of time.
    Timeout,
    /// The runtime failed (exited, or could not start).
    Failure,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Failure => "failure",
        }
    }
}

/// A record in Lambda's key order: `time`, `type`, `record`.
#[derive(Serialize)]
struct Envelope<'a, R: Serialize> {
    time: &'a str,
    #[serde(rename = "type")]
    kind: String,
    record: R,
}

/// One record, if `style` lets its level through.
fn record<R: Serialize>(
    style: LogStyle,
    level: Level,
    time: &str,
    kind: &str,
    record: R,
) -> Option<String> {
    match style {
        LogStyle::Json(min) if level >= min => serde_json::to_string(&Envelope {
            time,
            kind: format!("platform.{kind}"),
            record,
        })
        .ok(),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitStart<'a> {
    initialization_type: &'a str,
    phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version_arn: Option<&'a str>,
    function_name: &'a str,
    function_version: &'a str,
    instance_id: &'a str,
    instance_max_memory: u64,
}

/// `platform.initStart`: INFO when the runtime version is known, else DEBUG.
#[allow(clippy::too_many_arguments)]
pub fn init_start(
    style: LogStyle,
    time: &str,
    initialization_type: &str,
    runtime_version: Option<(&str, &str)>,
    function_name: &str,
    function_version: &str,
    instance_id: &str,
    memory_mb: u32,
) -> Option<String> {
    let level = if runtime_version.is_some() {
        Level::Info
    } else {
        Level::Debug
    };
    let r = InitStart {
        initialization_type,
        phase: "init",
        runtime_version: runtime_version.map(|(v, _)| v),
        runtime_version_arn: runtime_version.map(|(_, a)| a),
        function_name,
        function_version,
        instance_id,
        instance_max_memory: u64::from(memory_mb) * 1024 * 1024,
    };
    record(style, level, time, "initStart", r)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Start<'a> {
    request_id: &'a str,
    function_arn: &'a str,
    version: &'a str,
}

/// `platform.start` (INFO).
pub fn start(
    style: LogStyle,
    time: &str,
    request_id: &str,
    function_arn: &str,
    version: &str,
) -> Option<String> {
    let r = Start {
        request_id,
        function_arn,
        version,
    };
    record(style, Level::Info, time, "start", r)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoneMetrics {
    duration_ms: f64,
    produced_bytes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeDone<'a> {
    request_id: &'a str,
    status: &'static str,
    metrics: DoneMetrics,
}

/// `platform.runtimeDone`: DEBUG on success, WARN otherwise.
pub fn runtime_done(
    style: LogStyle,
    time: &str,
    request_id: &str,
    status: Status,
    duration_ms: f64,
    produced_bytes: usize,
) -> Option<String> {
    let level = if status == Status::Success {
        Level::Debug
    } else {
        Level::Warn
    };
    let r = RuntimeDone {
        request_id,
        status: status.as_str(),
        metrics: DoneMetrics {
            duration_ms: round3(duration_ms),
            produced_bytes,
        },
    };
    record(style, level, time, "runtimeDone", r)
}

/// The measurements of a `platform.report`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Duration, ms.
    pub duration_ms: f64,
    /// Billed duration, ms.
    #[serde(rename = "billedDurationMs")]
    pub billed_ms: u64,
    /// Configured memory, MB.
    #[serde(rename = "memorySizeMB")]
    pub memory_size_mb: u32,
    /// Peak memory, MB.
    #[serde(rename = "maxMemoryUsedMB")]
    pub max_memory_used_mb: u64,
    /// Init duration, ms, on a cold start.
    #[serde(rename = "initDurationMs", skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportRecord<'a> {
    request_id: &'a str,
    metrics: Metrics,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
}

/// `platform.report`: INFO on success, WARN otherwise.
pub fn report(
    style: LogStyle,
    time: &str,
    request_id: &str,
    m: &Metrics,
    status: Status,
    error_type: Option<&str>,
) -> Option<String> {
    let level = if status == Status::Success {
        Level::Info
    } else {
        Level::Warn
    };
    let mut metrics = *m;
    metrics.duration_ms = round3(m.duration_ms);
    metrics.init_ms = m.init_ms.map(round3);
    let r = ReportRecord {
        request_id,
        metrics,
        status: status.as_str(),
        error_type,
    };
    record(style, level, time, "report", r)
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn records_have_lambdas_shape_and_levels() {
        let info = LogStyle::Json(Level::Info);
        let started = start(info, "t", "r1", "arn:f", "$LATEST").unwrap();
        assert_eq!(
            started,
            r#"{"time":"t","type":"platform.start","record":{"requestId":"r1","functionArn":"arn:f","version":"$LATEST"}}"#
        );
        let m = Metrics {
            duration_ms: 1.23456,
            billed_ms: 2,
            memory_size_mb: 128,
            max_memory_used_mb: 40,
            init_ms: Some(10.0),
        };
        let v: Value =
            serde_json::from_str(&report(info, "t", "r1", &m, Status::Success, None).unwrap())
                .unwrap();
        assert_eq!(v["record"]["metrics"]["durationMs"], 1.235);
        assert_eq!(v["record"]["metrics"]["initDurationMs"], 10.0);
        assert_eq!(v["record"]["status"], "success");
        // Levels: DEBUG records only at DEBUG; a failure's WARN records at WARN.
        assert!(runtime_done(info, "t", "r1", Status::Success, 1.0, 3).is_none());
        assert!(
            runtime_done(
                LogStyle::Json(Level::Debug),
                "t",
                "r1",
                Status::Success,
                1.0,
                3
            )
            .is_some()
        );
        let warn = LogStyle::Json(Level::Warn);
        assert!(report(warn, "t", "r1", &m, Status::Success, None).is_none());
        assert!(report(warn, "t", "r1", &m, Status::Timeout, None).is_some());
        assert!(init_start(info, "t", "on-demand", None, "f", "$LATEST", "s", 128).is_none());
        let v: Value = serde_json::from_str(
            &init_start(
                info,
                "t",
                "on-demand",
                Some(("python:3.12.1", "arn:rt")),
                "f",
                "$LATEST",
                "s",
                128,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["record"]["instanceMaxMemory"], 134_217_728);
        assert!(start(LogStyle::Text, "t", "r", "a", "v").is_none());
        assert_eq!(Level::parse("warn"), Level::Warn);
    }
}
