//! `snakebridge prune`: removes generated symbols the source no longer uses. Only ever on
//! request, and never a symbol something still calls or a library generates whole
//! (`all = true`).

use std::collections::BTreeSet;

use serde_json::json;

use crate::commands::analyze;
use crate::diagnostics::{Problem, Problems};
use crate::model::Call;
use crate::pipeline;
use crate::project::Project;
use crate::{Error, lock, manifest};

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only show what would be removed.
    pub dry_run: bool,
    pub library: Option<String>,
    /// Calls from `test/` do not keep a symbol.
    pub ignore_tests: bool,
    /// Symbol ids such as `Numpy.std`; empty means every unused symbol.
    pub symbols: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub pruned: Vec<String>,
    pub generate: pipeline::Outcome,
}

pub fn run(project: &Project, options: &Options) -> Result<Outcome, Error> {
    if let Some(name) = &options.library
        && !project.config.libraries.contains_key(name)
    {
        return Err(Error::UnknownLibrary { name: name.clone() });
    }
    let _lock = project.lock_run()?;
    let mut manifest = manifest::load(&project.root)?;
    let old_lock = lock::load(&project.root)?;
    let mut calls = project.calls(&project.scan());
    // A wrapper the runtime calls by name (promoted from the ledger) is in use.
    calls.extend(super::promote::ledger_calls(project)?);
    let usage = analyze::usage(&manifest, &calls, options.ignore_tests);
    let in_scope = |library: &str| {
        options
            .library
            .as_deref()
            .is_none_or(|only| only == library)
    };
    // `all = true` keeps every symbol its library does not `exclude`.
    let kept_whole = |library: &str, id: &str| {
        let Some(config) = project.config.libraries.get(library).filter(|l| l.all) else {
            return false;
        };
        manifest
            .libraries
            .get(library)
            .and_then(|record| record.symbols.get(id))
            .is_none_or(|symbol| {
                config
                    .excluded(&symbol.elixir_module, &symbol.elixir_name)
                    .is_none()
            })
    };

    let mut targets: BTreeSet<(String, String)> = BTreeSet::new();
    let mut problems = Vec::new();
    if options.symbols.is_empty() {
        for (name, library) in usage.iter().filter(|(name, _)| in_scope(name)) {
            targets.extend(
                library
                    .unused
                    .iter()
                    .filter(|id| !kept_whole(name, id))
                    .map(|id| (name.clone(), id.clone())),
            );
        }
    } else {
        for requested in &options.symbols {
            let id = requested
                .split('/')
                .next()
                .unwrap_or(requested)
                .trim_end_matches('!');
            let found =
                usage
                    .iter()
                    .filter(|(name, _)| in_scope(name))
                    .find_map(|(name, library)| {
                        if library.unused.iter().any(|u| u == id) {
                            Some(Ok((name.clone(), id.to_string())))
                        } else {
                            library.used.get(id).map(|calls| Err(calls.clone()))
                        }
                    });
            match found {
                Some(Ok((name, _))) if kept_whole(&name, id) => problems.push(
                    Problem::new(
                        "generated_whole",
                        format!("`{id}` is generated because `{name}` sets `all = true`"),
                    )
                    .symbol(id)
                    .help(format!(
                        "add its Python name to `exclude` of `{name}` in snakebridge.toml first"
                    )),
                ),
                Some(Ok(target)) => {
                    targets.insert(target);
                }
                Some(Err(calls)) => problems.push(still_used(id, &calls, options.ignore_tests)),
                None => problems.push(
                    Problem::new(
                        "unknown_symbol",
                        format!("`{id}` is not a generated symbol"),
                    )
                    .symbol(id)
                    .help("`snakebridge analyze` lists the generated symbols"),
                ),
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Problems(Problems {
            summary: "nothing was pruned".into(),
            problems,
        }));
    }
    let mut outcome = Outcome {
        pruned: targets.iter().map(|(_, id)| id.clone()).collect(),
        ..Outcome::default()
    };
    if options.dry_run || targets.is_empty() {
        return Ok(outcome);
    }
    for (name, id) in &targets {
        if let Some(record) = manifest.libraries.get_mut(name) {
            record.symbols.remove(id);
            // A module or class none of the remaining symbols lives in goes too; the root stays.
            let used: BTreeSet<String> = record
                .symbols
                .values()
                .map(|s| s.elixir_module.clone())
                .collect();
            let root = record.elixir_module.clone();
            record
                .modules
                .retain(|module, _| *module == root || used.contains(module));
        }
    }
    pipeline::finish(
        project,
        &manifest,
        old_lock.as_ref(),
        &Default::default(),
        &pipeline::Options::default(),
        &mut outcome.generate,
    )?;
    Ok(outcome)
}

fn still_used(id: &str, calls: &[Call], ignore_tests: bool) -> Problem {
    let first = &calls[0];
    let help = if !ignore_tests && calls.iter().all(|c| c.file.starts_with("test/")) {
        "only tests call it; pass `--ignore-tests` to prune it anyway".to_string()
    } else {
        format!(
            "remove the {} call(s) first; `snakebridge analyze` lists them",
            calls.len()
        )
    };
    Problem::new(
        "still_used",
        format!("`{id}` is still called, so it is not pruned"),
    )
    .at(first)
    .help(help)
}

pub fn report(project: &Project, options: &Options, outcome: &Outcome) {
    project.printer.data(
        || {
            let verb = if options.dry_run { "would prune" } else { "pruned" };
            let mut out: String = outcome.pruned.iter().map(|id| format!("{verb} {id}\n")).collect();
            if outcome.pruned.is_empty() {
                out += "nothing to prune\n";
            }
            for path in &outcome.generate.written {
                out += &format!("wrote {path}\n");
            }
            out
        },
        || json!({ "dry_run": options.dry_run, "pruned": outcome.pruned, "written": outcome.generate.written }),
    );
}
