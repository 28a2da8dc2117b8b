//! The bodies the proxy moves: requests to members (the client's body streamed, or none for
//! a retried request) and responses to clients (a member's body streamed, holding the member's
//! in-flight count and its connection until it ends, then giving the connection back for the
//! next request; or a short answer of the proxy's own). Enums, not boxes: no allocation per
//! request.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::{select::InFlight, upstream::Lease};

/// A request body on its way to a member.
#[derive(Debug)]
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
    /// A member's body; the guard keeps the member's in-flight count until the body ends,
    /// when the connection it came on is released.
    Member(Incoming, Option<(InFlight, Lease)>),
    /// An answer of the proxy's own.
    Own(Option<Bytes>),
}

impl RespBody {
    /// A member's response body arriving on `lease`; a body that is already complete (no
    /// body, or `Content-Length: 0`) releases the connection at once, as the server may never
    /// poll it.
    #[must_use]
    pub fn member(body: Incoming, inflight: InFlight, lease: Lease) -> Self {
        if body.is_end_stream() {
            lease.release();
            drop(inflight);
            Self::Member(body, None)
        } else {
            Self::Member(body, Some((inflight, lease)))
        }
    }

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
            Self::Member(b, held) => {
                let r = Pin::new(&mut *b).poll_frame(cx);
                match &r {
                    // The end, or the last frame (the server stops polling after it): the
                    // connection is free for the next request.
                    Poll::Ready(None) => release(held),
                    Poll::Ready(Some(Ok(_))) if b.is_end_stream() => release(held),
                    // A failed body: the connection closes with the lease.
                    Poll::Ready(Some(Err(_))) => drop(held.take()),
                    _ => {}
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

fn release(held: &mut Option<(InFlight, Lease)>) {
    if let Some((inflight, lease)) = held.take() {
        drop(inflight);
        lease.release();
    }
}
