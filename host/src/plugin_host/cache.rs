//! Compiled components on disk, keyed by the component's blake3 and the engine's compatibility
//! hash, so a cache entry is only ever loaded into an engine that could have produced it.
//! Compiling takes tens of milliseconds per plugin; loading a cached one, a fraction of one.

use std::hash::{Hash, Hasher};
use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

/// A `Hasher` over blake3, stable across Rust versions unlike `DefaultHasher`.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let hash = self.0.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = Blake3Hasher(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().to_hex()[..16].to_string()
}

/// Compiles `bytes`, or loads the compilation cached under `cache`.
pub(super) fn compile(
    engine: &Engine,
    cache: Option<&Path>,
    bytes: &[u8],
    blake3: &str,
) -> wasmtime::Result<Component> {
    let Some(cache) = cache else {
        return Component::new(engine, bytes);
    };
    let dir = cache.join("components");
    let file = format!("{blake3}-{}.cwasm", engine_key(engine));
    let path = dir.join(&file);
    if path.exists() {
        #[allow(
            unsafe_code,
            reason = "the file is one this host compiled and wrote, under a key that includes the engine's compatibility hash"
        )]
        // SAFETY: deserialising is only unsafe for bytes we did not produce; this cache holds
        // only `serialize` output written atomically by `compile` below.
        let cached = unsafe { Component::deserialize_file(engine, &path) };
        if let Ok(component) = cached {
            return Ok(component);
        }
    }
    let component = Component::new(engine, bytes)?;
    // The cache is an optimisation: failing to write it must not fail the run.
    if let Ok(serialized) = component.serialize()
        && let Ok(directory) = crate::write::Directory::create(cache, "components")
    {
        let _ = directory.write_if_changed(&file, &serialized);
    }
    Ok(component)
}
