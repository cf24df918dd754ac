//! The default emitter: one Elixir source file per library, laid out exactly as `mix format`
//! would, so generated files pass `mix format --check-formatted` as they are. A library of more
//! than [`SPLIT_AT_SYMBOLS`] symbols gets one file per Elixir module instead (see [`file_of`]).
//!
//! Each Python module or class the project uses becomes an Elixir module in that file, with
//! discovery functions (`__functions__/0`, `__classes__/0`, `__search__/1`, `doc/1`) and a
//! wrapper per symbol (see `wrappers`). Types and docs come from the other two stages.

mod doc;
mod out;
mod syntax;
mod wrappers;

use std::collections::BTreeMap;

use snakebridge_pdk::emitter::{
    Conventions, Emitter, ErrorDetail, File, Library, Module, ModuleKind, PluginError, RenderInput,
    Symbol,
};

use doc::text;
use out::Out;
use syntax::{def, heredoc_attribute, list, string};

struct Plugin;

snakebridge_pdk::export_emitter!(Plugin);

/// Indentation of a module's body.
const INDENT: usize = 2;

/// Above this many symbols a library is split into one file per module, so that no
/// file is unreadably large (`all = true` on numpy or sympy gives thousands).
pub const SPLIT_AT_SYMBOLS: usize = 1000;

/// The helper functions `preamble` writes in every module, which the host must expect.
const HELPERS: [(&str, u32); 5] = [
    ("__functions__", 0),
    ("__classes__", 0),
    ("__search__", 1),
    ("doc", 1),
    ("__snakebridge__", 0),
];

impl Emitter for Plugin {
    fn emit(input: RenderInput) -> Result<Vec<File>, PluginError> {
        let library = &input.library;
        let conventions = &input.conventions;
        let mut expected: Vec<(&str, u32)> = conventions
            .helpers
            .iter()
            .map(|(name, arity)| (name.as_str(), *arity))
            .collect();
        expected.sort_unstable();
        let mut written = HELPERS.to_vec();
        written.sort_unstable();
        if expected != written {
            return Err(PluginError::Unsupported(ErrorDetail {
                message: format!(
                    "the host expects the helper functions {expected:?} in every module; this emitter writes {written:?}"
                ),
                symbol: None,
            }));
        }
        let types: BTreeMap<&str, _> = input.types.iter().map(|t| (t.id.as_str(), t)).collect();
        let docs: BTreeMap<&str, &str> = input
            .docs
            .symbols
            .iter()
            .map(|d| (d.id.as_str(), d.markdown.as_str()))
            .collect();
        let module_docs: BTreeMap<&str, &str> = input
            .docs
            .modules
            .iter()
            .map(|d| (d.elixir_module.as_str(), d.markdown.as_str()))
            .collect();
        if let Some(orphan) = library.symbols.iter().find(|s| {
            !library
                .modules
                .iter()
                .any(|m| m.elixir_module == s.elixir_module)
        }) {
            return Err(PluginError::InvalidInput(ErrorDetail {
                message: format!(
                    "symbol's module `{}` is not among the library's modules",
                    orphan.elixir_module
                ),
                symbol: Some(orphan.id.clone()),
            }));
        }

        let split = library.symbols.len() > SPLIT_AT_SYMBOLS;
        let mut files: BTreeMap<String, Out> = BTreeMap::new();
        for module in &library.modules {
            if !syntax::is_alias(&module.elixir_module) {
                return Err(invalid(format!(
                    "`{}` is not a valid Elixir module name",
                    module.elixir_module
                )));
            }
            let symbols: Vec<&Symbol> = library
                .symbols
                .iter()
                .filter(|s| s.elixir_module == module.elixir_module)
                .collect();
            let classes: Vec<&Module> = library
                .modules
                .iter()
                .filter(|m| {
                    m.kind == ModuleKind::Class
                        && parent(&m.elixir_module) == Some(module.elixir_module.as_str())
                })
                .collect();
            let path = if split {
                file_of(module)
            } else {
                file_name(&library.name)
            };
            let out = files.entry(path).or_insert_with(|| {
                let mut out = Out::new();
                header(&mut out, library, conventions);
                out
            });
            out.line(0, "");
            out.line(0, &format!("defmodule {} do", module.elixir_module));
            out.open();
            preamble(
                out,
                library,
                module,
                module_docs.get(module.elixir_module.as_str()).copied(),
                (&classes, &symbols),
                conventions,
            );
            for symbol in &symbols {
                let markdown = docs.get(symbol.id.as_str()).copied().unwrap_or("");
                wrappers::wrapper(
                    out,
                    symbol,
                    types.get(symbol.id.as_str()).copied(),
                    markdown,
                    conventions,
                    wrappers::stream_name(symbol, &symbols, conventions).as_deref(),
                )?;
            }
            out.line(0, "end");
        }
        Ok(files
            .into_iter()
            .map(|(path, out)| File {
                path,
                contents: out.finish(),
            })
            .collect())
    }
}

/// `numpy.ex`; `scipy_stats.ex` for a library configured as `scipy.stats`.
fn file_name(python_path: &str) -> String {
    format!("{}.ex", python_path.replace('.', "_"))
}

/// The file of a split library a module goes in, named as Elixir projects name them:
/// `Numpy.Linalg` in `numpy/linalg.ex`, `Sympy.Add` in `sympy/add.ex`. Two modules whose
/// names differ only in case share a file.
fn file_of(module: &Module) -> String {
    let segments: Vec<String> = module.elixir_module.split('.').map(underscore).collect();
    format!("{}.ex", segments.join("/"))
}

/// `Macro.underscore` for one alias segment: `RandomState` is `random_state`, `HTTPStatus`
/// `http_status`.
fn underscore(segment: &str) -> String {
    let chars: Vec<char> = segment.chars().collect();
    let mut out = String::with_capacity(segment.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let previous = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn invalid(message: String) -> PluginError {
    PluginError::InvalidInput(ErrorDetail {
        message,
        symbol: None,
    })
}

fn parent(module: &str) -> Option<&str> {
    module.rsplit_once('.').map(|(parent, _)| parent)
}

fn header(out: &mut Out, library: &Library, conventions: &Conventions) {
    let marker = conventions.generated_marker.replace(['\n', '\r'], " ");
    let name = library.name.replace(['\n', '\r'], " ");
    let source = match library.version.as_str() {
        "local" => format!("the project's Python module `{name}`"),
        version => format!(
            "the Python library `{name}` {}",
            version.replace(['\n', '\r'], " ")
        ),
    };
    out.line(0, &format!("{marker} from {source}. Do not edit."));
    out.line(
        0,
        "# Regenerate with `snakebridge generate`; `snakebridge verify` checks it is current.",
    );
}

/// A zero-arity discovery function returning a list, with its one-line doc.
fn list_function(out: &mut Out, doc: &str, name: &str, items: Vec<String>) {
    out.block();
    out.line(INDENT, doc);
    def(out, INDENT, name, &[], None, |out, indent| {
        out.fitting(
            indent,
            |line| {
                line.push('[');
                line.push_str(&items.join(", "));
                line.push(']');
            },
            || list(items.iter().map(|i| text(i.clone())).collect()),
        )
    });
}

fn preamble(
    out: &mut Out,
    library: &Library,
    module: &Module,
    markdown: Option<&str>,
    (classes, symbols): (&[&Module], &[&Symbol]),
    conventions: &Conventions,
) {
    let default_doc = match module.kind {
        ModuleKind::Module => format!("Bindings for the Python module `{}`.", module.python_path),
        ModuleKind::Class => format!("Bindings for the Python class `{}`.", module.python_path),
    };
    let moduledoc = markdown
        .filter(|m| !m.trim().is_empty())
        .map_or(default_doc, str::to_string);
    let (python_module, class) = match module.kind {
        ModuleKind::Module => (module.python_path.clone(), None),
        ModuleKind::Class => match module.python_path.rsplit_once('.') {
            Some((module_path, class)) => (module_path.to_string(), Some(class.to_string())),
            None => (module.python_path.clone(), None),
        },
    };
    out.block();
    heredoc_attribute(out, INDENT, "moduledoc", &moduledoc);
    out.block();
    out.line(INDENT, "require SnakeBridge.Runtime");
    if module.kind == ModuleKind::Class {
        out.block();
        out.line(
            INDENT,
            "@typedoc \"A reference to a Python object of this class.\"",
        );
        out.line(INDENT, "@type t :: SnakeBridge.Ref.t()");
    }
    let meta = vec![
        format!("library: {}", string(&library.name)),
        format!("python_module: {}", string(&python_module)),
        format!(
            "class: {}",
            class.as_deref().map_or("nil".to_string(), string)
        ),
    ];
    list_function(out, "@doc false", "__snakebridge__", meta);
    let functions = symbols
        .iter()
        .flat_map(|s| {
            let stream = wrappers::stream_name(s, symbols, conventions)
                .map(|name| (name, s.arity.min, s.arity.max));
            std::iter::once((s.elixir_name.clone(), s.arity.min, s.arity.max)).chain(stream)
        })
        .map(|(name, min, max)| format!("{{:{name}, {min}, {max}}}"))
        .collect();
    list_function(
        out,
        "@doc \"The functions this module wraps, as `{name, min_arity, max_arity}`.\"",
        "__functions__",
        functions,
    );
    let classes = classes.iter().map(|c| c.elixir_module.clone()).collect();
    list_function(
        out,
        "@doc \"The class modules nested in this module.\"",
        "__classes__",
        classes,
    );
    for (doc, name, param, target) in [
        (
            "@doc \"Searches this module's functions by name and summary.\"",
            "__search__",
            "query",
            "SnakeBridge.Docs.search",
        ),
        (
            "@doc \"The documentation of one of this module's functions.\"",
            "doc",
            "function",
            "SnakeBridge.Docs.get",
        ),
    ] {
        out.block();
        out.line(INDENT, doc);
        def(out, INDENT, name, &[param], None, |out, indent| {
            out.line(indent, &format!("{target}(__MODULE__, {param})"))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snakebridge_pdk::emitter::*;

    fn module(elixir_module: &str, python_path: &str, kind: ModuleKind) -> Module {
        Module {
            elixir_module: elixir_module.into(),
            python_path: python_path.into(),
            kind,
            doc: String::new(),
        }
    }

    fn function(elixir_module: &str, name: &str) -> Symbol {
        Symbol {
            id: format!("{elixir_module}.{name}"),
            kind: SymbolKind::Function,
            elixir_module: elixir_module.into(),
            elixir_name: name.into(),
            python_module: "big".into(),
            python_name: name.into(),
            signature: Signature {
                params: vec![],
                returns: None,
                source: SignatureSource::Inspect,
            },
            overloads: vec![],
            doc: String::new(),
            arity: ArityRange {
                min: 0,
                max: 1,
                open: false,
            },
            flags: SymbolFlags::empty(),
        }
    }

    /// What the host passes.
    pub(crate) fn conventions() -> Conventions {
        Conventions {
            generated_marker: "# Generated by snakebridge".into(),
            helpers: HELPERS.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
            options_param: "opts".into(),
            receiver_param: "ref".into(),
            stream_suffix: "_stream".into(),
        }
    }

    /// The files for a library of `modules` (its root first) and `symbols`, with no types or
    /// docs; every one starts with the generated marker.
    fn emit(name: &str, modules: Vec<Module>, symbols: Vec<Symbol>) -> Vec<File> {
        let library = Library {
            name: name.into(),
            elixir_module: modules[0].elixir_module.clone(),
            python_module: name.into(),
            version: "1".into(),
            modules,
            symbols,
        };
        let input = RenderInput {
            library,
            types: vec![],
            docs: LibraryDocs {
                modules: vec![],
                symbols: vec![],
            },
            conventions: conventions(),
        };
        let files = <Plugin as Emitter>::emit(input).unwrap();
        for file in &files {
            assert!(file.contents.starts_with("# Generated by snakebridge"));
        }
        files
    }

    fn render(symbols: Vec<Symbol>) -> Vec<String> {
        let modules = vec![
            module("Big", "big", ModuleKind::Module),
            module("Big.HTTPStatus", "big.HTTPStatus", ModuleKind::Class),
            module("Big.Linalg", "big.linalg", ModuleKind::Module),
            module("Big.RandomState", "big.RandomState", ModuleKind::Class),
        ];
        emit("big", modules, symbols)
            .into_iter()
            .map(|f| f.path)
            .collect()
    }

    fn symbols(count: usize) -> Vec<Symbol> {
        let modules = ["Big", "Big.HTTPStatus", "Big.Linalg", "Big.RandomState"];
        (0..count)
            .map(|i| function(modules[i % 4], &format!("f{i:04}")))
            .collect()
    }

    /// A generator gets a `_stream` wrapper, unless Python has a function of that name too:
    /// that one is wrapped as itself, and the generator goes without.
    #[test]
    fn a_stream_wrapper_never_takes_a_python_functions_name() {
        let mut read = function("Big", "read");
        read.flags = SymbolFlags::GENERATOR;
        let mut lines = function("Big", "lines");
        lines.flags = SymbolFlags::STREAMING;
        let files = emit(
            "big",
            vec![module("Big", "big", ModuleKind::Module)],
            vec![read, function("Big", "read_stream"), lines],
        );
        let code = &files[0].contents;
        assert_eq!(code.matches("def read_stream() do").count(), 1, "{code}");
        assert!(code.contains("SnakeBridge.Runtime.call(__MODULE__, \"read_stream\""));
        assert!(code.contains("def lines_stream("), "{code}");
        assert!(code.contains("{:lines_stream, 0, 1}"), "{code}");
        assert!(
            !code.contains("{:read_stream, 0, 1}, {:read_stream"),
            "{code}"
        );
    }

    /// Found by the conformance suite: `Datetime.Date.strftime(~D[2024-03-01], "%A")` works,
    /// and its spec said only a reference would.
    #[test]
    fn a_method_of_a_class_that_crosses_as_data_takes_the_data() {
        let mut method = function("Datetime.Date", "strftime");
        method.kind = SymbolKind::Method;
        method.python_module = "datetime".into();
        method.python_name = "date.strftime".into();
        method.arity = ArityRange {
            min: 1,
            max: 2,
            open: false,
        };
        let modules = vec![
            module("Datetime", "datetime", ModuleKind::Module),
            module("Datetime.Date", "datetime.date", ModuleKind::Class),
        ];
        let files = emit("datetime", modules, vec![method]);
        assert!(
            files[0]
                .contents
                .contains("@spec strftime(Date.t() | SnakeBridge.Ref.t()) ::"),
            "{}",
            files[0].contents
        );
    }

    #[test]
    fn a_library_is_one_file_until_it_is_big() {
        assert_eq!(render(symbols(SPLIT_AT_SYMBOLS)), ["big.ex"]);
    }

    #[test]
    fn a_big_library_has_a_file_per_module_named_as_elixir_names_them() {
        assert_eq!(
            render(symbols(SPLIT_AT_SYMBOLS + 1)),
            [
                "big.ex",
                "big/http_status.ex",
                "big/linalg.ex",
                "big/random_state.ex"
            ]
        );
    }
}

#[cfg(test)]
mod bench {
    use super::*;
    use snakebridge_pdk::emitter::*;

    #[test]
    #[ignore = "a timing probe, run by hand"]
    fn probe() {
        let symbols: Vec<Symbol> = (0..1000)
            .map(|i| {
                let params: Vec<Param> = (0..(i % 6))
                    .map(|p| Param {
                        python_name: format!("arg{p}"),
                        elixir_name: format!("arg{p}"),
                        kind: if p % 3 == 2 {
                            ParamKind::KeywordOnly
                        } else {
                            ParamKind::PositionalOrKeyword
                        },
                        default: (p > 1).then(|| "None".to_string()),
                        annotation: None,
                    })
                    .collect();
                let required = params.iter().filter(|p| p.default.is_none()).count() as u32;
                let optional = params
                    .iter()
                    .filter(|p| p.default.is_some() && p.kind == ParamKind::PositionalOrKeyword)
                    .count() as u32;
                Symbol {
                    id: format!("Bench.function_{i:04}"),
                    kind: SymbolKind::Function,
                    elixir_module: "Bench".into(),
                    elixir_name: format!("function_{i:04}"),
                    python_module: "bench".into(),
                    python_name: format!("function_{i:04}"),
                    signature: Signature {
                        params,
                        returns: None,
                        source: SignatureSource::Inspect,
                    },
                    overloads: vec![],
                    doc: "Computes something.".into(),
                    arity: ArityRange {
                        min: required,
                        max: required + optional + 1,
                        open: false,
                    },
                    flags: SymbolFlags::empty(),
                }
            })
            .collect();
        let input = RenderInput {
            library: Library {
                name: "bench".into(),
                elixir_module: "Bench".into(),
                python_module: "bench".into(),
                version: "1".into(),
                modules: vec![Module {
                    elixir_module: "Bench".into(),
                    python_path: "bench".into(),
                    kind: ModuleKind::Module,
                    doc: String::new(),
                }],
                symbols,
            },
            types: vec![],
            docs: LibraryDocs {
                modules: vec![],
                symbols: vec![],
            },
            conventions: crate::tests::conventions(),
        };
        let start = std::time::Instant::now();
        let files = <Plugin as Emitter>::emit(input).unwrap();
        eprintln!(
            "native emit: {:?}, {} bytes",
            start.elapsed(),
            files[0].contents.len()
        );
    }
}
