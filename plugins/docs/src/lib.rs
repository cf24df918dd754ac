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
