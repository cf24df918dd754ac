//! The only place that writes files. Every write is atomic (a temporary file in the same
//! directory, then a rename) and happens only when the content changed, so an unchanged run
//! leaves every modification time alone. Generated files go through a capability handle on the
//! output directory, so no path a plugin returns can land outside it.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot write `{}`", path.display())]
    #[diagnostic(
        code(snakebridge::write::io),
        help("check that the directory exists and is writable by this user")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("refusing to write `{path}`: {reason}")]
    #[diagnostic(
        code(snakebridge::write::unsafe_path),
        help("a plugin may only return relative paths inside the output directory")
    )]
    UnsafePath { path: String, reason: &'static str },

    #[error("another snakebridge run holds `{}`", path.display())]
    #[diagnostic(
        code(snakebridge::write::locked),
        help("wait for it to finish, or remove the file if no run is active")
    )]
    Locked { path: PathBuf },
}

/// A directory the host writes into, with every path confined to it.
pub struct Directory {
    dir: Dir,
    /// For messages only.
    shown: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Directory {
    /// Opens `root/relative`, creating both when missing.
    pub fn create(root: &Path, relative: &str) -> Result<Self, Error> {
        let shown = root.join(relative);
        let io = |source| Error::Io {
            path: shown.clone(),
            source,
        };
        check_relative_or_empty(relative)?;
        fs_err::create_dir_all(&shown).map_err(|e| io(std::io::Error::new(e.kind(), e)))?;
        let dir = Dir::open_ambient_dir(&shown, ambient_authority()).map_err(io)?;
        Ok(Self { dir, shown })
    }

    /// Opens `root/relative` if it exists.
    pub fn open(root: &Path, relative: &str) -> Result<Option<Self>, Error> {
        let shown = root.join(relative);
        match Dir::open_ambient_dir(&shown, ambient_authority()) {
            Ok(dir) => Ok(Some(Self { dir, shown })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: shown,
                source,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Reads a file, `None` when it does not exist.
    pub fn read(&self, relative: &str) -> Result<Option<Vec<u8>>, Error> {
        check_relative(relative)?;
        match self.dir.read(relative) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: self.shown.join(relative),
                source,
            }),
        }
    }

    /// Writes `contents` to `relative` atomically, unless the file already holds exactly that.
    /// Returns whether it wrote.
    pub fn write_if_changed(&self, relative: &str, contents: &[u8]) -> Result<bool, Error> {
        check_relative(relative)?;
        if self.read(relative)?.as_deref() == Some(contents) {
            return Ok(false);
        }
        let path = self.shown.join(relative);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let parent = Path::new(relative)
            .parent()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent {
            self.dir.create_dir_all(parent).map_err(io)?;
        }
        let file_name = Path::new(relative)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file");
        let temp_name = format!(
            ".{file_name}.{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let temp = match parent {
            Some(parent) => parent.join(&temp_name),
            None => PathBuf::from(&temp_name),
        };
        let result = (|| {
            let mut file = self.dir.create(&temp)?;
            file.write_all(contents)?;
            file.sync_data()?;
            self.dir.rename(&temp, &self.dir, relative)
        })();
        if let Err(source) = result {
            let _ = self.dir.remove_file(&temp);
            return Err(io(source));
        }
        Ok(true)
    }

    pub fn remove(&self, relative: &str) -> Result<(), Error> {
        check_relative(relative)?;
        self.dir.remove_file(relative).map_err(|source| Error::Io {
            path: self.shown.join(relative),
            source,
        })
    }

    /// Files directly in this directory and below, `/`-separated, sorted.
    pub fn files(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        self.collect(&self.dir, "", &mut out)?;
        out.sort();
        Ok(out)
    }

    fn collect(&self, dir: &Dir, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: self.shown.join(prefix),
            source,
        };
        for entry in dir.entries().map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().map_err(io)?.is_dir() {
                let sub = entry.open_dir().map_err(io)?;
                self.collect(&sub, &relative, out)?;
            } else {
                out.push(relative);
            }
        }
        Ok(())
    }
}

/// Rejects any path that is not a plain relative path below the directory.
pub fn check_relative(path: &str) -> Result<(), Error> {
    let unsafe_path = |reason| {
        Err(Error::UnsafePath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return unsafe_path("the path is empty");
    }
    if path.contains(['\\', '\0']) {
        return unsafe_path("it contains a backslash or NUL");
    }
    for component in Path::new(path).components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir => return unsafe_path("it leaves the directory"),
            Component::RootDir | Component::Prefix(_) => return unsafe_path("it is absolute"),
            Component::CurDir => return unsafe_path("it has a `.` component"),
        }
    }
    Ok(())
}

fn check_relative_or_empty(path: &str) -> Result<(), Error> {
    if path.is_empty() {
        Ok(())
    } else {
        check_relative(path)
    }
}

/// A path a plugin returned: canonical (`/`-separated names, nothing empty, no `.` or `..`,
/// no doubled or trailing `/`), relative, inside the output directory, free of control
/// characters, with names a file system takes, and not hidden (hidden names are the host's
/// own staged files).
pub fn check_plugin_path(path: &str) -> Result<(), Error> {
    let unsafe_path = |reason| {
        Err(Error::UnsafePath {
            path: path.escape_debug().to_string(),
            reason,
        })
    };
    if path.chars().any(char::is_control) {
        return unsafe_path("it contains a control character");
    }
    check_relative(path)?;
    if path.split('/').any(str::is_empty) {
        return unsafe_path("it is not canonical: an empty, doubled or trailing `/`");
    }
    if path.split('/').any(|name| name.starts_with('.')) {
        return unsafe_path("hidden files are reserved for the host");
    }
    if path.split('/').any(|name| name.len() > 200) || path.len() > 1024 {
        return unsafe_path("a name is over 200 bytes, or the path over 1024");
    }
    Ok(())
}

/// Serialises runs in one project: held for the whole of a command that writes, released on
/// drop (or when the process dies, since the OS drops the lock with the file).
pub struct ProjectLock {
    _file: std::fs::File,
}

impl ProjectLock {
    /// Takes `.snakebridge/run.lock`. When another run holds it, calls `on_wait` once and waits
    /// up to `timeout` for it.
    pub fn acquire(
        metadata: &Path,
        timeout: std::time::Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Self, Error> {
        let path = metadata.join("run.lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        fs_err::create_dir_all(metadata).map_err(io)?;
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?
            .into_parts()
            .0;
        let start = std::time::Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Some(on_wait) = on_wait.take() {
                        on_wait();
                    }
                    if start.elapsed() >= timeout {
                        return Err(Error::Locked { path });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        for bad in [
            "../x.ex",
            "/etc/passwd",
            "a/../../b",
            "",
            "./a",
            ".hidden",
            "a\\b",
            "a/.git/config",
            "sub//x.ex",
            "x.ex/",
            "a\u{1b}[31mred.ex",
            "line\nbreak.ex",
        ] {
            assert!(check_plugin_path(bad).is_err(), "{bad}");
        }
        for good in ["numpy.ex", "numpy/linalg.ex"] {
            assert!(check_relative(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn writes_only_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Directory::create(tmp.path(), "out").unwrap();
        assert!(dir.write_if_changed("a/b.ex", b"one").unwrap());
        assert!(!dir.write_if_changed("a/b.ex", b"one").unwrap());
        assert!(dir.write_if_changed("a/b.ex", b"two").unwrap());
        assert_eq!(dir.files().unwrap(), ["a/b.ex"]);
        assert!(dir.write_if_changed("../escape.ex", b"x").is_err());
        assert!(!tmp.path().join("escape.ex").exists());
    }
}
