//! The client side of a worker's socket: one HTTP/2 connection, called directly.
//!
//! tonic's `Channel` would add a buffer task that every request hops through, and reconnection,
//! which a worker's socket never needs (a worker whose connection breaks is replaced). Public so
//! the runtime benchmark can set it beside `Channel` over TCP and over the same socket.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

/// One HTTP/2 connection, a `tower::Service` tonic's generated clients call.
#[derive(Clone)]
pub struct Connection(http2::SendRequest<tonic::body::Body>);

impl tower::Service<http::Request<tonic::body::Body>> for Connection {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// Connects to the worker's Unix socket and serves the connection on a task of its own.
pub async fn connect(socket: &Path, timeout: Duration) -> Result<Connection, String> {
    let connecting = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Connection(sender))
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| format!("not connected within {timeout:?}"))?
}
