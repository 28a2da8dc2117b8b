//! The proxy's worker threads: one single-threaded tokio runtime per CPU. Each proxied
//! listener has one socket per worker (`SO_REUSEPORT`: the kernel spreads new connections over
//! them), and a connection lives on the worker that accepted it together with its member
//! connections, so a request never hops between threads (no cross-thread wake-ups, no shared
//! connection pool: each worker has its own, `upstream`).

use std::{cell::Cell, thread::JoinHandle};

use tokio::{runtime::Handle, sync::oneshot};

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The index of the worker running the caller (0 outside the workers).
#[must_use]
pub fn current() -> usize {
    WORKER.with(Cell::get)
}

/// Running workers; dropping them stops their runtimes (and every task on them).
pub struct Workers {
    handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` workers (at least one).
    pub fn start(n: usize) -> std::io::Result<Self> {
        let mut w = Self {
            handles: Vec::new(),
            stops: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            w.handles.push(rt.handle().clone());
            w.stops.push(stop);
            w.threads.push(
                std::thread::Builder::new()
                    .name(format!("lb-proxy-{i}"))
                    .spawn(move || {
                        WORKER.with(|c| c.set(i));
                        rt.spawn(super::upstream::sweep_loop());
                        // Ends when the stop sender is dropped or used.
                        let _ = rt.block_on(stopped);
                    })?,
            );
        }
        Ok(w)
    }

    /// Workers for every CPU the agent may run on.
    pub fn per_cpu() -> std::io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(1, usize::from))
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The runtime of worker `i`.
    #[must_use]
    pub fn handle(&self, i: usize) -> &Handle {
        &self.handles[i % self.handles.len()]
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stops.clear();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("a proxy worker panicked");
            }
        }
    }
}
