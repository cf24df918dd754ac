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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use snakebridge_runtime::PROTOCOL_VERSION;
use snakebridge_runtime::proto::worker_server::{Worker, WorkerServer};
use snakebridge_runtime::proto::{
    ExecuteRequest, ExecuteResponse, HeartbeatRequest, HeartbeatResponse, PythonError, StreamChunk,
    execute_response, stream_chunk,
};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

#[pymodule]
fn snakebridge_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(start, module)?)?;
    module.add_class::<Server>()?;
    Ok(())
}

/// Python runs on the blocking threads, and its decoding and encoding recurse once or twice
/// per level of a value's nesting (up to the runtime's `max_depth`).
const THREAD_STACK: usize = 16 << 20;

/// Starts serving on the Unix socket `socket`, taking only calls that carry `token`, with at
/// most `threads` calls in Python at a time, and returns at once.
#[pyfunction]
fn start(
    py: Python<'_>,
    dispatcher: Py<PyAny>,
    socket: std::path::PathBuf,
    token: &[u8],
    max_message_bytes: usize,
    threads: usize,
) -> PyResult<Server> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(threads.max(1))
        .thread_stack_size(THREAD_STACK)
        .thread_name("snakebridge-native")
        .on_thread_start(keep_thread_state)
        .on_thread_stop(drop_thread_state)
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let expected = MetadataValue::try_from([b"Bearer ".as_slice(), token].concat())
        .map_err(|e| PyRuntimeError::new_err(format!("the secret is not a header value: {e}")))?;
    let listener = py
        .detach(|| runtime.block_on(async { tokio::net::UnixListener::bind(&socket) }))
        .map_err(|e| {
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
    let (stop, stopped) = oneshot::channel::<()>();
    let incoming = UnixListenerStream::new(listener);
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    Ok(Server {
        running: Mutex::new(Some((runtime, stop))),
    })
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
    running: Mutex<Option<(tokio::runtime::Runtime, oneshot::Sender<()>)>>,
}

#[pymethods]
impl Server {
    /// Stops accepting calls, gives running ones a second, and stops the threads.
    fn stop(&self, py: Python<'_>) {
        let running = self.running.lock().ok().and_then(|mut r| r.take());
        if let Some((runtime, stop)) = running {
            let _ = stop.send(());
            py.detach(|| runtime.shutdown_timeout(Duration::from_secs(1)));
        }
    }
}

struct Service {
    dispatcher: Arc<Py<PyAny>>,
}

/// What the dispatcher raised: its `Failure` (an exception as data), or anything else.
fn python_error(py: Python<'_>, error: PyErr) -> PythonError {
    let value = error.value(py);
    let text = |name: &str| value.getattr(name).and_then(|v| v.extract::<String>()).ok();
    match (text("type_name"), text("message"), text("traceback")) {
        (Some(r#type), Some(message), Some(traceback)) => PythonError {
            r#type,
            message,
            traceback,
        },
        _ => PythonError {
            r#type: error
                .get_type(py)
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            message: value.str().map(|s| s.to_string()).unwrap_or_default(),
            traceback: String::new(),
        },
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
        let dispatcher = self.dispatcher.clone();
        let outcome = tokio::task::spawn_blocking(move || execute(&dispatcher, &tool, &payload))
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
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

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let dispatcher = self.dispatcher.clone();
        let refs = tokio::task::spawn_blocking(move || {
            Python::attach(|py| {
                dispatcher
                    .bind(py)
                    .call_method0("heartbeat")
                    .and_then(|r| r.extract::<(u32, u64)>())
                    .map(|(_, refs)| refs)
                    .unwrap_or_default()
            })
        })
        .await
        .unwrap_or_default();
        Ok(Response::new(HeartbeatResponse {
            nonce: request.into_inner().nonce,
            pid: std::process::id(),
            protocol_version: PROTOCOL_VERSION,
            refs,
        }))
    }
}
