//! `snakebridge verify`: proves, without Python, that the committed bindings are exactly what the
//! project's source, manifest, lock and pinned plugins produce.
//!
//! It fails when a call is not covered by the manifest, when the lock does not match the
//! manifest, configuration or plugins, or when re-rendering gives different bytes from a
//! committed file, a file is missing, or an extra file sits in the output directory.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;

use crate::Error;
use crate::diagnostics::Problem;
use crate::lock::{self, Lock};
use crate::manifest;
use crate::pipeline::render_all;
use crate::plan;
use crate::plugin_host::wit::latest;
use crate::project::Project;
use crate::stages::Pipeline;

/// Lines of diff shown per file before it is cut.
const DIFF_LINES: usize = 60;

/// Everything verify found; empty means verified.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Generated files checked byte for byte.
    pub files: usize,
    /// Calls checked for coverage.
    pub calls: usize,
}

#[derive(Debug, Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub problem: Problem,
    /// A unified diff, for files whose bytes differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl From<Problem> for Finding {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            diff: None,
        }
    }
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// With `use_cache`, plugins may come from the compiled-component cache; without it (what CI
/// runs) they are compiled from the pinned bytes, so no cache entry can change what runs.
pub fn run(project: &Project, emitter: Option<&str>, use_cache: bool) -> Result<Report, Error> {
    let config = &project.config;
    // A run in progress is waited for, and a killed one's switch finished first.
    let _lock = project.lock_read()?;
    let manifest = manifest::load(&project.root)?;
    let lock = lock::load(&project.root)?;
    let mut report = Report::default();

    // Coverage: every call resolves to a manifest symbol whose range takes its arity.
    let calls = project.calls(&project.scan());
    report.calls = calls.len();
    let plan = plan::plan(config, &manifest, &calls, &BTreeSet::new());
    for need in plan.needs.values().flatten() {
        if need.only_imported() {
            // An imported name Python was never asked about may well be the project's own.
            continue;
        }
        for call in &need.calls {
            report.findings.push(
                Problem::new(
                    "not_covered",
                    format!("`{}` has no generated wrapper", call.mfa()),
                )
                .at(call)
                .help("run `snakebridge generate` (with Python) and commit the result")
                .into(),
            );
        }
    }
    for (library, id, arity) in &plan.widen {
        let symbol = &manifest.libraries[library].symbols[id];
        let call = calls.iter().find(|c| {
            c.arity == *arity
                && crate::model::symbol_id(&c.module, c.function.trim_end_matches('!')) == *id
        });
        let problem = Problem::new(
            "not_covered",
            format!(
                "`{id}/{arity}` needs more clauses than the {} generated",
                symbol.arity
            ),
        )
        .help("run `snakebridge generate` and commit the result; it needs no Python for this");
        report.findings.push(
            match call {
                Some(call) => problem.at(call),
                None => problem.symbol(format!("{id}/{arity}")),
            }
            .into(),
        );
    }
    report
        .findings
        .extend(plan.problems.into_iter().map(Finding::from));
    check_listing(config, &manifest, &mut report);

    // The lock against the manifest, the configuration and the plugins.
    let Some(lock) = lock else {
        report.findings.push(
            Problem::new("lock_missing", format!("there is no `{}`", lock::PATH))
                .help("run `snakebridge generate` and commit `snakebridge.lock`")
                .into(),
        );
        return Ok(report);
    };
    check_lock(project, &manifest, &lock, &mut report);

    let pipeline = project.pipeline_with(emitter, use_cache)?;
    if !check_plugins(&pipeline, &lock, &mut report) {
        // Rendering with other plugins than the lock's would only repeat the same finding.
        return Ok(report);
    }
    let files = render_all(&manifest, Some(&lock), &pipeline, None)?;
    report.files = files.len();
    compare_files(project, &files, &mut report)?;
    Ok(report)
}

/// `all = true` against the manifest: a library that sets it was listed, one that dropped it
/// is no longer recorded as listed.
fn check_listing(
    config: &crate::config::Config,
    manifest: &crate::model::Manifest,
    report: &mut Report,
) {
    for library in config.libraries.values() {
        let listed = manifest
            .libraries
            .get(&library.name)
            .is_some_and(|record| record.all);
        let message = match (library.all, listed) {
            (true, false) => format!(
                "`{}` sets `all = true`, but its public symbols were never generated",
                library.name
            ),
            (false, true) => format!(
                "`{}` no longer sets `all = true`, but its bindings were generated whole",
                library.name
            ),
            _ => continue,
        };
        let mut problem = Problem::new("not_listed", message)
            .help("run `snakebridge generate` (with Python) and commit the result");
        problem.file = Some(crate::config::FILE_NAME.into());
        problem.line = Some(library.line);
        problem.column = Some(library.column);
        report.findings.push(problem.into());
    }
}

fn check_lock(
    project: &Project,
    manifest: &crate::model::Manifest,
    lock: &Lock,
    report: &mut Report,
) {
    let lock_problem = |code, message: String, help: &str| -> Finding {
        Problem::new(code, message)
            .symbol(lock::PATH)
            .help(help.to_string())
            .into()
    };
    if lock.contract != latest::VERSION {
        report.findings.push(lock_problem(
            "lock_contract",
            format!(
                "the lock records contract {}, this snakebridge renders with {}",
                lock.contract,
                latest::VERSION
            ),
            "regenerate with this snakebridge (`snakebridge generate`) and commit the result",
        ));
    }
    for name in manifest.libraries.keys() {
        if !lock.libraries.contains_key(name) {
            report.findings.push(lock_problem(
                "lock_library",
                format!("`{name}` is in the manifest but not in the lock"),
                "run `snakebridge generate` and commit both files",
            ));
        }
    }
    for name in lock.libraries.keys() {
        if !manifest.libraries.contains_key(name) {
            report.findings.push(lock_problem(
                "lock_library",
                format!("`{name}` is in the lock but not in the manifest"),
                "run `snakebridge generate` and commit both files",
            ));
        }
    }
    for library in project.config.libraries.values() {
        if let Some(entry) = lock.libraries.get(&library.name)
            && entry.requested != library.requested()
        {
            report.findings.push(lock_problem(
                "lock_requirement",
                format!(
                    "`{}` is configured as `{}`, but was generated for `{}`",
                    library.name,
                    library.requested(),
                    entry.requested
                ),
                "run `snakebridge generate` with Python to introspect it again, and commit the result",
            ));
        }
    }
    for name in manifest.libraries.keys() {
        if !project.config.libraries.contains_key(name) {
            report.findings.push(lock_problem(
                "library_removed",
                format!("`{name}` has bindings but is no longer configured"),
                "run `snakebridge generate` to remove them, and commit the result",
            ));
        }
    }
    let expected = Lock::packages_hash(&lock.libraries);
    if lock.packages_hash != expected {
        report.findings.push(lock_problem(
            "lock_packages_hash",
            "the lock's `packages_hash` does not match its libraries".into(),
            "the lock was edited by hand; restore it or run `snakebridge generate`",
        ));
    }
}

/// Whether every configured stage plugin is the one the lock pins.
fn check_plugins(pipeline: &Pipeline, lock: &Lock, report: &mut Report) -> bool {
    let mut ok = true;
    for plugin in pipeline.plugins() {
        let stage = plugin.stage.name();
        match lock.plugins.get(stage) {
            Some(entry) if entry.blake3 == plugin.blake3 => {}
            Some(entry) => {
                ok = false;
                report.findings.push(
                    Problem::new(
                        "plugin_changed",
                        format!(
                            "the {stage} plugin `{}` has blake3 {}, but the lock pins `{}` with {}",
                            plugin.name, plugin.blake3, entry.source, entry.blake3
                        ),
                    )
                    .symbol(lock::PATH)
                    .help("regenerate with the new plugin (`snakebridge generate`) and commit, or restore the pinned one")
                    .into(),
                );
            }
            None => {
                ok = false;
                report.findings.push(
                    Problem::new("plugin_missing", format!("the lock pins no {stage} plugin"))
                        .symbol(lock::PATH)
                        .help("run `snakebridge generate` and commit the lock")
                        .into(),
                );
            }
        }
    }
    ok
}

/// The output directory against what the manifest, lock and plugins render, by the rules
/// `generate` follows (`crate::output`): every rendered file present with its bytes, nothing
/// else there.
fn compare_files(
    project: &Project,
    files: &[crate::stages::File],
    report: &mut Report,
) -> Result<(), Error> {
    let output = &project.config.output;
    let survey = crate::output::survey(&project.root, output, files)?;
    for path in &survey.missing {
        report.findings.push(
            Problem::new("file_missing", format!("`{output}/{path}` is missing"))
                .help("run `snakebridge generate` and commit the result")
                .into(),
        );
    }
    for (relative, committed) in &survey.changed {
        let path = format!("{output}/{relative}");
        let expected = files
            .iter()
            .find(|f| f.path == *relative)
            .map_or("", |f| f.contents.as_str());
        let mut problem = Problem::new(
            "file_differs",
            "differs from what the manifest, lock and plugins produce",
        )
        .help("do not edit generated files; run `snakebridge generate` and commit the result");
        problem.file = Some(path.clone());
        report.findings.push(Finding {
            problem,
            diff: Some(diff(&path, &String::from_utf8_lossy(committed), expected)),
        });
    }
    for path in &survey.stale {
        report.findings.push(
            Problem::new(
                "file_extra",
                format!("`{output}/{path}` is a generated file nothing generates any more"),
            )
            .help("run `snakebridge generate`, which removes it, and commit the result")
            .into(),
        );
    }
    for path in &survey.foreign {
        report.findings.push(
            Problem::new(
                "file_extra",
                format!("`{output}/{path}` is in the output directory, but snakebridge did not write it"),
            )
            .help("the output directory belongs to snakebridge: move the file elsewhere, or delete it")
            .into(),
        );
    }
    Ok(())
}

/// A unified diff from the committed text to the expected one, cut after `DIFF_LINES` lines.
fn diff(path: &str, committed: &str, expected: &str) -> String {
    let text = similar::TextDiff::from_lines(committed, expected)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{path} (committed)"),
            &format!("{path} (generated)"),
        )
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= DIFF_LINES {
        return text;
    }
    format!(
        "{}\n… {} more lines\n",
        lines[..DIFF_LINES].join("\n"),
        lines.len() - DIFF_LINES
    )
}

/// Prints the report.
pub fn report(project: &Project, report: &Report) {
    project.printer.data(
        || {
            let mut out = String::new();
            for finding in &report.findings {
                out += &format!("error[{}]: {}\n", finding.problem.code, finding.problem);
                if let Some(help) = &finding.problem.help {
                    out += &format!("  help: {help}\n");
                }
                if let Some(diff) = &finding.diff {
                    for line in diff.lines() {
                        out += &format!("  {line}\n");
                    }
                }
            }
            if report.ok() {
                out += &format!("verified: {} file(s) and {} call(s) match\n", report.files, report.calls);
            } else {
                out += &format!("verify failed: {} finding(s)\n", report.findings.len());
            }
            out
        },
        || json!({ "ok": report.ok(), "files": report.files, "calls": report.calls, "findings": report.findings }),
    );
}
