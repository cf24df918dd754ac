//! Host bindings of the plugin contract, one module per supported version.
//!
//! `latest` is what the rest of the host uses. When `since_v0_2_0` arrives, `since_v0_1_0`
//! keeps its own bindings and lifts its records to `latest` at the boundary, so one code path
//! runs; only the current and the previous minor version are supported.

pub mod since_v0_1_0;

pub use since_v0_1_0 as latest;

/// Contract versions this host runs, oldest first.
pub const SUPPORTED: &[&str] = &[since_v0_1_0::VERSION];
