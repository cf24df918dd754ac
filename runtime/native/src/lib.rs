//! `snakebridge_native`: the worker's gRPC service served by tonic from inside the Python
//! process, calling the same dispatcher the grpcio server calls. grpcio's Python server hands
//! every call from its polling thread to a pool thread and back, which costs most of a round
//! trip; here HTTP/2 and protobuf stay in Rust and only the dispatch takes the GIL.
//!
//! Python uses it as `python -m snakebridge_worker --transport native`:
//!
//! ```python
//! server = snakebridge_native.start(dispatcher, port, max_message_bytes, threads)
//! ... server.port ...
//! server.stop()
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use snakebridge_runtime::PROTOCOL_VERSION;
use snakebridge_runtime::proto::worker_server::{Worker, WorkerServer};
use snakebridge_runtime::proto::{
    ExecuteRequest, ExecuteResponse, HeartbeatRequest, HeartbeatResponse, PythonError, StreamChunk,
    execute_response, stream_chunk,
};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

#[pymodule]
fn snakebridge_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(start, module)?)?;
    module.add_class::<Server>()?;
    Ok(())
}

/// Starts serving on `127.0.0.1:port` (0: any free port) with at most `threads` calls in
/// Python at a time, and returns at once.
#[pyfunction]
fn start(
    py: Python<'_>,
    dispatcher: Py<PyAny>,
    port: u16,
    max_message_bytes: usize,
    threads: usize,
) -> PyResult<Server> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(threads.max(1))
        .thread_name("snakebridge-native")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let (incoming, bound) = py
        .detach(|| {
            runtime.block_on(async {
                let incoming =
                    tonic::transport::server::TcpIncoming::bind(address)?.with_nodelay(Some(true));
                let bound = incoming.local_addr()?;
                Ok::<_, std::io::Error>((incoming, bound))
            })
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot bind {address}: {e}")))?;
    let service = WorkerServer::new(Service {
        dispatcher: Arc::new(dispatcher),
    })
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(max_message_bytes);
    let (stop, stopped) = oneshot::channel::<()>();
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    Ok(Server {
        port: bound.port(),
        running: Mutex::new(Some((runtime, stop))),
    })
}

#[pyclass(frozen)]
struct Server {
    #[pyo3(get)]
    port: u16,
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

fn execute(dispatcher: &Py<PyAny>, tool: &str, payload: &[u8]) -> execute_response::Outcome {
    Python::attach(|py| {
        let result = dispatcher
            .bind(py)
            .call_method1("execute", (tool, PyBytes::new(py, payload)))
            .and_then(|r| r.extract::<String>());
        match result {
            Ok(json) => execute_response::Outcome::Result(json.into_bytes()),
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
                Ok(items) => match items.extract::<String>() {
                    Ok(items) => stream_chunk::Outcome::Items(items.into_bytes()),
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
