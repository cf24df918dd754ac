//! `.snakebridge/ledger.json`: calls the runtime made that no generated wrapper covers, such as
//! `SnakeBridge.call("numpy", "fft.fft", [x])`. Local to a machine and never committed;
//! `snakebridge promote` turns entries into generated symbols.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const PATH: &str = ".snakebridge/ledger.json";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(snakebridge::ledger::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` is malformed at line {line}, column {column}: {message}", path.display())]
    #[diagnostic(
        code(snakebridge::ledger::malformed),
        help("it is only a local record; delete it and let the runtime write it again")
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub schema: u32,
    #[serde(default)]
    pub calls: Vec<Entry>,
}

/// One dynamic call site, as the runtime saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The configured library: `numpy`.
    pub library: String,
    /// The Python module the function was looked up in: `numpy.fft`.
    pub module: String,
    /// The attribute called: `fft`.
    pub function: String,
    pub arity: u32,
    #[serde(default)]
    pub count: u64,
}

impl Entry {
    /// `numpy.fft.fft`.
    pub fn python_path(&self) -> String {
        format!("{}.{}", self.module, self.function)
    }
}

/// Reads the ledger; a missing file is an empty ledger.
pub fn load(root: &Path) -> Result<Ledger, Error> {
    let path = root.join(PATH);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Ledger {
                schema: 1,
                calls: vec![],
            });
        }
        Err(source) => return Err(Error::Read { path, source }),
    };
    serde_json::from_str(&text).map_err(|e| Error::Malformed {
        path,
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

/// One call site's key in the recorder: library, module, function, arity.
type Key = (String, String, String, u32);

/// Counts the dynamic calls a runtime makes and keeps `.snakebridge/ledger.json` current:
/// written when a call is seen for the first time, and with the counts by [`flush`](Recorder::flush).
pub struct Recorder {
    root: PathBuf,
    /// Calls counted, and how many of them the file already has.
    counts: std::sync::Mutex<std::collections::BTreeMap<Key, (u64, u64)>>,
}

impl Recorder {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            counts: Default::default(),
        }
    }

    /// Records one call of `module.function` (`function` may be dotted: `fft.fft`).
    pub fn record(&self, library: &str, module: &str, function: &str, arity: u32) {
        let path = format!("{module}.{function}");
        let Some((module, function)) = path.rsplit_once('.') else {
            return;
        };
        let key = (
            library.to_string(),
            module.to_string(),
            function.to_string(),
            arity,
        );
        let first = {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            let (count, _) = counts.entry(key).or_insert((0, 0));
            *count += 1;
            *count == 1
        };
        if first {
            self.flush();
        }
    }

    /// Adds the counts not yet written to the ledger file. The ledger is a local aid: failing
    /// to write it is reported, never fatal.
    pub fn flush(&self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match self.merge(&counts) {
            Ok(()) => {
                for (count, written) in counts.values_mut() {
                    *written = *count;
                }
            }
            Err(message) => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: cannot update `{PATH}`: {message}"
                );
            }
        }
    }

    fn merge(&self, counts: &std::collections::BTreeMap<Key, (u64, u64)>) -> Result<(), String> {
        let mut ledger = load(&self.root).map_err(|e| e.to_string())?;
        let mut entries: std::collections::BTreeMap<Key, u64> = ledger
            .calls
            .drain(..)
            .map(|e| ((e.library, e.module, e.function, e.arity), e.count))
            .collect();
        for (key, (count, written)) in counts {
            *entries.entry(key.clone()).or_insert(0) += count - written;
        }
        ledger.calls = entries
            .into_iter()
            .map(|((library, module, function, arity), count)| Entry {
                library,
                module,
                function,
                arity,
                count,
            })
            .collect();
        save(&self.root, &ledger).map_err(|e| e.to_string())
    }
}

/// Writes the ledger, atomically.
pub fn save(root: &Path, ledger: &Ledger) -> Result<(), crate::write::Error> {
    let mut text = serde_json::to_vec_pretty(ledger).map_err(|e| crate::write::Error::Io {
        path: root.join(PATH),
        source: std::io::Error::other(e),
    })?;
    text.push(b'\n');
    let dir = crate::write::Directory::create(root, crate::project::METADATA_DIR)?;
    dir.write_if_changed("ledger.json", &text)?;
    Ok(())
}
