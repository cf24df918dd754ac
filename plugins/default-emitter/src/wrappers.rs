//! One symbol's wrapper functions: a clause per call-site arity, a spec per arity, a bang
//! variant that returns the value or raises, and for a generator (or a function the project
//! lists in `streaming`) a `<name>_stream` variant returning a lazy `Stream` of its items. A
//! setter is one function of two arguments, with its bang variant.
//!
//! A Python signature `f(a, b=1, *, c=2)` becomes `f(a)`, `f(a, b_or_opts)` and `f(a, b, opts)`:
//! required positionals are arguments, each optional positional adds an arity, and a trailing
//! keyword list carries keyword arguments and runtime options. Where one arity could be either
//! an optional positional or the keyword list, a guard picks: a keyword list is options.

use snakebridge_pdk::emitter::{
    Conventions, ParamKind, PluginError, Symbol, SymbolFlags, SymbolKind, SymbolTypes, TypeExpr,
    TypeNode,
};

use crate::doc::{Doc, text};
use std::fmt::Write as _;

use crate::out::Out;
use crate::syntax::Typed;
use crate::syntax::{
    atom, call, def, flat, heredoc_attribute, list, push_string, spec, string, tuple, type_doc,
    union, union_members,
};

/// One clause: how many positionals it passes, and what its last parameter is.
struct Clause {
    /// Positional arguments passed to Python: the first `positional` names.
    positional: usize,
    /// The last parameter is the options, told apart from a positional by a guard.
    guarded_opts: bool,
    /// The last parameter is the options, with no other clause of this arity.
    opts: bool,
}

impl Clause {
    fn has_opts(&self) -> bool {
        self.opts || self.guarded_opts
    }

    /// Its parameters: the reference, the positionals, the options.
    fn params<'a>(
        &self,
        reference: bool,
        names: &'a [String],
        conventions: &'a Conventions,
    ) -> Vec<&'a str> {
        let mut params = Vec::with_capacity(self.positional + 2);
        if reference {
            params.push(conventions.receiver_param.as_str());
        }
        params.extend(names[..self.positional].iter().map(String::as_str));
        if self.has_opts() {
            params.push(conventions.options_param.as_str());
        }
        params
    }

    fn arity(&self, reference: bool) -> usize {
        usize::from(reference) + self.positional + usize::from(self.has_opts())
    }
}

fn error(symbol: &Symbol, message: String) -> PluginError {
    PluginError::InvalidInput(snakebridge_pdk::emitter::ErrorDetail {
        message,
        symbol: Some(symbol.id.clone()),
    })
}

/// The Elixir names of the positional parameters, with `*args` expanded to `extra` names.
fn positionals(symbol: &Symbol, extra: u32) -> (Vec<String>, Vec<usize>, u32) {
    let mut names = Vec::new();
    let mut type_index = Vec::new();
    let mut required = 0;
    for (i, param) in symbol.signature.params.iter().enumerate() {
        if matches!(
            param.kind,
            ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
        ) {
            if param.default.is_none() {
                required += 1;
            }
            names.push(param.elixir_name.clone());
            type_index.push(i);
        }
    }
    if let Some((i, varargs)) = symbol
        .signature
        .params
        .iter()
        .enumerate()
        .find(|(_, p)| p.kind == ParamKind::VarPositional)
    {
        for n in 1..=extra {
            names.push(format!("{}{n}", varargs.elixir_name));
            type_index.push(i);
        }
    }
    (names, type_index, required)
}

/// Every clause of a wrapper, the Elixir names of its positionals (`*args` expanded), and
/// which signature parameter types each positional.
struct Shape {
    clauses: Vec<Clause>,
    names: Vec<String>,
    type_index: Vec<usize>,
}

fn shape(symbol: &Symbol) -> Result<Shape, PluginError> {
    let reference = u32::from(takes_ref(symbol));
    let arity = &symbol.arity;
    if matches!(symbol.kind, SymbolKind::Property | SymbolKind::Constant) {
        let clauses = vec![
            Clause {
                positional: 0,
                guarded_opts: false,
                opts: false,
            },
            Clause {
                positional: 0,
                guarded_opts: false,
                opts: true,
            },
        ];
        return Ok(Shape {
            clauses,
            names: vec![],
            type_index: vec![],
        });
    }
    let declared = positionals(symbol, 0).0.len() as u32;
    // Positional slots the range asks for beyond the declared ones: `*args` clauses.
    let total = arity
        .max
        .checked_sub(reference + 1)
        .ok_or_else(|| error(symbol, "arity range too small".into()))?;
    let extra = total.saturating_sub(declared);
    if extra > 0
        && !symbol
            .signature
            .params
            .iter()
            .any(|p| p.kind == ParamKind::VarPositional)
    {
        return Err(error(
            symbol,
            format!(
                "arity {} exceeds its {declared} positional parameters",
                arity.max
            ),
        ));
    }
    let (names, type_index, required) = positionals(symbol, extra);
    if arity.min != reference + required {
        return Err(error(
            symbol,
            format!(
                "arity {} does not match {required} required parameters",
                arity.min
            ),
        ));
    }
    let (required, total) = (required as usize, total as usize);
    let mut clauses = vec![Clause {
        positional: required,
        guarded_opts: false,
        opts: false,
    }];
    for k in required + 1..=total {
        clauses.push(Clause {
            positional: k - 1,
            guarded_opts: true,
            opts: false,
        });
        clauses.push(Clause {
            positional: k,
            guarded_opts: false,
            opts: false,
        });
    }
    clauses.push(Clause {
        positional: total,
        guarded_opts: false,
        opts: true,
    });
    Ok(Shape {
        clauses,
        names,
        type_index,
    })
}

fn is_term(expr: &TypeExpr) -> bool {
    matches!(expr.nodes.first(), Some(TypeNode::Term))
}

fn typed(doc: Doc) -> Typed {
    let flat = flat(&doc);
    Typed {
        doc,
        flat,
        map: false,
    }
}

fn type_or_term(expr: Option<&TypeExpr>) -> Typed {
    match expr.and_then(|e| Some((type_doc(e)?, e))) {
        Some((doc, expr)) => Typed {
            map: matches!(expr.nodes.first(), Some(TypeNode::Map(_))),
            ..typed(doc)
        },
        None => typed(text("term()")),
    }
}

/// Indentation of a wrapper inside its module.
const INDENT: usize = 2;

/// The `SnakeBridge.Runtime` function a wrapper variant calls.
fn runtime_function(symbol: &Symbol, variant: Variant) -> String {
    let function = match (symbol.kind, variant) {
        (SymbolKind::Method, Variant::Stream) => "stream_method",
        (_, Variant::Stream) => "stream",
        (SymbolKind::Function | SymbolKind::ClassMethod | SymbolKind::StaticMethod, _) => "call",
        (SymbolKind::Constructor, _) => "call_class",
        (SymbolKind::Method, _) => "call_method",
        (SymbolKind::Property, _) => "get_attr",
        (SymbolKind::Constant, _) => "get_module_attr",
        (SymbolKind::Setter, _) => "set_property",
    };
    let suffix = if variant == Variant::Bang { "!" } else { "" };
    format!("SnakeBridge.Runtime.{function}{suffix}")
}

/// Writes the runtime call a clause makes. `attribute` is the Python attribute as an Elixir
/// string literal.
fn body(
    out: &mut Out,
    indent: usize,
    symbol: &Symbol,
    (function, attribute): (&str, &str),
    args: &[String],
    clause: &Clause,
    conventions: &Conventions,
) {
    let opts = if clause.has_opts() {
        conventions.options_param.as_str()
    } else {
        "[]"
    };
    let receiver = conventions.receiver_param.as_str();
    let args = &args[..clause.positional];
    let reference = takes_ref(symbol);
    let named = !matches!(symbol.kind, SymbolKind::Constructor);
    let positional = !matches!(symbol.kind, SymbolKind::Property | SymbolKind::Constant);
    out.fitting(
        indent,
        |line| {
            let _ = write!(line, "{function}(__MODULE__, ");
            if reference {
                line.push_str(receiver);
                line.push_str(", ");
            }
            if named {
                line.push_str(attribute);
                line.push_str(", ");
            }
            if positional {
                line.push('[');
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        line.push_str(", ");
                    }
                    line.push_str(arg);
                }
                line.push_str("], ");
            }
            line.push_str(opts);
            line.push(')');
        },
        || {
            // Too long: the arguments break, and the positional list among them if it must.
            let mut docs = vec![text("__MODULE__")];
            if reference {
                docs.push(text(receiver.to_string()));
            }
            if named {
                docs.push(text(attribute.to_string()));
            }
            if positional {
                docs.push(list(args.iter().map(|a| text(a.clone())).collect()));
            }
            docs.push(text(opts.to_string()));
            call(function, docs)
        },
    );
}

/// The functions written per symbol: the wrapper, its bang variant, and its stream variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Plain,
    Bang,
    Stream,
}

/// Whether the wrapper takes the object reference first.
fn takes_ref(symbol: &Symbol) -> bool {
    matches!(
        symbol.kind,
        SymbolKind::Method | SymbolKind::Property | SymbolKind::Setter
    )
}

/// The name of `symbol`'s stream variant, `<name>_stream`, when it gets one: a callable that
/// yields, or one the project lists in `streaming`, unless `module` (its module's symbols)
/// wraps a Python function of that name itself.
pub(crate) fn stream_name(
    symbol: &Symbol,
    module: &[&Symbol],
    conventions: &Conventions,
) -> Option<String> {
    let name = format!("{}{}", symbol.elixir_name, conventions.stream_suffix);
    (streams(symbol) && !module.iter().any(|s| s.elixir_name == name)).then_some(name)
}

fn streams(symbol: &Symbol) -> bool {
    matches!(
        symbol.kind,
        SymbolKind::Function
            | SymbolKind::Method
            | SymbolKind::ClassMethod
            | SymbolKind::StaticMethod
    ) && symbol
        .flags
        .intersects(SymbolFlags::GENERATOR | SymbolFlags::STREAMING)
}

/// Writes the wrapper for `symbol` into `out`, one block per clause; `markdown` is the doc
/// stage's text for it.
pub(crate) fn wrapper(
    out: &mut Out,
    symbol: &Symbol,
    types: Option<&SymbolTypes>,
    markdown: &str,
    conventions: &Conventions,
    stream_name: Option<&str>,
) -> Result<(), PluginError> {
    if symbol.kind == SymbolKind::Setter {
        return setter(out, symbol, types, markdown, conventions);
    }
    let Shape {
        clauses,
        names,
        type_index,
    } = shape(symbol)?;
    let name = &symbol.elixir_name;
    if atom(name).is_none() {
        return Err(error(
            symbol,
            format!("`{name}` is not a valid Elixir function name"),
        ));
    }
    let reference = takes_ref(symbol);
    let attribute = string(
        symbol
            .python_name
            .rsplit('.')
            .next()
            .unwrap_or(&symbol.python_name),
    );
    let slot_type = |slot: usize| {
        type_index
            .get(slot)
            .and_then(|&i| types.and_then(|t| t.params.get(i)))
    };
    let slots: Vec<Typed> = (0..type_index.len())
        .map(|slot| type_or_term(slot_type(slot)))
        .collect();
    // A guarded pair's last argument is either its positional or the options.
    let either: Vec<Typed> = (0..type_index.len())
        .map(|slot| {
            match slot_type(slot)
                .filter(|t| !is_term(t))
                .and_then(union_members)
            {
                Some(mut members) => {
                    members.push(text("keyword()"));
                    typed(union(members))
                }
                None => typed(text("term()")),
            }
        })
        .collect();
    let ref_type = typed(receiver_type(symbol));
    let keyword = typed(text("keyword()"));
    let returns = type_or_term(types.map(|t| &t.returns));

    // One spec per arity: a guarded pair shares it.
    let mut specs_by_arity: Vec<(usize, Vec<&Typed>)> = Vec::new();
    for clause in &clauses {
        let arity = clause.arity(reference);
        if specs_by_arity.iter().any(|(a, _)| *a == arity) {
            continue;
        }
        let mut args: Vec<&Typed> = Vec::with_capacity(arity);
        if reference {
            args.push(&ref_type);
        }
        args.extend(&slots[..clause.positional]);
        if clause.guarded_opts {
            args.push(&either[clause.positional]);
        } else if clause.opts {
            args.push(&keyword);
        }
        specs_by_arity.push((arity, args));
    }

    let min_arity = specs_by_arity.first().map_or(0, |(a, _)| *a);
    let ok_result = typed(union(vec![
        tuple(vec![text(":ok"), returns.doc.clone()]),
        tuple(vec![text(":error"), text("SnakeBridge.Error.t()")]),
    ]));
    const GUARD: &str = "SnakeBridge.Runtime.is_opts(opts)";
    let stream_result = typed(text("Enumerable.t()"));
    let stream_name = stream_name.unwrap_or_default();
    let mut variants = vec![Variant::Plain, Variant::Bang];
    if !stream_name.is_empty() {
        variants.push(Variant::Stream);
    }
    for variant in variants {
        let (fname, result) = match variant {
            Variant::Plain => (name.clone(), &ok_result),
            Variant::Bang => (format!("{name}!"), &returns),
            Variant::Stream => (stream_name.to_string(), &stream_result),
        };
        let function = runtime_function(symbol, variant);
        for (arity, args) in &specs_by_arity {
            out.block();
            match (variant, *arity == min_arity) {
                (Variant::Plain, true) => heredoc_attribute(out, INDENT, "doc", markdown),
                (Variant::Plain, false) => doc_line(
                    out,
                    &format!(
                        "Like `{name}/{min_arity}`, with the next positional argument or keyword options."
                    ),
                ),
                (Variant::Bang, _) => doc_line(
                    out,
                    &format!(
                        "Like `{name}/{arity}`, but returns the value or raises `SnakeBridge.Error`."
                    ),
                ),
                (Variant::Stream, true) => doc_line(
                    out,
                    &format!(
                        "Like `{name}/{arity}`, but returns the items the Python result yields as a lazy `Stream`, fetched in batches as it is consumed. The Python iterator is closed when the stream halts early or the process consuming it exits; an error while iterating raises `SnakeBridge.Error`."
                    ),
                ),
                (Variant::Stream, false) => doc_line(
                    out,
                    &format!(
                        "Like `{stream_name}/{min_arity}`, with the next positional argument or keyword options."
                    ),
                ),
            }
            spec(out, INDENT, &fname, args, result);
            // The doc and spec sit directly above the first clause of their arity.
            for (i, clause) in clauses
                .iter()
                .filter(|c| c.arity(reference) == *arity)
                .enumerate()
            {
                if i > 0 {
                    out.block();
                }
                let guard = clause.guarded_opts.then_some(GUARD);
                let params = clause.params(reference, &names, conventions);
                def(out, INDENT, &fname, &params, guard, |out, indent| {
                    body(
                        out,
                        indent,
                        symbol,
                        (&function, &attribute),
                        &names,
                        clause,
                        conventions,
                    )
                });
            }
        }
    }
    Ok(())
}

/// A setter: `set_x(ref, value)` and `set_x!(ref, value)`, returning the reference it wrote.
fn setter(
    out: &mut Out,
    symbol: &Symbol,
    types: Option<&SymbolTypes>,
    markdown: &str,
    conventions: &Conventions,
) -> Result<(), PluginError> {
    let name = &symbol.elixir_name;
    let value = match symbol.signature.params.as_slice() {
        [value] if atom(&value.elixir_name).is_some() => value.elixir_name.as_str(),
        _ => {
            return Err(error(
                symbol,
                "a setter takes exactly one parameter, the value".into(),
            ));
        }
    };
    if atom(name).is_none() {
        return Err(error(
            symbol,
            format!("`{name}` is not a valid Elixir function name"),
        ));
    }
    let attribute = string(
        symbol
            .python_name
            .rsplit('.')
            .next()
            .unwrap_or(&symbol.python_name),
    );
    let receiver = conventions.receiver_param.as_str();
    let ref_type = typed(receiver_type(symbol));
    let value_type = type_or_term(types.and_then(|t| t.params.first()));
    let ok_result = typed(union(vec![
        tuple(vec![text(":ok"), text("SnakeBridge.Ref.t()")]),
        tuple(vec![text(":error"), text("SnakeBridge.Error.t()")]),
    ]));
    let ref_result = typed(text("SnakeBridge.Ref.t()"));
    for variant in [Variant::Plain, Variant::Bang] {
        out.block();
        let (fname, result) = match variant {
            Variant::Bang => (format!("{name}!"), &ref_result),
            _ => (name.clone(), &ok_result),
        };
        if variant == Variant::Plain {
            heredoc_attribute(out, INDENT, "doc", markdown);
        } else {
            doc_line(
                out,
                &format!(
                    "Like `{name}/2`, but returns the reference or raises `SnakeBridge.Error`."
                ),
            );
        }
        spec(out, INDENT, &fname, &[&ref_type, &value_type], result);
        let function = runtime_function(symbol, variant);
        def(
            out,
            INDENT,
            &fname,
            &[receiver, value],
            None,
            |out, indent| {
                out.line(
                    indent,
                    &format!("{function}(__MODULE__, {receiver}, {attribute}, {value})"),
                )
            },
        );
    }
    Ok(())
}

/// `@doc "text"`: a string is never broken, however long.
fn doc_line(out: &mut Out, text: &str) {
    out.raw_line(INDENT, |line| {
        line.push_str("@doc ");
        push_string(line, text);
    });
}

/// The receiver a method or property takes: a reference, and for the classes whose instances
/// cross as Elixir data (`datetime.date` as `Date`), that data too.
fn receiver_type(symbol: &Symbol) -> Doc {
    let class = symbol.python_name.rsplit_once('.').map(|(class, _)| class);
    let data: &[&str] = match (symbol.python_module.as_str(), class) {
        ("datetime", Some("date")) => &["Date.t()"],
        ("datetime", Some("datetime")) => &["DateTime.t()", "NaiveDateTime.t()"],
        ("datetime", Some("time")) => &["Time.t()"],
        _ => &[],
    };
    let mut members: Vec<Doc> = data.iter().map(|t| text(*t)).collect();
    members.push(text("SnakeBridge.Ref.t()"));
    if members.len() == 1 {
        members.remove(0)
    } else {
        union(members)
    }
}
