//! Environment variables snakebridge reads, in one place.

/// `1`/`true`: never start Python; fail unless everything is already generated. See `verify`.
pub const STRICT: &str = "SNAKEBRIDGE_STRICT";

/// `1`/`true`: skip scanning and generation entirely (for builds that must not touch Python).
pub const SKIP: &str = "SNAKEBRIDGE_SKIP";

/// A Python interpreter to use instead of the configured one or the managed environment.
pub const PYTHON: &str = "SNAKEBRIDGE_PYTHON";

/// Where compiled plugins are cached; defaults to `$XDG_CACHE_HOME/snakebridge`.
pub const CACHE_DIR: &str = "SNAKEBRIDGE_CACHE_DIR";

/// Whether an environment flag is set to a true value.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The `snakebridge_native` extension for the runtime's workers: a path to
/// `libsnakebridge_native.so`, or `off` to serve with grpcio. By default the library next to
/// the `snakebridge` executable is used when it is there.
pub const NATIVE: &str = "SNAKEBRIDGE_NATIVE";

/// For tests only: abort at the `N`th step of the write phase, as `kill -9` would stop a run
/// there (see `output`).
pub const FAULT_AT: &str = "SNAKEBRIDGE_FAULT_AT";
