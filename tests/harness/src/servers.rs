//! Real servers for members: a TCP server that answers each connection with a fixed line (and
//! can hold connections open, echoing), and a UDP server that answers each datagram. Both run
//! on threads inside a namespace, stop on drop, and give up after a bound.

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
    let listener = ns
        .enter(|| TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("nonblocking: {e}"));
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
    let listener = ns
        .enter(|| TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("nonblocking: {e}"));
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
