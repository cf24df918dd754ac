//! The built-in doc stage: Python docstrings to ExDoc Markdown.

use snakebridge_pdk::docs::{Docs, Library, LibraryDocs, ModuleDoc, PluginError, SymbolDoc};

struct Plugin;

impl Docs for Plugin {
    fn render_docs(library: Library) -> Result<LibraryDocs, PluginError> {
        Ok(LibraryDocs {
            modules: library
                .modules
                .iter()
                .map(|m| ModuleDoc {
                    elixir_module: m.elixir_module.clone(),
                    markdown: m.doc.clone(),
                })
                .collect(),
            symbols: library
                .symbols
                .iter()
                .map(|s| SymbolDoc {
                    id: s.id.clone(),
                    markdown: s.doc.clone(),
                })
                .collect(),
        })
    }
}

snakebridge_pdk::export_docs!(Plugin);
