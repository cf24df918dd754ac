//! Asks a real Python about the symbols a project calls: one process per library, running the
//! embedded `python/snakebridge_introspect.py`.
//!
//! The interpreter is either the one `[python] executable` names, or a uv-managed environment
//! in `.snakebridge/venv` holding the requested library versions.

mod environment;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

pub use crate::model::PythonIdentity;
pub use environment::{
    Environment, MANAGED_DIR, RUNTIME_PACKAGES, ensure_environment, requirements, settle,
};

/// The introspection script, embedded so an installed binary needs no other files.
pub const SCRIPT: &str = include_str!("../../python/snakebridge_introspect.py");

/// The reply schema this host reads.
const SCHEMA: u32 = 1;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot run Python `{}`", executable.display())]
    #[diagnostic(
        code(snakebridge::introspect::python_not_found),
        help(
            "install Python 3, or point `SNAKEBRIDGE_PYTHON` or `[python] executable` in `snakebridge.toml` (the variable wins) at an interpreter that exists"
        )
    )]
    PythonNotFound {
        executable: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`uv` is needed to create the managed Python environment, and it was not found")]
    #[diagnostic(
        code(snakebridge::introspect::uv_not_found),
        help(
            "install it with `pip install uv`, or set `[python] executable` in `snakebridge.toml` to use an existing Python"
        )
    )]
    UvNotFound,

    #[error("creating the Python environment failed: `{command}`")]
    #[diagnostic(code(snakebridge::introspect::environment), help("{output}"))]
    Environment { command: String, output: String },

    #[error("introspecting `{library}` took longer than {seconds} s")]
    #[diagnostic(
        code(snakebridge::introspect::timeout),
        help(
            "importing the library may hang or be very slow; raise `[python] timeout` in `snakebridge.toml` if it is just slow"
        )
    )]
    Timeout { library: String, seconds: u64 },

    #[error("the Python introspection of `{library}` failed ({status})")]
    #[diagnostic(
        code(snakebridge::introspect::crashed),
        help("Python's stderr ended with:\n{stderr}")
    )]
    Crashed {
        library: String,
        status: String,
        stderr: String,
    },

    #[error("the Python introspection of `{library}` replied with something unreadable")]
    #[diagnostic(
        code(snakebridge::introspect::bad_reply),
        help(
            "this is a bug in snakebridge; please report it with the output of `snakebridge doctor`"
        )
    )]
    BadReply {
        library: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("I/O with the Python process for `{library}` failed")]
    #[diagnostic(code(snakebridge::introspect::io))]
    Io {
        library: String,
        #[source]
        source: std::io::Error,
    },
}

/// One library's batch.
#[derive(Debug, Serialize)]
pub struct Request {
    pub library: String,
    pub stdlib: bool,
    /// Absolute directories to put first on `sys.path` (a library's local `path`).
    pub sys_path: Vec<String>,
    /// Elixir module segments below the library's root module: `["Linalg"]`, `[]` for the root.
    pub modules: Vec<Vec<String>>,
    pub symbols: Vec<SymbolRequest>,
    /// Also list every public symbol (`all = true`).
    pub list: bool,
}

#[derive(Debug, Serialize)]
pub struct SymbolRequest {
    pub module: Vec<String>,
    /// Python names the called Elixir name may stand for, most likely first.
    pub candidates: Vec<String>,
    /// For a call to `x_stream`: the names of `x`, asked for when Python has no `x_stream`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_of: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct Reply {
    pub schema: u32,
    pub python: PythonIdentity,
    pub library: Option<LibraryInfo>,
    pub error: Option<ImportError>,
    pub modules: Vec<ModuleReply>,
    pub symbols: Vec<SymbolReply>,
    /// Every public symbol, when the request asked for the list.
    #[serde(default)]
    pub public: Vec<PublicSymbol>,
    /// Public modules, classes and objects left out of `public` because their Elixir module
    /// is another Python object's.
    #[serde(default)]
    pub unreachable: Vec<Unreachable>,
}

#[derive(Debug, Deserialize)]
pub struct Unreachable {
    /// `numpy.polynomial.chebyshev`
    pub path: String,
    /// What the Elixir module stands for instead: `numpy.polynomial.Chebyshev`.
    pub taken_by: Option<String>,
    /// How many public symbols it holds.
    pub symbols: usize,
}

/// One public symbol of a library: `name` in the module or class at `below` (a dotted path
/// inside the library, empty for its top level).
#[derive(Debug, Deserialize)]
pub struct PublicSymbol {
    pub below: String,
    pub name: String,
    pub kind: PublicKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicKind {
    Class,
    /// A function of the module, or a method of the module-level object, at `below`.
    Function,
    Constant,
    /// A method or descriptor of the class at `below`.
    Member,
}

#[derive(Debug, Deserialize)]
pub struct LibraryInfo {
    pub distribution: Option<String>,
    pub version: Option<String>,
    /// `name==version` of the library and everything it requires.
    pub packages: Vec<String>,
    pub doc: String,
}

/// Why a library could not be imported at all.
#[derive(Debug, Deserialize)]
pub struct ImportError {
    /// `package_not_found` or `import_error`.
    pub kind: String,
    #[serde(rename = "type")]
    pub error_type: String,
    pub message: String,
    pub traceback: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ModuleReply {
    Ok {
        python_path: String,
        kind: crate::model::ModuleKind,
        doc: String,
    },
    NotFound {
        missing: String,
        suggestions: Vec<String>,
    },
    Error(ImportError),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SymbolReply {
    Ok(Box<FoundSymbol>),
    NotFound {
        missing: String,
        suggestions: Vec<String>,
    },
    /// Two Python names the called Elixir name stands for: `end` (renamed `py_end`) and a
    /// real `py_end`.
    Ambiguous {
        names: Vec<String>,
    },
    Error(ImportError),
}

#[derive(Debug, Deserialize)]
pub struct FoundSymbol {
    /// A `SymbolKind`, or `module` when the name is a submodule.
    pub kind: String,
    pub python_module: String,
    pub python_name: String,
    pub signature: Option<RawSignature>,
    /// Further signatures: `typing.overload` variants, or a stub's declarations.
    #[serde(default)]
    pub overloads: Vec<RawSignature>,
    #[serde(default)]
    pub returns: Option<String>,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub defined_in: Option<String>,
    /// A generator function: calling it makes an iterator.
    #[serde(default)]
    pub generator: bool,
    /// Found through `stream_of`: the call was to this symbol's stream wrapper.
    #[serde(default)]
    pub stream_wrapper: bool,
}

#[derive(Debug, Deserialize)]
pub struct RawSignature {
    pub params: Vec<crate::model::Param>,
    #[serde(default)]
    pub returns: Option<String>,
    pub source: crate::model::SignatureSource,
}

/// Makes the kernel kill the Python child when this process dies, however it dies: a
/// `kill -9` of `generate` must not leave an introspection running.
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    #[allow(
        unsafe_code,
        reason = "pre_exec runs between fork and exec; the closure makes one system call"
    )]
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe; nothing is allocated or locked.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
}

/// Runs one batch in `python`, killing it after `timeout`.
pub fn run(python: &Path, request: &Request, timeout: Duration) -> Result<Reply, Error> {
    let library = request.library.clone();
    let io = |source| Error::Io {
        library: library.clone(),
        source,
    };
    // The script goes in argv, not a temporary file a killed run would leave behind.
    let mut command = Command::new(python);
    command.arg("-c").arg(SCRIPT);
    die_with_parent(&mut command);
    let mut child = command
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONWARNINGS", "ignore")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::PythonNotFound {
            executable: python.to_path_buf(),
            source,
        })?;

    let payload = serde_json::to_vec(request).map_err(|e| io(std::io::Error::other(e)))?;
    let mut stdin = child.stdin.take();
    let writer =
        std::thread::spawn(move || stdin.as_mut().map(|s| s.write_all(&payload)).transpose());
    // Drain both pipes while waiting: a library that prints a lot must not block on a full pipe.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.as_mut().map(|s| s.read_to_end(&mut buf));
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.as_mut().map(|s| s.read_to_end(&mut buf));
        buf
    });
    let status = match child.wait_timeout(timeout).map_err(io)? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Timeout {
                library,
                seconds: timeout.as_secs(),
            });
        }
    };
    let _ = writer.join();
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(Error::Crashed {
            library,
            status: status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let reply: Reply = serde_json::from_slice(&out).map_err(|source| Error::BadReply {
        library: library.clone(),
        source,
    })?;
    if reply.schema != SCHEMA {
        return Err(Error::BadReply {
            library,
            source: serde::de::Error::custom(format!(
                "schema {} instead of {SCHEMA}",
                reply.schema
            )),
        });
    }
    Ok(reply)
}
