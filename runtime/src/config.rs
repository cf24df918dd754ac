//! How a pool runs its workers.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// The interpreter, with the project's libraries and `grpcio` installed.
    pub python: PathBuf,
    pub workers: usize,
    /// Serving threads in each worker: one is kept for bookkeeping (heartbeats, references),
    /// the others run one call each, so the pool runs one fewer calls at a time on a worker
    /// (at least one, with a second thread then started for bookkeeping).
    pub threads_per_worker: usize,
    /// Directories put on `PYTHONPATH` after the worker package: the project's own Python.
    pub python_path: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Modules each worker imports before it is ready, so first calls do not pay for them.
    pub preload: Vec<String>,
    pub current_dir: Option<PathBuf>,
    /// A call's deadline unless it sets its own; for streams, the longest wait for a batch.
    /// A caller that reaches it stops waiting; the call itself runs on in Python.
    pub call_timeout: Duration,
    /// How long a call may run in Python at all. Past it, its thread is taken as lost; a
    /// worker whose threads are all lost this way is replaced (its objects are lost with it).
    pub hard_timeout: Duration,
    pub start_timeout: Duration,
    /// The largest request or result, each way.
    pub max_message_bytes: usize,
    /// The deepest nesting of a value, each way, in JSON levels (a tuple counts two).
    pub max_depth: usize,
    /// Live object references one worker holds, over all sessions.
    pub max_refs: usize,
    /// Live object references one session holds, so one leaking process cannot use up the
    /// worker's room for every other session.
    pub max_session_refs: usize,
    /// Calls that may wait for capacity before new ones are refused.
    pub queue_limit: usize,
    /// How often a worker no caller waits on is pinged.
    pub heartbeat_interval: Duration,
    /// Pings missed in a row after which such a worker is replaced (its objects are lost).
    pub heartbeat_misses: u32,
    /// Copy workers' stderr, line by line, to this process's stderr.
    pub forward_stderr: bool,
    /// The `snakebridge_native` extension (`libsnakebridge_native.so`, from the
    /// `snakebridge-native` crate): workers serve gRPC from Rust inside Python with it, and
    /// with grpcio without it.
    pub native: Option<PathBuf>,
}

impl PoolConfig {
    /// Calls a worker runs at a time.
    pub(crate) fn calls_per_worker(&self) -> usize {
        self.threads_per_worker.saturating_sub(1).max(1)
    }

    pub fn new(python: impl Into<PathBuf>) -> PoolConfig {
        PoolConfig {
            python: python.into(),
            workers: 2,
            threads_per_worker: 8,
            python_path: Vec::new(),
            env: Vec::new(),
            preload: Vec::new(),
            current_dir: None,
            call_timeout: Duration::from_secs(60),
            hard_timeout: Duration::from_secs(300),
            start_timeout: Duration::from_secs(60),
            max_message_bytes: 64 * 1024 * 1024,
            max_depth: 256,
            max_refs: 100_000,
            max_session_refs: 25_000,
            queue_limit: 10_000,
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_misses: 3,
            forward_stderr: true,
            native: None,
        }
    }
}
