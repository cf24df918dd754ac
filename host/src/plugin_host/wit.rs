//! Host bindings of the plugin contract, one module per supported version.
//!
//! `latest` is what the rest of the host uses. An older version keeps its own bindings and an
//! adapter that lowers `latest` records to its own and lifts its results back, so one code
//! path runs; only the current and the previous minor version are supported.

pub mod since_v0_1_0;
pub mod since_v0_2_0;

pub use since_v0_2_0 as latest;

/// Contract versions this host runs, oldest first.
pub const SUPPORTED: &[&str] = &[since_v0_1_0::VERSION, since_v0_2_0::VERSION];
