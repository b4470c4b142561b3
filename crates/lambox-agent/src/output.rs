//! The sandbox's log stream: the runtime's output and Lambda's own lines, written to the
//! agent's standard output, with the current invocation's part kept for `LogType: Tail`.

use std::io::Write;

/// How much of an invocation's log is kept: what `LogType: Tail` returns.
pub const TAIL_BYTES: usize = 4096;

/// The agent's log writer.
pub struct Output {
    sink: Box<dyn Write + Send>,
    /// Whether the last byte written ended a line.
    at_line_start: bool,
    /// The current invocation's log, trimmed to its last [`TAIL_BYTES`] (when capturing).
    capture: Option<Vec<u8>>,
}

impl Output {
    /// Writes to `sink`.
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Self {
            sink,
            at_line_start: true,
            capture: None,
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

    fn write(&mut self, bytes: &[u8]) {
        // A broken log pipe must not stop invocations; the log is lost, the answer is not.
        let _ = self.sink.write_all(bytes).and_then(|()| self.sink.flush());
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(bytes);
            if c.len() > 2 * TAIL_BYTES {
                c.drain(..c.len() - TAIL_BYTES);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_never_join_runtime_output_and_tail_is_bounded() {
        let shared = Shared::default();
        let mut out = Output::new(Box::new(shared.clone()));
        out.runtime_bytes(b"init\n");
        out.begin_capture();
        out.line("START RequestId: a Version: $LATEST");
        out.runtime_bytes(b"no newline");
        out.line("END RequestId: a");
        let tail = out.end_capture();
        assert_eq!(
            String::from_utf8(shared.0.lock().unwrap().clone()).unwrap(),
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
}
