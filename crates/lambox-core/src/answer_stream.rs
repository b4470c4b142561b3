//! A streamed answer between an agent and lambox: the framing of a runtime's streaming response
//! (`Lambda-Runtime-Function-Response-Mode: streaming`) as the agent passes it on while it
//! arrives, and the proofs that bind it to the sandbox's secret.
//!
//! Pure logic. An answer is a sequence of frames, `kind (u8) | length (u32, big-endian) |
//! payload`: data frames (`D`) carry the runtime's bytes as they came, and one end frame (`E`)
//! carries [`StreamEnd`] as JSON. The agent proves at the start that it is the sandbox's agent
//! ([`stream_proof`], a header, so that lambox may pass bytes on before the end), and at the end
//! that the bytes and the outcome are the ones it sent ([`StreamEnd::proof`]).

use bytes::{Buf, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Push request header: lambox takes a streamed answer of at most this many bytes (decimal).
/// Without it the agent buffers a streaming response into one answer, as for Invoke.
pub const STREAM_LIMIT: &str = "lambox-stream-limit";
/// Answer header: `stream` when the answer is a sequence of frames.
pub const ANSWER_MODE: &str = "lambox-answer-mode";
/// Answer header: the runtime's `Content-Type` of a streamed answer.
pub const STREAM_CONTENT_TYPE: &str = "lambox-stream-content-type";
/// The content type of a runtime's response when it names none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Largest payload of one frame a decoder accepts: data frames are cut to at most
/// [`MAX_DATA_FRAME`]; an end frame carries at most an error body and a log tail.
pub const MAX_FRAME: usize = 8 * 1024 * 1024;
/// Largest data frame an encoder writes.
pub const MAX_DATA_FRAME: usize = 64 * 1024;

const DATA: u8 = b'D';
const END: u8 = b'E';

/// How a streamed answer ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEnd {
    /// The function's error JSON when it failed (an error trailer, a timeout, an exit, a
    /// response over the limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Base64 of the last 4 KB of the invocation's log, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// Microseconds the runtime client held the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_us: Option<u64>,
    /// [`end_proof`] of the answer, when the agent has a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// A frame of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Bytes of the runtime's response.
    Data(Bytes),
    /// The end.
    End(StreamEnd),
}

/// The frames of `data`, cut to [`MAX_DATA_FRAME`].
pub fn encode_data(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / MAX_DATA_FRAME + 1));
    for chunk in data.chunks(MAX_DATA_FRAME) {
        out.push(DATA);
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// The end frame.
pub fn encode_end(end: &StreamEnd) -> Vec<u8> {
    let json = serde_json::to_vec(end).expect("an end serializes");
    let mut out = Vec::with_capacity(json.len() + 5);
    out.push(END);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// Why bytes are not a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A frame of an unknown kind.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A frame larger than [`MAX_FRAME`].
    #[error("frame of {0} bytes")]
    TooLarge(usize),
    /// An end frame that is not [`StreamEnd`] JSON.
    #[error("malformed end frame: {0}")]
    BadEnd(String),
}

/// Cuts bytes as they arrive into frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes that arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished frame are buffered.
    pub fn is_mid_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let kind = self.buf[0];
        if kind != DATA && kind != END {
            return Err(FrameError::UnknownKind(kind));
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        self.buf.advance(5);
        let payload = self.buf.split_to(len).freeze();
        Ok(Some(match kind {
            DATA => Frame::Data(payload),
            _ => Frame::End(
                serde_json::from_slice(&payload).map_err(|e| FrameError::BadEnd(e.to_string()))?,
            ),
        }))
    }
}

/// The running digest of a streamed answer's data.
#[derive(Debug, Clone, Default)]
pub struct DataDigest(Sha256);

impl DataDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes of the answer.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The SHA-256 of all bytes added.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// What an agent answers with in the proof header of a streamed answer: the hex HMAC-SHA256,
/// under the sandbox's secret, of the request id (the bytes that follow are bound by
/// [`end_proof`]).
pub fn stream_proof(secret: &str, request_id: &str) -> String {
    crate::protocol::keyed(secret, &[b"stream", request_id.as_bytes()])
}

/// The proof in a streamed answer's end: the hex HMAC-SHA256, under the sandbox's secret, of the
/// request id, the SHA-256 of the data and the error, if any.
pub fn end_proof(
    secret: &str,
    request_id: &str,
    data_sha256: &[u8; 32],
    error: Option<&str>,
) -> String {
    let error: &[u8] = error.map_or(b"\x00none", str::as_bytes);
    crate::protocol::keyed(
        secret,
        &[b"stream-end", request_id.as_bytes(), data_sha256, error],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_however_the_bytes_are_cut() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let end = StreamEnd {
            error: Some(r#"{"errorType":"E"}"#.into()),
            log_tail: None,
            runtime_us: Some(5),
            proof: Some("p".into()),
        };
        let mut wire = encode_data(&data);
        wire.extend(encode_end(&end));
        for cut in [1, 7, 4096, wire.len()] {
            let mut d = FrameDecoder::new();
            let (mut got, mut ended) = (Vec::new(), None);
            for piece in wire.chunks(cut) {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    match f {
                        Frame::Data(b) => {
                            assert!(b.len() <= MAX_DATA_FRAME);
                            got.extend_from_slice(&b);
                        }
                        Frame::End(e) => ended = Some(e),
                    }
                }
            }
            assert_eq!(got, data);
            assert_eq!(ended.as_ref(), Some(&end));
            assert!(!d.is_mid_frame());
        }
    }

    #[test]
    fn bad_frames_are_refused() {
        let mut d = FrameDecoder::new();
        d.push(b"X\x00\x00\x00\x00");
        assert_eq!(d.next_frame(), Err(FrameError::UnknownKind(b'X')));
        let mut d = FrameDecoder::new();
        d.push(&[b'D', 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(d.next_frame(), Err(FrameError::TooLarge(_))));
        let mut d = FrameDecoder::new();
        d.push(b"E\x00\x00\x00\x01{");
        assert!(matches!(d.next_frame(), Err(FrameError::BadEnd(_))));
    }

    #[test]
    fn proofs_bind_what_they_cover() {
        let digest = |b: &[u8]| {
            let mut d = DataDigest::new();
            d.update(b);
            d.finish()
        };
        let base = end_proof("s", "r", &digest(b"ab"), None);
        assert_ne!(base, end_proof("t", "r", &digest(b"ab"), None));
        assert_ne!(base, end_proof("s", "q", &digest(b"ab"), None));
        assert_ne!(base, end_proof("s", "r", &digest(b"abc"), None));
        assert_ne!(base, end_proof("s", "r", &digest(b"ab"), Some("{}")));
        assert_ne!(stream_proof("s", "r"), stream_proof("s", "q"));
        assert_ne!(
            stream_proof("s", "r"),
            crate::protocol::answer_proof("s", "r", false, b"")
        );
    }
}
