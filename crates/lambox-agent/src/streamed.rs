//! A streamed answer: the runtime's streaming response passed on to lambox frame by frame as it
//! arrives (`lambox_core::answer_stream`), then the invocation's end — its error if any, its
//! last log lines, the proof of what was sent. The deadline holds while the stream runs: a
//! runtime past it is killed and the stream ends with Lambda's timeout error.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Either;
use hyper::Response;
use hyper::header::HeaderValue;
use lambox_core::answer_stream::{self, DataDigest, StreamEnd};
use lambox_core::protocol;
use tokio::sync::{OwnedMutexGuard, mpsc};

use crate::agent::{Agent, Exit, Piece, StreamStart};
use crate::body::{AgentBody, ChannelBody};
use crate::invoke::{Closing, epoch_ms, timed_out};
use crate::platform::Status;

/// How many frames may wait for lambox to read them: the runtime waits behind them.
const FRAMES_IN_FLIGHT: usize = 4;

/// The answer to lambox's push: the stream's headers at once, its frames as they come.
pub(crate) fn answer(
    agent: Arc<Agent>,
    one_at_a_time: OwnedMutexGuard<()>,
    closing: Closing,
    stream: StreamStart,
) -> Response<AgentBody> {
    let (tx, rx) = mpsc::channel(FRAMES_IN_FLIGHT);
    let mut response = Response::new(Either::Right(ChannelBody(rx)));
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.lambox.stream"),
    );
    h.insert(
        answer_stream::ANSWER_MODE,
        HeaderValue::from_static("stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&stream.content_type) {
        h.insert(answer_stream::STREAM_CONTENT_TYPE, v);
    }
    if let Some(secret) = &agent.settings.secret
        && let Ok(v) =
            HeaderValue::from_str(&answer_stream::stream_proof(secret, &closing.request_id))
    {
        h.insert(protocol::AGENT_PROOF, v);
    }
    tokio::spawn(async move {
        pump(&agent, &closing, stream.pieces, tx).await;
        // The next push waits for this one's last line.
        drop(one_at_a_time);
    });
    response
}

enum Ended {
    Done(Option<String>),
    TimedOut,
    Exited(Exit),
}

async fn pump(
    agent: &Arc<Agent>,
    closing: &Closing,
    mut pieces: mpsc::Receiver<Piece>,
    tx: mpsc::Sender<Bytes>,
) {
    let request_id = &closing.request_id;
    let mut digest = DataDigest::new();
    let mut sent = 0usize;
    // lambox may go away (its client did): the runtime still runs to its end, as on Lambda.
    let mut lost = false;
    let remaining = Duration::from_millis(closing.deadline_ms.saturating_sub(epoch_ms()));
    let deadline = tokio::time::sleep(remaining);
    tokio::pin!(deadline);
    let ended = loop {
        tokio::select! {
            piece = pieces.recv() => match piece {
                Some(Piece::Data(data)) => {
                    digest.update(&data);
                    sent += data.len();
                    if lost {
                        continue;
                    }
                    // A reader that stops reading does not hold the sandbox past the deadline.
                    tokio::select! {
                        sent = tx.send(answer_stream::encode_data(&data).into()) => {
                            lost = sent.is_err();
                        }
                        () = &mut deadline => break Ended::TimedOut,
                        exit = agent.exited(closing.generation) => break Ended::Exited(exit),
                    }
                }
                Some(Piece::End(error)) => break Ended::Done(error),
                None => break Ended::Done(Some(error_text(&protocol::error_body(
                    "Runtime.TruncatedResponse",
                    "the runtime's response ended without its end",
                )))),
            },
            () = &mut deadline => break Ended::TimedOut,
            exit = agent.exited(closing.generation) => break Ended::Exited(exit),
        }
    };
    let measured = closing.measure(agent);
    let (error, status) = match ended {
        Ended::Done(None) => (None, Status::Success),
        Ended::Done(Some(e)) => (Some(e), Status::Error),
        Ended::TimedOut => (
            Some(error_text(&timed_out(agent, request_id))),
            Status::Timeout,
        ),
        Ended::Exited(exit) => {
            let (t, message) = crate::report::exit_error(request_id, exit.code, exit.signal);
            agent.output().line(&message);
            (
                Some(error_text(&protocol::error_body(&t, &message))),
                Status::Failure,
            )
        }
    };
    let tail = closing.close(
        agent,
        &measured,
        status,
        error.as_deref().map(str::as_bytes),
        sent,
    );
    let proof = agent.settings.secret.as_ref().map(|secret| {
        answer_stream::end_proof(secret, request_id, &digest.finish(), error.as_deref())
    });
    let end = StreamEnd {
        error,
        log_tail: tail.map(|t| base64::engine::general_purpose::STANDARD.encode(t)),
        runtime_us: measured
            .runtime_time
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        proof,
    };
    if !lost {
        // The end waits a little for a slow reader, not for ever: the next push waits for it.
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            tx.send(answer_stream::encode_end(&end).into()),
        )
        .await;
    }
}

fn error_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}
