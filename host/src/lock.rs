//! `snakebridge.lock`: what produced the committed bindings. The generator and contract
//! versions, each stage plugin's blake3, the Python and the resolved library versions. Verify
//! re-renders with exactly these plugins and fails if any of it drifted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::PythonIdentity;

pub const PATH: &str = "snakebridge.lock";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(snakebridge::lock::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` is malformed at line {line}, column {column}: {message}", path.display())]
    #[diagnostic(
        code(snakebridge::lock::malformed),
        help("restore it from version control, or delete it and run `snakebridge generate`")
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub schema: u32,
    /// `snakebridge <version>`; introspection output depends on the embedded script.
    pub generator: String,
    /// The `snakebridge:plugin` contract version the stages ran under.
    pub contract: String,
    /// By stage: `typespecs`, `docs`, `emitter`.
    pub plugins: BTreeMap<String, PluginEntry>,
    pub python: Option<PythonIdentity>,
    pub libraries: BTreeMap<String, LibraryEntry>,
    /// blake3 over the sorted `name==version` lines of every library's package set.
    pub packages_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// `default` for a built-in, else the configured path.
    pub source: String,
    pub blake3: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryEntry {
    /// As configured: a requirement, `stdlib`, or `path:<dir>`.
    pub requested: String,
    /// The installed version; the Python version for the standard library.
    pub resolved: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

impl Lock {
    pub const SCHEMA: u32 = 1;

    pub fn generator() -> String {
        format!("snakebridge {}", env!("CARGO_PKG_VERSION"))
    }

    pub fn packages_hash(libraries: &BTreeMap<String, LibraryEntry>) -> String {
        let mut lines: Vec<&str> = libraries
            .values()
            .flat_map(|l| l.packages.iter().map(String::as_str))
            .collect();
        lines.sort();
        lines.dedup();
        blake3::hash(lines.join("\n").as_bytes())
            .to_hex()
            .to_string()
    }
}

/// Reads the lock, `None` when there is none yet.
pub fn load(root: &Path) -> Result<Option<Lock>, Error> {
    let path = root.join(PATH);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Malformed {
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

pub fn render(lock: &Lock) -> String {
    crate::manifest::to_sorted_json(lock)
}
