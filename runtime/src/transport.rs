//! The client side of a worker's socket: one HTTP/2 connection, driven by the `h2` crate
//! directly.
//!
//! tonic's `Channel` adds a buffer task that every request hops through, and reconnection,
//! which a worker's socket never needs (a worker whose connection breaks is replaced). hyper's
//! client, under both, spawns a task per request to await its response. Here the caller's task
//! sends the request and awaits the answer itself; only the connection has a task of its own.
//! Public so the runtime benchmark can set it beside `Channel` over TCP and over the same
//! socket.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;

/// hyper's client defaults: a large value crosses in few window updates.
const STREAM_WINDOW: u32 = 2 << 20;
const CONNECTION_WINDOW: u32 = 5 << 20;

/// One HTTP/2 connection, a `tower::Service` tonic's generated clients call.
#[derive(Clone)]
pub struct Connection(h2::client::SendRequest<Bytes>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<tonic::body::Body>> for Connection {
    type Response = http::Response<Incoming>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let mut sender = self.0.clone();
        Box::pin(async move {
            let (head, body) = request.into_parts();
            if head.uri.path().ends_with(STREAMING_REQUEST) {
                let request = http::Request::from_parts(head, ());
                let (response, send) = sender.send_request(request, false)?;
                tokio::spawn(pump(body, send));
                return respond(response).await;
            }
            // Any other request is one encoded message, already in memory.
            let data = body.collect().await?.to_bytes();
            let request = http::Request::from_parts(head, ());
            let (response, mut send) = sender.send_request(request, data.is_empty())?;
            if !data.is_empty() {
                send.send_data(data, true)?;
            }
            respond(response).await
        })
    }
}

/// The method whose requests are streams of messages: `Interact`, a call with callbacks.
const STREAMING_REQUEST: &str = "/Interact";

/// Sends a streaming request's messages as they come, and ends the stream after the last.
/// Messages are small steps of a conversation, so h2's send buffer holds them.
async fn pump(mut body: tonic::body::Body, mut send: h2::SendStream<Bytes>) {
    while let Some(frame) = body.frame().await {
        match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => {
                if send.send_data(data, false).is_err() {
                    return;
                }
            }
            Ok(Err(_)) => {}
            Err(_) => return send.send_reset(h2::Reason::CANCEL),
        }
    }
    let _ = send.send_data(Bytes::new(), true);
}

async fn respond(
    response: h2::client::ResponseFuture,
) -> Result<http::Response<Incoming>, BoxError> {
    let (head, recv) = response.await?.into_parts();
    Ok(http::Response::from_parts(
        head,
        Incoming {
            recv,
            data_done: false,
            done: false,
        },
    ))
}

/// A response body: its data frames, then its trailers (where gRPC puts the status).
pub struct Incoming {
    recv: h2::RecvStream,
    data_done: bool,
    done: bool,
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if !self.data_done {
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Read: the worker may send as much again.
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => self.data_done = true,
            }
        }
        let trailers = ready!(self.recv.poll_trailers(cx));
        self.done = true;
        Poll::Ready(match trailers {
            Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Connects to the worker's Unix socket and drives the connection on a task of its own.
pub async fn connect(socket: &Path, timeout: Duration) -> Result<Connection, String> {
    let connecting = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake(stream)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // Its end is seen by the calls on it, and the worker's exit by the pool.
            let _ = connection.await;
        });
        Ok(Connection(sender))
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| format!("not connected within {timeout:?}"))?
}
