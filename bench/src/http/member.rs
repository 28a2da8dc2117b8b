//! The HTTP benchmark's member: a hyper server in the member namespace answering every
//! request with the same body and counting what it serves.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use lb_testkit::Netns;

use super::{BODY, MEMBER};

/// The member's HTTP server: keep-alive HTTP/1.1 (hyper), [`BODY`] for every request, on a
/// multi-thread runtime with one worker per CPU (keep-alive connections are long-lived: work
/// stealing keeps both CPUs busy however the connections were accepted). Stops when dropped.
pub struct Member {
    runtime: Option<tokio::runtime::Runtime>,
    /// Requests answered so far.
    served: Arc<AtomicU64>,
}

impl Member {
    pub fn start(ns: &Netns, threads: usize) -> anyhow::Result<Self> {
        let addr: SocketAddr = MEMBER.parse()?;
        // Bound in the member's namespace; the connections it accepts live there too, whatever
        // thread serves them.
        let listener = ns
            .enter(|| std::net::TcpListener::bind(addr))
            .context("bind member")?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build()?;
        let served = Arc::new(AtomicU64::new(0));
        let count = served.clone();
        runtime.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("[bench] http member: {e}");
                    return;
                }
            };
            loop {
                // A transient accept error skips that connection; the pause keeps a lasting one
                // from spinning.
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                };
                // Answers go out at once, not after Nagle's delay.
                if let Err(e) = stream.set_nodelay(true) {
                    eprintln!("[bench] http member: nodelay: {e}");
                }
                tokio::spawn(serve_member(stream, count.clone()));
            }
        });
        Ok(Self {
            runtime: Some(runtime),
            served,
        })
    }

    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// One connection of the member, until the client closes it.
async fn serve_member(stream: tokio::net::TcpStream, count: Arc<AtomicU64>) {
    let service = hyper::service::service_fn(move |_req| {
        count.fetch_add(1, Ordering::Relaxed);
        let mut response =
            hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(BODY)));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain"),
        );
        async { Ok::<_, Infallible>(response) }
    });
    // A client gone mid-request is its business: errors just end the connection.
    let _closed = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
