//! snakebridge: typed, documented Elixir bindings for the Python symbols a project uses.

pub mod arity;
pub mod config;
pub mod model;
pub mod naming;
pub mod scan;
pub mod write;

pub fn main() {}
