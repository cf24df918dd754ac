//! The contract's annotation trees, read back into [`Ann`] for mapping.

use snakebridge_annotation::Ann;
use snakebridge_pdk::typespecs::{Annotation, AnnotationNode};

/// The tree of `annotation`; `None` when the host could not parse its text, or the tree is
/// malformed (a child index that does not point below its parent).
pub(crate) fn tree(annotation: &Annotation) -> Option<Ann> {
    node(&annotation.nodes, 0)
}

fn node(nodes: &[AnnotationNode], index: usize) -> Option<Ann> {
    let children = |items: &[u32]| {
        items
            .iter()
            .map(|&child| {
                let child = child as usize;
                if child > index {
                    node(nodes, child)
                } else {
                    None
                }
            })
            .collect::<Option<Vec<Ann>>>()
    };
    Some(match nodes.get(index)? {
        AnnotationNode::Name(name) => Ann::Name(name.clone()),
        AnnotationNode::Subscript((base, args)) => Ann::Subscript(base.clone(), children(args)?),
        AnnotationNode::Union(members) => Ann::Union(children(members)?),
        AnnotationNode::List(items) => Ann::List(children(items)?),
        AnnotationNode::String(text) => Ann::Str(text.clone()),
        AnnotationNode::Integer(value) => Ann::Int(*value),
        AnnotationNode::None => Ann::Const("None"),
        AnnotationNode::Boolean(true) => Ann::Const("True"),
        AnnotationNode::Boolean(false) => Ann::Const("False"),
        AnnotationNode::Ellipsis => Ann::Ellipsis,
    })
}
