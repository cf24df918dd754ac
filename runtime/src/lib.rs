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
//! serving `runtime/proto` on a Unix socket in the pool's private (0700) directory and
//! answering only calls that carry the pool's secret, which each gets on stdin. A caller's
//! deadline ends its own wait; the pool replaces a worker that exits, stops answering
//! heartbeats while no caller waits on it, or has every thread stuck past the hard limit.
//! Workers exit when their parent does. [`port`] serves the pool to Elixir.

mod call;
mod config;
mod error;
mod pool;
pub mod port;
pub mod proto;
mod python;
mod term;
pub mod transport;
pub mod value;
mod worker;

pub use call::{Call, CallType, PROTOCOL_VERSION, Returns};
pub use config::PoolConfig;
pub use error::{Error, PythonError};
pub use pool::{CallStream, Interaction, Pool, Step, Upstream, WorkerInfo};
pub use serde_json::Value;
pub use value::Ref;
