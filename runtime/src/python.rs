//! The Python worker package, embedded in the binary and written out for each pool, so a
//! `cargo install`ed binary needs no other files.

use std::path::{Path, PathBuf};

/// The package's files, by name.
const FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../python/snakebridge_worker/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../python/snakebridge_worker/__main__.py"),
    ),
    (
        "codec.py",
        include_str!("../../python/snakebridge_worker/codec.py"),
    ),
    (
        "dispatch.py",
        include_str!("../../python/snakebridge_worker/dispatch.py"),
    ),
    (
        "grpc_server.py",
        include_str!("../../python/snakebridge_worker/grpc_server.py"),
    ),
];

/// The worker service's `FileDescriptorSet`, compiled from `runtime/proto` by the build script.
pub(crate) const DESCRIPTOR: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/worker_descriptor.bin"));

/// A private directory (mode 0700) holding the package; removed when dropped.
#[derive(Debug)]
pub(crate) struct WorkerDir {
    dir: tempfile::TempDir,
}

impl WorkerDir {
    /// Writes the package, and the native extension when there is one.
    pub(crate) fn create(native: Option<&Path>) -> std::io::Result<WorkerDir> {
        let dir = tempfile::Builder::new()
            .prefix("snakebridge-runtime-")
            .tempdir()?;
        let package = dir.path().join("snakebridge_worker");
        std::fs::create_dir(&package)?;
        for (name, text) in FILES {
            std::fs::write(package.join(name), text)?;
        }
        std::fs::write(package.join("worker_descriptor.bin"), DESCRIPTOR)?;
        if let Some(native) = native {
            // A hard link shares the extension's 50-odd MB instead of copying them each start
            // (and leaves next to nothing behind when a killed runtime cannot clean up); a
            // rebuilt extension is a new file, so the link keeps the one this pool started with.
            let target = dir.path().join("snakebridge_native.abi3.so");
            if std::fs::hard_link(native, &target).is_err() {
                std::fs::copy(native, &target)?;
            }
        }
        Ok(WorkerDir { dir })
    }

    /// The directory to put on `PYTHONPATH`.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn descriptor(&self) -> PathBuf {
        self.dir
            .path()
            .join("snakebridge_worker")
            .join("worker_descriptor.bin")
    }
}
