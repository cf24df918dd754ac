//! What a call can fail with. A Python exception is data (`Error::Python`); everything else is
//! the runtime saying why it could not get an answer.

use std::path::PathBuf;
use std::time::Duration;

/// A Python exception, as the worker reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonError {
    /// `module.QualName`, builtins unqualified: `ValueError`, `json.decoder.JSONDecodeError`;
    /// the worker's own errors are `snakebridge.*`, such as `snakebridge.RefNotFoundError`.
    pub python_type: String,
    pub message: String,
    /// The traceback without the worker's own frames.
    pub traceback: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {}", .0.python_type, .0.message)]
    Python(PythonError),

    #[error("the call did not finish within {after:?}{}", if *.queued { " (it was still waiting for a free worker)" } else { "; it runs on in Python, and its worker keeps serving" })]
    Timeout { after: Duration, queued: bool },

    #[error(
        "a call ran past the pool's hard limit of {after:?}; its thread is taken as lost, and a worker with every thread lost is replaced"
    )]
    Stuck { after: Duration },

    #[error("the Python worker (pid {pid}) exited during the call ({status}){}", tail(.stderr))]
    WorkerCrashed {
        pid: u32,
        status: String,
        stderr: Vec<String>,
    },

    #[error("could not start a Python worker with `{}`: {reason}{}", .python.display(), tail(.stderr))]
    WorkerStart {
        python: PathBuf,
        reason: String,
        stderr: Vec<String>,
    },

    #[error(
        "{queued} calls are already waiting for a worker, the pool's limit; retry later or raise `queue_limit`"
    )]
    Overloaded { queued: usize },

    #[error(
        "a message was larger than the {limit}-byte limit: {detail}; return a reference instead (returns: ref) or raise `max_message_bytes`"
    )]
    TooLarge { limit: usize, detail: String },

    #[error("the worker sent a result that is not valid: {0}")]
    Protocol(String),

    #[error("{0}")]
    InvalidRequest(String),

    #[error("transport error talking to the Python worker: {0}")]
    Transport(String),

    #[error("the pool is shut down")]
    ShutDown,
}

fn tail(stderr: &[String]) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with:\n  {}", stderr.join("\n  "))
    }
}

impl Error {
    /// A short, stable name for the kind of failure, for the Elixir side and for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Python(_) => "python",
            Error::Timeout { .. } | Error::Stuck { .. } => "timeout",
            Error::WorkerCrashed { .. } => "worker_crashed",
            Error::WorkerStart { .. } => "worker_start",
            Error::Overloaded { .. } => "overloaded",
            Error::TooLarge { .. } => "too_large",
            Error::Protocol(_) => "protocol",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Transport(_) => "transport",
            Error::ShutDown => "shut_down",
        }
    }
}
