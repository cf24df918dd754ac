//! The default emitter: one Elixir source file per library.

use snakebridge_pdk::emitter::{Emitter, File, PluginError, RenderInput};

struct Plugin;

impl Emitter for Plugin {
    fn emit(input: RenderInput) -> Result<Vec<File>, PluginError> {
        Ok(vec![File {
            path: format!("{}.ex", input.library.name),
            contents: String::new(),
        }])
    }
}

snakebridge_pdk::export_emitter!(Plugin);
