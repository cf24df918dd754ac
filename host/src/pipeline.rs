//! The pipeline every command that writes runs: scan → compare with the manifest →
//! introspect what is new → resolve → typespec, doc and emitter stages → the next lock →
//! write files, manifest and lock as one switch (see [`crate::output`]).
//!
//! `generate` runs all of it ([`generate`]); `promote` starts at introspection
//! ([`introspect_needs`]); `prune` at rendering ([`finish`]); `verify` and `plugin check`
//! only render ([`render_all`]). Nothing is written until everything succeeded, and then
//! only files whose content changed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::config::Config;
use crate::diagnostics::{Problem, Problems};
use crate::introspect;
use crate::lock::{self, LibraryEntry, Lock, PluginEntry};
use crate::manifest;
use crate::model::PythonIdentity;
use crate::model::{Call, Manifest};
use crate::plan;
use crate::plugin_host;
use crate::project::Project;
use crate::stages::{File, Pipeline};
use crate::write::Directory;
use crate::{Error, arity, resolve, scan};

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `default`, or a configured emitter path; overrides `[plugins] emitter`.
    pub emitter: Option<String>,
    /// Introspect every symbol again.
    pub force: bool,
    /// Only this library.
    pub library: Option<String>,
    /// Where to write each stage's input and output, per library.
    pub dump_ir: Option<std::path::PathBuf>,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: usize,
    pub written: Vec<String>,
    pub removed: Vec<String>,
    /// Symbols introspected, by library.
    pub introspected: BTreeMap<String, usize>,
    /// Calls under a broad `import` that Python said are not the library's.
    pub dropped: Vec<String>,
    pub warnings: Vec<scan::Warning>,
    /// Symbols only `all = true` asked for that could not be generated, and why.
    pub skipped: Vec<Problem>,
    pub manifest_written: bool,
    pub lock_written: bool,
}

/// The libraries whose configuration no longer matches what the lock recorded: their symbols
/// are introspected again.
fn changed_libraries(
    config: &Config,
    lock: Option<&Lock>,
    manifest: &Manifest,
) -> BTreeSet<String> {
    let Some(lock) = lock else {
        return BTreeSet::new();
    };
    config
        .libraries
        .values()
        .filter(|library| manifest.libraries.contains_key(&library.name))
        .filter(|library| {
            lock.libraries
                .get(&library.name)
                .is_none_or(|entry| entry.requested != library.requested())
        })
        .map(|library| library.name.clone())
        .collect()
}

/// `snakebridge generate`: every stage, for the calls in the source.
pub fn generate(project: &Project, options: &Options) -> Result<Outcome, Error> {
    let printer = project.printer;
    let config = &project.config;
    if let Some(name) = &options.library
        && !config.libraries.contains_key(name)
    {
        return Err(Error::UnknownLibrary { name: name.clone() });
    }
    let _lock = project.lock_run()?;
    let mut manifest = manifest::load(&project.root)?;
    let old_lock = lock::load(&project.root)?;
    let scan = project.scan();
    for warning in &scan.warnings {
        printer.warn(format!(
            "{}:{}:{}: {}",
            warning.file, warning.line, warning.column, warning.message
        ));
    }
    printer.status(format!(
        "Scanned {} files: {} calls into configured libraries",
        scan.files,
        scan.calls.len()
    ));

    // Libraries no longer configured leave the manifest, and their files the output.
    manifest
        .libraries
        .retain(|name, _| config.libraries.contains_key(name));
    // The manifest only shrinks through `prune`: say what an `exclude` did not remove.
    for library in config.libraries.values() {
        let Some(record) = manifest.libraries.get(&library.name) else {
            continue;
        };
        for excluded in &library.exclude {
            let id = crate::model::symbol_id(&excluded.elixir_module, &excluded.elixir_name);
            if record.symbols.contains_key(&id) {
                printer.warn(format!(
                    "`{id}` is still generated though `{}` excludes `{}`; `snakebridge prune {id}` removes it",
                    library.name, excluded.python
                ));
            }
        }
    }

    let in_scope = |library: &str| {
        options
            .library
            .as_deref()
            .is_none_or(|only| only == library)
    };
    let mut calls: Vec<Call> = project
        .calls(&scan)
        .into_iter()
        .filter(|call| {
            config
                .library_for_module(&call.module)
                .is_some_and(|l| in_scope(&l.name))
        })
        .collect();
    let refresh: BTreeSet<String> = if options.force {
        config
            .libraries
            .keys()
            .filter(|name| in_scope(name))
            .cloned()
            .collect()
    } else {
        changed_libraries(config, old_lock.as_ref(), &manifest)
            .into_iter()
            .filter(|name| in_scope(name))
            .collect()
    };
    let listed = list_public(project, &manifest, old_lock.as_ref(), &refresh, &in_scope)?;
    calls.extend(listed.values().flatten().cloned());
    let mut plan = plan::plan(config, &manifest, &calls, &refresh);
    let mut outcome = Outcome {
        warnings: scan.warnings.clone(),
        ..Outcome::default()
    };
    outcome.dropped = plan.absent.iter().map(Call::mfa).collect();

    if !plan.problems.is_empty() {
        return Err(problems(
            "some calls cannot be covered",
            std::mem::take(&mut plan.problems),
        ));
    }
    for (library, id, arity) in &plan.widen {
        if let Some(symbol) = manifest
            .libraries
            .get_mut(library)
            .and_then(|r| r.symbols.get_mut(id))
            && let Some(range) = arity::widen(symbol.arity, *arity)
        {
            symbol.arity = range;
        }
    }

    let resolved = if plan.needs_python() {
        introspect_needs(
            project,
            &mut manifest,
            old_lock.as_ref(),
            &plan.needs,
            &mut outcome,
        )?
    } else {
        BTreeMap::new()
    };
    for problem in &outcome.skipped {
        printer.warn(format!(
            "`all = true` skipped `{}`: {}",
            problem.symbol.as_deref().unwrap_or("?"),
            problem.message
        ));
    }
    for (name, record) in &mut manifest.libraries {
        let all = config.libraries.get(name).is_some_and(|l| l.all);
        record.all = all && (record.all || listed.contains_key(name));
    }
    for dropped in &outcome.dropped {
        printer.status(format!(
            "note: `{dropped}` is not in its imported library; it is left to the compiler"
        ));
    }
    finish(
        project,
        &manifest,
        old_lock.as_ref(),
        &resolved,
        options,
        &mut outcome,
    )?;
    Ok(outcome)
}

/// What introspection resolved for each library: the Python it ran in and the lock entry.
pub type Resolved = BTreeMap<String, (PythonIdentity, LibraryEntry)>;

/// Introspects `needs` (by library) and merges the records into `manifest`. Any problem fails
/// the whole batch before anything is written.
pub fn introspect_needs(
    project: &Project,
    manifest: &mut Manifest,
    old_lock: Option<&Lock>,
    needs: &BTreeMap<String, Vec<plan::Need>>,
    outcome: &mut Outcome,
) -> Result<Resolved, Error> {
    let printer = project.printer;
    let config = &project.config;
    let environment = environment(project, old_lock)?;
    let mut resolved = Resolved::new();
    let mut all_problems = Vec::new();
    for (name, needs) in needs {
        let library = &config.libraries[name];
        printer.status(format!(
            "Introspecting {} symbol(s) of `{name}`",
            needs.len()
        ));
        let request = resolve::request(library, needs, sys_path(project, library));
        let reply = match run_batch(project, &environment, &request, needs)? {
            Ok(reply) => reply,
            Err(problem) => {
                all_problems.push(problem);
                continue;
            }
        };
        let record = manifest.libraries.entry(name.clone()).or_default();
        let merged = resolve::merge(library, needs, &reply, record);
        outcome.introspected.insert(name.clone(), merged.added);
        outcome.dropped.extend(merged.dropped);
        outcome.skipped.extend(merged.skipped);
        all_problems.extend(merged.problems);
        if let Some(info) = &reply.library {
            // The managed environment installs only what meets the requirement; another
            // interpreter is held to the same rule.
            if !environment.managed
                && let Some(problem) = info.version.as_deref().and_then(|v| library.unmet(v))
            {
                all_problems.push(problem);
            }
            let entry = LibraryEntry {
                requested: library.requested(),
                resolved: info.version.clone().unwrap_or_else(|| "local".into()),
                packages: info.packages.clone(),
            };
            resolved.insert(name.clone(), (reply.python.clone(), entry));
        }
    }
    if all_problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems(
            "introspection found problems; nothing was written",
            all_problems,
        ))
    }
}

/// The Python to introspect in: the configured one, or the managed environment, made or
/// brought up to date first.
fn environment(
    project: &Project,
    old_lock: Option<&Lock>,
) -> Result<introspect::Environment, Error> {
    let printer = project.printer;
    Ok(introspect::ensure_environment(
        &project.root,
        &project.config,
        &project.settings,
        old_lock,
        |message| printer.status(message),
    )?)
}

/// Runs one batch in Python: its reply, or the problem when Python timed out or crashed.
fn run_batch(
    project: &Project,
    environment: &introspect::Environment,
    request: &introspect::Request,
    needs: &[plan::Need],
) -> Result<Result<introspect::Reply, Problem>, Error> {
    let timeout = Duration::from_secs(project.config.python_timeout_secs);
    match introspect::run(&environment.python, request, timeout) {
        Ok(reply) => Ok(Ok(reply)),
        Err(error @ (introspect::Error::Timeout { .. } | introspect::Error::Crashed { .. })) => {
            Ok(Err(resolve::batch_failed(&error, needs)))
        }
        Err(error) => Err(error.into()),
    }
}

/// The absolute directories a library puts first on `sys.path`: its local `path`.
fn sys_path(project: &Project, library: &crate::config::Library) -> Vec<String> {
    library
        .path
        .iter()
        .map(|path| project.root.join(path).display().to_string())
        .collect()
}

/// Public symbols `all = true` generates per library: scipy whole lists about 6,700, and a
/// library that lists far more is more likely a hostile or broken one than bindings to write.
pub const MAX_LISTED_SYMBOLS: usize = 20_000;

/// Lists the public symbols of each `all = true` library in scope that the manifest does not
/// record as listed for its configuration (or that is refreshed), as declared calls by
/// library.
fn list_public(
    project: &Project,
    manifest: &Manifest,
    old_lock: Option<&Lock>,
    refresh: &BTreeSet<String>,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Vec<Call>>, Error> {
    let config = &project.config;
    let wanted: Vec<&crate::config::Library> = config
        .libraries
        .values()
        .filter(|library| library.all && in_scope(&library.name))
        .filter(|library| {
            refresh.contains(&library.name)
                || !manifest
                    .libraries
                    .get(&library.name)
                    .is_some_and(|record| record.all)
        })
        .collect();
    let mut listed = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(listed);
    }
    let printer = project.printer;
    let environment = environment(project, old_lock)?;
    let mut all_problems = Vec::new();
    for library in wanted {
        let mut request = resolve::request(library, &[], sys_path(project, library));
        request.list = true;
        let reply = match run_batch(project, &environment, &request, &[])? {
            Ok(reply) => reply,
            Err(problem) => {
                all_problems.push(problem);
                continue;
            }
        };
        if let Some(error) = &reply.error {
            all_problems.push(resolve::import_problem(library, error, &[]));
            continue;
        }
        for left_out in &reply.unreachable {
            let below = left_out
                .path
                .strip_prefix(&library.name)
                .unwrap_or(&left_out.path);
            let module = crate::naming::elixir_module_path(&library.elixir_module, below);
            let instead = left_out
                .taken_by
                .as_ref()
                .map_or(String::new(), |other| format!(", which is `{other}`"));
            printer.warn(format!(
                "`all = true` skipped the {} symbol(s) of `{}`: their Elixir module `{module}` is taken{instead}; call them with `SnakeBridge.call/4`",
                left_out.symbols, left_out.path
            ));
        }
        let calls = crate::listing::calls(library, &reply.public);
        if calls.len() > MAX_LISTED_SYMBOLS {
            let mut problem = Problem::new(
                "too_many_symbols",
                format!(
                    "`{}` lists {} public symbols, more than the {MAX_LISTED_SYMBOLS} `all = true` generates",
                    library.name,
                    calls.len()
                ),
            )
            .help("drop `all = true` and list what the project calls in `include`, or `exclude` what it never will");
            problem.file = Some(crate::config::FILE_NAME.into());
            problem.line = Some(library.line);
            problem.column = Some(library.column);
            all_problems.push(problem);
            continue;
        }
        let homeless: usize = reply.unreachable.iter().map(|u| u.symbols).sum();
        printer.status(format!(
            "Listed {} public symbols of `{}` (`all = true`)",
            calls.len() + homeless,
            library.name
        ));
        listed.insert(library.name.clone(), calls);
    }
    if all_problems.is_empty() {
        Ok(listed)
    } else {
        Err(problems(
            "listing public symbols failed; nothing was written",
            all_problems,
        ))
    }
}

/// Renders every library from `manifest` and writes files, manifest and lock.
pub fn finish(
    project: &Project,
    manifest: &Manifest,
    old_lock: Option<&Lock>,
    resolved: &Resolved,
    options: &Options,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let pipeline = project.pipeline(options.emitter.as_deref())?;
    if let Some(warning) = unexpressed(&project.config, manifest, &pipeline) {
        project.printer.warn(warning);
    }
    let lock = next_lock(&project.config, manifest, old_lock, resolved, &pipeline);
    let mut ir = Vec::new();
    let files = render_all(
        manifest,
        Some(&lock),
        &pipeline,
        options.dump_ir.as_ref().map(|_| &mut ir),
    )?;
    outcome.files = files.len();
    write_outputs(project, &files, manifest, &lock, outcome)?;
    if let Some(dir) = &options.dump_ir {
        let dir = Directory::create(dir, "")?;
        for file in &ir {
            dir.write_if_changed(&file.path, file.contents.as_bytes())?;
        }
    }
    if !resolved.is_empty() {
        introspect::settle(&project.root, &project.config, &project.settings, &lock);
    }
    Ok(())
}

/// What an emitter on contract 0.1.0 leaves out that the project has: setters and stream
/// wrappers, which its contract cannot express (see `since_v0_1_0::adapter`).
fn unexpressed(config: &Config, manifest: &Manifest, pipeline: &Pipeline) -> Option<String> {
    use crate::plugin_host::wit::since_v0_1_0;
    if pipeline.emitter.contract != since_v0_1_0::VERSION {
        return None;
    }
    let mut missing = Vec::new();
    for (name, record) in &manifest.libraries {
        let Some(library) = config.libraries.get(name) else {
            continue;
        };
        for symbol in record.symbols.values() {
            if symbol.kind == crate::model::SymbolKind::Setter {
                missing.push(format!("`{}/2`", symbol.id()));
            } else if library.streams(symbol) {
                missing.push(format!("`{}{}`", symbol.id(), crate::naming::STREAM_SUFFIX));
            }
        }
    }
    (!missing.is_empty()).then(|| {
        format!(
            "the emitter `{}` speaks plugin contract {}, which has no setters or stream wrappers, so {} {} not generated; rebuild it with snakebridge-pdk 0.2",
            pipeline.emitter.name,
            since_v0_1_0::VERSION,
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        )
    })
}

fn problems(summary: &str, problems: Vec<Problem>) -> Error {
    Error::Problems(Problems {
        summary: format!("{summary} ({} problem(s))", problems.len()),
        problems,
    })
}

/// The lock this run leaves: plugin hashes from the pipeline, library entries from this run's
/// introspection or else the previous lock.
fn next_lock(
    config: &Config,
    manifest: &Manifest,
    old: Option<&Lock>,
    resolved: &Resolved,
    pipeline: &Pipeline,
) -> Lock {
    let mut libraries = BTreeMap::new();
    for name in manifest.libraries.keys() {
        let entry = match (resolved.get(name), old.and_then(|l| l.libraries.get(name))) {
            (Some((_, entry)), _) => entry.clone(),
            (None, Some(entry)) => entry.clone(),
            (None, None) => LibraryEntry {
                requested: config
                    .libraries
                    .get(name)
                    .map(crate::config::Library::requested)
                    .unwrap_or_default(),
                resolved: "unknown".into(),
                packages: vec![],
            },
        };
        libraries.insert(name.clone(), entry);
    }
    let python = resolved
        .values()
        .next()
        .map(|(python, _)| python.clone())
        .or_else(|| old.and_then(|l| l.python.clone()));
    let plugins = pipeline
        .plugins()
        .iter()
        .map(|plugin| {
            (
                plugin.stage.name().to_string(),
                PluginEntry {
                    source: plugin.name.clone(),
                    blake3: plugin.blake3.clone(),
                },
            )
        })
        .collect();
    Lock {
        schema: Lock::SCHEMA,
        generator: Lock::generator(),
        contract: plugin_host::wit::latest::VERSION.to_string(),
        plugins,
        python,
        packages_hash: Lock::packages_hash(&libraries),
        libraries,
    }
}

/// Files one library may render: more is a plugin gone wrong, refused before anything is
/// written.
pub const MAX_FILES_PER_LIBRARY: usize = 10_000;

/// Every library's files, rendered from the manifest and lock alone, checked: canonical
/// paths inside the output directory, each rendered once, each starting with the generated
/// marker, at most [`MAX_FILES_PER_LIBRARY`] per library.
pub fn render_all(
    manifest: &Manifest,
    lock: Option<&Lock>,
    pipeline: &Pipeline,
    mut ir: Option<&mut Vec<File>>,
) -> Result<Vec<File>, Error> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (name, record) in &manifest.libraries {
        let version = lock
            .and_then(|lock| lock.libraries.get(name))
            .map_or("unknown", |entry| entry.resolved.as_str());
        let mut stages = Vec::new();
        let traced = ir.is_some().then_some(&mut stages);
        let rendered = pipeline.render_traced(name, record, version, traced)?;
        if let Some(ir) = ir.as_deref_mut() {
            ir.extend(stages.into_iter().map(|file| File {
                path: format!("{name}/{}", file.path),
                contents: file.contents,
            }));
        }
        let plugin = &pipeline.emitter.name;
        if rendered.len() > MAX_FILES_PER_LIBRARY {
            return Err(Error::TooManyFiles {
                plugin: plugin.clone(),
                library: name.clone(),
                count: rendered.len(),
            });
        }
        for file in rendered {
            crate::write::check_plugin_path(&file.path).map_err(|source| Error::PluginPath {
                plugin: plugin.clone(),
                library: name.clone(),
                source,
            })?;
            if !file.contents.starts_with(crate::output::GENERATED_MARKER) {
                return Err(Error::Unmarked {
                    plugin: plugin.clone(),
                    library: name.clone(),
                    path: file.path,
                });
            }
            if let Some(other) = seen.insert(file.path.clone(), name.clone()) {
                return Err(Error::DuplicateFile {
                    path: file.path,
                    libraries: if other == *name {
                        format!("`{name}` renders it twice")
                    } else {
                        format!("`{other}` and `{name}` both render it")
                    },
                });
            }
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Puts the rendered files, manifest and lock in place as one switch. A file in the output
/// directory that snakebridge did not write stops the run before anything changes.
fn write_outputs(
    project: &Project,
    files: &[File],
    manifest: &Manifest,
    lock: &Lock,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let output = &project.config.output;
    let survey = crate::output::survey(&project.root, output, files)?;
    if !survey.foreign.is_empty() {
        return Err(crate::output::Error::Foreign {
            paths: survey
                .foreign
                .iter()
                .map(|path| format!("{output}/{path}"))
                .collect(),
        }
        .into());
    }
    let mut changes = crate::output::Changes::default();
    let mut changed: Vec<&str> = survey
        .changed
        .iter()
        .map(|(path, _)| path.as_str())
        .collect();
    changed.extend(survey.missing.iter().map(String::as_str));
    changed.sort_unstable();
    for file in files {
        if changed.binary_search(&file.path.as_str()).is_ok() {
            let path = format!("{output}/{}", file.path);
            outcome.written.push(path.clone());
            changes.put.push((path, file.contents.clone().into_bytes()));
        }
    }
    for stale in &survey.stale {
        let path = format!("{output}/{stale}");
        outcome.removed.push(path.clone());
        changes.delete.push(path);
    }
    let metadata = |name: &str| format!("{}/{name}", crate::project::METADATA_DIR);
    let manifest_text = manifest::render(manifest);
    if fs_err::read(project.root.join(metadata("manifest.json")))
        .ok()
        .as_deref()
        != Some(manifest_text.as_bytes())
    {
        outcome.manifest_written = true;
        changes
            .put
            .push((metadata("manifest.json"), manifest_text.into_bytes()));
    }
    let lock_text = lock::render(lock);
    if fs_err::read(project.root.join(lock::PATH)).ok().as_deref() != Some(lock_text.as_bytes()) {
        outcome.lock_written = true;
        changes
            .put
            .push((lock::PATH.to_string(), lock_text.into_bytes()));
    }
    crate::output::switch(&project.root, output, &changes)?;
    Ok(())
}
