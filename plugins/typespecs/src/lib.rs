//! The built-in typespec stage: Python annotations to Elixir types.
//!
//! This first version is deliberately conservative: every parameter and result is `term()`.

use snakebridge_pdk::typespecs::{
    Library, PluginError, SymbolTypes, TypeExpr, TypeNode, Typespecs,
};

struct Plugin;

fn term() -> TypeExpr {
    TypeExpr {
        nodes: vec![TypeNode::Term],
    }
}

impl Typespecs for Plugin {
    fn map_types(library: Library) -> Result<Vec<SymbolTypes>, PluginError> {
        Ok(library
            .symbols
            .iter()
            .map(|symbol| SymbolTypes {
                id: symbol.id.clone(),
                params: symbol.signature.params.iter().map(|_| term()).collect(),
                returns: term(),
            })
            .collect())
    }
}

snakebridge_pdk::export_typespecs!(Plugin);
