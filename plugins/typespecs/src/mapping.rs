//! Python annotations to Elixir types, recursively. Whatever is unknown, ambiguous or too deep
//! becomes `term()`: a spec must never be wrong or break compilation.

use std::collections::BTreeMap;

use snakebridge_annotation::Ann;
use snakebridge_pdk::typespecs::{Annotation, TypeExpr, TypeNode};

use crate::annotation::tree;

/// An Elixir type while it is being built.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Term,
    Integer,
    Float,
    Number,
    Boolean,
    String,
    Binary,
    Nil,
    Atom(String),
    AnyAtom,
    Int(i64),
    List(Box<Ty>),
    Tuple(Vec<Ty>),
    AnyTuple,
    Map(Box<Ty>, Box<Ty>),
    AnyMap,
    MapSet(Box<Ty>),
    Union(Vec<Ty>),
    Function,
    Ref,
    Module(String),
}

/// Where a type is used: Python accepts an `int` where it annotates `float`, so a float
/// parameter is any number, while a float result is a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    Param,
    Return,
}

/// Unions wider than this say nothing useful.
const MAX_UNION: usize = 8;
/// Deeper types are unreadable in a spec.
const MAX_DEPTH: usize = 4;

/// What a mapping knows about the library it maps for.
pub(crate) struct Context<'a> {
    /// Python class path → Elixir module, for classes this run generates.
    pub(crate) classes: &'a BTreeMap<String, String>,
    /// The class a method belongs to, for `Self`.
    pub(crate) owner: Option<&'a str>,
    pub(crate) position: Position,
}

impl Context<'_> {
    pub(crate) fn map_annotation(&self, annotation: &Annotation) -> Ty {
        tree(annotation).map_or(Ty::Term, |ann| self.map_tree(&ann))
    }

    pub(crate) fn map_tree(&self, ann: &Ann) -> Ty {
        simplify(self.map(ann, 0))
    }

    fn map(&self, ann: &Ann, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Term;
        }
        let inner = |a: &Ann| self.map(a, depth + 1);
        match ann {
            Ann::Const("None") => Ty::Nil,
            Ann::Const(_) | Ann::Int(_) | Ann::Ellipsis | Ann::List(_) => Ty::Term,
            // Forward references arrive resolved: a string left in type position is no type.
            Ann::Str(_) => Ty::Term,
            Ann::Union(members) => Ty::Union(members.iter().map(inner).collect()),
            Ann::Name(name) => self.name(name),
            Ann::Subscript(name, args) => self.generic(&normalize(name), args, depth),
        }
    }

    fn generic(&self, name: &str, args: &[Ann], depth: usize) -> Ty {
        let inner = |a: &Ann| self.map(a, depth + 1);
        let arg = |i: usize| args.get(i).map_or(Ty::Term, inner);
        match name {
            "Optional" => Ty::Union(vec![arg(0), Ty::Nil]),
            "Union" => Ty::Union(args.iter().map(inner).collect()),
            "Annotated" | "Final" | "ClassVar" | "Required" | "NotRequired" | "ReadOnly" => arg(0),
            // An iterable result may be a generator, which is not a list.
            "Iterable" | "Iterator" | "Generator" if self.position == Position::Return => Ty::Term,
            "list" | "List" | "Sequence" | "MutableSequence" | "Iterable" | "Collection"
            | "SequenceNotStr" => Ty::List(Box::new(arg(0))),
            "tuple" | "Tuple" => match args {
                [] => Ty::Term,
                // A tuple comes back as an Elixir tuple; one passed in may be a list or a tuple.
                [_, Ann::Ellipsis] if self.position == Position::Return => Ty::AnyTuple,
                [single, Ann::Ellipsis] => {
                    Ty::Union(vec![Ty::List(Box::new(inner(single))), Ty::AnyTuple])
                }
                items if items.contains(&Ann::Ellipsis) => Ty::Term,
                // `tuple[()]` is the empty tuple.
                [Ann::List(empty)] if empty.is_empty() => Ty::Tuple(vec![]),
                items => Ty::Tuple(items.iter().map(inner).collect()),
            },
            "dict" | "Dict" | "Mapping" | "MutableMapping" | "OrderedDict" | "defaultdict" => {
                match args {
                    [key, value] => Ty::Map(Box::new(inner(key)), Box::new(inner(value))),
                    _ => Ty::AnyMap,
                }
            }
            "set" | "Set" | "frozenset" | "FrozenSet" | "AbstractSet" | "MutableSet" => {
                Ty::MapSet(Box::new(arg(0)))
            }
            "Literal" => Ty::Union(args.iter().map(literal).collect()),
            "Callable" => Ty::Function,
            "type" | "Type" => Ty::Term,
            "NDArray" | "ndarray" => self.array(),
            // Another generic (a class, or an alias like `_DTypeLike[...]`): the subscript only
            // narrows it, so the bare name's type holds.
            _ => self.name(name),
        }
    }

    /// numpy arrays come back as references; as arguments, numbers and nested lists work too.
    fn array(&self) -> Ty {
        match self.position {
            Position::Return => Ty::Ref,
            Position::Param => array_like(),
        }
    }

    fn name(&self, raw: &str) -> Ty {
        if let Some(module) = self.classes.get(raw) {
            return Ty::Module(module.clone());
        }
        let name = normalize(raw);
        match name.as_str() {
            "int" | "SupportsInt" | "SupportsIndex" | "integer" | "signedinteger"
            | "unsignedinteger" | "intp" | "int8" | "int16" | "int32" | "int64" | "uint8"
            | "uint16" | "uint32" | "uint64" => Ty::Integer,
            "float" | "SupportsFloat" | "floating" | "float16" | "float32" | "float64"
            | "double" => match self.position {
                Position::Param => Ty::Number,
                Position::Return => Ty::Float,
            },
            "bool" | "bool_" => Ty::Boolean,
            "str" | "LiteralString" => Ty::String,
            "bytes" | "bytearray" | "memoryview" | "Buffer" => Ty::Binary,
            "None" | "NoneType" => Ty::Nil,
            "Any" | "object" | "Incomplete" | "complex" | "complexfloating" | "number"
            | "generic" => Ty::Term,
            "list" | "List" | "Sequence" | "Iterable" => Ty::List(Box::new(Ty::Term)),
            "tuple" | "Tuple" => Ty::Term,
            "dict" | "Dict" | "Mapping" => Ty::AnyMap,
            "set" | "frozenset" | "Set" | "FrozenSet" => Ty::MapSet(Box::new(Ty::Term)),
            "Callable" | "function" | "FunctionType" => Ty::Function,
            "Self" => self
                .owner
                .map_or(Ty::Ref, |module| Ty::Module(module.to_string())),
            "ndarray" | "NDArray" => self.array(),
            // numpy's stub aliases.
            "ArrayLike" => array_like(),
            // A dtype, or its name as an atom or a string: `:float64`, `"int32"`.
            "DTypeLike" => Ty::Union(vec![Ty::AnyAtom, Ty::String, Ty::Ref]),
            "_ShapeLike" | "ShapeLike" => Ty::Union(vec![
                Ty::Integer,
                Ty::List(Box::new(Ty::Integer)),
                Ty::AnyTuple,
            ]),
            // Sentinels that mean "not given": the wrapper omits what the caller omits.
            "_NoValueType" | "NoDefault" | "_NoDefault" | "EllipsisType" | "ellipsis" => {
                Ty::Union(vec![])
            }
            other if other.starts_with("_ArrayLike") || other.starts_with("_DualArrayLike") => {
                array_like()
            }
            other if other.starts_with("_DTypeLike") => self.name("DTypeLike"),
            // numpy's private array aliases: `_Array1D`, `_ArrayT` and the like.
            other if other.starts_with("_Array") => self.array(),
            // Objects that implement the array protocols: Python objects, held by reference.
            other if other.starts_with("_SupportsArray") => Ty::Ref,
            // numpy's fixed-size tuple aliases: `_2Tuple[str | None]`.
            other
                if other.len() >= 7
                    && other.starts_with('_')
                    && other.ends_with("Tuple")
                    && other[1..2].chars().all(|c| c.is_ascii_digit()) =>
            {
                Ty::AnyTuple
            }
            other if other.starts_with('_') || other.len() == 1 => Ty::Term,
            other if other.starts_with(|c: char| c.is_ascii_uppercase()) => {
                self.class_by_name(other)
            }
            _ => Ty::Term,
        }
    }

    /// An unqualified class name: a generated class when exactly one has that name, else some
    /// other Python object.
    fn class_by_name(&self, name: &str) -> Ty {
        let mut matches = self
            .classes
            .iter()
            .filter(|(path, _)| path.rsplit('.').next() == Some(name));
        match (matches.next(), matches.next()) {
            (Some((_, module)), None) => Ty::Module(module.clone()),
            _ => Ty::Ref,
        }
    }
}

/// What numpy accepts as an array: a reference to one, a number, or nested lists.
fn array_like() -> Ty {
    Ty::Union(vec![Ty::Ref, Ty::Number, Ty::List(Box::new(Ty::Term))])
}

fn literal(ann: &Ann) -> Ty {
    match ann {
        // The wrapper accepts a string literal as an atom too; the runtime passes atoms as strings.
        Ann::Str(value) => match atom_name(value) {
            Some(atom) => Ty::Union(vec![Ty::Atom(atom), Ty::String]),
            None => Ty::String,
        },
        Ann::Int(value) => Ty::Int(*value),
        Ann::Const("None") => Ty::Nil,
        Ann::Const("True") => Ty::Atom("true".into()),
        Ann::Const("False") => Ty::Atom("false".into()),
        _ => Ty::Term,
    }
}

fn atom_name(value: &str) -> Option<String> {
    let mut chars = value.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| value.to_string())
}

/// Drops the module qualifiers annotations carry: `typing.Optional` → `Optional`,
/// `npt.NDArray` → `NDArray`, `builtins.int` → `int`.
fn normalize(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_string()
}

/// Flattens nested unions, drops duplicates, and lets `term()` absorb the rest.
pub(crate) fn simplify(ty: Ty) -> Ty {
    match ty {
        Ty::Union(members) => {
            let mut flat: Vec<Ty> = Vec::new();
            flatten(members, &mut flat);
            let mut unique: Vec<Ty> = Vec::new();
            for member in flat {
                if !unique.contains(&member) {
                    unique.push(member);
                }
            }
            if unique.contains(&Ty::Term) || unique.len() > MAX_UNION {
                return Ty::Term;
            }
            // A string literal's atom and `String.t()` appear once each.
            if unique.contains(&Ty::Number) {
                unique.retain(|m| !matches!(m, Ty::Integer | Ty::Float | Ty::Int(_)));
            }
            match unique.len() {
                0 => Ty::Term,
                1 => unique.remove(0),
                _ => Ty::Union(unique),
            }
        }
        Ty::List(inner) => Ty::List(Box::new(simplify(*inner))),
        Ty::MapSet(inner) => Ty::MapSet(Box::new(simplify(*inner))),
        Ty::Map(key, value) => Ty::Map(Box::new(simplify(*key)), Box::new(simplify(*value))),
        Ty::Tuple(items) => Ty::Tuple(items.into_iter().map(simplify).collect()),
        other => other,
    }
}

/// Nested unions' members, simplified; an empty union (a sentinel) contributes nothing.
fn flatten(members: Vec<Ty>, out: &mut Vec<Ty>) {
    for member in members {
        match member {
            Ty::Union(inner) => flatten(inner, out),
            other => out.push(simplify(other)),
        }
    }
}

/// The contract's node list for a type: the root first, each child after its parent.
pub(crate) fn to_expr(ty: &Ty) -> TypeExpr {
    let mut nodes = Vec::new();
    push(ty, &mut nodes);
    TypeExpr { nodes }
}

fn push(ty: &Ty, nodes: &mut Vec<TypeNode>) -> u32 {
    let index = nodes.len();
    nodes.push(TypeNode::Term);
    let child = |t: &Ty, nodes: &mut Vec<TypeNode>| push(t, nodes);
    let node = match ty {
        Ty::Term => TypeNode::Term,
        Ty::Integer => TypeNode::Integer,
        Ty::Float => TypeNode::Float,
        Ty::Number => TypeNode::Number,
        Ty::Boolean => TypeNode::Boolean,
        Ty::String => TypeNode::String,
        Ty::Binary => TypeNode::Binary,
        Ty::Nil => TypeNode::Nil,
        Ty::Atom(name) => TypeNode::Atom(name.clone()),
        Ty::AnyAtom => TypeNode::AnyAtom,
        Ty::AnyTuple => TypeNode::AnyTuple,
        Ty::Int(value) => TypeNode::IntegerLiteral(*value),
        Ty::List(inner) => TypeNode::List(child(inner, nodes)),
        Ty::Tuple(items) => TypeNode::Tuple(items.iter().map(|t| child(t, nodes)).collect()),
        Ty::Map(key, value) => {
            let key = child(key, nodes);
            TypeNode::Map((key, child(value, nodes)))
        }
        Ty::AnyMap => TypeNode::AnyMap,
        Ty::MapSet(inner) => TypeNode::MapSet(child(inner, nodes)),
        Ty::Union(members) => TypeNode::Union(members.iter().map(|t| child(t, nodes)).collect()),
        Ty::Function => TypeNode::Function,
        Ty::Ref => TypeNode::PythonRef,
        Ty::Module(module) => TypeNode::ModuleType(module.clone()),
    };
    nodes[index] = node;
    index as u32
}
