//! The Python worker package, embedded in the binary and written out for each pool, so a
//! `cargo install`ed binary needs no other files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tonic::metadata::{Ascii, MetadataValue};

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

/// The prefix of every pool's directory in the temporary directory.
const PREFIX: &str = "snakebridge-runtime-";

/// The file in a pool's directory naming the process that owns it: `<pid> <start time>`.
const OWNER: &str = "owner";

/// A pool's private directory (mode 0700, so no other user can reach what is inside): the
/// worker package, the workers' sockets, and the pool's secret, which every call to a worker
/// must carry. Removed when dropped; one left by a runtime that was killed is removed by the
/// next pool to start.
#[derive(Debug)]
pub(crate) struct WorkerDir {
    dir: tempfile::TempDir,
    secret: String,
    sockets: AtomicU64,
}

impl WorkerDir {
    /// Writes the package, and the native extension when there is one.
    pub(crate) fn create(native: Option<&Path>) -> std::io::Result<WorkerDir> {
        sweep(&std::env::temp_dir());
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir()?;
        std::fs::write(
            dir.path().join(OWNER),
            owner_line(std::process::id()).unwrap_or_default(),
        )?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(std::io::Error::other)?;
        let secret = secret.iter().map(|b| format!("{b:02x}")).collect();
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
        Ok(WorkerDir {
            dir,
            secret,
            sockets: AtomicU64::new(0),
        })
    }

    /// A new socket path for a worker.
    pub(crate) fn next_socket(&self) -> PathBuf {
        let n = self.sockets.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("worker-{n}.sock"))
    }

    /// The pool's secret, 64 hex digits from the OS's random source.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The `authorization` metadata every call carries.
    pub(crate) fn authorization(&self) -> MetadataValue<Ascii> {
        // Hex digits are always a valid header value.
        MetadataValue::try_from(format!("Bearer {}", self.secret))
            .unwrap_or_else(|_| MetadataValue::from_static("Bearer -"))
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

/// `<pid> <start time>` for a live process: the start time tells a process from a later one
/// that reuses its pid.
fn owner_line(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted after the parenthesised command name (which may hold spaces).
    let start = stat.rsplit_once(')')?.1.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Removes the directories of pools whose process is gone (killed before it could clean up),
/// when they are this user's own.
fn sweep(temp: &Path) {
    use std::os::unix::fs::MetadataExt;

    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    #[allow(unsafe_code, reason = "getuid cannot fail")]
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        // Not through a link, and only this user's: never another user's directory.
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        let Ok(owner) = std::fs::read_to_string(path.join(OWNER)) else {
            continue;
        };
        let live = owner
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok())
            .and_then(owner_line)
            .is_some_and(|now| now == owner);
        if ours && !live {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
