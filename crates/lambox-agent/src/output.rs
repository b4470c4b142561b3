//! The sandbox's log stream: the runtime's output and Lambda's own lines, buffered in memory and
//! written to the agent's standard output by a task of its own, with the current invocation's
//! part kept for `LogType: Tail`.
//!
//! Nothing writes to the standard output while holding a lock: [`Output`] only appends to a
//! bounded buffer. When the buffer is full, the runtime's output waits (its pipe fills and the
//! runtime blocks, as a process writing to a slow terminal does) while Lambda's own short lines
//! are still taken.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

/// How much of an invocation's log is kept: what `LogType: Tail` returns.
pub const TAIL_BYTES: usize = 4096;

/// How much written output may wait for the standard output before the runtime has to wait.
pub const MAX_PENDING_BYTES: usize = 1 << 20;

/// The agent's log buffer.
pub struct Output {
    pending: Vec<u8>,
    /// Whether the last byte written ended a line.
    at_line_start: bool,
    /// The current invocation's log, trimmed to its last [`TAIL_BYTES`] (when capturing).
    capture: Option<Vec<u8>>,
    /// Wakes the writer.
    ready: Arc<Notify>,
    /// The standard output broke: what would be written is dropped (the tail is still kept).
    discarding: bool,
}

impl Default for Output {
    fn default() -> Self {
        Self::new()
    }
}

impl Output {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            pending: Vec::new(),
            at_line_start: true,
            capture: None,
            ready: Arc::new(Notify::new()),
            discarding: false,
        }
    }

    /// Output of the runtime, as it comes.
    pub fn runtime_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.write(bytes);
        self.at_line_start = bytes.ends_with(b"\n");
    }

    /// One of Lambda's own lines, on a line of its own.
    pub fn line(&mut self, line: &str) {
        let mut text = Vec::with_capacity(line.len() + 2);
        if !self.at_line_start {
            text.push(b'\n');
        }
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
        self.write(&text);
        self.at_line_start = true;
    }

    /// Starts keeping the log of an invocation.
    pub fn begin_capture(&mut self) {
        self.capture = Some(Vec::new());
    }

    /// Stops keeping it and returns its last [`TAIL_BYTES`].
    pub fn end_capture(&mut self) -> Vec<u8> {
        let mut captured = self.capture.take().unwrap_or_default();
        if captured.len() > TAIL_BYTES {
            captured.drain(..captured.len() - TAIL_BYTES);
        }
        captured
    }

    /// Whether the runtime's output has to wait for the writer.
    pub fn is_full(&self) -> bool {
        !self.discarding && self.pending.len() >= MAX_PENDING_BYTES
    }

    /// The log's destination broke: from now on output is dropped rather than waited for.
    pub fn discard(&mut self) {
        self.discarding = true;
        self.pending = Vec::new();
    }

    /// Takes what waits to be written.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// Resolves when something may wait to be written.
    pub fn ready(&self) -> Arc<Notify> {
        self.ready.clone()
    }

    fn write(&mut self, bytes: &[u8]) {
        if !self.discarding {
            self.pending.extend_from_slice(bytes);
            self.ready.notify_one();
        }
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(bytes);
            if c.len() > 2 * TAIL_BYTES {
                c.drain(..c.len() - TAIL_BYTES);
            }
        }
    }
}

/// Writes what `output` buffers to `sink` until the sink breaks, then calls `broken` (which
/// should switch the buffer to [`Output::discard`], so that nothing waits for a writer that is
/// gone); `drained` is notified after every write. `take` takes the pending bytes out under the
/// caller's lock.
pub async fn write_out<W: tokio::io::AsyncWrite + Unpin>(
    mut sink: W,
    ready: Arc<Notify>,
    drained: Arc<Notify>,
    mut take: impl FnMut() -> Vec<u8>,
    broken: impl FnOnce(),
) {
    loop {
        let chunk = take();
        if chunk.is_empty() {
            ready.notified().await;
            continue;
        }
        // A broken log pipe must not stop invocations: the log is lost, the answers are not.
        if sink.write_all(&chunk).await.is_err() || sink.flush().await.is_err() {
            broken();
            drained.notify_waiters();
            return;
        }
        drained.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_never_join_runtime_output_and_tail_is_bounded() {
        let mut out = Output::new();
        out.runtime_bytes(b"init\n");
        out.begin_capture();
        out.line("START RequestId: a Version: $LATEST");
        out.runtime_bytes(b"no newline");
        out.line("END RequestId: a");
        let tail = out.end_capture();
        assert_eq!(
            String::from_utf8(out.take_pending()).unwrap(),
            "init\nSTART RequestId: a Version: $LATEST\nno newline\nEND RequestId: a\n"
        );
        assert_eq!(
            String::from_utf8(tail).unwrap(),
            "START RequestId: a Version: $LATEST\nno newline\nEND RequestId: a\n"
        );
        out.begin_capture();
        out.runtime_bytes(&vec![b'x'; 10_000]);
        out.line("END");
        let tail = out.end_capture();
        assert_eq!(tail.len(), TAIL_BYTES);
        assert!(tail.ends_with(b"END\n"));
    }

    #[test]
    fn the_buffer_is_full_at_its_bound() {
        let mut out = Output::new();
        out.runtime_bytes(&vec![b'x'; MAX_PENDING_BYTES - 1]);
        assert!(!out.is_full());
        out.runtime_bytes(b"y");
        assert!(out.is_full());
        assert_eq!(out.take_pending().len(), MAX_PENDING_BYTES);
        assert!(!out.is_full());
    }

    #[tokio::test]
    async fn the_writer_writes_in_order_and_a_broken_sink_stops_nothing() {
        let shared = Arc::new(std::sync::Mutex::new(Output::new()));
        let ready = shared.lock().unwrap().ready();
        let drained = Arc::new(Notify::new());
        let (client, mut server) = tokio::io::duplex(64);
        let take = {
            let shared = shared.clone();
            move || shared.lock().unwrap().take_pending()
        };
        let on_broken = {
            let shared = shared.clone();
            move || shared.lock().unwrap().discard()
        };
        let writer = tokio::spawn(write_out(client, ready, drained, take, on_broken));
        shared.lock().unwrap().line("one");
        shared.lock().unwrap().runtime_bytes(b"two\n");
        let mut got = vec![0u8; 8];
        tokio::io::AsyncReadExt::read_exact(&mut server, &mut got)
            .await
            .unwrap();
        assert_eq!(got, b"one\ntwo\n");
        drop(server);
        shared.lock().unwrap().line("lost");
        writer.await.unwrap();
        // Nothing waits for the broken writer: the buffer takes any amount, keeping none.
        let mut out = shared.lock().unwrap();
        out.runtime_bytes(&vec![b'x'; 2 * MAX_PENDING_BYTES]);
        assert!(!out.is_full());
        assert!(out.take_pending().is_empty());
    }
}
