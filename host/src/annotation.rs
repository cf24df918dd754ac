//! Python annotations as the contract's trees, parsed once, here, so no plugin parses Python
//! syntax. Text is never evaluated; text outside the subset `snakebridge_annotation` parses
//! gets an empty tree, which a typespec plugin maps to `term()`.

use snakebridge_annotation::{Ann, parse};

use crate::plugin_host::wit::latest::types::{Annotation, AnnotationNode};

/// The contract's view of an annotation: its text, and its tree when it parses.
pub fn annotation(text: &str) -> Annotation {
    let mut nodes = Vec::new();
    if let Some(ann) = parse(text) {
        flatten(&ann, &mut nodes);
    }
    Annotation {
        source: text.to_string(),
        nodes,
    }
}

/// Appends `ann` and its children to `nodes`, returning its index.
fn flatten(ann: &Ann, nodes: &mut Vec<AnnotationNode>) -> u32 {
    let index = nodes.len() as u32;
    // The parent takes its slot first, so children come after it.
    nodes.push(AnnotationNode::None);
    let children = |items: &[Ann], nodes: &mut Vec<AnnotationNode>| {
        items
            .iter()
            .map(|item| flatten(item, nodes))
            .collect::<Vec<u32>>()
    };
    let node = match ann {
        Ann::Name(name) => AnnotationNode::Name(name.clone()),
        Ann::Subscript(base, args) => {
            AnnotationNode::Subscript((base.clone(), children(args, nodes)))
        }
        Ann::Union(members) => AnnotationNode::Union(children(members, nodes)),
        Ann::List(items) => AnnotationNode::List(children(items, nodes)),
        Ann::Str(text) => AnnotationNode::String(text.clone()),
        Ann::Int(value) => AnnotationNode::Integer(*value),
        Ann::Const("None") => AnnotationNode::None,
        Ann::Const(value) => AnnotationNode::Boolean(*value == "True"),
        Ann::Ellipsis => AnnotationNode::Ellipsis,
    };
    nodes[index as usize] = node;
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_put_children_after_their_parents() {
        let tree = annotation("dict[str, 'Point'] | Literal['mean', 1]");
        // Bindings types derive no `PartialEq`: compare their debug forms.
        assert_eq!(
            format!("{:?}", tree.nodes),
            format!(
                "{:?}",
                [
                    AnnotationNode::Union(vec![1, 4]),
                    AnnotationNode::Subscript(("dict".into(), vec![2, 3])),
                    AnnotationNode::Name("str".into()),
                    AnnotationNode::Name("Point".into()),
                    AnnotationNode::Subscript(("Literal".into(), vec![5, 6])),
                    AnnotationNode::String("mean".into()),
                    AnnotationNode::Integer(1),
                ]
            )
        );
        assert_eq!(tree.source, "dict[str, 'Point'] | Literal['mean', 1]");
        assert!(annotation("a + b").nodes.is_empty());
        assert_eq!(
            format!("{:?}", annotation("'Point'").nodes),
            format!("{:?}", [AnnotationNode::Name("Point".into())])
        );
    }
}
