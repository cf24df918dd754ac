//! The run-time half of snakebridge: a pool of Python worker processes called over gRPC.
//!
//! ```no_run
//! # async fn demo() -> Result<(), snakebridge_runtime::Error> {
//! use snakebridge_runtime::{Call, Pool, PoolConfig};
//!
//! let pool = Pool::start(PoolConfig::new("python3")).await?;
//! let root = pool.call(&Call::function("math", "sqrt").arg(2.0)).await?;
//! assert_eq!(root.as_f64(), Some(std::f64::consts::SQRT_2));
//! # Ok(()) }
//! ```
//!
//! Workers are `python -m snakebridge_worker` (the package in `python/`, embedded here),
//! serving `runtime/proto` on an OS-assigned loopback port announced on stdout. The pool
//! replaces a worker that crashes, hangs past a deadline or stops answering heartbeats;
//! workers exit when their parent does. [`port`] serves the pool to Elixir.

mod call;
mod config;
mod error;
mod pool;
pub mod port;
pub mod proto;
mod python;
mod term;
pub mod value;
mod worker;

pub use call::{Call, CallType, PROTOCOL_VERSION, Returns};
pub use config::PoolConfig;
pub use error::{Error, PythonError};
pub use pool::{CallStream, Pool, WorkerInfo};
pub use serde_json::Value;
pub use value::Ref;
