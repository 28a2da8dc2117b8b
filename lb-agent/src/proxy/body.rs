//! The bodies the proxy moves: requests to members (the client's body streamed, or none for
//! a retried request) and responses to clients (a member's body streamed, holding the member's
//! in-flight count and its connection until it ends, then giving the connection back for the
//! next request; or a short answer of the proxy's own). Enums, not boxes: no allocation per
//! request.
//!
//! Both streamed bodies are timed for inactivity ([`Inactivity`]): the client's request body
//! by `timeout_client_data`, the member's response body by `timeout_member_data` (HAProxy's
//! `timeout client` / `timeout server`). A body that makes no progress for that long ends in
//! an error: the member connection closes, and the client connection is cut (HTTP/1.1) or its
//! stream reset (HTTP/2). The timer is made only when a body first has to wait, so a body
//! that arrives in one piece costs none.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::{select::InFlight, upstream::Lease};

/// A request body on its way to a member.
#[derive(Debug)]
pub enum ReqBody {
    Client(Incoming, Inactivity),
    Empty,
}

/// Errors of the bodies the proxy streams.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body made no progress within its timeout.
#[derive(Debug, thiserror::Error)]
#[error("no data for {0:?}: body timed out")]
pub struct BodyTimeout(pub Duration);

/// The inactivity timer of one streamed body.
pub struct Inactivity {
    limit: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// Data came since the timer was last set.
    progressed: bool,
}

impl std::fmt::Debug for Inactivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inactivity")
            .field("limit", &self.limit)
            .finish()
    }
}

impl Inactivity {
    #[must_use]
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            timer: None,
            progressed: false,
        }
    }

    /// Polls `body`, failing it once it has waited `limit` without data.
    fn poll<B>(
        &mut self,
        body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>>
    where
        B: Body<Data = Bytes, Error = hyper::Error>,
    {
        match body.poll_frame(cx) {
            Poll::Ready(r) => {
                self.progressed = true;
                Poll::Ready(r.map(|f| f.map_err(BodyError::from)))
            }
            Poll::Pending => {
                let deadline = Instant::now() + self.limit;
                let timer = match &mut self.timer {
                    Some(t) => {
                        if self.progressed {
                            t.as_mut().reset(deadline);
                        }
                        t
                    }
                    None => self
                        .timer
                        .insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                self.progressed = false;
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(self.limit).into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Self::Client(b, idle) => idle.poll(Pin::new(b), cx),
            Self::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Client(b, _) => b.is_end_stream(),
            Self::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Client(b, _) => b.size_hint(),
            Self::Empty => SizeHint::with_exact(0),
        }
    }
}

/// A response body on its way to a client.
pub enum RespBody {
    /// A member's body; the guard keeps the member's in-flight count until the body ends,
    /// when the connection it came on is released.
    Member(Incoming, Option<(InFlight, Lease)>, Inactivity),
    /// An answer of the proxy's own.
    Own(Option<Bytes>),
}

impl RespBody {
    /// A member's response body arriving on `lease`; a body that is already complete (no
    /// body, or `Content-Length: 0`) releases the connection at once, as the server may never
    /// poll it.
    #[must_use]
    pub fn member(body: Incoming, inflight: InFlight, lease: Lease, idle: Duration) -> Self {
        let idle = Inactivity::new(idle);
        if body.is_end_stream() {
            lease.release();
            drop(inflight);
            Self::Member(body, None, idle)
        } else {
            Self::Member(body, Some((inflight, lease)), idle)
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
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Self::Member(b, held, idle) => {
                let r = idle.poll(Pin::new(&mut *b), cx);
                match &r {
                    // The end, or the last frame (the server stops polling after it): the
                    // connection is free for the next request.
                    Poll::Ready(None) => release(held),
                    Poll::Ready(Some(Ok(_))) if b.is_end_stream() => release(held),
                    // A failed or timed-out body: the connection closes with the lease.
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
            Self::Member(b, _, _) => b.is_end_stream(),
            Self::Own(d) => d.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Member(b, _, _) => b.size_hint(),
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
