//! The running simulator: binds its listener, accepts connections (hyper 1.x,
//! HTTP/1.1), and restarts or shuts down on request.
//!
//! Request pipeline: accept (TCP_NODELAY) → one task per connection serving
//! HTTP/1.1 → `routes::handle` → state (catalogue, sessions) → response, whose
//! playback body is a `Reader` pulled by hyper as the socket drains.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::content::{Content, Fault};
use crate::introspect::Introspection;
use crate::live::lock;
use crate::routes;
use crate::state::State;

/// A running simulated engine. Dropping it stops it too (without waiting).
#[derive(Debug)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// Shared by the simulator handle, the accept loop and every request.
#[derive(Debug)]
pub(crate) struct Inner {
    pub state: State,
    /// The bound address; restarts bind it again.
    pub addr: SocketAddr,
    /// The answer of `get_api_access_token`, fixed for the simulator's life.
    pub token: String,
    /// Bumped to close every open connection (restart, shutdown).
    conn_epoch: watch::Sender<u64>,
    /// Restarts asked for over HTTP go through a worker task, which keeps the
    /// request handler's future from containing the accept loop's (a type cycle).
    restart_tx: mpsc::UnboundedSender<Duration>,
    control: Mutex<Control>,
}

#[derive(Debug, Default)]
struct Control {
    /// The accept loop (or, during a restart, the task that will rebind and run it).
    accept: Option<JoinHandle<()>>,
    /// The worker serving `POST /sim/restart`.
    restarter: Option<JoinHandle<()>>,
    shut_down: bool,
}

impl Simulator {
    /// Binds `config.bind` and starts serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (restart_tx, restart_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            state: State::new(&config),
            addr,
            token: uuid::Uuid::new_v4().simple().to_string(),
            conn_epoch: watch::Sender::new(0),
            restart_tx,
            control: Mutex::new(Control::default()),
        });
        let task = tokio::spawn(accept_loop(listener, inner.clone()));
        let restarter = tokio::spawn(restart_worker(restart_rx, inner.clone()));
        {
            let mut control = lock(&inner.control);
            control.accept = Some(task);
            control.restarter = Some(restarter);
        }
        tracing::info!(%addr, contents = config.catalogue.len(), "simulated engine listening");
        Ok(Simulator { inner })
    }

    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://HOST:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Sets the fault of a content (by content id or infohash); `false` if the
    /// content is unknown. New sessions and playback opens see it at once; running
    /// readers pick it up within 100 ms, timing Stall/Disconnect from that moment.
    pub fn set_fault(&self, content_id_or_infohash: &str, fault: Fault) -> bool {
        self.inner.state.set_fault(content_id_or_infohash, fault)
    }

    /// Adds content to the catalogue; it goes live now (its sequence numbers start
    /// at 0). Content with the same content id is replaced.
    pub fn add_content(&self, c: Content) {
        self.inner.state.add_content(c);
    }

    /// A snapshot of sessions and calls.
    pub fn introspect(&self) -> Introspection {
        self.inner.state.introspect()
    }

    /// Simulates an engine restart: every session stops (readers end), every open
    /// connection closes and the listener is closed, so connections are refused
    /// for `down_for`; then the same address is bound again. Returns once the
    /// listener is closed; the rebinding happens in the background.
    pub async fn restart(&self, down_for: Duration) {
        self.inner.restart(down_for).await;
    }

    /// Stops serving: sessions stop, connections close, the listener closes.
    pub async fn shutdown(self) {
        if let Some(task) = self.inner.halt() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.inner.halt();
    }
}

impl Inner {
    /// The base of the URLs handed out: the bound address, or the request's Host
    /// header when bound to a wildcard address (0.0.0.0 is no place to connect to).
    pub fn base_url<B>(&self, req: &Request<B>) -> String {
        if self.addr.ip().is_unspecified() {
            if let Some(host) = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
            {
                return format!("http://{host}");
            }
            return format!("http://127.0.0.1:{}", self.addr.port());
        }
        format!("http://{}", self.addr)
    }

    pub async fn restart(self: &Arc<Self>, down_for: Duration) {
        tracing::warn!(
            down_secs = down_for.as_secs_f64(),
            "simulated engine restart"
        );
        self.state.stop_all();
        let old = lock(&self.control).accept.take();
        if let Some(task) = old {
            task.abort();
            // Wait for the task to be dropped: that is when the listener closes.
            let _ = task.await;
        }
        self.conn_epoch.send_modify(|e| *e += 1);
        let inner = self.clone();
        let mut control = lock(&self.control);
        if control.shut_down {
            return;
        }
        control.accept = Some(tokio::spawn(async move {
            tokio::time::sleep(down_for).await;
            match rebind(inner.addr).await {
                Ok(listener) => {
                    tracing::info!(addr = %inner.addr, "simulated engine back up");
                    accept_loop(listener, inner).await;
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "could not bind again after restart")
                }
            }
        }));
    }

    /// Schedules a restart from a request handler (see [`Self::restart`]).
    pub fn request_restart(&self, down_for: Duration) {
        // Fails only after shutdown, when there is nothing left to restart.
        let _ = self.restart_tx.send(down_for);
    }

    /// Stops everything without waiting; returns the accept task to await.
    fn halt(&self) -> Option<JoinHandle<()>> {
        let task = {
            let mut control = lock(&self.control);
            control.shut_down = true;
            if let Some(r) = control.restarter.take() {
                r.abort();
            }
            control.accept.take()
        };
        if let Some(t) = &task {
            t.abort();
        }
        self.state.stop_all();
        self.conn_epoch.send_modify(|e| *e += 1);
        task
    }
}

/// Performs restarts asked for over HTTP. The restart closes every connection,
/// the asking one included: wait a moment so its answer gets out first.
async fn restart_worker(mut rx: mpsc::UnboundedReceiver<Duration>, inner: Arc<Inner>) {
    while let Some(down_for) = rx.recv().await {
        tokio::time::sleep(Duration::from_millis(50)).await;
        inner.restart(down_for).await;
    }
}

/// Binds `addr` again, retrying briefly in case the old socket is not fully gone.
async fn rebind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("bind failed")))
    .with_context(|| format!("binding {addr}"))
}

/// Accepts until aborted. An accept error (EMFILE, a reset in the backlog) is
/// logged and the loop goes on after a short pause, so it does not spin.
async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tracing::trace!(%peer, "connection");
                tokio::spawn(serve_connection(stream, inner.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, inner: Arc<Inner>) {
    // Small JSON answers and stream chunks should leave at once, not wait for Nagle.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    let mut epoch = inner.conn_epoch.subscribe();
    let svc_inner = inner.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let inner = svc_inner.clone();
        async move { Ok::<_, Infallible>(routes::handle(&inner, req).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        // A restart or shutdown drops the connection, as a dying engine would.
        _ = epoch.changed() => tracing::debug!("connection closed by restart or shutdown"),
    }
}
