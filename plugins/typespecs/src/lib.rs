//! The built-in typespec stage: Python annotations, as the host's parsed trees, to Elixir types.
//!
//! Annotations come from the signature Python reported at run time and, where a library ships
//! them, from its `.pyi` stubs (numpy's types live only there), which introspection records as
//! overloads. A parameter's type is the union of what its annotations say; a result's, the union
//! of every overload's. Anything unknown or too deep is `term()`.

mod annotation;
mod mapping;

use std::collections::BTreeMap;

use snakebridge_pdk::typespecs::{
    Annotation, Library, ModuleKind, Param, PluginError, Symbol, SymbolKind, SymbolTypes, Typespecs,
};

use mapping::{Context, Position, Ty, simplify, to_expr};

struct Plugin;

snakebridge_pdk::export_typespecs!(Plugin);

impl Typespecs for Plugin {
    fn map_types(library: Library) -> Result<Vec<SymbolTypes>, PluginError> {
        let classes: BTreeMap<String, String> = library
            .modules
            .iter()
            .filter(|m| m.kind == ModuleKind::Class)
            .map(|m| (m.python_path.clone(), m.elixir_module.clone()))
            .collect();
        Ok(library
            .symbols
            .iter()
            .map(|symbol| types(symbol, &classes))
            .collect())
    }
}

fn types(symbol: &Symbol, classes: &BTreeMap<String, String>) -> SymbolTypes {
    let owner = classes
        .values()
        .find(|module| **module == symbol.elixir_module)
        .map(String::as_str);
    let context = |position| Context {
        classes,
        owner,
        position,
    };
    let params = symbol
        .signature
        .params
        .iter()
        .map(|param| to_expr(&param_type(symbol, param, &context(Position::Param))))
        .collect();
    let returns = match (symbol.kind, owner) {
        (SymbolKind::Constructor, Some(owner)) => Ty::Module(owner.to_string()),
        _ => {
            let returns = &context(Position::Return);
            let mut members: Vec<Ty> = symbol
                .signature
                .returns
                .iter()
                .map(|annotation| returns.map_annotation(annotation))
                .collect();
            if members.is_empty() {
                members = symbol
                    .overloads
                    .iter()
                    .filter_map(|o| o.returns.as_ref())
                    .map(|annotation| returns.map_annotation(annotation))
                    .collect();
            }
            if members.is_empty() {
                Ty::Term
            } else {
                simplify(Ty::Union(members))
            }
        }
    };
    SymbolTypes {
        id: symbol.id.clone(),
        params,
        returns: to_expr(&returns),
    }
}

/// A parameter's annotation, or the union of its overloads' annotations of the same name; a
/// `None` default makes `nil` acceptable too.
fn param_type(symbol: &Symbol, param: &Param, context: &Context<'_>) -> Ty {
    let annotations: Vec<&Annotation> = match &param.annotation {
        Some(annotation) => vec![annotation],
        None => symbol
            .overloads
            .iter()
            .flat_map(|o| o.params.iter())
            .filter(|p| p.python_name == param.python_name)
            .filter_map(|p| p.annotation.as_ref())
            .collect(),
    };
    if annotations.is_empty() {
        return Ty::Term;
    }
    let mut members: Vec<Ty> = annotations
        .iter()
        .map(|a| context.map_annotation(a))
        .collect();
    if param.default.as_deref() == Some("None") {
        members.push(Ty::Nil);
    }
    simplify(Ty::Union(members))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str, position: Position) -> Ty {
        let mut classes = BTreeMap::new();
        classes.insert(
            "collections.Counter".to_string(),
            "Collections.Counter".to_string(),
        );
        let context = Context {
            classes: &classes,
            owner: Some("Collections.Counter"),
            position,
        };
        snakebridge_annotation::parse(text).map_or(Ty::Term, |ann| context.map_tree(&ann))
    }

    fn param(text: &str) -> Ty {
        map(text, Position::Param)
    }

    #[test]
    fn scalars_and_containers() {
        assert_eq!(param("int"), Ty::Integer);
        assert_eq!(param("float"), Ty::Number);
        assert_eq!(map("float", Position::Return), Ty::Float);
        assert_eq!(param("str"), Ty::String);
        assert_eq!(param("bool"), Ty::Boolean);
        assert_eq!(param("bytes"), Ty::Binary);
        assert_eq!(param("None"), Ty::Nil);
        assert_eq!(param("list[int]"), Ty::List(Box::new(Ty::Integer)));
        assert_eq!(
            param("typing.Sequence[str]"),
            Ty::List(Box::new(Ty::String))
        );
        assert_eq!(
            param("tuple[int, str]"),
            Ty::Tuple(vec![Ty::Integer, Ty::String])
        );
        // A tuple of any length comes back as a tuple (sympy's `Basic.args`); one passed in
        // may be a list.
        assert_eq!(map("tuple[Basic, ...]", Position::Return), Ty::AnyTuple);
        assert_eq!(
            param("tuple[int, ...]"),
            Ty::Union(vec![Ty::List(Box::new(Ty::Integer)), Ty::AnyTuple])
        );
        assert_eq!(
            param("dict[str, int]"),
            Ty::Map(Box::new(Ty::String), Box::new(Ty::Integer))
        );
        assert_eq!(param("collections.abc.Mapping"), Ty::AnyMap);
        assert_eq!(param("set[int]"), Ty::MapSet(Box::new(Ty::Integer)));
        assert_eq!(param("Callable[[int], str]"), Ty::Function);
        assert_eq!(param("Any"), Ty::Term);
    }

    #[test]
    fn unions_optionals_and_literals() {
        assert_eq!(
            param("Optional[int]"),
            Ty::Union(vec![Ty::Integer, Ty::Nil])
        );
        assert_eq!(param("int | None"), Ty::Union(vec![Ty::Integer, Ty::Nil]));
        assert_eq!(
            param("Union[int, str, int]"),
            Ty::Union(vec![Ty::Integer, Ty::String])
        );
        assert_eq!(param("int | Any"), Ty::Term, "term() absorbs a union");
        assert_eq!(
            param("Literal['mean', 'max', 1, None]"),
            Ty::Union(vec![
                Ty::Atom("mean".into()),
                Ty::String,
                Ty::Atom("max".into()),
                Ty::Int(1),
                Ty::Nil
            ])
        );
        assert_eq!(param("'int'"), Ty::Integer, "a forward reference");
        assert_eq!(
            param("list['Counter']"),
            Ty::List(Box::new(Ty::Module("Collections.Counter".into())))
        );
    }

    #[test]
    fn classes_objects_and_numpy() {
        assert_eq!(
            param("collections.Counter"),
            Ty::Module("Collections.Counter".into())
        );
        assert_eq!(param("Self"), Ty::Module("Collections.Counter".into()));
        assert_eq!(param("DataFrame"), Ty::Ref, "another Python object");
        assert_eq!(map("npt.NDArray[np.float64]", Position::Return), Ty::Ref);
        assert_eq!(
            param("ArrayLike"),
            Ty::Union(vec![Ty::Ref, Ty::Number, Ty::List(Box::new(Ty::Term))])
        );
        assert_eq!(
            param("_ArrayLikeFloat_co | _NoValueType"),
            param("ArrayLike"),
            "sentinels drop out"
        );
        assert_eq!(param("_T"), Ty::Term, "a type variable");
        assert_eq!(
            param("list[list[list[list[list[list[int]]]]]]"),
            Ty::List(Box::new(Ty::List(Box::new(Ty::List(Box::new(Ty::List(
                Box::new(Ty::List(Box::new(Ty::Term)))
            )))))))
        );
        assert_eq!(param("not an annotation!"), Ty::Term);
    }
}
