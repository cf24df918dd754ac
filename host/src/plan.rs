//! Compares the calls a scan found with the manifest: which are covered, which widen an open
//! arity range (no Python needed), and which need introspection.

use std::collections::{BTreeMap, BTreeSet};

use crate::arity;
use crate::config::Config;
use crate::diagnostics::Problem;
use crate::model::{Call, CallKind, LibraryRecord, Manifest, Symbol, symbol_id};
use crate::naming;

/// One Elixir function Python has to resolve, with the calls that need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub module: String,
    /// The called name, bang stripped.
    pub function: String,
    pub calls: Vec<Call>,
}

impl Need {
    pub fn id(&self) -> String {
        symbol_id(&self.module, &self.function)
    }

    /// Whether every call reached the name only through a broad `import`, so Python not having
    /// it is no error: the call was something else.
    pub fn only_imported(&self) -> bool {
        !self.calls.is_empty() && self.calls.iter().all(|c| c.kind == CallKind::Import)
    }

    /// Whether only `all = true` asks for it, so a symbol Python cannot describe or snakebridge
    /// cannot wrap is skipped with a warning rather than failing the run.
    pub fn only_listed(&self) -> bool {
        !self.calls.is_empty() && self.calls.iter().all(|c| c.kind == CallKind::Listed)
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    /// By library name.
    pub needs: BTreeMap<String, Vec<Need>>,
    /// `(library, symbol id, arity)`: open ranges to widen.
    pub widen: Vec<(String, String, u32)>,
    pub problems: Vec<Problem>,
    /// Calls under a broad import that Python already said are not the library's.
    pub absent: Vec<Call>,
}

impl Plan {
    pub fn needs_python(&self) -> bool {
        !self.needs.is_empty()
    }
}

/// Plans a run. Libraries in `refresh` have every manifest symbol introspected again.
pub fn plan(
    config: &Config,
    manifest: &Manifest,
    calls: &[Call],
    refresh: &BTreeSet<String>,
) -> Plan {
    let mut plan = Plan::default();
    let mut needs: BTreeMap<String, BTreeMap<String, Need>> = BTreeMap::new();
    for name in refresh {
        if let Some(record) = manifest.libraries.get(name) {
            let entry = needs.entry(name.clone()).or_default();
            for symbol in record.symbols.values() {
                entry.insert(
                    symbol.id(),
                    Need {
                        module: symbol.elixir_module.clone(),
                        function: symbol.elixir_name.clone(),
                        calls: vec![],
                    },
                );
            }
        }
    }
    for call in calls {
        if naming::HELPERS.contains(&(call.function.as_str(), call.arity)) {
            continue;
        }
        let Some(library) = config.library_for_module(&call.module) else {
            continue;
        };
        let function = call
            .function
            .strip_suffix('!')
            .unwrap_or(&call.function)
            .to_string();
        let id = symbol_id(&call.module, &function);
        if let Some(excluded) = library.excluded(&call.module, &function) {
            plan.problems.push(
                Problem::new(
                    "excluded",
                    format!("`{id}` is called, but `{}` excludes `{}`", library.name, excluded.python),
                )
                .at(call)
                .help(format!(
                    "remove `{}` from `exclude` in snakebridge.toml (line {}), or call it dynamically: `SnakeBridge.call(\"{}\", \"{}\", args)`",
                    excluded.python,
                    excluded.line,
                    library.name,
                    excluded.python
                )),
            );
            continue;
        }
        let record = manifest.libraries.get(&library.name);
        // A stream wrapper of a symbol recorded as not streaming asks Python again: the
        // symbol may have become a generator, or been recorded before generators were.
        if !refresh.contains(&library.name)
            && let Some((symbol, wrapper)) = record.and_then(|r| covering(r, &id, &function))
            && (!wrapper || library.streams(symbol))
        {
            if call.kind.is_declared() {
                continue;
            }
            let id = symbol.id();
            match arity::widen(symbol.arity, call.arity) {
                Some(range) if range == symbol.arity => {}
                Some(_) => plan.widen.push((library.name.clone(), id, call.arity)),
                None => plan.problems.push(
                    Problem::new(
                        "arity_not_covered",
                        format!("`{}` is called with {} arguments, but its wrapper accepts {}", id, call.arity, symbol.arity),
                    )
                    .at(call)
                    .help(format!(
                        "`{}.{}` takes {} positional arguments; pass keyword arguments as one trailing keyword list",
                        symbol.python_module, symbol.python_name, describe_params(symbol)
                    )),
                ),
            }
            continue;
        }
        if call.kind == CallKind::Import && record.is_some_and(|r| r.absent.contains_key(&id)) {
            plan.absent.push(call.clone());
            continue;
        }
        needs
            .entry(library.name.clone())
            .or_default()
            .entry(id)
            .or_insert_with(|| Need {
                module: call.module.clone(),
                function,
                calls: vec![],
            })
            .calls
            .push(call.clone());
    }
    plan.needs = needs
        .into_iter()
        .map(|(library, needs)| (library, needs.into_values().collect()))
        .collect();
    plan.widen.sort();
    plan.widen.dedup();
    plan
}

/// The manifest symbol a call to `function` (id `id`) reaches: its own, or, for `x_stream`
/// when there is no such symbol, `x`'s, whose stream wrapper it is (`true`).
pub(crate) fn covering<'a>(
    record: &'a LibraryRecord,
    id: &str,
    function: &str,
) -> Option<(&'a Symbol, bool)> {
    if let Some(symbol) = record.symbols.get(id) {
        return Some((symbol, false));
    }
    let base = function.strip_suffix(naming::STREAM_SUFFIX)?;
    let module = id.strip_suffix(function)?.strip_suffix('.')?;
    record
        .symbols
        .get(&symbol_id(module, base))
        .map(|symbol| (symbol, true))
}

fn describe_params(symbol: &crate::model::Symbol) -> String {
    let counts = arity::Positionals::of(&symbol.signature);
    if counts.optional == 0 {
        counts.required.to_string()
    } else {
        format!(
            "{} to {}",
            counts.required,
            counts.required + counts.optional
        )
    }
}
