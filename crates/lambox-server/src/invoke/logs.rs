//! From sandbox log streams to stored invocation logs: each sandbox's lines are cut into one
//! record per invocation (from START to REPORT, with any output the runtime wrote while
//! starting), and a collector writes records to the store in batches, off the invoke path.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambox_core::backend::{LogSink, SandboxSpec};
use lambox_core::pool::FunctionKey;
use lambox_store::{InvocationLog, LogEvent, NewLogEvent, Scope, Store};
use tokio::sync::mpsc;

/// Most of an invocation's log that is stored: its first and last half of this are kept, with
/// a note of what was dropped between them. Four of CloudWatch Logs' largest events (256 KiB,
/// the bound of a line) fit in it.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Cuts one sandbox's log stream into invocation records of bounded size.
#[derive(Debug, Default)]
pub struct LogSegmenter {
    /// The record's start, up to half the bound.
    head: String,
    /// Its latest lines once the head is full, trimmed from the front to half the bound.
    tail: std::collections::VecDeque<String>,
    tail_bytes: usize,
    dropped: usize,
    request_id: Option<String>,
}

/// The request id of a JSON platform record of `kind` (`start`, `report`: what stands for
/// START and REPORT when a function's log format is JSON).
fn platform_record(line: &str, kind: &str) -> Option<String> {
    if !line.starts_with("{\"time\":") || !line.contains(&format!("\"type\":\"platform.{kind}\"")) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v["record"]["requestId"].as_str().map(str::to_owned)
}

impl LogSegmenter {
    /// Takes one line; returns the finished record (request id, text) when it ends one.
    pub fn push(&mut self, line: &str) -> Option<(String, String)> {
        let started = line
            .strip_prefix("START RequestId: ")
            .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
            .or_else(|| platform_record(line, "start"));
        if let Some(id) = started {
            self.request_id = Some(id);
            // What came before (a runtime's start-up output) is over half the bound: keep its
            // end, so that the record's own lines have the room.
            if !self.tail.is_empty() {
                let before = self.take();
                let mut cut = before.len() - before.len().min(MAX_RECORD_BYTES / 8);
                while !before.is_char_boundary(cut) {
                    cut += 1;
                }
                self.head = format!(
                    "[lambox: {cut} bytes of output before this invocation were dropped]\n{}",
                    &before[cut..]
                );
            }
        }
        self.add(line);
        let reported = line
            .strip_prefix("REPORT RequestId: ")
            .and_then(|r| r.split_whitespace().next().map(str::to_owned))
            .or_else(|| platform_record(line, "report"));
        let ends = reported.is_some_and(|id| Some(id.as_str()) == self.request_id.as_deref());
        if ends {
            let id = self.request_id.take().unwrap_or_default();
            return Some((id, self.take()));
        }
        None
    }

    fn add(&mut self, line: &str) {
        let half = MAX_RECORD_BYTES / 2;
        if self.tail.is_empty() && self.head.len() + line.len() < half {
            self.head.push_str(line);
            self.head.push('\n');
            return;
        }
        self.tail_bytes += line.len() + 1;
        self.tail.push_back(line.to_owned());
        while self.tail_bytes > half && self.tail.len() > 1 {
            let old = self.tail.pop_front().expect("more than one line");
            self.tail_bytes -= old.len() + 1;
            self.dropped += old.len() + 1;
        }
    }

    fn take(&mut self) -> String {
        let mut text = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            text.push_str(&format!(
                "[lambox: {} bytes of this invocation's log were dropped here]\n",
                self.dropped
            ));
        }
        for line in self.tail.drain(..) {
            text.push_str(&line);
            text.push('\n');
        }
        self.tail_bytes = 0;
        self.dropped = 0;
        text
    }
}

/// Bytes of records waiting for the collector; beyond this, new records are dropped (and
/// counted). Records are 1 MiB at most, usually a few hundred bytes: a bound in records would
/// either drop small ones under load or hold gigabytes of large ones.
const QUEUED_BYTES: usize = 64 << 20;

/// What a sink hands the collector.
enum Collected {
    /// An invocation's record (lambox's admin API, `lambox logs`).
    Invocation(InvocationLog),
    /// One line (the CloudWatch Logs API).
    Event(NewLogEvent),
}

impl Collected {
    fn bytes(&self) -> usize {
        match self {
            Self::Invocation(l) => l.text.len(),
            Self::Event(e) => e.event.message.len(),
        }
    }
}

/// Hands out log sinks and stores what they collect.
#[derive(Clone)]
pub struct LogCollector {
    // Unbounded as a channel; `queued` bounds it in bytes.
    tx: mpsc::UnboundedSender<Collected>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
}

impl LogCollector {
    /// Starts the collector task.
    pub fn start(store: Store, keep_per_function: u32, keep_events_per_group: u32) -> Self {
        // Bounded in bytes by `queued`, which the sinks check before they send.
        let (tx, mut rx) = mpsc::unbounded_channel::<Collected>();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while let Some(first) = rx.recv().await {
                batch.push(first);
                // What arrives within a short window goes into the same transaction: a durable
                // write per invocation would tax the invoke path (measured: warm p50 366 µs →
                // 492 µs), while logs may well appear 20 ms late.
                let window = tokio::time::sleep(Duration::from_millis(20));
                tokio::pin!(window);
                while batch.len() < 2000 {
                    tokio::select! {
                        () = &mut window => break,
                        next = rx.recv() => match next {
                            Some(l) => batch.push(l),
                            None => break,
                        },
                    }
                }
                let bytes: usize = batch.iter().map(Collected::bytes).sum();
                let (mut records, mut events) = (Vec::new(), Vec::new());
                for c in batch.drain(..) {
                    match c {
                        Collected::Invocation(l) => records.push(l),
                        Collected::Event(e) => events.push(e),
                    }
                }
                if let Err(e) = store
                    .append_log_events(&events, keep_events_per_group)
                    .await
                {
                    tracing::warn!(error = %e, "could not store log events");
                }
                if let Err(e) = store.append_logs(&records, keep_per_function).await {
                    tracing::warn!(error = %e, "could not store invocation logs");
                }
                taken.fetch_sub(bytes, Ordering::Relaxed);
                batch.clear();
            }
        });
        Self {
            tx,
            queued,
            dropped: Arc::default(),
        }
    }

    /// Queues `item` unless the queue holds its bound already (then it is lost, not the
    /// memory).
    fn queue(&self, item: Collected) {
        let len = item.bytes();
        if self.queued.fetch_add(len, Ordering::Relaxed) + len > QUEUED_BYTES {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "logs dropped: the store falls behind");
            }
            return;
        }
        let _ = self.tx.send(item);
    }

    /// A sink for one sandbox of `key`, started as `spec`.
    pub fn sink(&self, key: &FunctionKey, spec: &SandboxSpec) -> LogSink {
        let this = self.clone();
        let key = key.clone();
        let sandbox = spec.sandbox_id.clone();
        let scope = Scope {
            account: key.account.clone(),
            region: key.region.clone(),
        };
        let group = spec
            .revision
            .config
            .logging
            .log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/lambda/{}", key.name));
        let stream = spec.log_stream.clone();
        let segmenter = Arc::new(Mutex::new(LogSegmenter::default()));
        Arc::new(move |line: &str| {
            tracing::debug!(function = %key.name, sandbox = %sandbox, "{line}");
            let now = lambox_core::time::now_millis();
            // The agent's own ready line is lambox's, not the function's.
            if !line.starts_with(lambox_core::protocol::READY_PREFIX) {
                this.queue(Collected::Event(NewLogEvent {
                    scope: scope.clone(),
                    event: LogEvent {
                        id: 0,
                        group: group.clone(),
                        stream: stream.clone(),
                        timestamp_ms: now,
                        message: line.to_owned(),
                    },
                }));
            }
            let done = segmenter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line);
            if let Some((request_id, text)) = done {
                this.queue(Collected::Invocation(InvocationLog {
                    id: 0,
                    account: key.account.clone(),
                    region: key.region.clone(),
                    function_name: key.name.clone(),
                    request_id,
                    created_ms: now,
                    text,
                }));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_invocation_log_keeps_its_head_and_tail() {
        let mut s = LogSegmenter::default();
        s.push("START RequestId: big Version: $LATEST");
        let line = "x".repeat(1000);
        for _ in 0..50_000 {
            assert_eq!(s.push(&line), None);
        }
        s.push("END RequestId: big");
        let (id, text) = s.push("REPORT RequestId: big\tDuration: 1.00 ms").unwrap();
        assert_eq!(id, "big");
        assert!(text.len() <= MAX_RECORD_BYTES + 100, "{}", text.len());
        assert!(text.starts_with("START RequestId: big"));
        assert!(text.ends_with("END RequestId: big\nREPORT RequestId: big\tDuration: 1.00 ms\n"));
        assert!(text.contains("bytes of this invocation's log were dropped here]"));
        // Output before an invocation is bounded too, and START keeps its place.
        for _ in 0..1000 {
            s.push(&line);
        }
        s.push("START RequestId: small Version: $LATEST");
        let (_, text) = s.push("REPORT RequestId: small").unwrap();
        assert!(text.len() < MAX_RECORD_BYTES / 4, "{}", text.len());
        assert!(text.starts_with("[lambox: "));
        assert!(
            text.ends_with("START RequestId: small Version: $LATEST\nREPORT RequestId: small\n")
        );
    }

    #[test]
    fn json_platform_records_delimit_invocations_too() {
        let mut s = LogSegmenter::default();
        let start = r#"{"time":"t","type":"platform.start","record":{"requestId":"j","functionArn":"a","version":"$LATEST"}}"#;
        let report = r#"{"time":"t","type":"platform.report","record":{"requestId":"j","metrics":{},"status":"success"}}"#;
        assert_eq!(s.push(start), None);
        assert_eq!(
            s.push(r#"{"timestamp": "x", "level": "INFO", "message": "hi"}"#),
            None
        );
        let (id, text) = s.push(report).unwrap();
        assert_eq!(id, "j");
        assert!(text.contains("\"message\": \"hi\""));
    }

    #[test]
    fn one_record_per_invocation_with_init_output_first() {
        let mut s = LogSegmenter::default();
        assert_eq!(s.push("lambox-agent ready"), None);
        assert_eq!(s.push("init output"), None);
        assert_eq!(s.push("START RequestId: a Version: $LATEST"), None);
        assert_eq!(s.push("hello"), None);
        assert_eq!(s.push("END RequestId: a"), None);
        let (id, text) = s.push("REPORT RequestId: a\tDuration: 1.00 ms\t").unwrap();
        assert_eq!(id, "a");
        assert!(text.starts_with("lambox-agent ready\ninit output\nSTART RequestId: a"));
        assert!(text.ends_with("Duration: 1.00 ms\t\n"));
        s.push("START RequestId: b Version: $LATEST");
        let (id, text) = s.push("REPORT RequestId: b\t").unwrap();
        assert_eq!(id, "b");
        assert!(text.starts_with("START RequestId: b"));
    }
}
