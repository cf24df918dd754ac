//! `snakebridge_native`: the worker's gRPC service served by tonic from inside the Python
//! process, calling the same dispatcher the grpcio server calls. grpcio's Python server hands
//! every call from its polling thread to a pool thread and back, which costs most of a round
//! trip; here HTTP/2 and protobuf stay in Rust and only the dispatch takes the GIL.
//!
//! Python uses it as `python -m snakebridge_worker --transport native`:
//!
//! ```python
//! server = snakebridge_native.start(dispatcher, socket_path, token, max_message_bytes, threads)
//! ...
//! server.stop()
//! ```
//!
//! It serves on a Unix socket in the runtime's private directory and refuses, with
//! `UNAUTHENTICATED`, every call that does not carry the pool's secret.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use snakebridge_runtime::PROTOCOL_VERSION;
use snakebridge_runtime::proto::worker_server::{Worker, WorkerServer};
use snakebridge_runtime::proto::{
    Callback, ExecuteRequest, ExecuteResponse, HeartbeatRequest, HeartbeatResponse, Interaction,
    PythonError, StreamChunk, execute_response, interaction, stream_chunk,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tonic::metadata::MetadataValue;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

#[pymodule]
fn snakebridge_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(start, module)?)?;
    module.add_class::<Server>()?;
    module.add_class::<Channel>()?;
    Ok(())
}

/// Python runs on the serving threads and the blocking ones, and its decoding and encoding
/// recurse once or twice per level of a value's nesting (up to the runtime's `max_depth`).
const THREAD_STACK: usize = 16 << 20;

/// Starts serving on the Unix socket `socket`, taking only calls that carry `token`, on
/// `threads` serving threads, and returns at once.
///
/// Each serving thread runs its own single-threaded tokio runtime and runs Python right on it,
/// so a call crosses no thread inside the worker: the thread that reads the request runs the
/// dispatcher and writes the answer. A connection belongs to one thread (the least busy one
/// when it is accepted); the pool opens one connection per thread and sends one call at a time
/// on each, so a call never waits behind another in Python.
#[pyfunction]
fn start(
    dispatcher: Py<PyAny>,
    socket: std::path::PathBuf,
    token: &[u8],
    max_message_bytes: usize,
    threads: usize,
) -> PyResult<Server> {
    let expected = MetadataValue::try_from([b"Bearer ".as_slice(), token].concat())
        .map_err(|e| PyRuntimeError::new_err(format!("the secret is not a header value: {e}")))?;
    let listener = std::os::unix::net::UnixListener::bind(&socket).map_err(|e| {
        PyRuntimeError::new_err(format!("cannot listen on `{}`: {e}", socket.display()))
    })?;
    let service = WorkerServer::new(Service {
        dispatcher: Arc::new(dispatcher),
    })
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(max_message_bytes);
    let service = tonic::service::interceptor::InterceptedService::new(
        service,
        move |request: Request<()>| authenticate(request, &expected),
    );
    let (stop, stopped) = watch::channel(false);
    let (done, finished) = std::sync::mpsc::channel();
    let mut threads_in = Vec::new();
    for n in 0..threads.max(1) {
        let (connections, incoming) = mpsc::unbounded_channel();
        let load = Arc::new(AtomicUsize::new(0));
        let (service, mut stopped, done) = (service.clone(), stopped.clone(), done.clone());
        std::thread::Builder::new()
            .name(format!("snakebridge-native-{n}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                keep_thread_state();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .thread_stack_size(THREAD_STACK)
                    .on_thread_start(keep_thread_state)
                    .on_thread_stop(drop_thread_state)
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    let incoming = UnboundedReceiverStream::new(incoming).map(Connection::register);
                    let _ = runtime.block_on(
                        tonic::transport::Server::builder()
                            .add_service(service)
                            .serve_with_incoming_shutdown(incoming, async move {
                                let _ = stopped.wait_for(|stop| *stop).await;
                            }),
                    );
                    runtime.shutdown_timeout(Duration::from_secs(1));
                }
                drop_thread_state();
                let _ = done.send(());
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
        threads_in.push((connections, load));
    }
    let accepting = stop.subscribe();
    std::thread::Builder::new()
        .name("snakebridge-accept".into())
        .spawn(move || accept(listener, threads_in, accepting))
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
    Ok(Server {
        socket,
        threads: threads.max(1),
        running: Mutex::new(Some((stop, finished))),
    })
}

/// A connection on its way to a serving thread, and that thread's count of connections.
type ToThread = (
    mpsc::UnboundedSender<(std::os::unix::net::UnixStream, Arc<AtomicUsize>)>,
    Arc<AtomicUsize>,
);

/// Hands each accepted connection to the serving thread with the fewest, until stopped.
fn accept(
    listener: std::os::unix::net::UnixListener,
    threads: Vec<ToThread>,
    stopped: watch::Receiver<bool>,
) {
    for stream in listener.incoming() {
        if *stopped.borrow() {
            return;
        }
        let Ok(stream) = stream else { continue };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let Some((thread, load)) = threads
            .iter()
            .min_by_key(|(_, load)| load.load(Ordering::SeqCst))
        else {
            return;
        };
        load.fetch_add(1, Ordering::SeqCst);
        if thread.send((stream, load.clone())).is_err() {
            load.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A connection served by one thread, counted in that thread's load while it is open.
struct Connection {
    stream: tokio::net::UnixStream,
    load: Arc<AtomicUsize>,
}

impl Connection {
    /// Registers an accepted connection with the serving thread's runtime.
    fn register(
        (stream, load): (std::os::unix::net::UnixStream, Arc<AtomicUsize>),
    ) -> std::io::Result<Connection> {
        match tokio::net::UnixStream::from_std(stream) {
            Ok(stream) => Ok(Connection { stream, load }),
            Err(e) => {
                load.fetch_sub(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.load.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Connected for Connection {
    type ConnectInfo = <tokio::net::UnixStream as Connected>::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

thread_local! {
    /// This thread's Python thread state, made when the thread starts and kept until it stops.
    static KEPT: std::cell::Cell<Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>> =
        const { std::cell::Cell::new(None) };
}

/// Gives a runtime thread one Python thread state for its whole life. Without it every call's
/// `Python::attach` made one and tore it down, and Python 3.11 maps and unmaps a thread state's
/// frame stack: an `munmap` per call, which in a multi-threaded process flushes every core's TLB.
fn keep_thread_state() {
    // SAFETY: the interpreter is initialised (this module was imported by it). `Ensure` takes
    // the GIL with a new thread state, `SaveThread` releases the GIL and keeps that state, so a
    // later `Python::attach` finds it; `drop_thread_state` undoes both, in the reverse order.
    unsafe {
        let gil = ffi::PyGILState_Ensure();
        let saved = ffi::PyEval_SaveThread();
        KEPT.set(Some((gil, saved)));
    }
}

fn drop_thread_state() {
    if let Some((gil, saved)) = KEPT.take() {
        // SAFETY: `saved` is this thread's state, released by `keep_thread_state`, and the GIL
        // is not held here: restore it, then release the state `Ensure` made.
        unsafe {
            ffi::PyEval_RestoreThread(saved);
            ffi::PyGILState_Release(gil);
        }
    }
}

/// Lets a call through only with the pool's secret, compared in constant time.
fn authenticate(
    request: Request<()>,
    expected: &MetadataValue<tonic::metadata::Ascii>,
) -> Result<Request<()>, Status> {
    let given = request
        .metadata()
        .get("authorization")
        .map(MetadataValue::as_bytes)
        .unwrap_or_default();
    let wanted = expected.as_bytes();
    let same = given.len() == wanted.len()
        && given
            .iter()
            .zip(wanted)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(request)
    } else {
        Err(Status::unauthenticated(
            "this worker serves only the pool that started it",
        ))
    }
}

#[pyclass(frozen)]
struct Server {
    socket: std::path::PathBuf,
    threads: usize,
    running: Mutex<Option<(watch::Sender<bool>, std::sync::mpsc::Receiver<()>)>>,
}

#[pymethods]
impl Server {
    /// Stops accepting calls, gives running ones a second, and stops the threads.
    fn stop(&self, py: Python<'_>) {
        let running = self.running.lock().ok().and_then(|mut r| r.take());
        if let Some((stop, finished)) = running {
            let _ = stop.send(true);
            // Wakes the acceptor, which sees the stop.
            let _ = std::os::unix::net::UnixStream::connect(&self.socket);
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            let threads = self.threads;
            py.detach(move || {
                for _ in 0..threads {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if finished.recv_timeout(left).is_err() {
                        return;
                    }
                }
            });
        }
    }
}

struct Service {
    dispatcher: Arc<Py<PyAny>>,
}

/// What the dispatcher raised: its `Failure` (an exception as data), or anything else.
fn python_error(py: Python<'_>, error: PyErr) -> PythonError {
    failure(error.value(py))
}

/// A `Failure` as the proto's error; any other exception by its type and text.
fn failure(value: &Bound<'_, PyAny>) -> PythonError {
    let text = |name: &str| value.getattr(name).and_then(|v| v.extract::<String>()).ok();
    match (text("type_name"), text("message"), text("traceback")) {
        (Some(r#type), Some(message), Some(traceback)) => PythonError {
            r#type,
            message,
            traceback,
        },
        _ => PythonError {
            r#type: value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            message: value.str().map(|s| s.to_string()).unwrap_or_default(),
            traceback: String::new(),
        },
    }
}

/// The worker's side of an interaction's stream, for `Dispatcher.interact`: `send` writes a
/// step as a message, `receive` waits (without the GIL) for the runtime's next one.
#[pyclass(frozen)]
struct Channel {
    /// Taken when the call ends, so the stream ends with it even while Python still holds an
    /// Elixir function (and through it this channel).
    down: Mutex<Option<mpsc::Sender<Result<Interaction, Status>>>>,
    up: Mutex<std::sync::mpsc::Receiver<Interaction>>,
}

impl Channel {
    fn close(&self) -> Option<mpsc::Sender<Result<Interaction, Status>>> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[pymethods]
impl Channel {
    /// `("callback", id, args)` or `("result", json, failure)`, as `Exchange` sends them.
    fn send(&self, py: Python<'_>, step: &Bound<'_, PyTuple>) -> PyResult<()> {
        let kind: String = step.get_item(0)?.extract()?;
        let step = if kind == "callback" {
            interaction::Step::Callback(Callback {
                id: step.get_item(1)?.extract()?,
                args: json_bytes(&step.get_item(2)?)?,
            })
        } else {
            let failed = step.get_item(2)?;
            let outcome = if failed.is_none() {
                execute_response::Outcome::Result(json_bytes(&step.get_item(1)?)?)
            } else {
                execute_response::Outcome::Error(failure(&failed))
            };
            interaction::Step::Result(ExecuteResponse {
                outcome: Some(outcome),
            })
        };
        let message = Interaction { step: Some(step) };
        let closed = || PyRuntimeError::new_err("the runtime closed the interaction");
        let down = self
            .down
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(closed)?;
        py.detach(|| down.blocking_send(Ok(message)))
            .map_err(|_| closed())
    }

    /// `("call", tool, payload)` or `("returned", json, (type, message))`; `None` when the
    /// runtime has gone.
    fn receive<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let up = py.detach(|| {
            self.up
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv()
                .ok()
        });
        let Some(step) = up.and_then(|m| m.step) else {
            return Ok(None);
        };
        let tuple = match step {
            interaction::Step::Call(call) => PyTuple::new(
                py,
                [
                    "call".into_pyobject(py)?.into_any(),
                    call.tool.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, &call.payload).into_any(),
                ],
            )?,
            interaction::Step::Returned(returned) => {
                let (result, error) = match returned.outcome {
                    Some(execute_response::Outcome::Result(json)) => {
                        (PyBytes::new(py, &json).into_any(), py.None().into_bound(py))
                    }
                    Some(execute_response::Outcome::Error(e)) => (
                        py.None().into_bound(py),
                        (e.r#type, e.message).into_pyobject(py)?.into_any(),
                    ),
                    None => (
                        py.None().into_bound(py),
                        ("SnakeBridge.Protocol", "an empty return")
                            .into_pyobject(py)?
                            .into_any(),
                    ),
                };
                PyTuple::new(
                    py,
                    ["returned".into_pyobject(py)?.into_any(), result, error],
                )?
            }
            _ => return Ok(None),
        };
        Ok(Some(tuple))
    }
}

/// Runs an interactive call on this (blocking) thread, and sends its result last.
fn interact(
    dispatcher: &Py<PyAny>,
    call: ExecuteRequest,
    down: mpsc::Sender<Result<Interaction, Status>>,
    up: std::sync::mpsc::Receiver<Interaction>,
) {
    let channel = Channel {
        down: Mutex::new(Some(down)),
        up: Mutex::new(up),
    };
    let (outcome, down) = Python::attach(|py| {
        let channel = match Bound::new(py, channel) {
            Ok(channel) => channel,
            Err(error) => {
                return (
                    execute_response::Outcome::Error(python_error(py, error)),
                    None,
                );
            }
        };
        let result = (|| {
            dispatcher.bind(py).call_method1(
                "interact",
                (
                    call.tool,
                    PyBytes::new(py, &call.payload),
                    channel.getattr("send")?,
                    channel.getattr("receive")?,
                ),
            )
        })();
        let outcome = match result.and_then(|r| json_bytes(&r)) {
            Ok(json) => execute_response::Outcome::Result(json),
            Err(error) => execute_response::Outcome::Error(python_error(py, error)),
        };
        (outcome, channel.get().close())
    });
    let last = Interaction {
        step: Some(interaction::Step::Result(ExecuteResponse {
            outcome: Some(outcome),
        })),
    };
    if let Some(down) = down {
        let _ = down.blocking_send(Ok(last));
    }
}

/// The JSON bytes the dispatcher returned.
fn json_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(value.cast::<PyBytes>()?.as_bytes().to_vec())
}

fn execute(dispatcher: &Py<PyAny>, tool: &str, payload: &[u8]) -> execute_response::Outcome {
    Python::attach(|py| {
        let result = dispatcher
            .bind(py)
            .call_method1("execute", (tool, PyBytes::new(py, payload)))
            .and_then(|r| json_bytes(&r));
        match result {
            Ok(json) => execute_response::Outcome::Result(json),
            Err(error) => execute_response::Outcome::Error(python_error(py, error)),
        }
    })
}

/// Pulls `dispatcher.stream(...)` one chunk at a time, holding the GIL only to pull; stops
/// (and closes the generator) when the caller goes away.
fn stream(
    dispatcher: &Py<PyAny>,
    tool: &str,
    payload: &[u8],
    chunks: mpsc::Sender<Result<StreamChunk, Status>>,
) {
    Python::attach(|py| {
        let iterator = match dispatcher
            .bind(py)
            .call_method1("stream", (tool, PyBytes::new(py, payload)))
        {
            Ok(iterator) => iterator,
            Err(error) => {
                let chunk = StreamChunk {
                    outcome: Some(stream_chunk::Outcome::Error(python_error(py, error))),
                };
                let _ = py.detach(|| chunks.blocking_send(Ok(chunk)));
                return;
            }
        };
        loop {
            let next = match iterator.call_method0("__next__") {
                Ok(items) => match json_bytes(&items) {
                    Ok(items) => stream_chunk::Outcome::Items(items),
                    Err(error) => stream_chunk::Outcome::Error(python_error(py, error)),
                },
                Err(error) if error.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => {
                    return;
                }
                Err(error) => stream_chunk::Outcome::Error(python_error(py, error)),
            };
            let failed = matches!(next, stream_chunk::Outcome::Error(_));
            let chunk = StreamChunk {
                outcome: Some(next),
            };
            let sent = py.detach(|| chunks.blocking_send(Ok(chunk)));
            if sent.is_err() || failed {
                let _ = iterator.call_method0("close");
                return;
            }
        }
    });
}

#[tonic::async_trait]
impl Worker for Service {
    async fn execute(
        &self,
        request: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteResponse>, Status> {
        let ExecuteRequest { tool, payload } = request.into_inner();
        // On this connection's own thread: the pool sends it one call at a time.
        let outcome = execute(&self.dispatcher, &tool, &payload);
        Ok(Response::new(ExecuteResponse {
            outcome: Some(outcome),
        }))
    }

    type ExecuteStreamStream = ReceiverStream<Result<StreamChunk, Status>>;

    async fn execute_stream(
        &self,
        request: Request<ExecuteRequest>,
    ) -> Result<Response<Self::ExecuteStreamStream>, Status> {
        let ExecuteRequest { tool, payload } = request.into_inner();
        let dispatcher = self.dispatcher.clone();
        // Two chunks in flight: the generator runs ahead of the caller only that far.
        let (chunks, receiver) = mpsc::channel(2);
        tokio::task::spawn_blocking(move || stream(&dispatcher, &tool, &payload, chunks));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    type InteractStream = ReceiverStream<Result<Interaction, Status>>;

    async fn interact(
        &self,
        request: Request<tonic::Streaming<Interaction>>,
    ) -> Result<Response<Self::InteractStream>, Status> {
        let mut steps = request.into_inner();
        let call = match steps.message().await? {
            Some(Interaction {
                step: Some(interaction::Step::Call(call)),
            }) => call,
            _ => {
                return Err(Status::invalid_argument(
                    "an interaction starts with its call",
                ));
            }
        };
        let (down, receiver) = mpsc::channel(1);
        let (up, from_runtime) = std::sync::mpsc::channel();
        // The runtime's steps, read on this connection's thread; the call runs on a blocking
        // thread, which waits for them without holding this one.
        tokio::spawn(async move {
            while let Ok(Some(step)) = steps.message().await {
                if up.send(step).is_err() {
                    return;
                }
            }
        });
        let dispatcher = self.dispatcher.clone();
        tokio::task::spawn_blocking(move || interact(&dispatcher, call, down, from_runtime));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let refs = Python::attach(|py| {
            self.dispatcher
                .bind(py)
                .call_method0("heartbeat")
                .and_then(|r| r.extract::<(u32, u64)>())
                .map(|(_, refs)| refs)
                .unwrap_or_default()
        });
        Ok(Response::new(HeartbeatResponse {
            nonce: request.into_inner().nonce,
            pid: std::process::id(),
            protocol_version: PROTOCOL_VERSION,
            refs,
        }))
    }
}
