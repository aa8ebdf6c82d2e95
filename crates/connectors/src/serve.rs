//! A server running on its own thread until it is stopped or dropped: what
//! the local services (the media server, the Lever emulator, the review
//! page's test and demo handle) hold to shut their server down gracefully.

use std::net::SocketAddr;

/// The stop signal and thread of a server; dropping it stops the server
/// and waits for the thread.
///
/// ```
/// use panelflow_connectors::serve::ServerThread;
/// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
/// let thread = std::thread::spawn(move || {
///     let _ = rx.blocking_recv(); // a server would serve until this
/// });
/// let addr = "127.0.0.1:9".parse().unwrap();
/// drop(ServerThread::new("example", addr, tx, thread)); // signals, then joins
/// ```
#[derive(Debug)]
pub struct ServerThread {
    name: &'static str,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// A server named `name` (for logs) listening on `addr`, which stops
    /// when `stop` fires, running on `thread`.
    pub fn new(
        name: &'static str,
        addr: SocketAddr,
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    ) -> Self {
        Self {
            name,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Signals the server to stop and waits for its thread (once).
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!(addr = %self.addr, server = self.name, "server thread panicked");
            }
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}
