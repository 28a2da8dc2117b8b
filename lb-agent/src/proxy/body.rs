//! The bodies the proxy moves: requests to members (the client's body streamed, or none for
//! a retried request) and responses to clients (a member's body streamed, holding the member's
//! in-flight count until it ends, or a short answer of the proxy's own). Enums, not boxes: no
//! allocation per request.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::select::InFlight;

/// A request body on its way to a member.
pub enum ReqBody {
    Client(Incoming),
    Empty,
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Client(b) => Pin::new(b).poll_frame(cx),
            Self::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Client(b) => b.is_end_stream(),
            Self::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Client(b) => b.size_hint(),
            Self::Empty => SizeHint::with_exact(0),
        }
    }
}

/// A response body on its way to a client.
pub enum RespBody {
    /// A member's body; the guard keeps the member's in-flight count until the body ends.
    Member(Incoming, Option<InFlight>),
    /// An answer of the proxy's own.
    Own(Option<Bytes>),
}

impl RespBody {
    /// An answer of the proxy's own.
    #[must_use]
    pub fn own(text: &'static str) -> Self {
        Self::Own(Some(Bytes::from_static(text.as_bytes())))
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Member(b, guard) => {
                let r = Pin::new(b).poll_frame(cx);
                if matches!(r, Poll::Ready(None | Some(Err(_)))) {
                    guard.take();
                }
                r
            }
            Self::Own(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Member(b, _) => b.is_end_stream(),
            Self::Own(d) => d.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Member(b, _) => b.size_hint(),
            Self::Own(d) => SizeHint::with_exact(d.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
