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
