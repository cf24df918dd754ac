//! Names on both sides of the bridge.
//!
//! A Python name that is not a valid, free Elixir function name is renamed predictably with a
//! `py_` prefix (`end` → `py_end`, `N` → `py_N`); the wrapper keeps the Python name for the
//! call, and the scanner maps a call to `py_end` back to `end`. Parameter names get the same
//! treatment as Elixir variables.

use crate::model::{Param, SymbolKind};

/// The prefix for renamed Python names.
pub const RENAME_PREFIX: &str = "py_";

/// The keyword-options argument every wrapper takes last.
pub const OPTS_PARAM: &str = "opts";

/// The object-reference argument methods and properties take first.
pub const REF_PARAM: &str = "ref";

/// Words Elixir's parser reserves, names the compiler defines in every module, and the
/// discovery helpers generated modules define.
const RESERVED: &[&str] = &[
    "__CALLER__",
    "__DIR__",
    "__ENV__",
    "__MODULE__",
    "__STACKTRACE__",
    "__after_compile__",
    "__aliases__",
    "__before_compile__",
    "__block__",
    "__classes__",
    "__cursor__",
    "__functions__",
    "__info__",
    "__search__",
    "__snakebridge__",
    "__struct__",
    "__using__",
    "after",
    "and",
    "behaviour_info",
    "catch",
    "do",
    "doc",
    "else",
    "end",
    "false",
    "fn",
    "in",
    "module_info",
    "nil",
    "not",
    "or",
    "quote",
    "rescue",
    "true",
    "unquote",
    "unquote_splicing",
    "when",
];

/// Whether `name` is a plain Elixir identifier: `[a-z_][A-Za-z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a function name a generated module may define: what
/// [`elixir_function_name`] gives, or a constructor's `new`. The manifest is checked with it,
/// so an edited manifest can carry only data, never code.
pub fn is_function_name(name: &str) -> bool {
    name == "new" || is_free_function_name(name, false)
}

/// Whether `name` is a parameter name a wrapper may use: what [`assign_param_names`] gives.
pub fn is_variable_name(name: &str) -> bool {
    is_identifier(name) && !RESERVED.contains(&name) && name != OPTS_PARAM && name != REF_PARAM
}

/// Whether `name` can be an Elixir function name in a generated module of the given kind as is.
fn is_free_function_name(name: &str, in_class: bool) -> bool {
    is_identifier(name) && !RESERVED.contains(&name) && !(in_class && name == "new")
}

/// The Elixir function name for a Python attribute, or `None` when it has no Elixir spelling
/// (non-ASCII names).
pub fn elixir_function_name(python_name: &str, kind: SymbolKind) -> Option<String> {
    if kind == SymbolKind::Constructor {
        return Some("new".into());
    }
    let in_class = matches!(
        kind,
        SymbolKind::Method
            | SymbolKind::ClassMethod
            | SymbolKind::StaticMethod
            | SymbolKind::Property
    );
    if is_free_function_name(python_name, in_class) {
        return Some(python_name.into());
    }
    let renamed = format!("{RENAME_PREFIX}{python_name}");
    (python_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && is_identifier(&renamed))
    .then_some(renamed)
}

/// Python attribute names a called Elixir function name may stand for, most likely first.
/// `mean!` is the bang variant of `mean`; `py_end` stands for `end`.
pub fn python_name_candidates(elixir_name: &str) -> Vec<String> {
    let name = elixir_name.strip_suffix('!').unwrap_or(elixir_name);
    let mut candidates = vec![name.to_string()];
    if let Some(rest) = name.strip_prefix(RENAME_PREFIX)
        && !rest.is_empty()
    {
        candidates.insert(0, rest.to_string());
    }
    candidates
}

/// Assigns every parameter a distinct, valid Elixir variable name. Python `_x` becomes `x`,
/// `N` becomes `n`, and names the wrapper uses itself (`opts`, `ref`) or Elixir reserves get the
/// rename prefix.
pub fn assign_param_names(params: &mut [Param]) {
    let mut taken: Vec<String> = vec![OPTS_PARAM.into(), REF_PARAM.into()];
    for (index, param) in params.iter_mut().enumerate() {
        let base = variable_name(&param.python_name, index);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = if base == OPTS_PARAM || base == REF_PARAM {
                format!("{RENAME_PREFIX}{base}")
            } else {
                format!("{base}_{n}")
            };
            if taken.contains(&name) {
                name = format!("{base}_{n}");
            }
            n += 1;
        }
        taken.push(name.clone());
        param.elixir_name = name;
    }
}

fn variable_name(python_name: &str, index: usize) -> String {
    let trimmed = python_name.trim_start_matches('_');
    let mut chars = trimmed.chars();
    let name = match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            let mut name = first.to_ascii_lowercase().to_string();
            name.extend(chars);
            name
        }
        _ => String::new(),
    };
    if !is_identifier(&name) {
        return format!("arg{}", index + 1);
    }
    if RESERVED.contains(&name.as_str()) {
        return format!("{RENAME_PREFIX}{name}");
    }
    name
}

/// `numpy` → `Numpy`, `python_dateutil` → `PythonDateutil`, `xml.etree` → `Xml.Etree`.
pub fn camelize(name: &str) -> String {
    name.split('.')
        .map(|segment| {
            segment
                .split('_')
                .filter(|part| !part.is_empty())
                .map(|part| {
                    let mut chars = part.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The Elixir function a Python path below a library names: `linalg.norm` in `Numpy` is
/// `Numpy.Linalg.norm`, a class (a capitalised last name, `Counter`) its constructor
/// `Counter.new`.
pub fn elixir_callable_path(library_module: &str, python: &str) -> Option<(String, String)> {
    let (below, last) = python.rsplit_once('.').unwrap_or(("", python));
    if last.starts_with(|c: char| c.is_ascii_uppercase()) {
        elixir_function_path(library_module, python, "new")
    } else {
        elixir_function_path(library_module, below, last)
    }
}

/// The Elixir module and function a Python function becomes: `norm` at `linalg` below a
/// library whose module is `Numpy` is `Numpy.Linalg.norm`. `below` is the dotted path under
/// the library, empty for its top level.
pub fn elixir_function_path(
    library_module: &str,
    below: &str,
    function: &str,
) -> Option<(String, String)> {
    Some((
        elixir_module_path(library_module, below),
        elixir_function_name(function, SymbolKind::Function)?,
    ))
}

/// The Elixir module a Python module or class below a library becomes: `linalg` below
/// `Numpy` is `Numpy.Linalg`.
pub fn elixir_module_path(library_module: &str, below: &str) -> String {
    let mut module = library_module.to_string();
    let below = below.trim_start_matches('.');
    if !below.is_empty() {
        module.push('.');
        module.push_str(&camelize(below));
    }
    module
}

/// Whether `name` is a valid Elixir alias such as `Numpy.Linalg`.
pub fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|segment| {
            let mut chars = segment.chars();
            matches!(chars.next(), Some('A'..='Z'))
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Modules of Elixir and OTP's Elixir applications that a generated module must not replace.
const ELIXIR_MODULES: &[&str] = &[
    "Access",
    "Agent",
    "Application",
    "Atom",
    "Base",
    "Behaviour",
    "Bitwise",
    "Calendar",
    "Code",
    "Collectable",
    "Config",
    "Date",
    "DateTime",
    "Dict",
    "DynamicSupervisor",
    "EEx",
    "Enum",
    "Enumerable",
    "ExUnit",
    "Exception",
    "File",
    "Float",
    "Function",
    "GenEvent",
    "GenServer",
    "HashDict",
    "HashSet",
    "IEx",
    "IO",
    "Inspect",
    "Integer",
    "Kernel",
    "Keyword",
    "List",
    "Logger",
    "Macro",
    "Map",
    "MapSet",
    "Mix",
    "Module",
    "NaiveDateTime",
    "Node",
    "OptionParser",
    "PartitionSupervisor",
    "Path",
    "Port",
    "Process",
    "Protocol",
    "Range",
    "Record",
    "Regex",
    "Registry",
    "Set",
    "SnakeBridge",
    "Stream",
    "String",
    "StringIO",
    "Supervisor",
    "System",
    "Task",
    "Time",
    "Tuple",
    "URI",
    "Version",
    // Added after Elixir 1.14.
    "Duration",
    "JSON",
    // The standard exceptions.
    "ArgumentError",
    "ArithmeticError",
    "BadArityError",
    "BadBooleanError",
    "BadFunctionError",
    "BadMapError",
    "BadStructError",
    "CaseClauseError",
    "CompileError",
    "CondClauseError",
    "ErlangError",
    "FunctionClauseError",
    "KeyError",
    "MatchError",
    "MismatchedDelimiterError",
    "RuntimeError",
    "SyntaxError",
    "SystemLimitError",
    "TokenMissingError",
    "TryClauseError",
    "UndefinedFunctionError",
    "UnicodeConversionError",
    "WithClauseError",
];

/// Whether a generated module named `name` would replace one of Elixir's own.
pub fn shadows_elixir_module(name: &str) -> bool {
    let root = name.split('.').next().unwrap_or(name);
    ELIXIR_MODULES.contains(&root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamKind;

    #[test]
    fn function_names_round_trip() {
        for (python, elixir) in [
            ("mean", "mean"),
            ("end", "py_end"),
            ("N", "py_N"),
            ("__MODULE__", "py___MODULE__"),
            ("doc", "py_doc"),
            ("_private", "_private"),
        ] {
            assert_eq!(
                elixir_function_name(python, SymbolKind::Function).as_deref(),
                Some(elixir)
            );
            assert_eq!(python_name_candidates(elixir)[0], python, "{elixir}");
        }
        assert_eq!(
            elixir_function_name("new", SymbolKind::Method).as_deref(),
            Some("py_new")
        );
        assert_eq!(
            elixir_function_name("new", SymbolKind::Function).as_deref(),
            Some("new")
        );
        assert_eq!(elixir_function_name("π", SymbolKind::Function), None);
        assert_eq!(python_name_candidates("mean!"), ["mean"]);
    }

    #[test]
    fn param_names_are_valid_and_distinct() {
        let mut params: Vec<Param> = ["_x", "x", "N", "end", "opts", "ref", "__", "x"]
            .iter()
            .map(|name| Param {
                python_name: (*name).into(),
                elixir_name: String::new(),
                kind: ParamKind::PositionalOrKeyword,
                default: None,
                annotation: None,
            })
            .collect();
        assign_param_names(&mut params);
        let names: Vec<_> = params.iter().map(|p| p.elixir_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "x", "x_2", "n", "py_end", "py_opts", "py_ref", "arg7", "x_3"
            ]
        );
    }

    #[test]
    fn camelize_matches_elixir() {
        assert_eq!(camelize("numpy"), "Numpy");
        assert_eq!(camelize("python_dateutil"), "PythonDateutil");
        assert_eq!(camelize("xml.etree"), "Xml.Etree");
        assert!(shadows_elixir_module("Enum"));
        assert!(!shadows_elixir_module("Numpy"));
        // See #11: newer Elixir modules and the standard exceptions.
        for name in ["JSON", "Duration", "ArgumentError", "KeyError.Sub"] {
            assert!(shadows_elixir_module(name), "{name}");
        }
    }
}
