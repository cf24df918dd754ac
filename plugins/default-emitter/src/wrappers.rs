//! One symbol's wrapper functions: a clause per call-site arity, a spec per arity, and a bang
//! variant that returns the value or raises.
//!
//! A Python signature `f(a, b=1, *, c=2)` becomes `f(a)`, `f(a, b_or_opts)` and `f(a, b, opts)`:
//! required positionals are arguments, each optional positional adds an arity, and a trailing
//! keyword list carries keyword arguments and runtime options. Where one arity could be either
//! an optional positional or the keyword list, a guard picks: a keyword list is options.

use snakebridge_pdk::emitter::{
    ParamKind, PluginError, Symbol, SymbolKind, SymbolTypes, TypeExpr, TypeNode,
};

use crate::doc::{Doc, text};
use crate::out::{Out, Piece};
use crate::syntax::Typed;
use crate::syntax::{
    atom, call, def, flat, heredoc_attribute, list, spec, string, tuple, type_doc, union,
    union_members,
};

/// The keyword-options argument, last in every wrapper.
const OPTS: &str = "opts";
/// The object reference, first in methods and properties.
const REF: &str = "ref";

/// One clause: its parameters, and what it passes on.
struct Clause {
    params: Vec<String>,
    /// Positional arguments passed to Python, by Elixir variable name.
    args: Vec<String>,
    /// The last parameter is the options, told apart from a positional by a guard.
    guarded_opts: bool,
    /// The last parameter is the options, with no other clause of this arity.
    opts: bool,
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

fn clauses(symbol: &Symbol) -> Result<(Vec<Clause>, Vec<usize>), PluginError> {
    let reference = u32::from(matches!(
        symbol.kind,
        SymbolKind::Method | SymbolKind::Property
    ));
    let arity = &symbol.arity;
    if matches!(symbol.kind, SymbolKind::Property | SymbolKind::Constant) {
        let base: Vec<String> = if reference == 1 {
            vec![REF.into()]
        } else {
            vec![]
        };
        let with_opts = base.iter().cloned().chain([OPTS.to_string()]).collect();
        return Ok((
            vec![
                Clause {
                    params: base,
                    args: vec![],
                    guarded_opts: false,
                    opts: false,
                },
                Clause {
                    params: with_opts,
                    args: vec![],
                    guarded_opts: false,
                    opts: true,
                },
            ],
            vec![],
        ));
    }
    let declared = {
        let (names, _, _) = positionals(symbol, 0);
        names.len() as u32
    };
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
    let with_ref = |args: &[String]| -> Vec<String> {
        let mut params = Vec::with_capacity(args.len() + 2);
        if reference == 1 {
            params.push(REF.to_string());
        }
        params.extend(args.iter().cloned());
        params
    };
    let mut out = Vec::new();
    let required = required as usize;
    let total = total as usize;
    out.push(Clause {
        params: with_ref(&names[..required]),
        args: names[..required].to_vec(),
        guarded_opts: false,
        opts: false,
    });
    for k in required + 1..=total {
        let mut params = with_ref(&names[..k - 1]);
        params.push(OPTS.into());
        out.push(Clause {
            params,
            args: names[..k - 1].to_vec(),
            guarded_opts: true,
            opts: false,
        });
        out.push(Clause {
            params: with_ref(&names[..k]),
            args: names[..k].to_vec(),
            guarded_opts: false,
            opts: false,
        });
    }
    let mut params = with_ref(&names[..total]);
    params.push(OPTS.into());
    out.push(Clause {
        params,
        args: names[..total].to_vec(),
        guarded_opts: false,
        opts: true,
    });
    Ok((out, type_index))
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

/// Indentation of a wrapper inside its module, and of its body.
const INDENT: usize = 2;
const BODY_INDENT: usize = 4;

/// The runtime call a clause makes, with `bang` picking the raising variant.
fn body(symbol: &Symbol, clause: &Clause, bang: bool) -> Piece {
    let suffix = if bang { "!" } else { "" };
    let list_flat = format!("[{}]", clause.args.join(", "));
    let opts = if clause.opts || clause.guarded_opts {
        OPTS
    } else {
        "[]"
    };
    let attribute = string(
        symbol
            .python_name
            .rsplit('.')
            .next()
            .unwrap_or(&symbol.python_name),
    );
    let (function, args): (&str, Vec<&str>) = match symbol.kind {
        SymbolKind::Function | SymbolKind::ClassMethod | SymbolKind::StaticMethod => {
            ("call", vec!["__MODULE__", &attribute, &list_flat, opts])
        }
        SymbolKind::Constructor => ("call_class", vec!["__MODULE__", &list_flat, opts]),
        SymbolKind::Method => (
            "call_method",
            vec!["__MODULE__", REF, &attribute, &list_flat, opts],
        ),
        SymbolKind::Property => ("get_attr", vec!["__MODULE__", REF, &attribute, opts]),
        SymbolKind::Constant => ("get_module_attr", vec!["__MODULE__", &attribute, opts]),
    };
    let name = format!("SnakeBridge.Runtime.{function}{suffix}");
    Piece::fitting(BODY_INDENT, format!("{name}({})", args.join(", ")), || {
        // Too long: the arguments break, and the positional list among them if it must.
        let docs = args
            .iter()
            .map(|arg| {
                if *arg == list_flat {
                    list(clause.args.iter().map(|a| text(a.clone())).collect())
                } else {
                    text(*arg)
                }
            })
            .collect();
        call(&name, docs)
    })
}

/// Writes the wrapper for `symbol` into `out`, one block per clause; `markdown` is the doc
/// stage's text for it. Returns its arity range for `__functions__/0`.
pub(crate) fn wrapper(
    out: &mut Out,
    symbol: &Symbol,
    types: Option<&SymbolTypes>,
    markdown: &str,
) -> Result<(), PluginError> {
    let (clauses, type_index) = clauses(symbol)?;
    let name = &symbol.elixir_name;
    if atom(name).is_none() {
        return Err(error(
            symbol,
            format!("`{name}` is not a valid Elixir function name"),
        ));
    }
    let slot_type = |slot: usize| {
        type_index
            .get(slot)
            .and_then(|&i| types.and_then(|t| t.params.get(i)))
    };
    let slots: Vec<Typed> = (0..type_index.len())
        .map(|slot| type_or_term(slot_type(slot)))
        .collect();
    let returns = type_or_term(types.map(|t| &t.returns));
    let reference = usize::from(matches!(
        symbol.kind,
        SymbolKind::Method | SymbolKind::Property
    ));

    // One spec per arity: a guarded pair shares it, its last argument typed as either.
    let mut specs_by_arity: Vec<(usize, Vec<Typed>)> = Vec::new();
    for clause in &clauses {
        let arity = clause.params.len();
        if specs_by_arity.iter().any(|(a, _)| *a == arity) {
            continue;
        }
        let mut args: Vec<Typed> = Vec::new();
        if reference == 1 {
            args.push(typed(text("SnakeBridge.Ref.t()")));
        }
        args.extend(slots[..clause.args.len()].iter().cloned());
        if clause.guarded_opts {
            let slot = clause.args.len();
            args.push(
                match slot_type(slot)
                    .filter(|t| !is_term(t))
                    .and_then(union_members)
                {
                    Some(mut members) => {
                        members.push(text("keyword()"));
                        typed(union(members))
                    }
                    None => typed(text("term()")),
                },
            );
        } else if clause.opts {
            args.push(typed(text("keyword()")));
        }
        specs_by_arity.push((arity, args));
    }

    let min_arity = specs_by_arity.first().map_or(0, |(a, _)| *a);
    let ok_result = typed(union(vec![
        tuple(vec![text(":ok"), returns.doc.clone()]),
        tuple(vec![text(":error"), text("SnakeBridge.Error.t()")]),
    ]));
    for bang in [false, true] {
        let fname = if bang {
            format!("{name}!")
        } else {
            name.clone()
        };
        let result = if bang { &returns } else { &ok_result };
        for (arity, args) in &specs_by_arity {
            out.block();
            match (bang, *arity == min_arity) {
                (false, true) => heredoc_attribute(out, INDENT, "doc", markdown),
                (false, false) => out.line(
                    INDENT,
                    &doc_line(&format!("Like `{name}/{min_arity}`, with the next positional argument or keyword options.")),
                ),
                (true, _) => out.line(
                    INDENT,
                    &doc_line(&format!("Like `{name}/{arity}`, but returns the value or raises `SnakeBridge.Error`.")),
                ),
            }
            out.piece(INDENT, &spec(&fname, args, result, INDENT));
            // The doc and spec sit directly above the first clause of their arity.
            for (i, clause) in clauses
                .iter()
                .filter(|c| c.params.len() == *arity)
                .enumerate()
            {
                if i > 0 {
                    out.block();
                }
                let guard = clause
                    .guarded_opts
                    .then(|| format!("SnakeBridge.Runtime.is_opts({OPTS})"));
                def(
                    out,
                    INDENT,
                    &fname,
                    &clause.params,
                    guard.as_deref(),
                    &body(symbol, clause, bang),
                );
            }
        }
    }
    Ok(())
}

fn doc_line(text_value: &str) -> String {
    format!("@doc {}", string(text_value))
}
