//! The built-in doc stage: Python docstrings to ExDoc Markdown.
//!
//! Each docstring is parsed in its own style (`docstring`: numpydoc, Google, reST or plain)
//! and rendered for the Elixir caller (`markdown`): a summary, the wrapper's arguments and
//! keyword options under its own names, returns, raises, notes, examples as fenced Python, and
//! cross-references to other generated functions as links. The text is returned as is; the
//! emitter makes it safe to embed.

mod docstring;
mod markdown;

use snakebridge_pdk::docs::{
    Docs, Library, LibraryDocs, ModuleDoc, ModuleKind, PluginError, SymbolDoc,
};

struct Plugin;

snakebridge_pdk::export_docs!(Plugin);

impl Docs for Plugin {
    fn render_docs(library: Library) -> Result<LibraryDocs, PluginError> {
        let refs = markdown::refs(&library.symbols);
        let modules = library
            .modules
            .iter()
            .map(|module| {
                let fallback = match module.kind {
                    ModuleKind::Module => {
                        format!("Bindings for the Python module `{}`.", module.python_path)
                    }
                    ModuleKind::Class => {
                        format!("Bindings for the Python class `{}`.", module.python_path)
                    }
                };
                ModuleDoc {
                    elixir_module: module.elixir_module.clone(),
                    markdown: markdown::module(&module.doc, &fallback, &refs),
                }
            })
            .collect();
        let symbols = library
            .symbols
            .iter()
            .map(|symbol| SymbolDoc {
                id: symbol.id.clone(),
                markdown: markdown::symbol(symbol, &refs),
            })
            .collect();
        Ok(LibraryDocs { modules, symbols })
    }
}

#[cfg(test)]
mod bench {
    use super::*;
    use snakebridge_pdk::docs::*;

    #[test]
    #[ignore = "a timing probe, run by hand"]
    fn probe() {
        let doc = "Computes something.\n\nParameters\n----------\narg0 : int\n    The first argument.\n\nReturns\n-------\nfloat\n    The result.";
        let symbols: Vec<Symbol> = (0..1000)
            .map(|i| Symbol {
                id: format!("Bench.f{i}"),
                kind: SymbolKind::Function,
                elixir_module: "Bench".into(),
                elixir_name: format!("f{i}"),
                python_module: "bench".into(),
                python_name: format!("f{i}"),
                signature: Signature {
                    params: (0..(i % 6))
                        .map(|p| Param {
                            python_name: format!("arg{p}"),
                            elixir_name: format!("arg{p}"),
                            kind: ParamKind::PositionalOrKeyword,
                            default: (p > 1).then(|| "None".into()),
                            annotation: None,
                        })
                        .collect(),
                    returns: None,
                    source: SignatureSource::Inspect,
                },
                overloads: vec![],
                doc: doc.into(),
                arity: ArityRange {
                    min: 0,
                    max: 1,
                    open: false,
                },
                flags: SymbolFlags::empty(),
            })
            .collect();
        let library = Library {
            name: "bench".into(),
            elixir_module: "Bench".into(),
            python_module: "bench".into(),
            version: "1".into(),
            modules: vec![],
            symbols,
        };
        let start = std::time::Instant::now();
        let docs = <Plugin as Docs>::render_docs(library).unwrap();
        eprintln!(
            "native docs: {:?} for {} symbols",
            start.elapsed(),
            docs.symbols.len()
        );
    }
}
