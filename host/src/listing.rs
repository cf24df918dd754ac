//! `all = true`: a library's public symbols, listed by Python (see `list_public` in the
//! introspection script), as declared calls the rest of the pipeline serves like `include`
//! entries. What Python cannot describe or snakebridge cannot wrap is skipped with a warning.

use crate::config::{FILE_NAME, Library};
use crate::introspect::{PublicKind, PublicSymbol};
use crate::model::{Call, CallKind, SymbolKind};
use crate::naming;

/// The calls `public` stands for, placed at the library's line in `snakebridge.toml`; names
/// the library `exclude`s, and names with no Elixir spelling, are left out.
pub fn calls(library: &Library, public: &[PublicSymbol]) -> Vec<Call> {
    public
        .iter()
        .filter_map(|symbol| elixir_path(&library.elixir_module, symbol))
        .filter(|(module, function)| library.excluded(module, function).is_none())
        .map(|(module, function)| Call {
            module,
            function,
            arity: 0,
            file: FILE_NAME.to_string(),
            line: library.line,
            column: library.column,
            kind: CallKind::Listed,
        })
        .collect()
}

/// The Elixir module and function a public symbol becomes: a class its module's `new`, a
/// member a function of its class's module, spelled as a method is.
fn elixir_path(library_module: &str, symbol: &PublicSymbol) -> Option<(String, String)> {
    match symbol.kind {
        PublicKind::Class => {
            let class = match symbol.below.as_str() {
                "" => symbol.name.clone(),
                below => format!("{below}.{}", symbol.name),
            };
            naming::elixir_function_path(library_module, &class, "new")
        }
        PublicKind::Function | PublicKind::Constant => {
            naming::elixir_function_path(library_module, &symbol.below, &symbol.name)
        }
        PublicKind::Member => Some((
            naming::elixir_module_path(library_module, &symbol.below),
            naming::elixir_function_name(&symbol.name, SymbolKind::Method)?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(below: &str, name: &str, kind: PublicKind) -> PublicSymbol {
        PublicSymbol {
            below: below.into(),
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn each_kind_lands_where_a_call_would_reach_it() {
        let cases = [
            (
                public("", "Fraction", PublicKind::Class),
                ("Fractions.Fraction", "new"),
            ),
            (
                public("linalg", "norm", PublicKind::Function),
                ("Fractions.Linalg", "norm"),
            ),
            (
                public("", "True_", PublicKind::Constant),
                ("Fractions", "py_True_"),
            ),
            (
                public("Fraction", "from_float", PublicKind::Member),
                ("Fractions.Fraction", "from_float"),
            ),
            // In a class module `new` is the constructor; a method `new` is `py_new`.
            (
                public("Fraction", "new", PublicKind::Member),
                ("Fractions.Fraction", "py_new"),
            ),
        ];
        for (symbol, (module, function)) in cases {
            assert_eq!(
                elixir_path("Fractions", &symbol),
                Some((module.to_string(), function.to_string())),
                "{symbol:?}"
            );
        }
    }
}
