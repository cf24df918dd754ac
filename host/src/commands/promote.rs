//! `snakebridge ledger` and `snakebridge promote`: dynamic calls the runtime recorded, and
//! turning them into generated symbols.

use std::collections::BTreeMap;

use serde_json::json;

use crate::diagnostics::{Problem, Problems};
use crate::ledger::{self, Entry};
use crate::model::{Call, CallKind, Manifest};
use crate::pipeline;
use crate::plan::Need;
use crate::project::Project;
use crate::{Error, lock, manifest, naming};

/// Where a ledger entry would live in Elixir: `numpy.fft.fft` → (`Numpy.Fft`, `fft`), a class
/// `pandas.Timestamp` → (`Pandas.Timestamp`, `new`).
fn elixir_target(project: &Project, entry: &Entry) -> Option<(String, String)> {
    let library = project.config.libraries.get(&entry.library)?;
    let below = entry.module.strip_prefix(&library.name)?;
    if !below.is_empty() && !below.starts_with('.') {
        return None;
    }
    let python = format!("{below}.{}", entry.function);
    naming::elixir_callable_path(&library.elixir_module, python.trim_start_matches('.'))
}

/// The ledger's entries as calls from `.snakebridge/ledger.json`, so that `analyze` and
/// `prune` count a promoted wrapper the runtime calls by name as used.
pub fn ledger_calls(project: &Project) -> Result<Vec<Call>, Error> {
    let ledger = ledger::load(&project.root)?;
    Ok(ledger
        .calls
        .iter()
        .filter_map(|entry| {
            let (module, function) = elixir_target(project, entry)?;
            Some(Call {
                module,
                function,
                arity: entry.arity,
                file: ledger::PATH.to_string(),
                line: 0,
                column: 0,
                kind: CallKind::Apply,
            })
        })
        .collect())
}

/// Forgets the ledger entries named by Python path or Elixir id; returns their Python paths.
pub fn drop(project: &Project, names: &[String]) -> Result<Vec<String>, Error> {
    let _lock = project.lock_run()?;
    let mut ledger = ledger::load(&project.root)?;
    let matches = |entry: &Entry, name: &str| {
        entry.python_path() == name
            || elixir_target(project, entry).is_some_and(|(m, f)| format!("{m}.{f}") == name)
    };
    let problems: Vec<Problem> = names
        .iter()
        .filter(|name| !ledger.calls.iter().any(|e| matches(e, name)))
        .map(|name| not_in_ledger(name))
        .collect();
    if !problems.is_empty() {
        return Err(Error::Problems(Problems {
            summary: "nothing was dropped".into(),
            problems,
        }));
    }
    let mut dropped = Vec::new();
    ledger.calls.retain(|entry| {
        let keep = !names.iter().any(|name| matches(entry, name));
        if !keep {
            dropped.push(entry.python_path());
        }
        keep
    });
    ledger::save(&project.root, &ledger)?;
    Ok(dropped)
}

fn not_in_ledger(name: &str) -> Problem {
    Problem::new("not_in_ledger", format!("`{name}` is not in the ledger"))
        .symbol(name.to_string())
        .help("`snakebridge ledger` lists what the runtime recorded; pass `numpy.fft.fft` or `Numpy.Fft.fft`")
}

/// A ledger entry and whether the manifest already covers it.
pub struct Listed {
    pub entry: Entry,
    pub elixir: Option<String>,
    pub covered: bool,
}

pub fn list(project: &Project) -> Result<Vec<Listed>, Error> {
    let ledger = ledger::load(&project.root)?;
    let manifest = manifest::load(&project.root)?;
    Ok(ledger
        .calls
        .into_iter()
        .map(|entry| listed(project, &manifest, entry))
        .collect())
}

fn listed(project: &Project, manifest: &Manifest, entry: Entry) -> Listed {
    let target = elixir_target(project, &entry);
    let covered = target.as_ref().is_some_and(|(module, function)| {
        manifest
            .libraries
            .get(&entry.library)
            .and_then(|r| r.symbol_for(module, function))
            .is_some_and(|s| {
                // The runtime's arity is Python's positional count; the wrapper adds a keyword list.
                s.arity.covers(entry.arity) || s.arity.covers(entry.arity + 1)
            })
    });
    Listed {
        elixir: target.map(|(m, f)| format!("{m}.{f}")),
        entry,
        covered,
    }
}

pub fn report_list(project: &Project, listed: &[Listed]) {
    project.printer.data(
        || {
            if listed.is_empty() {
                return "the ledger is empty\n".into();
            }
            listed
                .iter()
                .map(|l| {
                    let status = if l.covered { "generated " } else { "promotable" };
                    let elixir = l.elixir.as_deref().unwrap_or("(no Elixir name)");
                    format!("{status} {:<32} {elixir}/{} ({} call(s))\n", l.entry.python_path(), l.entry.arity, l.entry.count)
                })
                .collect()
        },
        || {
            let calls: Vec<_> = listed
                .iter()
                .map(|l| json!({ "library": l.entry.library, "python": l.entry.python_path(), "elixir": l.elixir,
                                  "arity": l.entry.arity, "count": l.entry.count, "generated": l.covered }))
                .collect();
            json!({ "calls": calls })
        },
    );
}

/// Promotes every uncovered ledger entry (`all`), or those named by Python path or Elixir id.
pub fn promote(project: &Project, all: bool, names: &[String]) -> Result<pipeline::Outcome, Error> {
    let _lock = project.lock_run()?;
    let ledger = ledger::load(&project.root)?;
    let mut manifest = manifest::load(&project.root)?;
    let old_lock = lock::load(&project.root)?;
    let listed: Vec<Listed> = ledger
        .calls
        .into_iter()
        .map(|entry| listed(project, &manifest, entry))
        .collect();
    let mut problems = Vec::new();
    let mut chosen: Vec<&Listed> = Vec::new();
    if all {
        chosen.extend(listed.iter().filter(|l| !l.covered));
    } else {
        for name in names {
            match listed
                .iter()
                .find(|l| l.entry.python_path() == *name || l.elixir.as_deref() == Some(name))
            {
                Some(l) => chosen.push(l),
                None => problems.push(not_in_ledger(name)),
            }
        }
    }
    let mut needs: BTreeMap<String, Vec<Need>> = BTreeMap::new();
    for l in chosen {
        match elixir_target(project, &l.entry) {
            Some((module, function)) => {
                // A target implies its library is configured.
                let library = &project.config.libraries[&l.entry.library];
                if let Some(excluded) = library.excluded(&module, &function) {
                    problems.push(
                        Problem::new(
                            "excluded",
                            format!(
                                "`{}` is excluded in snakebridge.toml",
                                l.entry.python_path()
                            ),
                        )
                        .symbol(l.entry.python_path())
                        .help(format!(
                            "remove `{}` from `exclude` (line {}) to generate it",
                            excluded.python, excluded.line
                        )),
                    );
                    continue;
                }
                let list = needs.entry(l.entry.library.clone()).or_default();
                if !list
                    .iter()
                    .any(|n| n.module == module && n.function == function)
                {
                    list.push(Need {
                        module,
                        function,
                        calls: vec![],
                    });
                }
            }
            None => problems.push(
                Problem::new(
                    "not_promotable",
                    format!(
                        "`{}` has no configured library or Elixir name",
                        l.entry.python_path()
                    ),
                )
                .help("add its library to `[libraries]` in `snakebridge.toml`"),
            ),
        }
    }
    // With `--all`, an entry that cannot become a wrapper must not hold back the others.
    if all {
        for problem in problems.drain(..) {
            project.printer.warn(format!(
                "skipped: {} (`snakebridge ledger --drop` forgets it)",
                problem.message
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Problems(Problems {
            summary: "nothing was promoted".into(),
            problems,
        }));
    }
    let mut outcome = pipeline::Outcome::default();
    if needs.is_empty() {
        return Ok(outcome);
    }
    let resolved = pipeline::introspect_needs(
        project,
        &mut manifest,
        old_lock.as_ref(),
        &needs,
        &mut outcome,
    )?;
    pipeline::finish(
        project,
        &manifest,
        old_lock.as_ref(),
        &resolved,
        &pipeline::Options::default(),
        &mut outcome,
    )?;
    Ok(outcome)
}
