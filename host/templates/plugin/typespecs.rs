//! A snakebridge typespec stage: maps each symbol's Python annotations to Elixir types.
//! `snakebridge plugin build` builds it; `snakebridge plugin check` tries it;
//! `snakebridge generate --dump-ir DIR` shows the records it receives.
//!
//! This starter knows four builtin annotations and gives `term()` for everything else.

use snakebridge_pdk::typespecs::{Library, PluginError, SymbolTypes, TypeExpr, TypeNode, Typespecs};

struct Plugin;

impl Typespecs for Plugin {
    fn map_types(library: Library) -> Result<Vec<SymbolTypes>, PluginError> {
        Ok(library
            .symbols
            .iter()
            .map(|symbol| SymbolTypes {
                id: symbol.id.clone(),
                // One type per parameter, in order.
                params: symbol
                    .signature
                    .params
                    .iter()
                    .map(|param| elixir_type(param.annotation.as_deref()))
                    .collect(),
                returns: elixir_type(symbol.signature.returns.as_deref()),
            })
            .collect())
    }
}

fn elixir_type(annotation: Option<&str>) -> TypeExpr {
    let node = match annotation {
        Some("int") => TypeNode::Integer,
        Some("float") => TypeNode::Float,
        Some("str") => TypeNode::String,
        Some("bool") => TypeNode::Boolean,
        _ => TypeNode::Term,
    };
    TypeExpr { nodes: vec![node] }
}

snakebridge_pdk::export_typespecs!(Plugin);
