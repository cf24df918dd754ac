//! Every record that crosses a stage: calls from the scanner, symbol records from
//! introspection, and the manifest that holds them. Maps are `BTreeMap`s so serialised output
//! is sorted, and nothing here holds an absolute path.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How a call reached its target; see `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Remote,
    Pipe,
    Capture,
    Import,
    Delegate,
    Apply,
    /// Not a call: a library's `include` entry in `snakebridge.toml`.
    Include,
    /// Not a call: a public symbol of a library with `all = true`.
    Listed,
}

impl CallKind {
    /// Whether the configuration, not the source, asks for the symbol: it has no arity, and
    /// generates at whatever arities the symbol takes.
    pub fn is_declared(self) -> bool {
        matches!(self, Self::Include | Self::Listed)
    }
}

/// One call site into a configured library.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Call {
    pub module: String,
    pub function: String,
    pub arity: u32,
    /// Relative to the project root, `/`-separated.
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub kind: CallKind,
}

impl Call {
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }

    /// `Numpy.mean/2`; an `include` entry, which has no arity, is `Numpy.mean`.
    pub fn mfa(&self) -> String {
        if self.kind.is_declared() {
            format!("{}.{}", self.module, self.function)
        } else {
            format!("{}.{}/{}", self.module, self.function, self.arity)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    Function,
    Constructor,
    Method,
    ClassMethod,
    StaticMethod,
    Property,
    Constant,
    /// Writes a writable property or attribute: `set_x` for `x`.
    Setter,
}

impl SymbolKind {
    /// Whether the wrapper takes the object reference as its first argument.
    pub fn takes_ref(self) -> bool {
        matches!(self, Self::Method | Self::Property | Self::Setter)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

impl ParamKind {
    pub fn is_positional(self) -> bool {
        matches!(self, Self::PositionalOnly | Self::PositionalOrKeyword)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub python_name: String,
    /// Set by `naming::assign_param_names`.
    #[serde(default)]
    pub elixir_name: String,
    pub kind: ParamKind,
    /// Canonical `repr` of the default, for docs only. `None` means required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
}

impl Param {
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureSource {
    Inspect,
    TextSignature,
    Docstring,
    Stub,
    VariadicFallback,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    pub source: SignatureSource,
}

impl Signature {
    /// The signature of a callable nothing could be learned about: `(*args, **kwargs)`.
    pub fn variadic_fallback() -> Self {
        let param = |name: &str, kind| Param {
            python_name: name.into(),
            elixir_name: String::new(),
            kind,
            default: None,
            annotation: None,
        };
        Self {
            params: vec![
                param("args", ParamKind::VarPositional),
                param("kwargs", ParamKind::VarKeyword),
            ],
            returns: None,
            source: SignatureSource::VariadicFallback,
        }
    }
}

/// Call-site arities a wrapper accepts, both ends included; see `arity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArityRange {
    pub min: u32,
    pub max: u32,
    /// The signature takes `*args`: `max` marks where generation stops and grows on demand.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

impl ArityRange {
    pub fn covers(&self, arity: u32) -> bool {
        (self.min..=self.max).contains(&arity)
    }
}

impl fmt::Display for ArityRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// One generated wrapper's full record: enough to render it again without Python.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    pub kind: SymbolKind,
    pub elixir_module: String,
    pub elixir_name: String,
    pub python_module: String,
    /// Attribute path inside `python_module`: `norm`, `Counter.most_common`.
    pub python_name: String,
    pub signature: Signature,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overloads: Vec<Signature>,
    #[serde(default)]
    pub doc: String,
    pub arity: ArityRange,
    /// `__module__.__qualname__` of the object, when Python knows it; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defined_in: Option<String>,
    /// Python says it is a generator function: calling it makes an iterator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generator: bool,
}

impl Symbol {
    /// The manifest key: `Numpy.Linalg.norm`.
    pub fn id(&self) -> String {
        symbol_id(&self.elixir_module, &self.elixir_name)
    }

    /// Whether calling it makes an iterator: Python says it is a generator function, or its
    /// return annotation is an `Iterator` or `Generator`.
    pub fn yields(&self) -> bool {
        use snakebridge_annotation::{Ann, parse};
        self.generator
            || self
                .signature
                .returns
                .as_deref()
                .and_then(parse)
                .is_some_and(|returns| {
                    let (Ann::Name(base) | Ann::Subscript(base, _)) = returns else {
                        return false;
                    };
                    matches!(base.rsplit('.').next(), Some("Iterator" | "Generator"))
                })
    }
}

pub fn symbol_id(elixir_module: &str, elixir_name: &str) -> String {
    format!("{elixir_module}.{elixir_name}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    Module,
    Class,
}

/// A Python module or class that one or more symbols live in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// `numpy.linalg`, or `collections.Counter` for a class.
    pub python_path: String,
    pub kind: ModuleKind,
    #[serde(default)]
    pub doc: String,
}

/// A call Python confirmed the target does not have. Only calls attributed through a broad
/// `import` land here: remembering them keeps later runs from asking Python again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absent {
    pub reason: String,
}

/// Everything generated for one configured library.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryRecord {
    pub python_module: String,
    pub elixir_module: String,
    /// Keyed by Elixir module name.
    #[serde(default)]
    pub modules: BTreeMap<String, Module>,
    /// Keyed by `Symbol::id`.
    #[serde(default)]
    pub symbols: BTreeMap<String, Symbol>,
    /// Keyed by `Module.function`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub absent: BTreeMap<String, Absent>,
    /// Every public symbol was listed (`all = true`) for the configuration the lock records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

impl LibraryRecord {
    /// The symbol a call resolves to, by Elixir module and function name (bang stripped).
    pub fn symbol_for(&self, module: &str, function: &str) -> Option<&Symbol> {
        let name = function.strip_suffix('!').unwrap_or(function);
        self.symbols.get(&symbol_id(module, name))
    }
}

/// `.snakebridge/manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    /// Keyed by the configured library name.
    #[serde(default)]
    pub libraries: BTreeMap<String, LibraryRecord>,
}

impl Manifest {
    pub const SCHEMA: u32 = 1;

    pub fn empty() -> Self {
        Self {
            schema: Self::SCHEMA,
            libraries: BTreeMap::new(),
        }
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::empty()
    }
}

/// The Python a library was introspected in, as the lock records it.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct PythonIdentity {
    pub implementation: String,
    pub version: String,
    pub platform: String,
}
