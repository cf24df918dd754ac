//! A snakebridge typespec stage: maps each symbol's Python annotations to Elixir types.
//! `snakebridge plugin build` builds it; `snakebridge plugin check` tries it;
//! `snakebridge generate --dump-ir DIR` shows the records it receives.
//!
//! This starter knows four builtin annotations and `list[...]` of them, and gives `term()` for
//! everything else. Annotations arrive parsed: `nodes[0]` is the root of the tree, and an empty
//! tree means the host could not parse the text (`annotation.source`).

use snakebridge_pdk::typespecs::{
    Annotation, AnnotationNode, Library, PluginError, SymbolTypes, TypeExpr, TypeNode, Typespecs,
};

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
                    .map(|param| elixir_type(param.annotation.as_ref()))
                    .collect(),
                returns: elixir_type(symbol.signature.returns.as_ref()),
            })
            .collect())
    }
}

fn elixir_type(annotation: Option<&Annotation>) -> TypeExpr {
    let nodes = annotation.map_or(&[][..], |a| &a.nodes[..]);
    let scalar = |index: u32| match nodes.get(index as usize) {
        Some(AnnotationNode::Name(name)) => match name.as_str() {
            "int" => TypeNode::Integer,
            "float" => TypeNode::Float,
            "str" => TypeNode::String,
            "bool" => TypeNode::Boolean,
            _ => TypeNode::Term,
        },
        _ => TypeNode::Term,
    };
    match nodes.first() {
        // `list[int]`: the list is node 0 of the type, its item node 1.
        Some(AnnotationNode::Subscript((base, items))) if base == "list" && items.len() == 1 => {
            TypeExpr {
                nodes: vec![TypeNode::List(1), scalar(items[0])],
            }
        }
        _ => TypeExpr {
            nodes: vec![scalar(0)],
        },
    }
}

snakebridge_pdk::export_typespecs!(Plugin);
