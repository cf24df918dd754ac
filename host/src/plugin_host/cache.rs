//! Compiled components on disk, keyed by the component's blake3 and the engine's compatibility
//! hash, so a cache entry is only ever loaded into an engine that could have produced it.
//! Compiling takes tens of milliseconds per plugin; loading a cached one, a fraction of one.
//!
//! An entry is native code, so whoever can write it can run code in snakebridge: the cache is
//! used only when its directory and the entry are this user's own and nobody else can write
//! them (else the component is compiled from its pinned bytes, and nothing is cached).

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

/// Whether `path` is this user's own, nobody else can write it, and it is what it should be
/// (a directory, or a plain file, never a link).
fn private(path: &Path, dir: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|meta| {
        let kind = if dir { meta.is_dir() } else { meta.is_file() };
        kind && meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o022 == 0
    })
}

/// The cache's directory, made private (0700) when missing; whether it can be trusted.
fn private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    private(dir, true) && dir.parent().is_some_and(|parent| private(parent, true))
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
    if !private_dir(&dir) {
        return Component::new(engine, bytes);
    }
    let file = format!("{blake3}-{}.cwasm", engine_key(engine));
    let path = dir.join(&file);
    if private(&path, false) {
        #[allow(
            unsafe_code,
            reason = "the file is this user's own, in a directory only this user can write, under a key that includes the engine's compatibility hash"
        )]
        // SAFETY: deserialising is only unsafe for bytes we did not produce; only this user can
        // write the entry and its directory (checked just above), and `compile` below writes
        // only `serialize` output there, atomically.
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
