//! The HTTP server under `serve`'s listeners, with bounds a long-running server needs: at most
//! `max_connections` open connections (further clients wait in the kernel's backlog until one
//! closes), and a connection that has not sent a whole request head within `header_timeout` is
//! closed (slow or idle clients cannot hold the slots). Each request carries the peer address as
//! axum's `ConnectInfo`. On shutdown it stops accepting, lets requests in progress finish, and
//! returns once every connection has closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower_service::Service;

/// Most connections `serve` keeps open at once, per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request's head (line and headers).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a connection buffers while reading (hyper's default is about 400 KB): a request
/// head must fit in it (Function URLs allow heads of some 10 KB), and bodies stream through it.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// The bounds of one server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then waits for the
/// open connections to finish what they are doing.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_seen) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // E.g. out of file descriptors: give the connections in progress a moment.
                    tracing::debug!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let closing_seen = closing_seen.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, limits, closing_seen).await;
            drop(slot);
        });
    }
    let _ = closing.send(true);
    // Every slot back means every connection has closed.
    let _ = slots.acquire_many(limits.max_connections as u32).await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut router = router.clone();
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        async move { router.call(request).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut asked_to_close = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection from {peer} ended: {error}");
                }
                return;
            }
            _ = closing.wait_for(|closing| *closing), if !asked_to_close => {
                // Finish the request in progress, then close.
                connection.as_mut().graceful_shutdown();
                asked_to_close = true;
            }
        }
    }
}

/// Reads and drops a request body (up to `limit` bytes) without keeping it, so that a request
/// refused before its body was read still gets its answer: closing a connection with unread
/// bytes makes the kernel reset it, and the client would see a reset instead of the refusal.
pub async fn discard_body(body: axum::body::Body, limit: usize) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0;
    while read <= limit {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len()),
            _ => return,
        }
    }
}

/// A request body read whole, when it is at most `limit` bytes: into one buffer sized from its
/// Content-Length, so an event is held once (collecting frames and then joining them would hold
/// it twice at the peak). `None` when it is larger or the client stopped sending.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Option<axum::body::Bytes> {
    use http_body_util::BodyExt;
    use hyper::body::Body as _;
    let expected = body.size_hint().exact().unwrap_or(0) as usize;
    if expected > limit {
        return None;
    }
    let mut bytes = Vec::with_capacity(expected);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame.ok()?.data_ref() {
            if bytes.len() + data.len() > limit {
                return None;
            }
            bytes.extend_from_slice(data);
        }
    }
    Some(bytes.into())
}
