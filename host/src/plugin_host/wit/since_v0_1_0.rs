//! `snakebridge:plugin@0.1.0`.

/// The contract version these bindings implement.
pub const VERSION: &str = "0.1.0";

pub mod emitter {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "emitter",
        // `generate --dump-ir` writes the records exactly as plugins see them.
        additional_derives: [serde::Serialize],
    });
}

pub mod typespecs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "typespecs",
        with: { "snakebridge:plugin/types@0.1.0": super::emitter::snakebridge::plugin::types },
    });
}

pub mod docs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "docs",
        with: { "snakebridge:plugin/types@0.1.0": super::emitter::snakebridge::plugin::types },
    });
}

pub use emitter::snakebridge::plugin::types;
