//! `snakebridge:plugin@0.2.0`, the current contract.

/// The contract version these bindings implement.
pub const VERSION: &str = "0.2.0";

pub mod emitter {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "emitter",
        // `generate --dump-ir` writes the records exactly as plugins see them.
        additional_derives: [serde::Serialize],
    });
}

pub mod typespecs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "typespecs",
        with: { "snakebridge:plugin/types@0.2.0": super::emitter::snakebridge::plugin::types },
    });
}

pub mod docs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "docs",
        with: { "snakebridge:plugin/types@0.2.0": super::emitter::snakebridge::plugin::types },
    });
}

pub use emitter::snakebridge::plugin::types;

/// `--dump-ir` shows flags as the list of those set, by their contract names; bindgen derives
/// nothing for flags types.
impl serde::Serialize for types::SymbolFlags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names = [
            (Self::GENERATOR, "generator"),
            (Self::STREAMING, "streaming"),
        ];
        serializer.collect_seq(
            names
                .into_iter()
                .filter(|(flag, _)| self.contains(*flag))
                .map(|(_, name)| name),
        )
    }
}
