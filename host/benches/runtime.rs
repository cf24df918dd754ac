//! Benchmarks of the runtime, run with `cargo bench -p snakebridge --bench runtime`. See
//! BENCHMARKS.md for the figures. Every row that is compared runs in this one process:
//!
//! - `calibration`: a fixed CPU-bound job (blake3 of 64 MiB on one thread), printed first so
//!   figures from machines of different speed can be compared.
//! - `floor`: `math.sqrt` called in-process (timeit), the worker's dispatcher called
//!   in-process, and a length-prefixed pipe round trip to a worker process (`--transport
//!   pipe`, the same dispatcher): what gRPC is measured against.
//! - `transport`: the gRPC transport alone, against a worker service written in Rust in this
//!   process: tonic's `Channel` over loopback TCP (the pool before issue 13), `Channel` over a
//!   Unix socket, and the pool's own connection (`snakebridge_runtime::transport`) over it.
//! - `rust`: `Pool::call` of `math.sqrt(2.0)` from a task: latency one call at a time, and
//!   calls/s with calls in flight, on 1 and 2 workers; workers serving with grpcio, then with
//!   the native extension (`cargo build --release -p snakebridge-native` first, or
//!   `SNAKEBRIDGE_NATIVE`); then one call at a time from the thread in `block_on`.
//! - `elixir`: the same call through `SnakeBridge.Runtime` in a real VM, via `snakebridge
//!   runtime serve` (this build's binary), on 1 and 2 workers.
//! - `callbacks`: from Elixir, a plain call beside calls passing an Elixir function that Python
//!   calls 0, 1 and 10 times (`functools.reduce`), alternating call by call: what a callback
//!   round trip costs.
//! - `scaling`: calls/s of a function that computes for 1 ms holding the GIL, 1 and 2
//!   workers: what more workers are for.
//! - `start`: a pool of one worker from spawn to ready.
//! - `numpy`: a 1e6-element array returned as a reference and as data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark program"
)]

#[path = "support/rows.rs"]
mod rows;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use snakebridge_runtime::proto::worker_client::WorkerClient;
use snakebridge_runtime::proto::worker_server::{Worker, WorkerServer};
use snakebridge_runtime::proto::{
    ExecuteRequest, ExecuteResponse, HeartbeatRequest, HeartbeatResponse, execute_response,
};
use snakebridge_runtime::{Call, Pool, PoolConfig, Returns};

const CALLS: usize = 3000;
const IN_FLIGHT: usize = 8;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn python() -> PathBuf {
    std::env::var_os("SNAKEBRIDGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into())
}

/// Latency percentiles of sorted durations, in microseconds.
struct Latency {
    p50: f64,
    p99: f64,
    per_second: f64,
}

fn latency(mut times: Vec<Duration>, total: Duration) -> Latency {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    Latency {
        p50: at(0.5),
        p99: at(0.99),
        per_second: times.len() as f64 / total.as_secs_f64(),
    }
}

fn row(name: &str, l: &Latency) {
    println!(
        "{name:<52} p50 {:>8.1} µs  p99 {:>8.1} µs  {:>8.0} calls/s",
        l.p50, l.p99, l.per_second
    );
}

fn payload() -> Vec<u8> {
    serde_json::to_vec(&Call::function("math", "sqrt").arg(2.0).payload()).unwrap()
}

fn main() {
    let wants = rows::selected();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut pipe_p50 = None;
    let mut rust_p50 = None;
    if wants("calibration") {
        calibration();
    }
    if wants("floor") {
        in_process();
        pipe_p50 = Some(pipe());
    }
    if wants("transport") {
        runtime.block_on(async { tokio::spawn(transport()).await.unwrap() });
    }
    if wants("rust") {
        // As a tokio application calls: from a task, on a runtime thread.
        rust_p50 = Some(runtime.block_on(async { tokio::spawn(rust()).await.unwrap() }));
        runtime.block_on(outside_the_runtime());
    }
    if let (Some(pipe), Some(rust)) = (pipe_p50, rust_p50) {
        println!(
            "{:<52} {:.2}x the pipe floor (target: within 4x)",
            "  Rust API p50",
            rust / pipe
        );
    }
    if wants("elixir") {
        elixir(rust_p50);
    }
    if wants("callbacks") {
        callbacks();
    }
    if wants("scaling") {
        runtime.block_on(scaling());
    }
    if wants("start") {
        runtime.block_on(start());
    }
    if wants("numpy") {
        runtime.block_on(numpy());
    }
}

/// The same CPU-bound work on any machine: its time says how fast this one is.
fn calibration() {
    let data = vec![7u8; 64 << 20];
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(blake3::hash(std::hint::black_box(&data)));
            start.elapsed()
        })
        .min()
        .unwrap();
    println!(
        "{:<52} {:>8.1} ms",
        "calibration: blake3 of 64 MiB, one thread",
        best.as_secs_f64() * 1e3
    );
}

/// Runs `command` to success and returns what it printed.
fn stdout_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn in_process() {
    let script = r#"
import json, math, timeit
from snakebridge_worker.dispatch import Dispatcher
n = 200000
print(min(timeit.repeat("sqrt(2.0)", globals={"sqrt": math.sqrt}, number=n, repeat=5)) / n * 1e6)
d = Dispatcher()
payload = json.dumps({"protocol_version": 1, "library": "math", "python_module": "math",
    "function": "sqrt", "call_type": "function", "args": [2.0], "kwargs": {},
    "session_id": "", "returns": "auto"}).encode()
d.execute("snakebridge.call", payload)
n = 20000
print(min(timeit.repeat(lambda: d.execute("snakebridge.call", payload), number=n, repeat=5)) / n * 1e6)
"#;
    let text = stdout_of(
        Command::new(python())
            .args(["-c", script])
            .env("PYTHONPATH", repo().join("python")),
    );
    let mut lines = text.lines();
    println!(
        "{:<52} {:>8.3} µs",
        "floor: math.sqrt in-process (timeit)",
        lines.next().unwrap().parse::<f64>().unwrap()
    );
    println!(
        "{:<52} {:>8.1} µs",
        "floor: worker dispatcher in-process (JSON in, out)",
        lines.next().unwrap().parse::<f64>().unwrap()
    );
}

/// Round trips over a plain pipe to a worker process serving the same dispatcher.
fn pipe() -> f64 {
    let mut child = Command::new(python())
        .args(["-m", "snakebridge_worker", "--transport", "pipe"])
        .env("PYTHONPATH", repo().join("python"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert!(ready.starts_with("READY"), "{ready}");
    let mut frame = b"snakebridge.call\n".to_vec();
    frame.extend(payload());
    let mut round_trip = || {
        stdin
            .write_all(&(frame.len() as u32).to_be_bytes())
            .unwrap();
        stdin.write_all(&frame).unwrap();
        stdin.flush().unwrap();
        let mut length = [0; 4];
        stdout.read_exact(&mut length).unwrap();
        let mut body = vec![0; u32::from_be_bytes(length) as usize];
        stdout.read_exact(&mut body).unwrap();
        assert_eq!(body[0], 0, "{}", String::from_utf8_lossy(&body));
    };
    for _ in 0..200 {
        round_trip();
    }
    let start = Instant::now();
    let times: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            round_trip();
            t.elapsed()
        })
        .collect();
    let l = latency(times, start.elapsed());
    row("floor: length-prefixed pipe round trip", &l);
    drop(stdin);
    let _ = child.wait();
    l.p50
}

fn native() -> Option<PathBuf> {
    let path = std::env::var_os("SNAKEBRIDGE_NATIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/release/libsnakebridge_native.so"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "no native extension at {}: `cargo build --release -p snakebridge-native`",
            path.display()
        );
        None
    }
}

fn config(workers: usize) -> PoolConfig {
    let mut config = PoolConfig::new(python());
    config.workers = workers;
    config.forward_stderr = false;
    config.native = native();
    config
}

/// A worker service that answers every call at once, so only the transport is measured.
struct Echo;

#[tonic::async_trait]
impl Worker for Echo {
    async fn execute(
        &self,
        _: tonic::Request<ExecuteRequest>,
    ) -> Result<tonic::Response<ExecuteResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExecuteResponse {
            outcome: Some(execute_response::Outcome::Result(
                b"1.4142135623730951".to_vec(),
            )),
        }))
    }

    type ExecuteStreamStream =
        tokio_stream::Empty<Result<snakebridge_runtime::proto::StreamChunk, tonic::Status>>;

    async fn execute_stream(
        &self,
        _: tonic::Request<ExecuteRequest>,
    ) -> Result<tonic::Response<Self::ExecuteStreamStream>, tonic::Status> {
        Ok(tonic::Response::new(tokio_stream::empty()))
    }

    type InteractStream =
        tokio_stream::Empty<Result<snakebridge_runtime::proto::Interaction, tonic::Status>>;

    async fn interact(
        &self,
        _: tonic::Request<tonic::Streaming<snakebridge_runtime::proto::Interaction>>,
    ) -> Result<tonic::Response<Self::InteractStream>, tonic::Status> {
        Ok(tonic::Response::new(tokio_stream::empty()))
    }

    async fn heartbeat(
        &self,
        _: tonic::Request<HeartbeatRequest>,
    ) -> Result<tonic::Response<HeartbeatResponse>, tonic::Status> {
        Ok(tonic::Response::new(HeartbeatResponse::default()))
    }
}

enum Client {
    Channel(WorkerClient<tonic::transport::Channel>),
    Direct(WorkerClient<snakebridge_runtime::transport::Connection>),
}

impl Client {
    async fn execute(&mut self, request: ExecuteRequest) {
        match self {
            Client::Channel(client) => drop(client.execute(request).await.unwrap()),
            Client::Direct(client) => drop(client.execute(request).await.unwrap()),
        }
    }
}

/// The same call through each client and socket, alternating rounds so drift hits all alike.
async fn transport() {
    use tonic::transport::{Endpoint, Server, Uri};
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("echo.sock");
    let unix = tokio::net::UnixListener::bind(&socket).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tcp.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .add_service(WorkerServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(unix)),
    );
    tokio::spawn(
        Server::builder()
            .add_service(WorkerServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(tcp)),
    );
    let over_tcp = Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap();
    let path = socket.clone();
    let over_unix = Endpoint::from_static("http://echo.invalid")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .unwrap();
    let direct = snakebridge_runtime::transport::connect(&socket, Duration::from_secs(5))
        .await
        .unwrap();
    let origin = Uri::from_static("http://echo.invalid");
    let mut clients = [
        (
            "loopback TCP, tonic Channel",
            Client::Channel(WorkerClient::new(over_tcp)),
        ),
        (
            "Unix socket, tonic Channel",
            Client::Channel(WorkerClient::new(over_unix)),
        ),
        (
            "Unix socket, the pool's connection",
            Client::Direct(WorkerClient::with_origin(direct, origin)),
        ),
    ];
    let rounds = 10;
    let mut times = vec![Vec::with_capacity(CALLS); clients.len()];
    let mut spent = vec![Duration::ZERO; clients.len()];
    for _ in 0..rounds {
        for (n, (_, client)) in clients.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..CALLS / rounds {
                let request = ExecuteRequest {
                    tool: "execute".into(),
                    payload: payload(),
                };
                let t = Instant::now();
                client.execute(request).await;
                times[n].push(t.elapsed());
            }
            spent[n] += start.elapsed();
        }
    }
    for (n, (name, _)) in clients.iter().enumerate() {
        row(
            &format!("transport: {name}"),
            &latency(std::mem::take(&mut times[n]), spent[n]),
        );
    }
}

/// The p50 of one call at a time on one worker, with the native extension when there is one.
async fn rust() -> f64 {
    let mut p50 = 0.0;
    for native in [None, native()] {
        let transport = if native.is_some() { "native" } else { "grpcio" };
        let mut config = config(1);
        config.native = native;
        p50 = rust_transport(transport, config).await;
    }
    p50
}

async fn rust_transport(transport: &str, base: PoolConfig) -> f64 {
    let call = Call::function("math", "sqrt").arg(2.0);
    let mut sequential_p50 = 0.0;
    let mut throughput = Vec::new();
    for workers in [1, 2] {
        let mut config = base.clone();
        config.workers = workers;
        let pool = Pool::start(config).await.unwrap();
        let l = one_at_a_time(&pool, &call).await;
        row(
            &format!("Rust Pool::call, {transport}, {workers} worker(s), one at a time"),
            &l,
        );
        if workers == 1 {
            sequential_p50 = l.p50;
        }
        let l = concurrent(&pool, &call, CALLS).await;
        row(
            &format!("Rust Pool::call, {transport}, {workers} worker(s), {IN_FLIGHT} in flight"),
            &l,
        );
        throughput.push(l.per_second);
        pool.shutdown(Duration::from_secs(2)).await;
    }
    scaled(&throughput);
    sequential_p50
}

/// `CALLS` calls one after another, after 200 to warm up.
async fn one_at_a_time(pool: &Pool, call: &Call) -> Latency {
    for _ in 0..200 {
        pool.call(call).await.unwrap();
    }
    let start = Instant::now();
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        pool.call(call).await.unwrap();
        times.push(t.elapsed());
    }
    latency(times, start.elapsed())
}

/// One call at a time from the thread in `block_on`, outside the runtime's threads (as from
/// `#[tokio::main]`'s body): every answer crosses from a runtime thread to this one.
async fn outside_the_runtime() {
    let Some(native) = native() else { return };
    let mut config = config(1);
    config.native = Some(native);
    let pool = Pool::start(config).await.unwrap();
    let call = Call::function("math", "sqrt").arg(2.0);
    row(
        "Rust Pool::call, native, 1 worker, from block_on",
        &one_at_a_time(&pool, &call).await,
    );
    pool.shutdown(Duration::from_secs(2)).await;
}

async fn concurrent(pool: &Pool, call: &Call, calls: usize) -> Latency {
    let call = Arc::new(call.clone());
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (pool, call) = (pool.clone(), call.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..calls / IN_FLIGHT {
                    let t = Instant::now();
                    pool.call(&call).await.unwrap();
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    latency(times, start.elapsed())
}

/// The same call from Elixir, through `snakebridge runtime serve`, in one VM per pool size.
fn elixir(rust_p50: Option<f64>) {
    let mut one_worker = None;
    for workers in [1, 2] {
        let text = mix_run(
            "runtime_calls.exs",
            &[CALLS.to_string(), IN_FLIGHT.to_string()],
            workers,
        );
        let numbers: Vec<f64> = text
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let sequential = Latency {
            p50: numbers[0],
            p99: numbers[1],
            per_second: numbers[2],
        };
        let parallel = Latency {
            p50: numbers[3],
            p99: numbers[4],
            per_second: numbers[5],
        };
        row(
            &format!("Elixir SnakeBridge.Runtime, {workers} worker(s), one at a time"),
            &sequential,
        );
        row(
            &format!("Elixir SnakeBridge.Runtime, {workers} worker(s), {IN_FLIGHT} in flight"),
            &parallel,
        );
        if workers == 1 {
            if let Some(rust) = rust_p50 {
                println!(
                    "{:<52} {:+.1} µs over the Rust API (target: at most +100 µs)",
                    "  Elixir p50",
                    sequential.p50 - rust
                );
            }
            one_worker = Some(parallel.per_second);
        } else if let Some(one) = one_worker {
            println!(
                "{:<52} {:.2}x calls/s",
                "  2 workers against 1",
                parallel.per_second / one
            );
        }
    }
}

/// Runs `host/benches/<script>` with `args` in the Elixir package, against this build's
/// binary and a pool of `workers` serving the standard library; returns what it prints.
fn mix_run(script: &str, args: &[String], workers: usize) -> String {
    let elixir_dir = repo().join("elixir");
    let compiled = Command::new("mix")
        .args(["compile"])
        .current_dir(&elixir_dir)
        .output()
        .unwrap();
    assert!(compiled.status.success());
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("snakebridge.toml"),
        format!(
            "[python]\nexecutable = {:?}\n\n[libraries]\nmath = {{ stdlib = true }}\n\n[runtime]\nworkers = {workers}\n",
            python().display().to_string()
        ),
    )
    .unwrap();
    stdout_of(
        Command::new("mix")
            .args(["run", "--no-compile"])
            .arg(repo().join("host/benches").join(script))
            .args(args)
            .current_dir(&elixir_dir)
            .env("SNAKEBRIDGE_BIN", env!("CARGO_BIN_EXE_snakebridge"))
            .env("SNAKEBRIDGE_BENCH_PROJECT", project.path()),
    )
}

/// Calls with Elixir functions Python calls back, beside a plain call, in one VM.
fn callbacks() {
    let text = mix_run("runtime_callbacks.exs", &[CALLS.to_string()], 1);
    let mut p50s = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (p50, p99): (f64, f64) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        println!(
            "{:<52} p50 {p50:>8.1} µs  p99 {p99:>8.1} µs",
            format!("Elixir, {}", fields[0])
        );
        p50s.push(p50);
    }
    if let [_, _, one, ten] = p50s[..] {
        println!(
            "{:<52} {:.1} µs per callback (10 callbacks less 1, over 9)",
            "  a callback round trip",
            (ten - one) / 9.0
        );
    }
}

async fn scaling() {
    let call = Call::function("runtime_fixture", "busy").arg(1);
    let mut rates = Vec::new();
    for workers in [1, 2] {
        let mut config = config(workers);
        config.python_path = vec![repo().join("tests/fixtures/python")];
        let pool = Pool::start(config).await.unwrap();
        for _ in 0..20 {
            pool.call(&call).await.unwrap();
        }
        let l = concurrent(&pool, &call, 800).await;
        row(
            &format!(
                "Rust Pool::call of 1 ms of Python, {workers} worker(s), {IN_FLIGHT} in flight"
            ),
            &l,
        );
        rates.push(l.per_second);
        pool.shutdown(Duration::from_secs(2)).await;
    }
    scaled(&rates);
}

/// Calls/s on 2 workers against 1.
fn scaled(rates: &[f64]) {
    println!(
        "{:<52} {:.2}x calls/s (target: at least 1.7x)",
        "  2 workers against 1",
        rates[1] / rates[0]
    );
}

async fn start() {
    for native in [None, native()] {
        let transport = if native.is_some() { "native" } else { "grpcio" };
        let mut times = Vec::new();
        for _ in 0..5 {
            let mut config = config(1);
            config.native = native.clone();
            let t = Instant::now();
            let pool = Pool::start(config).await.unwrap();
            times.push(t.elapsed());
            pool.shutdown(Duration::from_secs(2)).await;
        }
        times.sort();
        println!(
            "{:<52} min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms",
            format!("worker start to ready, {transport} (no preload)"),
            times[0].as_secs_f64() * 1e3,
            times[2].as_secs_f64() * 1e3,
            times[4].as_secs_f64() * 1e3
        );
    }
}

async fn numpy() {
    let pool = Pool::start(config(1)).await.unwrap();
    let call = Call::function("numpy", "linspace")
        .arg(0)
        .arg(1)
        .arg(1_000_000);
    pool.call(&call).await.unwrap();
    for (name, returns) in [("a reference", Returns::Auto), ("data", Returns::Value)] {
        let call = call.clone().returns(returns).session("numpy");
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            pool.call(&call).await.unwrap();
            times.push(t.elapsed());
            pool.release_session("numpy").await.unwrap();
        }
        times.sort();
        println!(
            "{:<52} min {:>7.1} ms  median {:>7.1} ms",
            format!("numpy.linspace 1e6 returned as {name}"),
            times[0].as_secs_f64() * 1e3,
            times[2].as_secs_f64() * 1e3
        );
    }
    pool.shutdown(Duration::from_secs(2)).await;
}
