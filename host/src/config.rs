//! `snakebridge.toml`: which Python libraries a project binds, and how.
//!
//! Unknown keys and bad values are errors that point at the line; nothing has a silent
//! fallback.

mod requirement;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

pub use requirement::Requirement;

use crate::naming;

/// The file name, at the project root.
pub const FILE_NAME: &str = "snakebridge.toml";

/// Default directory for generated source, relative to the project root.
pub const DEFAULT_OUTPUT: &str = "lib/snakebridge_generated";

/// snakebridge's own files, relative to the project root.
pub const METADATA_DIR: &str = ".snakebridge";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("no `{FILE_NAME}` in `{}`", dir.display())]
    #[diagnostic(
        code(snakebridge::config::missing),
        help("run `snakebridge init` to write a commented one")
    )]
    Missing { dir: PathBuf },

    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(snakebridge::config::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid `{FILE_NAME}` at line {line}: {message}")]
    #[diagnostic(code(snakebridge::config::invalid))]
    Invalid {
        message: String,
        line: usize,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: SourceSpan,
        #[help]
        help: Option<String>,
    },

    #[error(
        "`--emitter {value}` is neither `default` nor the emitter pinned in `snakebridge.toml`"
    )]
    #[diagnostic(
        code(snakebridge::unpinned_emitter),
        help(
            "pin it first: `[plugins] emitter = {{ path = \"{value}\", blake3 = \"…\" }}`; `b3sum` or `snakebridge plugin check` prints the hash"
        )
    )]
    UnpinnedEmitter { value: String },
}

/// A stage plugin: one of the built-ins, or a component file pinned by its blake3 hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginRef {
    Builtin,
    File { path: String, blake3: String },
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin => f.write_str("default"),
            Self::File { path, .. } => f.write_str(path),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plugins {
    pub emitter: PluginRef,
    pub typespecs: PluginRef,
    pub docs: PluginRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Library {
    /// The configured name, which is also the Python top-level module: `numpy`.
    pub name: String,
    pub elixir_module: String,
    pub requirement: Option<Requirement>,
    /// The distribution pip installs, when it differs from the module: `scikit-learn`.
    pub package: Option<String>,
    pub stdlib: bool,
    /// A directory of the project's own Python code to put on `sys.path`, relative to the root.
    pub path: Option<String>,
    /// Symbols generated whether or not the source calls them.
    pub include: Vec<Declared>,
    /// Symbols never generated; a call to one is an error.
    pub exclude: Vec<Declared>,
    /// Functions that also get a `<name>_stream` wrapper, generated whether or not the source
    /// calls them (`streaming = ["iter_lines"]`).
    pub streaming: Vec<Declared>,
    /// Generate every public symbol, called or not (`all = true`).
    pub all: bool,
    /// Where `snakebridge.toml` configures it: 1-based line and column of its key.
    pub line: u32,
    pub column: u32,
}

impl Library {
    /// Whether `symbol` gets a stream wrapper: it yields, or `streaming` lists it.
    pub fn streams(&self, symbol: &crate::model::Symbol) -> bool {
        symbol.yields()
            || self.streaming.iter().any(|d| {
                d.elixir_module == symbol.elixir_module && d.elixir_name == symbol.elixir_name
            })
    }
}

/// A symbol named in `include` or `exclude`, by its Python path inside the library, with the
/// Elixir function it becomes and where the config names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// `linalg.norm`, relative to the library.
    pub python: String,
    pub elixir_module: String,
    pub elixir_name: String,
    pub line: u32,
    pub column: u32,
}

impl Declared {
    /// The call an `include` entry stands for, placed at its line in `snakebridge.toml`.
    pub fn call(&self) -> crate::model::Call {
        crate::model::Call {
            module: self.elixir_module.clone(),
            function: self.elixir_name.clone(),
            arity: 0,
            file: FILE_NAME.to_string(),
            line: self.line,
            column: self.column,
            kind: crate::model::CallKind::Include,
        }
    }
}

impl Library {
    /// The problem when the installed `version` does not meet the configured requirement,
    /// placed at the library's line in `snakebridge.toml`.
    pub fn unmet(&self, version: &str) -> Option<crate::diagnostics::Problem> {
        let requirement = self.requirement.as_ref().filter(|r| !r.matches(version))?;
        let mut problem = crate::diagnostics::Problem::new(
            "requirement_not_met",
            format!(
                "`{}` {version} is installed, but `{}` requires `{requirement}`",
                self.name, self.name
            ),
        )
        .help(format!(
            "install a version that meets it (`python -m pip install '{}{}'`), or change the requirement",
            self.package.as_deref().unwrap_or(&self.name),
            requirement.pep440
        ));
        problem.file = Some(FILE_NAME.into());
        problem.line = Some(self.line);
        problem.column = Some(self.column);
        problem.symbol = Some(self.name.clone());
        Some(problem)
    }

    /// The `exclude` entry that names the Elixir function `module.function`, if any.
    pub fn excluded(&self, module: &str, function: &str) -> Option<&Declared> {
        self.exclude
            .iter()
            .find(|e| e.elixir_module == module && e.elixir_name == function)
    }

    /// How the lock records this configuration: a requirement, `stdlib`, `path:<dir>` or `any`.
    pub fn requested(&self) -> String {
        match (&self.requirement, self.stdlib, &self.path) {
            (_, true, _) => "stdlib".into(),
            (_, _, Some(path)) => format!("path:{path}"),
            (Some(requirement), _, _) => requirement.original.clone(),
            (None, _, _) => "any".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Directories to scan, relative to the project root.
    pub paths: Vec<String>,
    /// Path prefixes to skip, relative to the project root.
    pub exclude: Vec<String>,
    /// Where generated source goes, relative to the project root.
    pub output: String,
    pub strict: bool,
    pub python_executable: Option<String>,
    pub python_timeout_secs: u64,
    pub plugins: Plugins,
    /// Keyed by name.
    pub libraries: BTreeMap<String, Library>,
    pub runtime: Runtime,
}

/// `[runtime]`: the Python worker pool `snakebridge runtime serve` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub workers: usize,
    /// Serving threads per worker: one for health checks and references, the others run one
    /// call each.
    pub threads: usize,
    /// Seconds a call may take unless it sets its own timeout.
    pub timeout_secs: u64,
    /// Modules every worker imports before it is ready.
    pub preload: Vec<String>,
    pub queue_limit: usize,
    pub max_message_bytes: usize,
    /// Seconds a call may run in Python at all; see `PoolConfig::hard_timeout`.
    pub hard_timeout_secs: u64,
    /// The deepest nesting of a value, in JSON levels.
    pub max_depth: usize,
    /// Live references per worker, and per session.
    pub max_refs: usize,
    pub max_session_refs: usize,
    /// Seconds between pings of a worker no caller waits on, and the misses in a row after
    /// which it is replaced.
    pub heartbeat_secs: u64,
    pub heartbeat_misses: u32,
}

/// The deepest `max_depth` allowed: Python decodes and encodes values recursively, and its
/// recursion limit must stay well inside a thread's stack.
pub const MAX_DEPTH_LIMIT: usize = 1000;

impl Default for Runtime {
    fn default() -> Self {
        let pool = snakebridge_runtime::PoolConfig::new("python3");
        Self {
            workers: pool.workers,
            threads: pool.threads_per_worker,
            timeout_secs: pool.call_timeout.as_secs(),
            preload: Vec::new(),
            queue_limit: pool.queue_limit,
            max_message_bytes: pool.max_message_bytes,
            hard_timeout_secs: pool.hard_timeout.as_secs(),
            max_depth: pool.max_depth,
            max_refs: pool.max_refs,
            max_session_refs: pool.max_session_refs,
            heartbeat_secs: pool.heartbeat_interval.as_secs(),
            heartbeat_misses: pool.heartbeat_misses,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    project: RawProject,
    #[serde(default)]
    python: RawPython,
    #[serde(default)]
    plugins: RawPlugins,
    #[serde(default)]
    libraries: BTreeMap<Spanned<String>, Spanned<RawLibrary>>,
    #[serde(default)]
    runtime: RawRuntime,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    workers: Option<Spanned<usize>>,
    threads: Option<Spanned<usize>>,
    timeout: Option<Spanned<u64>>,
    #[serde(default)]
    preload: Vec<String>,
    queue_limit: Option<Spanned<usize>>,
    max_message_bytes: Option<Spanned<usize>>,
    hard_timeout: Option<Spanned<usize>>,
    max_depth: Option<Spanned<usize>>,
    max_refs: Option<Spanned<usize>>,
    max_session_refs: Option<Spanned<usize>>,
    heartbeat: Option<Spanned<usize>>,
    heartbeat_misses: Option<Spanned<usize>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    paths: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    output: Option<Spanned<String>>,
    #[serde(default)]
    strict: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPython {
    executable: Option<String>,
    timeout: Option<Spanned<u64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugins {
    emitter: Option<Spanned<RawPlugin>>,
    typespecs: Option<Spanned<RawPlugin>>,
    docs: Option<Spanned<RawPlugin>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPlugin {
    Name(String),
    File(RawPluginFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPluginFile {
    path: String,
    blake3: String,
}

/// A library is either a requirement string or a table.
enum RawLibrary {
    Requirement(String),
    Table(RawLibraryTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibraryTable {
    version: Option<Spanned<String>>,
    #[serde(default)]
    stdlib: bool,
    module: Option<Spanned<String>>,
    path: Option<String>,
    package: Option<String>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    streaming: Vec<Spanned<String>>,
    #[serde(default)]
    all: bool,
}

impl<'de> Deserialize<'de> for RawLibrary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawLibrary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version requirement such as \"~> 2.0\", or a table such as { stdlib = true }")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(RawLibrary::Requirement(value.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawLibraryTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawLibrary::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Config {
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE_NAME)
    }

    /// Reads and validates `snakebridge.toml` in `root`.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let path = Self::path(root);
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Missing {
                    dir: root.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::Read { path, source: e }),
        };
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, Error> {
        let raw = parse_raw(text)?;
        let invalid = |message: String, span: std::ops::Range<usize>, help: Option<String>| {
            invalid(text, message, span, help)
        };

        let paths = raw
            .project
            .paths
            .clone()
            .unwrap_or_else(|| vec!["lib".into(), "test".into()]);
        let output = match raw.project.output {
            Some(output) => {
                let value = normalize(output.get_ref());
                if let Err(reason) = check_output(&value, &paths) {
                    return Err(invalid(
                        format!("`output = \"{}\"` {reason}", output.get_ref()),
                        output.span(),
                        Some("the default is `lib/snakebridge_generated`, a directory of snakebridge's own".into()),
                    ));
                }
                value
            }
            None => DEFAULT_OUTPUT.into(),
        };

        let python_timeout_secs = match raw.python.timeout {
            Some(t) if *t.get_ref() == 0 => {
                return Err(invalid(
                    "`timeout` must be at least 1 second".into(),
                    t.span(),
                    None,
                ));
            }
            Some(t) => *t.get_ref(),
            None => 120,
        };

        let plugin = |raw: Option<Spanned<RawPlugin>>, stage: &str| -> Result<PluginRef, Error> {
            let Some(raw) = raw else {
                return Ok(PluginRef::Builtin);
            };
            let span = raw.span();
            match raw.into_inner() {
                RawPlugin::Name(name) if name == "default" => Ok(PluginRef::Builtin),
                RawPlugin::Name(name) => Err(invalid(
                    format!("unknown {stage} plugin `{name}`"),
                    span,
                    Some(format!(
                        "use `\"default\"`, or pin a component: `{stage} = {{ path = \"plugins/x.wasm\", blake3 = \"…\" }}`"
                    )),
                )),
                RawPlugin::File(file) => {
                    if file.blake3.len() != 64
                        || !file.blake3.chars().all(|c| c.is_ascii_hexdigit())
                    {
                        return Err(invalid(
                            format!("`blake3` of the {stage} plugin must be 64 hex digits"),
                            span,
                            Some("`snakebridge plugin check PATH` prints the hash".into()),
                        ));
                    }
                    Ok(PluginRef::File {
                        path: file.path,
                        blake3: file.blake3.to_ascii_lowercase(),
                    })
                }
            }
        };
        let plugins = Plugins {
            emitter: plugin(raw.plugins.emitter, "emitter")?,
            typespecs: plugin(raw.plugins.typespecs, "typespecs")?,
            docs: plugin(raw.plugins.docs, "docs")?,
        };

        let mut libraries = BTreeMap::new();
        let mut modules: BTreeMap<String, String> = BTreeMap::new();
        // Where each library's module is named, to point at the right line.
        let mut module_spans: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
        for (name, raw_library) in raw.libraries {
            let name_span = name.span();
            let name = name.into_inner();
            if !name.split('.').all(is_python_identifier) {
                return Err(invalid(
                    format!("`{name}` is not a Python module name"),
                    name_span,
                    Some("library keys are importable module names, such as `numpy` or `scipy.stats`".into()),
                ));
            }
            let library_span = raw_library.span();
            let table = match raw_library.into_inner() {
                RawLibrary::Requirement(version) => RawLibraryTable {
                    version: Some(Spanned::new(library_span.clone(), version)),
                    stdlib: false,
                    module: None,
                    path: None,
                    package: None,
                    include: vec![],
                    streaming: vec![],
                    exclude: vec![],
                    all: false,
                },
                RawLibrary::Table(table) => table,
            };
            let requirement = match &table.version {
                Some(version) => Some(Requirement::parse(version.get_ref()).map_err(|e| {
                    invalid(
                        format!("bad version requirement for `{name}`"),
                        version.span(),
                        Some(e.0),
                    )
                })?),
                None => None,
            };
            if table.stdlib && requirement.is_some() {
                return Err(invalid(
                    format!("`{name}` is part of the standard library and cannot have a version"),
                    library_span,
                    Some("remove `version`, or `stdlib = true` if it comes from PyPI".into()),
                ));
            }
            if table.stdlib && table.path.is_some() {
                return Err(invalid(
                    format!("`{name}` cannot be both `stdlib` and a local `path`"),
                    library_span,
                    None,
                ));
            }
            if let Some(path) = &table.path
                && !is_relative_inside(path)
            {
                return Err(invalid(
                    format!("`path` of `{name}` must be a relative path inside the project"),
                    library_span,
                    None,
                ));
            }
            let (elixir_module, module_span) = match &table.module {
                Some(module) => (module.get_ref().clone(), module.span()),
                None => (naming::camelize(&name), name_span.clone()),
            };
            if !naming::is_module_name(&elixir_module) {
                return Err(invalid(
                    format!("`{elixir_module}` is not a valid Elixir module name"),
                    module_span,
                    Some(
                        "module names are capitalised segments such as `Stats` or `MyApp.Numpy`"
                            .into(),
                    ),
                ));
            }
            if naming::shadows_elixir_module(&elixir_module) {
                return Err(invalid(
                    format!("the module `{elixir_module}` for `{name}` would replace Elixir's own"),
                    module_span,
                    Some(format!(
                        "choose another name: `{name} = {{ stdlib = true, module = \"Py{elixir_module}\" }}`"
                    )),
                ));
            }
            module_spans.insert(elixir_module.clone(), module_span.clone());
            if let Some(other) = modules.insert(elixir_module.clone(), name.clone()) {
                return Err(invalid(
                    format!(
                        "`{name}` and `{other}` both map to the Elixir module `{elixir_module}`"
                    ),
                    module_span,
                    Some("set `module` on one of them".into()),
                ));
            }
            let declared = |entries: Vec<Spanned<String>>, key: &str| {
                entries
                    .into_iter()
                    .map(|entry| {
                        let span = entry.span();
                        declare(text, &elixir_module, entry.into_inner(), span.clone()).ok_or_else(
                            || {
                                invalid(
                                    format!("`{key}` entries of `{name}` are Python names inside it"),
                                    span,
                                    Some(
                                        "write functions as `mean` or `linalg.norm`, classes as `Counter`, methods as `Counter.most_common`"
                                            .into(),
                                    ),
                                )
                            },
                        )
                    })
                    .collect::<Result<Vec<Declared>, Error>>()
            };
            if let Some(both) = table
                .include
                .iter()
                .find(|i| table.exclude.iter().any(|e| e.get_ref() == i.get_ref()))
            {
                return Err(invalid(
                    format!(
                        "`{}` of `{name}` is both included and excluded",
                        both.get_ref()
                    ),
                    both.span(),
                    Some("keep it in one of the two lists".into()),
                ));
            }
            let include = declared(table.include, "include")?;
            let exclude = declared(table.exclude, "exclude")?;
            let streaming = declared(table.streaming, "streaming")?;
            let (line, column) = line_column(text, name_span.start);
            libraries.insert(
                name.clone(),
                Library {
                    name,
                    elixir_module,
                    requirement,
                    package: table.package,
                    stdlib: table.stdlib,
                    path: table.path,
                    include,
                    exclude,
                    streaming,
                    all: table.all,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: u32::try_from(column).unwrap_or(u32::MAX),
                },
            );
        }
        // Prefix clashes (`Numpy` and `Numpy.Extra`) would make a call ambiguous.
        for (module, name) in &modules {
            if let Some((other, other_name)) = modules
                .iter()
                .find(|(other, _)| other.starts_with(&format!("{module}.")))
            {
                return Err(invalid(
                    format!(
                        "the module `{other}` of `{other_name}` is nested in `{module}` of `{name}`"
                    ),
                    module_spans.get(other).cloned().unwrap_or(0..0),
                    Some("give one of them a `module` outside the other".into()),
                ));
            }
        }

        let defaults = Runtime::default();
        let at_least =
            |value: Option<Spanned<usize>>, min: usize, key: &str, default: usize| match value {
                Some(v) if *v.get_ref() < min => Err(invalid(
                    format!("`{key}` must be at least {min}"),
                    v.span(),
                    None,
                )),
                Some(v) => Ok(*v.get_ref()),
                None => Ok(default),
            };
        let runtime = Runtime {
            workers: at_least(raw.runtime.workers, 1, "workers", defaults.workers)?,
            threads: at_least(raw.runtime.threads, 2, "threads", defaults.threads)?,
            timeout_secs: match raw.runtime.timeout {
                Some(t) if *t.get_ref() == 0 => {
                    return Err(invalid(
                        "`timeout` must be at least 1 second".into(),
                        t.span(),
                        Some("a call can ask for less with `__runtime__: [timeout: ms]`".into()),
                    ));
                }
                Some(t) => *t.get_ref(),
                None => defaults.timeout_secs,
            },
            preload: raw.runtime.preload,
            queue_limit: at_least(
                raw.runtime.queue_limit,
                1,
                "queue_limit",
                defaults.queue_limit,
            )?,
            max_message_bytes: at_least(
                raw.runtime.max_message_bytes,
                1024,
                "max_message_bytes",
                defaults.max_message_bytes,
            )?,
            hard_timeout_secs: at_least(
                raw.runtime.hard_timeout,
                1,
                "hard_timeout",
                defaults.hard_timeout_secs as usize,
            )? as u64,
            max_depth: match raw.runtime.max_depth {
                Some(depth) if !(1..=MAX_DEPTH_LIMIT).contains(depth.get_ref()) => {
                    return Err(invalid(
                        format!("`max_depth` must be between 1 and {MAX_DEPTH_LIMIT}"),
                        depth.span(),
                        Some("values nested deeper are better kept in Python as a reference (`returns: :ref`)".into()),
                    ));
                }
                Some(depth) => *depth.get_ref(),
                None => defaults.max_depth,
            },
            max_refs: at_least(raw.runtime.max_refs, 1, "max_refs", defaults.max_refs)?,
            max_session_refs: at_least(
                raw.runtime.max_session_refs,
                1,
                "max_session_refs",
                defaults.max_session_refs,
            )?,
            heartbeat_secs: at_least(
                raw.runtime.heartbeat,
                1,
                "heartbeat",
                defaults.heartbeat_secs as usize,
            )? as u64,
            heartbeat_misses: u32::try_from(at_least(
                raw.runtime.heartbeat_misses,
                1,
                "heartbeat_misses",
                defaults.heartbeat_misses as usize,
            )?)
            .unwrap_or(u32::MAX),
        };

        Ok(Self {
            paths,
            exclude: raw.project.exclude,
            output,
            strict: raw.project.strict,
            python_executable: raw.python.executable,
            python_timeout_secs,
            plugins,
            libraries,
            runtime,
        })
    }

    /// The plugins to run, with `--emitter` (`default`, or the pinned emitter's path) in place
    /// of the configured emitter.
    pub fn plugins_with(&self, emitter: Option<&str>) -> Result<Plugins, Error> {
        let mut plugins = self.plugins.clone();
        plugins.emitter = match (emitter, &self.plugins.emitter) {
            (None, configured) => configured.clone(),
            (Some("default"), _) => PluginRef::Builtin,
            (Some(value), PluginRef::File { path, .. }) if path == value => {
                self.plugins.emitter.clone()
            }
            (Some(value), _) => {
                return Err(Error::UnpinnedEmitter {
                    value: value.to_string(),
                });
            }
        };
        Ok(plugins)
    }

    /// The library whose Elixir module is `module` or encloses it.
    pub fn library_for_module(&self, module: &str) -> Option<&Library> {
        self.libraries.values().find(|library| {
            module == library.elixir_module
                || module
                    .strip_prefix(&library.elixir_module)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

fn parse_raw(text: &str) -> Result<RawConfig, Error> {
    toml::from_str(text).map_err(|e| toml_error(text, e))
}

fn toml_error(text: &str, error: toml::de::Error) -> Error {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end_matches('\n').to_string();
    let help = suggest_key(&message);
    invalid(text, message, span, help)
}

/// For "unknown field `versoin`, expected one of `version`, ..." suggests the closest key.
fn suggest_key(message: &str) -> Option<String> {
    let unknown = message.strip_prefix("unknown field `")?.split('`').next()?;
    let expected = message.split("expected ").nth(1)?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|key| (strsim::jaro_winkler(unknown, key), key))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, key)| format!("did you mean `{key}`?"))
}

fn invalid(
    text: &str,
    message: String,
    span: std::ops::Range<usize>,
    help: Option<String>,
) -> Error {
    let (line, _) = line_column(text, span.start);
    Error::Invalid {
        message,
        line,
        src: NamedSource::new(FILE_NAME, text.to_string()),
        span: span.into(),
        help,
    }
}

/// An `include` or `exclude` entry as the Elixir function it names: `linalg.norm` in `Numpy`
/// is `Numpy.Linalg.norm`, a class `Counter` its constructor `Counter.new`.
fn declare(
    text: &str,
    library_module: &str,
    python: String,
    span: std::ops::Range<usize>,
) -> Option<Declared> {
    if !python.split('.').all(is_python_identifier) {
        return None;
    }
    let (elixir_module, elixir_name) = naming::elixir_callable_path(library_module, &python)?;
    let (line, column) = line_column(text, span.start);
    Some(Declared {
        python,
        elixir_module,
        elixir_name,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    })
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (
        before.matches('\n').count() + 1,
        before.len() - line_start + 1,
    )
}

fn is_python_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `path` with `.` components and trailing slashes dropped: `./lib/gen/` is `lib/gen`.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Why `output` (normalized) cannot hold generated files, if it cannot: everything in it is
/// snakebridge's to overwrite and delete, so it must be a directory of its own, inside the
/// project, apart from snakebridge's metadata and from the sources it scans (`paths`).
pub fn check_output(output: &str, paths: &[String]) -> Result<(), String> {
    if !is_relative_inside(output) || output.split('/').any(|part| part == "." || part.is_empty()) {
        return Err("must be a relative path inside the project".into());
    }
    let within = |path: &str, dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
    if within(output, METADATA_DIR) {
        return Err("is snakebridge's own metadata directory".into());
    }
    for path in paths {
        let path = normalize(path);
        if path.is_empty() || within(&path, output) {
            return Err(format!(
                "would hold the scanned source directory `{path}`, whose files are not snakebridge's"
            ));
        }
    }
    Ok(())
}

fn is_relative_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// See #11: the error for a module nested in another library's pointed at line 1.
    #[test]
    fn a_module_nested_in_another_librarys_is_refused_at_its_line() {
        let text = "[libraries]\nplug = { stdlib = true, module = \"Plug\" }\nconn = { stdlib = true, module = \"Plug.Conn\" }\n";
        match Config::parse(text) {
            Err(Error::Invalid { line, message, .. }) => {
                assert_eq!(line, 3, "{message}");
                assert!(message.contains("nested"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// See #13: every limit of the runtime is a `[runtime]` setting, checked where it is written.
    #[test]
    fn runtime_limits_are_settings() {
        let config = Config::parse(
            "[runtime]\nheartbeat = 2\nheartbeat_misses = 5\nhard_timeout = 30\nmax_depth = 100\nmax_refs = 10\nmax_session_refs = 3\n",
        )
        .unwrap();
        let runtime = &config.runtime;
        assert_eq!(
            (
                runtime.heartbeat_secs,
                runtime.heartbeat_misses,
                runtime.hard_timeout_secs,
                runtime.max_depth,
                runtime.max_refs,
                runtime.max_session_refs
            ),
            (2, 5, 30, 100, 10, 3)
        );
        match Config::parse("[runtime]\nmax_depth = 5000\n") {
            Err(Error::Invalid { message, line, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("max_depth"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
