//! `.snakebridge/manifest.json`: every generated symbol's full record, committed, so the
//! bindings can be rendered again without Python. Keys are sorted, there are no timestamps,
//! and symbols only leave through an explicit prune.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::Manifest;

/// Where the manifest lives, relative to the project root.
pub const PATH: &str = ".snakebridge/manifest.json";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(snakebridge::manifest::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` is malformed at line {line}, column {column}: {message}", path.display())]
    #[diagnostic(
        code(snakebridge::manifest::malformed),
        help(
            "restore it from version control, or delete it and run `snakebridge generate` to rebuild it"
        )
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("`{}` has schema {found}; this snakebridge reads schema {}", path.display(), Manifest::SCHEMA)]
    #[diagnostic(
        code(snakebridge::manifest::schema),
        help("use the snakebridge version that wrote it, or regenerate")
    )]
    Schema { path: PathBuf, found: u32 },

    #[error("`{}` names {what} `{value}` in `{library}`, which is not one snakebridge generates", path.display())]
    #[diagnostic(
        code(snakebridge::manifest::invalid_name),
        help(
            "the manifest holds data, and its names must follow the contract's rules (modules are aliases, functions and parameters plain identifiers); restore it from version control, or delete it and run `snakebridge generate`"
        )
    )]
    InvalidName {
        path: PathBuf,
        library: String,
        what: &'static str,
        value: String,
    },
}

/// Reads the manifest; a missing file is an empty manifest.
pub fn load(root: &Path) -> Result<Manifest, Error> {
    let path = root.join(PATH);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::empty()),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Malformed {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    if manifest.schema != Manifest::SCHEMA {
        return Err(Error::Schema {
            path,
            found: manifest.schema,
        });
    }
    validate(&manifest).map_err(|(library, what, value)| Error::InvalidName {
        path,
        library,
        what,
        value,
    })?;
    Ok(manifest)
}

/// Checks every name the emitter writes into code: a hand-edited manifest is data, and may
/// not smuggle code into a generated file.
fn validate(manifest: &Manifest) -> Result<(), (String, &'static str, String)> {
    use crate::naming::{is_function_name, is_module_name, is_variable_name};
    for (name, library) in &manifest.libraries {
        let bad = |what, value: &str| Err((name.clone(), what, value.to_string()));
        if !is_module_name(&library.elixir_module) {
            return bad("the module", &library.elixir_module);
        }
        for module in library.modules.keys() {
            if !is_module_name(module) {
                return bad("the module", module);
            }
        }
        for symbol in library.symbols.values() {
            if !is_module_name(&symbol.elixir_module) {
                return bad("the module", &symbol.elixir_module);
            }
            if !is_function_name(&symbol.elixir_name) {
                return bad("the function", &symbol.elixir_name);
            }
            for signature in std::iter::once(&symbol.signature).chain(&symbol.overloads) {
                let mut seen = std::collections::HashSet::new();
                for param in &signature.params {
                    if !is_variable_name(&param.elixir_name) || !seen.insert(&param.elixir_name) {
                        return bad("the parameter", &param.elixir_name);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The manifest's canonical text: sorted keys, two-space indentation, final newline.
pub fn render(manifest: &Manifest) -> String {
    to_sorted_json(manifest)
}

/// Pretty JSON with every object's keys sorted, whatever the field order of the structs.
pub fn to_sorted_json(value: &impl Serialize) -> String {
    // `serde_json::Value` keeps objects in a `BTreeMap`, which sorts them.
    let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
