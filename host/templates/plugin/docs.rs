//! A snakebridge doc stage: renders each module's and symbol's docstring as Markdown.
//! `snakebridge plugin build` builds it; `snakebridge plugin check` tries it;
//! `snakebridge generate --dump-ir DIR` shows the records it receives.
//!
//! This starter keeps docstrings as they are and says which Python function a wrapper calls.

use snakebridge_pdk::docs::{Docs, Library, LibraryDocs, ModuleDoc, PluginError, SymbolDoc};

struct Plugin;

impl Docs for Plugin {
    fn render_docs(library: Library) -> Result<LibraryDocs, PluginError> {
        Ok(LibraryDocs {
            modules: library
                .modules
                .iter()
                .map(|module| ModuleDoc {
                    elixir_module: module.elixir_module.clone(),
                    markdown: module.doc.trim().to_string(),
                })
                .collect(),
            symbols: library
                .symbols
                .iter()
                .map(|symbol| SymbolDoc {
                    id: symbol.id.clone(),
                    markdown: format!(
                        "{}\n\nCalls Python's `{}.{}`.",
                        symbol.doc.trim(),
                        symbol.python_module,
                        symbol.python_name
                    ),
                })
                .collect(),
        })
    }
}

snakebridge_pdk::export_docs!(Plugin);
