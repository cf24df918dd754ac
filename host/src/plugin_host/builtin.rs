//! The built-in stage plugins, embedded so an installed binary needs no other files.
//!
//! The bytes are the components committed in `plugins/dist/`, built by `cargo xtask plugins`
//! from `plugins/*`. CI rebuilds them and fails unless they come out byte-identical, so what
//! is embedded is exactly what the sources produce. Their blake3 hashes go into the lock.

use super::Stage;

const EMITTER: &[u8] = include_bytes!("../../../plugins/dist/default-emitter.wasm");
const TYPESPECS: &[u8] = include_bytes!("../../../plugins/dist/typespecs.wasm");
const DOCS: &[u8] = include_bytes!("../../../plugins/dist/docs.wasm");

/// The component that serves `stage` by default.
pub fn builtin(stage: Stage) -> &'static [u8] {
    match stage {
        Stage::Emitter => EMITTER,
        Stage::Typespecs => TYPESPECS,
        Stage::Docs => DOCS,
    }
}
