//! Turns introspection replies into manifest records: the named steps that set Elixir names,
//! parameter names and arity ranges, and the classified problems for what Python lacks.

use crate::arity;
use crate::config::Library;
use crate::diagnostics::Problem;
use crate::introspect::{
    FoundSymbol, ImportError, ModuleReply, Reply, Request, SymbolReply, SymbolRequest,
};
use crate::model::{Absent, LibraryRecord, Module, Signature, Symbol, SymbolKind};
use crate::naming;
use crate::plan::Need;

/// Elixir module segments below the library's root: `Numpy.Linalg` → `["Linalg"]`.
fn segments(library: &Library, module: &str) -> Vec<String> {
    module
        .strip_prefix(&library.elixir_module)
        .unwrap_or("")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The batch for one library: its root module, every module the needs live in, every need.
pub fn request(library: &Library, needs: &[Need], sys_path: Vec<String>) -> Request {
    let mut modules: Vec<Vec<String>> = vec![vec![]];
    for need in needs {
        let segments = segments(library, &need.module);
        if !modules.contains(&segments) {
            modules.push(segments);
        }
    }
    Request {
        library: library.name.clone(),
        stdlib: library.stdlib,
        sys_path,
        modules,
        list: false,
        symbols: needs
            .iter()
            .map(|need| SymbolRequest {
                module: segments(library, &need.module),
                candidates: naming::python_name_candidates(&need.function),
                stream_of: need
                    .function
                    .strip_suffix(naming::STREAM_SUFFIX)
                    .filter(|base| !base.is_empty())
                    .map(naming::python_name_candidates),
            })
            .collect(),
    }
}

/// What merging one library's reply produced.
#[derive(Debug, Default)]
pub struct Merged {
    pub problems: Vec<Problem>,
    /// Problems with symbols only `all = true` asked for: they are skipped, not generated.
    pub skipped: Vec<Problem>,
    /// Calls dropped because Python confirmed an imported name is not the library's.
    pub dropped: Vec<String>,
    pub added: usize,
}

/// Merges `reply` (for `request(library, needs)`) into `record`.
pub fn merge(
    library: &Library,
    needs: &[Need],
    reply: &Reply,
    record: &mut LibraryRecord,
) -> Merged {
    let mut merged = Merged::default();
    record.python_module = library.name.clone();
    record.elixir_module = library.elixir_module.clone();
    if let Some(error) = &reply.error {
        merged.problems.push(import_problem(library, error, needs));
        return merged;
    }
    if let Some(info) = &reply.library {
        record.modules.insert(
            library.elixir_module.clone(),
            Module {
                python_path: library.name.clone(),
                kind: crate::model::ModuleKind::Module,
                doc: info.doc.clone(),
            },
        );
    }
    let module_replies: Vec<(Vec<String>, &ModuleReply)> = request(library, needs, vec![])
        .modules
        .into_iter()
        .zip(reply.modules.iter())
        .collect();
    for (need, symbol_reply) in needs.iter().zip(&reply.symbols) {
        let problems_before = merged.problems.len();
        merge_one(
            library,
            need,
            symbol_reply,
            &module_replies,
            record,
            &mut merged,
        );
        if need.only_listed() {
            let skipped = merged.problems.split_off(problems_before);
            merged.skipped.extend(skipped);
        }
    }
    merged
}

/// Merges one need's reply into `record`, or adds its problems to `merged`.
fn merge_one(
    library: &Library,
    need: &Need,
    symbol_reply: &SymbolReply,
    module_replies: &[(Vec<String>, &ModuleReply)],
    record: &mut LibraryRecord,
    merged: &mut Merged,
) {
    let first_call = need.calls.first();
    let locate = |problem: Problem| match first_call {
        Some(call) => problem.at(call),
        None => problem.symbol(need.id()),
    };
    match symbol_reply {
        SymbolReply::Ok(found) => match symbol(need, found) {
            Ok(symbol) if found.stream_wrapper && !library.streams(&symbol) => {
                merged.problems.push(locate(not_streaming(library, &symbol, need)));
            }
            Ok(symbol) => {
                let module_segments = segments(library, &need.module);
                if let Some((
                    _,
                    ModuleReply::Ok {
                        python_path,
                        kind,
                        doc,
                    },
                )) = module_replies.iter().find(|(s, _)| *s == module_segments)
                {
                    record.modules.insert(
                        need.module.clone(),
                        Module {
                            python_path: python_path.clone(),
                            kind: *kind,
                            doc: doc.clone(),
                        },
                    );
                }
                match widen_to_calls(symbol, need) {
                    Ok(symbol) => {
                        record.absent.remove(&need.id());
                        record.symbols.insert(symbol.id(), symbol);
                        merged.added += 1;
                    }
                    Err(problems) => merged.problems.extend(problems),
                }
            }
            Err(problem) => merged.problems.push(locate(problem)),
        },
        SymbolReply::NotFound {
            missing,
            suggestions,
        } => {
            if need.only_imported() {
                record.absent.insert(
                    need.id(),
                    Absent {
                        reason: format!("Python has no `{missing}`"),
                    },
                );
                merged
                    .dropped
                    .push(format!("{}/{}", need.id(), need.calls[0].arity));
                return;
            }
            let class_entry = first_call.is_some_and(|c| c.kind.is_declared())
                && need.function == "new";
            let help = if class_entry {
                // `include` reads a capitalised name as a class.
                let name = missing.rsplit('.').next().unwrap_or(missing);
                format!(
                    "Python has no class `{missing}`; a function whose name starts with a capital is included by its Elixir name: `py_{name}`"
                )
            } else if suggestions.is_empty() {
                format!("Python has no `{missing}`; check the spelling and the library version")
            } else {
                let names: Vec<String> = suggestions
                    .iter()
                    .map(|s| format!("`{}`", suggest(library, need, missing, s)))
                    .collect();
                format!(
                    "did you mean {}? Python has no `{missing}`",
                    names.join(" or ")
                )
            };
            merged.problems.push(locate(
                Problem::new(
                    "symbol_not_found",
                    format!("`{}` is not in `{}`", need.id(), library.name),
                )
                .help(help),
            ));
        }
        SymbolReply::Ambiguous { names } => merged.problems.push(locate(
            Problem::new(
                "ambiguous_name",
                format!(
                    "`{}` stands for two Python names, {}: a wrapper can call only one",
                    need.id(),
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )
            .help(format!(
                "`{}` is how Elixir spells the first, which it reserves; call the one you mean with `SnakeBridge.call/4` by its Python name",
                need.id()
            )),
        )),
        SymbolReply::Error(error) => merged.problems.push(locate(
            Problem::new(
                "introspection_failed",
                format!(
                    "looking up `{}` raised {}: {}",
                    need.id(),
                    error.error_type,
                    error.message
                ),
            )
            .help(traceback_tail(&error.traceback)),
        )),
    }
}

/// The Elixir spelling of a suggested Python name: a module when a module segment was
/// missing (`numpy.linalgg`), else a function in the called module (`numpy.meen`).
fn suggest(library: &Library, need: &Need, missing: &str, suggestion: &str) -> String {
    let below = segments(library, &need.module);
    let missing_below = missing
        .split('.')
        .count()
        .saturating_sub(library.name.split('.').count());
    if (1..=below.len()).contains(&missing_below) {
        let mut below = below;
        below[missing_below - 1] = naming::camelize(suggestion);
        return format!(
            "{}.{}.{}",
            library.elixir_module,
            below.join("."),
            need.function
        );
    }
    let name = naming::elixir_function_name(suggestion, SymbolKind::Function)
        .unwrap_or_else(|| suggestion.to_string());
    format!("{}.{name}", need.module)
}

fn traceback_tail(traceback: &str) -> String {
    let lines: Vec<&str> = traceback.lines().collect();
    let tail = &lines[lines.len().saturating_sub(8)..];
    format!("Python's traceback ends with:\n{}", tail.join("\n"))
}

/// A library's introspection that timed out or crashed, as a problem at the first call that
/// needed it, naming what was being looked up.
pub fn batch_failed(error: &crate::introspect::Error, needs: &[Need]) -> Problem {
    use miette::Diagnostic;
    let code = match error {
        crate::introspect::Error::Timeout { .. } => "introspection_timeout",
        _ => "introspection_failed",
    };
    let mut wanted: Vec<String> = needs
        .iter()
        .map(|need| format!("`{}.{}`", need.module, need.function))
        .collect();
    if wanted.len() > 5 {
        let more = wanted.len() - 4;
        wanted.truncate(4);
        wanted.push(format!("{more} more"));
    }
    let mut problem = Problem::new(code, format!("{error}, looking up {}", wanted.join(", ")));
    if let Some(help) = error.help() {
        problem = problem.help(help.to_string());
    }
    match needs.iter().flat_map(|n| n.calls.first()).next() {
        Some(call) => problem.at(call),
        None => problem,
    }
}

pub fn import_problem(library: &Library, error: &ImportError, needs: &[Need]) -> Problem {
    let first = needs.iter().flat_map(|n| n.calls.first()).next();
    let problem = if error.kind == "package_not_found" {
        let package = library.package.as_deref().unwrap_or(&library.name);
        Problem::new("package_not_found", format!("the Python package for `{}` is not installed", library.name)).help(
            format!(
                "install it into the configured Python (`python3 -m pip install {package}`), or drop `[python] executable` so snakebridge manages an environment"
            ),
        )
    } else {
        Problem::new(
            "import_failed",
            format!(
                "importing `{}` raised {}: {}",
                library.name, error.error_type, error.message
            ),
        )
        .help(traceback_tail(&error.traceback))
    };
    match first {
        Some(call) => problem.at(call),
        None => problem.symbol(library.elixir_module.clone()),
    }
}

/// A call to the stream wrapper of a symbol that has none.
fn not_streaming(library: &Library, symbol: &Symbol, need: &Need) -> Problem {
    Problem::new(
        "not_streaming",
        format!(
            "`{}` calls a stream wrapper, but `{}.{}` is not a generator and is not in `streaming`",
            need.id(),
            symbol.python_module,
            symbol.python_name
        ),
    )
    .help(format!(
        "if it returns an iterable, add `{}` to `streaming = [...]` of `{}` in snakebridge.toml; otherwise call `{}`",
        symbol.python_name,
        library.name,
        symbol.id()
    ))
}

/// The manifest record for a resolved need.
fn symbol(need: &Need, found: &FoundSymbol) -> Result<Symbol, Problem> {
    let kind = match found.kind.as_str() {
        "function" => SymbolKind::Function,
        "constructor" => SymbolKind::Constructor,
        "method" => SymbolKind::Method,
        "class_method" => SymbolKind::ClassMethod,
        "static_method" => SymbolKind::StaticMethod,
        "property" => SymbolKind::Property,
        "constant" => SymbolKind::Constant,
        "setter" => SymbolKind::Setter,
        "module" => {
            let module = format!("{}.{}", need.module, naming::camelize(&found.python_name));
            return Err(Problem::new(
                "symbol_is_module",
                format!(
                    "`{}.{}` is a module, not a function",
                    found.python_module, found.python_name
                ),
            )
            .help(format!(
                "call its functions through `{module}`, such as `{module}.some_function(...)`"
            )));
        }
        other => {
            return Err(Problem::new(
                "symbol_kind",
                format!(
                    "`{}` is a {other}, which snakebridge cannot wrap",
                    need.id()
                ),
            ));
        }
    };
    let attribute = found
        .python_name
        .rsplit('.')
        .next()
        .unwrap_or(&found.python_name);
    let expected = naming::elixir_function_name(attribute, kind).ok_or_else(|| {
        Problem::new(
            "unnamed",
            format!("`{}` has no valid Elixir spelling", found.python_name),
        )
        .help("snakebridge only wraps ASCII Python names")
    })?;
    // A stream wrapper's call names the symbol it streams.
    let called = if found.stream_wrapper {
        need.function
            .strip_suffix(naming::STREAM_SUFFIX)
            .unwrap_or(&need.function)
    } else {
        &need.function
    };
    if expected != called {
        return Err(Problem::new(
            "renamed",
            format!(
                "`{}.{}` is spelled `{}.{expected}` in Elixir",
                found.python_module, found.python_name, need.module
            ),
        )
        .help(format!("call `{}.{expected}`", need.module)));
    }
    let mut signature = match (&found.signature, kind) {
        (Some(raw), _) => Signature {
            params: raw.params.clone(),
            returns: raw.returns.clone(),
            source: raw.source,
        },
        (None, SymbolKind::Property | SymbolKind::Constant) => Signature {
            params: vec![],
            returns: found.returns.clone(),
            source: crate::model::SignatureSource::Inspect,
        },
        (None, _) => Signature::variadic_fallback(),
    };
    naming::assign_param_names(&mut signature.params);
    let overloads = found
        .overloads
        .iter()
        .map(|raw| {
            let mut overload = Signature {
                params: raw.params.clone(),
                returns: raw.returns.clone(),
                source: raw.source,
            };
            naming::assign_param_names(&mut overload.params);
            overload
        })
        .collect();
    Ok(Symbol {
        kind,
        elixir_module: need.module.clone(),
        elixir_name: called.to_string(),
        python_module: found.python_module.clone(),
        python_name: found.python_name.clone(),
        arity: arity::range(kind, &signature),
        signature,
        overloads,
        doc: found.doc.clone(),
        defined_in: found.defined_in.clone(),
        generator: found.generator,
    })
}

/// Widens an open range to the arities called; a call no range can take is a problem.
fn widen_to_calls(mut symbol: Symbol, need: &Need) -> Result<Symbol, Vec<Problem>> {
    let mut problems = Vec::new();
    // An `include` entry asks for the symbol, at whatever arities it takes.
    for call in need.calls.iter().filter(|c| !c.kind.is_declared()) {
        match arity::widen(symbol.arity, call.arity) {
            Some(range) => symbol.arity = range,
            None => problems.push(
                Problem::new(
                    "arity_not_covered",
                    format!("`{}` is called with {} arguments, but its wrapper accepts {}", need.id(), call.arity, symbol.arity),
                )
                .at(call)
                .help(format!(
                    "`{}.{}` has {} positional parameters; pass keyword arguments as one trailing keyword list",
                    symbol.python_module,
                    symbol.python_name,
                    arity::Positionals::of(&symbol.signature).required
                )),
            ),
        }
    }
    if problems.is_empty() {
        Ok(symbol)
    } else {
        Err(problems)
    }
}
