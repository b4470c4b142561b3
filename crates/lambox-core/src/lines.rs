//! Cutting a sandbox's byte stream into log lines of bounded length, for every reader of a
//! sandbox's output (the process backend's pipe, the Docker backend's log stream). Pure logic.
//!
//! A line longer than the bound is cut at it, marked as cut, and the rest of it up to its
//! newline is dropped, so that no reader ever holds more than one bound of one line.

/// The longest log line kept: CloudWatch Logs' largest event (256 KiB).
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// What ends a line that was cut at the bound.
pub const CUT_MARKER: &str = " [lambox: line truncated]";

/// Splits a byte stream into lines (without their line ends).
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max: usize,
    /// Dropping the rest of a line that was cut.
    skipping: bool,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    /// A splitter that cuts lines at `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            max: max.max(1),
            skipping: false,
        }
    }

    /// Takes a chunk of the stream and hands each line it completes to `emit`.
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(&str)) {
        while !chunk.is_empty() {
            let newline = chunk.iter().position(|b| *b == b'\n');
            let (part, rest) = match newline {
                Some(i) => (&chunk[..i], Some(&chunk[i + 1..])),
                None => (chunk, None),
            };
            if !self.skipping {
                let room = self.max - self.pending.len();
                if part.len() > room {
                    self.pending.extend_from_slice(&part[..room]);
                    self.emit_pending(true, &mut emit);
                    self.skipping = true;
                } else {
                    self.pending.extend_from_slice(part);
                }
            }
            match rest {
                Some(rest) => {
                    if !self.skipping {
                        self.emit_pending(false, &mut emit);
                    }
                    self.skipping = false;
                    chunk = rest;
                }
                None => break,
            }
        }
    }

    /// The stream ended: hands out a last line without a line end, if any.
    pub fn finish(&mut self, mut emit: impl FnMut(&str)) {
        if !self.pending.is_empty() && !self.skipping {
            self.emit_pending(false, &mut emit);
        }
        self.pending.clear();
        self.skipping = false;
    }

    fn emit_pending(&mut self, cut: bool, emit: &mut impl FnMut(&str)) {
        let mut line = String::from_utf8_lossy(&self.pending).into_owned();
        if line.ends_with('\r') {
            line.pop();
        }
        if cut {
            line.push_str(CUT_MARKER);
        }
        emit(&line);
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |l| out.push(l.to_owned()));
        }
        s.finish(|l| out.push(l.to_owned()));
        out
    }

    #[test]
    fn lines_across_chunks() {
        assert_eq!(
            split(100, &[b"a\nb", b"c\r\n", b"\nd"]),
            ["a", "bc", "", "d"]
        );
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_dropped() {
        let out = split(4, &[b"abcdefgh", b"ijk\nnext\n"]);
        assert_eq!(out, [format!("abcd{CUT_MARKER}"), "next".to_owned()]);
        let out = split(4, &[b"abcd\nabcde\n"]);
        assert_eq!(out, ["abcd".to_owned(), format!("abcd{CUT_MARKER}")]);
    }

    #[test]
    fn holds_at_most_one_bound() {
        let mut s = LineSplitter::new(1024);
        let mut lines = 0;
        for _ in 0..1000 {
            s.push(&[b'x'; 4096], |_| lines += 1);
            assert!(s.pending.len() <= 1024);
        }
        assert_eq!(lines, 1);
    }
}
