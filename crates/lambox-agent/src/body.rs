//! The bodies of the agent's answers: whole (a buffered answer, the Runtime API's replies) or
//! fed through a bounded channel (a streamed answer, framed as `lambox_core::answer_stream`).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame};
use tokio::sync::mpsc;

/// A body fed through a channel: each message is one frame of data, the end is the sender's.
#[derive(Debug)]
pub struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// What the agent answers with.
pub type AgentBody = Either<Full<Bytes>, ChannelBody>;

/// A whole body.
pub fn whole(bytes: impl Into<Bytes>) -> AgentBody {
    Either::Left(Full::new(bytes.into()))
}
