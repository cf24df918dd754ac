//! A snakebridge emitter stage: renders one library's files from the records the host gives
//! it. `snakebridge plugin build` builds it; `snakebridge plugin check` tries it;
//! `snakebridge generate --dump-ir DIR` shows the records it receives.
//!
//! This starter writes one module per library listing the Python symbols the project calls.

use snakebridge_pdk::emitter::{Emitter, File, PluginError, RenderInput};

struct Plugin;

impl Emitter for Plugin {
    fn emit(input: RenderInput) -> Result<Vec<File>, PluginError> {
        let library = &input.library;
        // The host overwrites or removes a file only if it starts with this marker.
        let mut contents = format!(
            "{} ({{name}}) from the Python library {}. Do not edit.\n\n",
            input.conventions.generated_marker,
            elixir_string(&library.python_module)
        );
        contents += &format!("defmodule {}.Symbols do\n", library.elixir_module);
        contents += "  @moduledoc \"The Python symbols this project calls.\"\n\n";
        let names: Vec<String> = library
            .symbols
            .iter()
            .map(|symbol| {
                let python = format!("{}.{}", symbol.python_module, symbol.python_name);
                format!("      {}", elixir_string(&python))
            })
            .collect();
        contents += &format!("  def all do\n    [\n{}\n    ]\n  end\nend\n", names.join(",\n"));
        // Paths are relative to the output directory; the host refuses any that leave it.
        Ok(vec![File {
            path: format!("{}_symbols.ex", library.name),
            contents,
        }])
    }
}

/// An Elixir string literal. Names come from Python: escape whatever could end the string or
/// interpolate.
fn elixir_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("#{", "\\#{")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

snakebridge_pdk::export_emitter!(Plugin);
