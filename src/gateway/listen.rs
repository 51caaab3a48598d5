//! Serving an axum app on a TCP listener, HTTP/1.1, with the connection
//! limits a public endpoint needs: a request's headers must arrive within
//! `header_timeout` (which also drops a connection that sends nothing, or
//! sits idle between keep-alive requests), and on shutdown in-flight
//! responses get up to `grace` to finish before the connections are closed.
//!
//! Shared by the gateway and the emulator; it knows nothing of either.

use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Connection limits.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// A request's headers (the first byte included) must arrive within this.
    pub header_timeout: Duration,
    /// After shutdown is asked, in-flight responses get this long.
    pub grace: Duration,
}

/// Whether every connection finished within the grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight response finished.
    Clean,
    /// The grace period ran out with responses still in flight; their
    /// connections were dropped.
    GraceExpired,
}

/// Accepts connections on `listener` and serves `app` on each until
/// `shutdown` turns true; then stops accepting and drains.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<Drained> {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    // Out of file descriptors and the like: keep serving
                    // the connections we have, try again shortly.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    match tokio::time::timeout(limits.grace, graceful.shutdown()).await {
        Ok(()) => Ok(Drained::Clean),
        Err(_) => Ok(Drained::GraceExpired),
    }
}
