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

use crate::doc::{Doc, concat, text};
use crate::syntax::{
    atom, call, def, heredoc_attribute, list, spec, string, tuple, type_doc, union,
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

/// The parts of a wrapper the module renders in order.
pub(crate) struct Wrapper {
    pub(crate) name: String,
    /// Blocks to separate by blank lines: each clause, the first of each arity led by its doc
    /// and spec; the plain variant first, then the bang variant.
    pub(crate) blocks: Vec<Doc>,
    /// The arity range, for `__functions__/0`.
    pub(crate) min: u32,
    pub(crate) max: u32,
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

fn type_or_term(expr: Option<&TypeExpr>) -> Doc {
    expr.and_then(type_doc).unwrap_or_else(|| text("term()"))
}

/// The runtime call a clause makes, with `bang` picking the raising variant.
fn body(symbol: &Symbol, clause: &Clause, bang: bool) -> Doc {
    let suffix = if bang { "!" } else { "" };
    let args = list(clause.args.iter().map(|a| text(a.clone())).collect());
    let opts = text(if clause.opts || clause.guarded_opts {
        OPTS
    } else {
        "[]"
    });
    let attribute = symbol
        .python_name
        .rsplit('.')
        .next()
        .unwrap_or(&symbol.python_name);
    let module = text("__MODULE__");
    match symbol.kind {
        SymbolKind::Function | SymbolKind::ClassMethod | SymbolKind::StaticMethod => call(
            &format!("SnakeBridge.Runtime.call{suffix}"),
            vec![module, string(attribute), args, opts],
        ),
        SymbolKind::Constructor => call(
            &format!("SnakeBridge.Runtime.call_class{suffix}"),
            vec![module, args, opts],
        ),
        SymbolKind::Method => call(
            &format!("SnakeBridge.Runtime.call_method{suffix}"),
            vec![module, text(REF), string(attribute), args, opts],
        ),
        SymbolKind::Property => call(
            &format!("SnakeBridge.Runtime.get_attr{suffix}"),
            vec![module, text(REF), string(attribute), opts],
        ),
        SymbolKind::Constant => call(
            &format!("SnakeBridge.Runtime.get_module_attr{suffix}"),
            vec![module, string(attribute), opts],
        ),
    }
}

/// Renders the wrapper for `symbol`; `markdown` is the doc stage's text for it.
pub(crate) fn wrapper(
    symbol: &Symbol,
    types: Option<&SymbolTypes>,
    markdown: &str,
) -> Result<Wrapper, PluginError> {
    let (clauses, type_index) = clauses(symbol)?;
    let name = symbol.elixir_name.clone();
    if atom(&name).is_none() {
        return Err(error(
            symbol,
            format!("`{name}` is not a valid Elixir function name"),
        ));
    }
    let param_type = |slot: usize| -> Doc {
        type_or_term(
            type_index
                .get(slot)
                .and_then(|&i| types.and_then(|t| t.params.get(i))),
        )
    };
    let returns = type_or_term(types.map(|t| &t.returns));
    let reference = usize::from(matches!(
        symbol.kind,
        SymbolKind::Method | SymbolKind::Property
    ));

    // One spec per arity: a guarded pair shares it, its last argument typed as either.
    let mut specs_by_arity: Vec<(usize, Vec<Doc>)> = Vec::new();
    for clause in &clauses {
        let arity = clause.params.len();
        if specs_by_arity.iter().any(|(a, _)| *a == arity) {
            continue;
        }
        let mut args: Vec<Doc> = Vec::new();
        if reference == 1 {
            args.push(text("SnakeBridge.Ref.t()"));
        }
        for slot in 0..clause.args.len() {
            args.push(param_type(slot));
        }
        if clause.guarded_opts {
            let slot = clause.args.len();
            let positional = type_index
                .get(slot)
                .and_then(|&i| types.and_then(|t| t.params.get(i)));
            args.push(match positional {
                Some(t) if !is_term(t) => union(vec![type_or_term(Some(t)), text("keyword()")]),
                _ => text("term()"),
            });
        } else if clause.opts {
            args.push(text("keyword()"));
        }
        specs_by_arity.push((arity, args));
    }

    let mut items = Vec::new();
    let min_arity = specs_by_arity.first().map_or(0, |(a, _)| *a);
    for bang in [false, true] {
        let fname = if bang {
            format!("{name}!")
        } else {
            name.clone()
        };
        let result = if bang {
            returns.clone()
        } else {
            union(vec![
                tuple(vec![text(":ok"), returns.clone()]),
                tuple(vec![text(":error"), text("SnakeBridge.Error.t()")]),
            ])
        };
        for (arity, args) in &specs_by_arity {
            let doc = match (bang, *arity == min_arity) {
                (false, true) => heredoc_attribute("doc", markdown),
                (false, false) => doc_line(&format!(
                    "Like `{name}/{min_arity}`, with the next positional argument or keyword options."
                )),
                (true, _) => doc_line(&format!(
                    "Like `{name}/{arity}`, but returns the value or raises `SnakeBridge.Error`."
                )),
            };
            let mut attributes = Some(concat([
                doc,
                Doc::Line,
                spec(&fname, args.clone(), result.clone()),
                Doc::Line,
            ]));
            for clause in clauses.iter().filter(|c| c.params.len() == *arity) {
                let guard = clause
                    .guarded_opts
                    .then(|| call("SnakeBridge.Runtime.is_opts", vec![text(OPTS)]));
                let params = clause.params.iter().map(|p| text(p.clone())).collect();
                let def = def(&fname, params, guard, body(symbol, clause, bang));
                // The doc and spec sit directly above the first clause of their arity.
                items.push(match attributes.take() {
                    Some(attributes) => concat([attributes, def]),
                    None => def,
                });
            }
        }
    }
    Ok(Wrapper {
        name,
        blocks: items,
        min: symbol.arity.min,
        max: symbol.arity.max,
    })
}

fn doc_line(text_value: &str) -> Doc {
    concat([text("@doc "), string(text_value)])
}
