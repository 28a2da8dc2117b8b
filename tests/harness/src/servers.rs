//! Real servers for members: a TCP server that answers each connection with a fixed line (and
//! can hold connections open, echoing), a UDP server that answers each datagram, a one-shot
//! HTTP server and a keep-alive HTTP/1.1 echo server (hyper) for L7 tests. All run on threads
//! inside a namespace, stop on drop, and give up after a bound.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::Netns;

/// Longest a test server stays up.
const LIFETIME: Duration = Duration::from_secs(120);

/// A server thread that stops when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            eprintln!("test server thread panicked");
        }
    }
}

/// TCP server at `addr` in `ns`: on each connection writes `"<reply>\n"`, then echoes what the
/// client sends until it closes (so a client can keep a connection open and check it works).
#[must_use]
pub fn tcp(ns: &Netns, addr: SocketAddr, reply: &str) -> Server {
    let listener = listen(ns, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let line = format!("{reply}\n");
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + LIFETIME;
        let mut conns: Vec<TcpStream> = Vec::new();
        while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    if s.write_all(line.as_bytes()).is_ok() && s.set_nonblocking(true).is_ok() {
                        conns.push(s);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept: {e}"),
            }
            // Echo on open connections; drop the ones the client closed.
            let mut buf = [0u8; 4096];
            conns.retain_mut(|s| match s.read(&mut buf) {
                Ok(0) => false,
                Ok(n) => s.write_all(&buf[..n]).is_ok(),
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            });
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    Server {
        stop,
        thread: Some(thread),
    }
}

/// UDP server at `addr` in `ns`: answers each datagram with `"<reply>:<datagram>"`.
#[must_use]
pub fn udp(ns: &Netns, addr: SocketAddr, reply: &str) -> Server {
    let socket = ns
        .enter(|| UdpSocket::bind(addr))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let reply = reply.to_owned();
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + LIFETIME;
        let mut buf = [0u8; 2048];
        while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
            if let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let mut answer = format!("{reply}:").into_bytes();
                answer.extend_from_slice(&buf[..n]);
                if let Err(e) = socket.send_to(&answer, peer) {
                    eprintln!("udp test server: send to {peer}: {e}");
                }
            }
        }
    });
    Server {
        stop,
        thread: Some(thread),
    }
}

/// HTTP/1.x server at `addr` in `ns`: answers every request with `200` and `"<body>\n"`, for
/// [`LIFETIME`] at most.
#[must_use]
pub fn http(ns: &Netns, addr: SocketAddr, body: &str) -> Server {
    http_for(ns, addr, body, LIFETIME)
}

/// [`http`] with its own lifetime bound (demos run longer than tests).
#[must_use]
pub fn http_for(ns: &Netns, addr: SocketAddr, body: &str, lifetime: Duration) -> Server {
    let listener = listen(ns, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let body = format!("{body}\n");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + lifetime;
        while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((s, _)) => answer_http(s, response.as_bytes()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    Server {
        stop,
        thread: Some(thread),
    }
}

/// Reads one request head (bounded in size and time) and writes the response.
fn answer_http(mut s: TcpStream, response: &[u8]) {
    if s.set_nonblocking(false).is_err()
        || s.set_read_timeout(Some(Duration::from_secs(1))).is_err()
    {
        return;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    // A client that went away is not the server's problem.
    if s.write_all(response).is_ok() {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
}

/// How often the echo server's event loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

/// Longest delay `/slow/<ms>` asks of [`http_echo`].
const MAX_SLOW: Duration = Duration::from_secs(10);

/// Largest request body [`http_echo`] reads.
const MAX_BODY: usize = 1 << 20;

/// HTTP/1.1 echo server at `addr` in `ns` (hyper, keep-alive: any number of requests per
/// connection), for [`LIFETIME`] at most. Every answer is `text/plain`:
///
/// ```text
/// you hit: <name>
/// <header-name>: <value>     (every request header, lowercase names, in order)
/// path: <path-and-query>
/// method: <METHOD>
/// peer: <address:port of the connection's client>
/// ```
///
/// What the request asks for: `set-cookie=<NAME>=<VALUE>` in the query adds
/// `Set-Cookie: <NAME>=<VALUE>` (once per such parameter); a path starting with `/slow/<ms>`
/// answers after that many ms (at most 10 s), one starting with `/status/<code>` with that
/// status (both combine: `/slow/100/status/503`); otherwise the status is 200.
#[must_use]
pub fn http_echo(ns: &Netns, addr: SocketAddr, name: &str) -> Server {
    let listener = listen(ns, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let name: Arc<str> = Arc::from(name);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("echo server runtime: {e}"));
        // The listener was bound in `ns`; the connections it accepts live there too. Tasks
        // still running (a slow answer, an idle keep-alive connection) are dropped with the
        // runtime when the loop ends.
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap_or_else(|e| panic!("echo server listener: {e}"));
            let deadline = Instant::now() + LIFETIME;
            let mut tick = tokio::time::interval(STOP_POLL);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(echo_connection(stream, name.clone()));
                        }
                        // E.g. out of descriptors: skip it, and do not spin.
                        Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                    },
                    _ = tick.tick() => {}
                }
            }
        });
    });
    Server {
        stop,
        thread: Some(thread),
    }
}

/// Serves one connection of [`http_echo`] until the client closes it.
async fn echo_connection(stream: tokio::net::TcpStream, name: Arc<str>) {
    let peer = stream
        .peer_addr()
        .map_or_else(|e| format!("unknown ({e})"), |a| a.to_string());
    let peer: Arc<str> = Arc::from(peer);
    let service =
        hyper::service::service_fn(move |req| echo_answer(req, name.clone(), peer.clone()));
    // A client that goes away mid-request is its own business.
    let _closed = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// [`http_echo`]'s answer to one request.
async fn echo_answer(
    req: hyper::Request<hyper::body::Incoming>,
    name: Arc<str>,
    peer: Arc<str>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt as _;

    let (head, body) = req.into_parts();
    // Read the body (bounded) so the connection stays usable for the next request.
    let _body = http_body_util::Limited::new(body, MAX_BODY).collect().await;
    let path = head
        .uri
        .path_and_query()
        .map_or_else(|| head.uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut text = format!("you hit: {name}\n");
    for (header, value) in &head.headers {
        text += &format!("{header}: {}\n", String::from_utf8_lossy(value.as_bytes()));
    }
    text += &format!("path: {path}\nmethod: {}\npeer: {peer}\n", head.method);
    let asked = EchoAsks::of(head.uri.path(), head.uri.query().unwrap_or(""));
    if let Some(delay) = asked.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
    *response.status_mut() = asked.status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    for cookie in asked.cookies {
        // A cookie that is no valid header value is left out.
        if let Ok(v) = hyper::header::HeaderValue::from_str(&cookie) {
            headers.append(hyper::header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// What a request asks of [`http_echo`] through its path and query.
#[derive(Debug, PartialEq, Eq)]
struct EchoAsks {
    status: hyper::StatusCode,
    delay: Option<Duration>,
    /// `Set-Cookie` values (`NAME=VALUE`).
    cookies: Vec<String>,
}

impl EchoAsks {
    fn of(path: &str, query: &str) -> Self {
        let mut asks = Self {
            status: hyper::StatusCode::OK,
            delay: None,
            cookies: Vec::new(),
        };
        // `/slow/<ms>` and `/status/<code>` at the start of the path, in either order.
        let mut segments = path.split('/').skip(1);
        while let (Some(key), Some(value)) = (segments.next(), segments.next()) {
            match key {
                "slow" => {
                    let Ok(ms) = value.parse::<u64>() else { break };
                    asks.delay = Some(Duration::from_millis(ms).min(MAX_SLOW));
                }
                "status" => {
                    let status = value.parse::<u16>().ok();
                    asks.status = status
                        .and_then(|s| hyper::StatusCode::from_u16(s).ok())
                        .unwrap_or(hyper::StatusCode::BAD_REQUEST);
                }
                _ => break,
            }
        }
        asks.cookies = query
            .split('&')
            .filter_map(|p| p.strip_prefix("set-cookie="))
            .filter(|c| c.contains('='))
            .map(str::to_owned)
            .collect();
        asks
    }
}

/// A non-blocking TCP listener at `addr` in `ns` (panics: test setup).
fn listen(ns: &Netns, addr: SocketAddr) -> TcpListener {
    let listener = ns
        .enter(|| TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("nonblocking: {e}"));
    listener
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    #[test]
    fn echo_asks_from_path_and_query() {
        let asks = EchoAsks::of(
            "/slow/250/status/503/x",
            "a=1&set-cookie=s=m1&set-cookie=t=2",
        );
        assert_eq!(asks.status, hyper::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(asks.delay, Some(Duration::from_millis(250)));
        assert_eq!(asks.cookies, ["s=m1", "t=2"]);
        let plain = EchoAsks::of("/status", "set-cookie=novalue");
        assert_eq!(plain.status, hyper::StatusCode::OK);
        assert_eq!((plain.delay, plain.cookies.len()), (None, 0));
        assert_eq!(
            EchoAsks::of("/slow/99999999", "").delay,
            Some(MAX_SLOW),
            "bounded"
        );
    }

    /// Status, headers (lowercase names) and body of one response read from `r`.
    fn read_response(r: &mut impl std::io::BufRead) -> (u16, Vec<(String, String)>, String) {
        let mut line = String::new();
        r.read_line(&mut line).expect("status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let mut headers = Vec::new();
        loop {
            line.clear();
            r.read_line(&mut line).expect("header line");
            let Some((k, v)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0; len];
        r.read_exact(&mut body).expect("body");
        (
            status,
            headers,
            String::from_utf8(body).expect("utf-8 body"),
        )
    }

    #[test]
    fn http_echo_answers_two_requests_on_one_connection() {
        crate::require_root!();
        let ns = Netns::new("echo");
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let _server = http_echo(&ns, addr, "m1");
        let stream = ns
            .enter(|| TcpStream::connect_timeout(&addr, Duration::from_secs(2)))
            .expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let me = stream.local_addr().expect("local address");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);

        writer
            .write_all(b"GET /a?b=1 HTTP/1.1\r\nHost: vip\r\nX-Test: one\r\n\r\n")
            .expect("first request");
        let (status, headers, body) = read_response(&mut reader);
        assert_eq!(status, 200);
        assert!(headers.contains(&("content-type".into(), "text/plain".into())));
        assert_eq!(
            body,
            format!("you hit: m1\nhost: vip\nx-test: one\npath: /a?b=1\nmethod: GET\npeer: {me}\n")
        );

        let started = Instant::now();
        writer
            .write_all(
                b"POST /slow/200/status/503?set-cookie=s=m1 HTTP/1.1\r\nHost: vip\r\n\
                  Content-Length: 2\r\n\r\nhi",
            )
            .expect("second request");
        let (status, headers, body) = read_response(&mut reader);
        assert!(started.elapsed() >= Duration::from_millis(200), "delayed");
        assert_eq!(status, 503);
        assert!(headers.contains(&("set-cookie".into(), "s=m1".into())));
        assert!(body.starts_with("you hit: m1\n"), "{body}");
        // The same connection: the same peer.
        assert!(
            body.ends_with(&format!(
                "path: /slow/200/status/503?set-cookie=s=m1\nmethod: POST\npeer: {me}\n"
            )),
            "{body}"
        );
    }
}
