//! A streamed answer as lambox reads it from an agent: the runtime's bytes, frame by frame as
//! they arrive, then how the invocation ended. The sandbox goes back to the pool when the end is
//! read and proved; a stream dropped before its end (its client went away) is read to its end by
//! a task of its own, so that the sandbox still goes back in a known state.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use lambox_core::answer_stream::{DataDigest, Frame, FrameDecoder, MAX_DATA_FRAME, end_proof};
use lambox_core::pool::Lease;
use lambox_core::protocol;

use super::InvokeResult;

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Bytes the function wrote.
    Chunk(Bytes),
    /// The end.
    End(StreamOutcome),
}

/// How a streamed invocation ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOutcome {
    /// The function's error JSON when it failed (mid-stream errors, timeouts, a response over
    /// the limit).
    pub error: Option<Bytes>,
    /// Base64 of the log's last 4 KB, when asked.
    pub log_tail: Option<String>,
    /// Microseconds the runtime client held the event.
    pub runtime_us: Option<u64>,
}

struct Reading {
    body: Incoming,
    decoder: FrameDecoder,
    digest: DataDigest,
    received: u64,
    lease: Lease,
    request_id: String,
    deadline: tokio::time::Instant,
}

/// A streamed answer of a function.
pub struct ResponseStream {
    executed_version: String,
    content_type: String,
    limit: u64,
    // Boxed: a stream is moved around before it is read.
    reading: Option<Box<Reading>>,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream")
            .field("executed_version", &self.executed_version)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

fn sandbox_failure(message: &str) -> StreamOutcome {
    StreamOutcome {
        error: Some(protocol::error_body("Sandbox.Failure", message).into()),
        ..StreamOutcome::default()
    }
}

impl ResponseStream {
    pub(super) fn new(
        executed_version: String,
        content_type: String,
        limit: u64,
        body: Incoming,
        lease: Lease,
        request_id: String,
        deadline: tokio::time::Instant,
    ) -> Self {
        Self {
            executed_version,
            content_type,
            limit,
            reading: Some(Box::new(Reading {
                body,
                decoder: FrameDecoder::new(),
                digest: DataDigest::new(),
                received: 0,
                lease,
                request_id,
                deadline,
            })),
        }
    }

    /// When the agent must have ended the stream (the invocation's deadline and a margin);
    /// whoever passes the stream on waits for its reader no longer than this.
    pub fn deadline(&self) -> tokio::time::Instant {
        self.reading
            .as_ref()
            .map_or_else(tokio::time::Instant::now, |r| r.deadline)
    }

    /// The version that runs.
    pub fn executed_version(&self) -> &str {
        &self.executed_version
    }

    /// The runtime's `Content-Type` (`application/vnd.awslambda.http-integration-response`
    /// when a prelude of status and headers comes first).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The next event; `None` after the end.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        self.reading.as_ref()?;
        match self.read().await {
            Ok(event) => Some(event),
            Err(message) => Some(self.broken(&message)),
        }
    }

    async fn read(&mut self) -> Result<StreamEvent, String> {
        let limit = self.limit;
        let r = self.reading.as_mut().expect("reading");
        loop {
            match r.decoder.next_frame() {
                Ok(Some(Frame::Data(data))) => {
                    r.digest.update(&data);
                    r.received += data.len() as u64;
                    if r.received > limit + MAX_DATA_FRAME as u64 {
                        return Err("the agent sent more than the limit".into());
                    }
                    return Ok(StreamEvent::Chunk(data));
                }
                Ok(Some(Frame::End(end))) => {
                    let r = self.reading.take().expect("reading");
                    let secret = &r.lease.sandbox().secret;
                    let expected = end_proof(
                        secret,
                        &r.request_id,
                        &r.digest.finish(),
                        end.error.as_deref(),
                    );
                    let proven = end
                        .proof
                        .as_deref()
                        .is_some_and(|p| lambox_core::crypto::constant_time_eq(p, &expected));
                    if !proven {
                        r.lease.discard();
                        return Ok(StreamEvent::End(sandbox_failure(
                            "the stream's end came without the agent's proof",
                        )));
                    }
                    r.lease.release();
                    return Ok(StreamEvent::End(StreamOutcome {
                        error: end.error.map(Bytes::from),
                        log_tail: end.log_tail,
                        runtime_us: end.runtime_us,
                    }));
                }
                Ok(None) => {}
                Err(e) => return Err(format!("the agent's stream is broken: {e}")),
            }
            let frame = match tokio::time::timeout_at(r.deadline, r.body.frame()).await {
                Err(_) => return Err("the agent did not end the stream".into()),
                Ok(None) => return Err("the agent's stream ended early".into()),
                Ok(Some(Err(e))) => return Err(format!("the stream broke: {e}")),
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                r.decoder.push(&data);
            }
        }
    }

    /// Ends a stream that cannot go on: the sandbox is not reused.
    fn broken(&mut self, message: &str) -> StreamEvent {
        if let Some(r) = self.reading.take() {
            tracing::warn!(sandbox = %r.lease.sandbox_id(), "{message}");
            r.lease.discard();
        }
        StreamEvent::End(sandbox_failure(message))
    }

    /// The whole answer, for callers that take whole answers (a stream over the response limit
    /// fails as a whole answer over it does).
    pub async fn collect(mut self, max: usize) -> InvokeResult {
        let mut body = Vec::new();
        let mut too_large = false;
        let outcome = loop {
            match self.next().await {
                Some(StreamEvent::Chunk(c)) => {
                    too_large |= body.len() + c.len() > max;
                    if !too_large {
                        body.extend_from_slice(&c);
                    }
                }
                Some(StreamEvent::End(o)) => break o,
                None => break StreamOutcome::default(),
            }
        };
        let (body, function_error) = match (outcome.error, too_large) {
            (Some(e), _) => (e, true),
            (None, true) => (
                protocol::error_body(
                    "Function.ResponseSizeTooLarge",
                    &format!(
                        "Response payload size exceeded maximum allowed payload size ({max} bytes)."
                    ),
                )
                .into(),
                true,
            ),
            (None, false) => (Bytes::from(body), false),
        };
        InvokeResult {
            executed_version: self.executed_version.clone(),
            body,
            function_error,
            log_tail: outcome.log_tail,
            runtime_us: outcome.runtime_us,
        }
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        let Some(reading) = self.reading.take() else {
            return;
        };
        // The function still runs to its end; its sandbox goes back once it has.
        let mut rest = Self {
            executed_version: std::mem::take(&mut self.executed_version),
            content_type: String::new(),
            limit: self.limit,
            reading: Some(reading),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { while rest.next().await.is_some() {} });
            }
            Err(_) => {
                if let Some(r) = rest.reading.take() {
                    r.lease.discard();
                }
            }
        }
    }
}
