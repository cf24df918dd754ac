//! snakebridge: typed, documented Elixir bindings for the Python symbols a project uses.
//!
//! The pipeline, one module per stage: [`scan`] finds calls in Elixir source, [`plan`]
//! compares them with the [`manifest`], [`introspect`] asks Python about what is new and
//! [`resolve`] turns the answers into [`model`] records, [`stages`] runs the typespec, doc and
//! emitter plugins through the [`plugin_host`], and [`write`] puts the result on disk along with
//! the [`lock`]. Commands live in [`commands`].

#![deny(unsafe_code)]

pub mod arity;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostics;
pub mod env_vars;
pub mod introspect;
pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod plan;
pub mod plugin_host;
pub mod printer;
pub mod project;
pub mod resolve;
pub mod scan;
pub mod stages;
pub mod write;

use std::process::ExitCode;

use clap::Parser;

/// Every error a command can end with.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] config::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] manifest::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] lock::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Introspect(#[from] introspect::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(#[from] plugin_host::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] write::Error),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Problems(#[from] diagnostics::Problems),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ledger(#[from] ledger::Error),

    #[error("no configured library is called `{name}`")]
    #[diagnostic(
        code(snakebridge::unknown_library),
        help("the libraries are the keys of `[libraries]` in `snakebridge.toml`")
    )]
    UnknownLibrary { name: String },

    #[error(
        "`--emitter {value}` is neither `default` nor the emitter pinned in `snakebridge.toml`"
    )]
    #[diagnostic(
        code(snakebridge::unpinned_emitter),
        help(
            "pin it first: `[plugins] emitter = {{ path = \"{value}\", blake3 = \"…\" }}`; `b3sum` or `snakebridge plugin check` prints the hash"
        )
    )]
    UnpinnedEmitter { value: String },

    #[error("`{id}` is not a generated symbol")]
    #[diagnostic(
        code(snakebridge::unknown_symbol),
        help("`snakebridge doc --search NAME` finds symbols by name")
    )]
    UnknownSymbol { id: String },

    #[error("two libraries render the same file `{path}`")]
    #[diagnostic(code(snakebridge::duplicate_file))]
    DuplicateFile { path: String },

    #[error("`snakebridge.toml` already exists")]
    #[diagnostic(
        code(snakebridge::config_exists),
        help("edit it, or pass `--force` to replace it with the template")
    )]
    ConfigExists,

    #[error("cannot start the WebAssembly engine: {message}")]
    #[diagnostic(code(snakebridge::engine))]
    Engine { message: String },

    #[error("cannot start a plugin crate in `{}`: {reason}", dir.display())]
    #[diagnostic(
        code(snakebridge::plugin::new),
        help("name a new or empty directory; its name becomes the crate's")
    )]
    PluginNew {
        dir: std::path::PathBuf,
        reason: String,
    },

    #[error("cannot build the plugin crate in `{}`: {message}", dir.display())]
    #[diagnostic(code(snakebridge::plugin::build))]
    PluginBuild {
        dir: std::path::PathBuf,
        message: String,
    },

    #[error("plugin `{name}` rendered `{differs}` differently from the same records")]
    #[diagnostic(
        code(snakebridge::plugin::nondeterministic),
        help(
            "a stage must be a pure function of its input: iterate in a fixed order (no hash-map order) and use nothing that varies between runs"
        )
    )]
    PluginNondeterministic { name: String, differs: String },

    #[error("the component exports none of the stage interfaces")]
    #[diagnostic(
        code(snakebridge::plugin::no_stage),
        help(
            "export the stage with the PDK's `export_emitter!`, `export_typespecs!` or `export_docs!`"
        )
    )]
    NoStage,

    #[error("the runtime failed: {message}")]
    #[diagnostic(code(snakebridge::runtime))]
    Runtime { message: String },
}

/// Exit codes, documented in the README.
pub mod exit {
    /// A problem in the project or its environment, reported with its location and fix.
    pub const ERROR: u8 = 1;
    /// `verify` (or strict `generate`) found the committed bindings out of date.
    pub const DRIFT: u8 = 3;
}

/// How a command ended when it did not fail outright.
enum Outcome {
    Done,
    /// Verification found drift: the report is printed, the exit code says so.
    Drift,
    /// A report that found problems, already printed.
    Failed,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = printer::Printer {
        format: cli.format,
        quiet: cli.quiet,
    };
    match run(cli, printer) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Drift) => ExitCode::from(exit::DRIFT),
        Ok(Outcome::Failed) => ExitCode::from(exit::ERROR),
        Err(error) => {
            report(&error, printer);
            ExitCode::from(exit::ERROR)
        }
    }
}

fn verify(project: &project::Project, emitter: Option<&str>) -> Result<Outcome, Error> {
    let report = commands::verify::run(project, emitter)?;
    commands::verify::report(project, &report);
    Ok(if report.ok() {
        Outcome::Done
    } else {
        Outcome::Drift
    })
}

/// `{"written": [...]}` for machines; people saw each file as a status line.
fn report_written(printer: printer::Printer, written: &[impl serde::Serialize]) {
    printer.data(String::new, || serde_json::json!({ "written": written }));
}

fn plugin(
    root: &std::path::Path,
    command: cli::PluginCommand,
    printer: printer::Printer,
) -> Result<Outcome, Error> {
    use commands::plugin;
    match command {
        cli::PluginCommand::New { dir, stage, pdk } => {
            let written = plugin::new(&dir, stage.into(), pdk.as_deref())?;
            for file in &written {
                printer.status(format!("wrote {}", file.display()));
            }
            report_written(printer, &written);
            printer.status(format!(
                "build it with `snakebridge plugin build {}`",
                dir.display()
            ));
        }
        cli::PluginCommand::Build { dir, out } => {
            printer.status(format!("building {}", dir.display()));
            let built = plugin::build(&dir, out.as_deref())?;
            printer.status(format!("wrote {}", built.display()));
            plugin::report_check(printer, &plugin::check(root, &built, None)?);
        }
        cli::PluginCommand::Check { file, stage } => {
            plugin::report_check(printer, &plugin::check(root, &file, stage.map(Into::into))?);
        }
    }
    Ok(Outcome::Done)
}

fn run(cli: cli::Cli, printer: printer::Printer) -> Result<Outcome, Error> {
    let root = std::path::absolute(&cli.project).unwrap_or(cli.project.clone());
    match cli.command {
        cli::Command::Init { force } => {
            let written = commands::init::run(&root, force)?;
            for file in &written {
                printer.status(format!("wrote {file}"));
            }
            report_written(printer, &written);
            Ok(Outcome::Done)
        }
        cli::Command::Scan => {
            let project = project::Project::load(&root, printer)?;
            commands::scan::run(&project);
            Ok(Outcome::Done)
        }
        cli::Command::Verify { emitter } => {
            verify(&project::Project::load(&root, printer)?, emitter.as_deref())
        }
        cli::Command::Analyze => {
            let project = project::Project::load(&root, printer)?;
            commands::analyze::report(&project, &commands::analyze::run(&project)?);
            Ok(Outcome::Done)
        }
        cli::Command::Prune {
            dry_run,
            library,
            ignore_tests,
            symbols,
        } => {
            let project = project::Project::load(&root, printer)?;
            let options = commands::prune::Options {
                dry_run,
                library,
                ignore_tests,
                symbols,
            };
            let outcome = commands::prune::run(&project, &options)?;
            commands::prune::report(&project, &options, &outcome);
            Ok(Outcome::Done)
        }
        cli::Command::Ledger => {
            let project = project::Project::load(&root, printer)?;
            commands::promote::report_list(&project, &commands::promote::list(&project)?);
            Ok(Outcome::Done)
        }
        cli::Command::Promote { all, symbols } => {
            let project = project::Project::load(&root, printer)?;
            let outcome = commands::promote::promote(&project, all, &symbols)?;
            commands::generate::report(&project, &outcome);
            Ok(Outcome::Done)
        }
        cli::Command::Doc { symbol, search } => {
            let project = project::Project::load(&root, printer)?;
            match (symbol, search) {
                (_, Some(query)) => commands::doc::report_search(
                    &project,
                    &commands::doc::search(&project, &query, 10)?,
                ),
                (Some(id), None) => {
                    commands::doc::report_show(&project, &id, &commands::doc::show(&project, &id)?)
                }
                (None, None) => {}
            }
            Ok(Outcome::Done)
        }
        cli::Command::Plugin { command } => plugin(&root, command, printer),
        cli::Command::Runtime {
            command: cli::RuntimeCommand::Serve,
        } => {
            commands::runtime::serve(&project::Project::load(&root, printer)?)?;
            Ok(Outcome::Done)
        }
        cli::Command::Doctor => {
            let project = project::Project::load(&root, printer)?;
            let checks = commands::doctor::run(&project);
            commands::doctor::report(&project, &checks);
            let failed = checks
                .iter()
                .any(|c| c.status == commands::doctor::Status::Problem);
            Ok(if failed {
                Outcome::Failed
            } else {
                Outcome::Done
            })
        }
        cli::Command::Generate {
            emitter,
            strict,
            force,
            library,
            dump_ir,
        } => {
            if env_vars::flag(env_vars::SKIP) {
                printer.status(format!("{} is set: skipping generation", env_vars::SKIP));
                return Ok(Outcome::Done);
            }
            let project = project::Project::load(&root, printer)?;
            // Strict generation writes nothing and starts no Python: it is verification.
            if strict || project.config.strict || env_vars::flag(env_vars::STRICT) {
                if dump_ir.is_some() {
                    printer.warn("strict mode only verifies: `--dump-ir` writes nothing");
                }
                return verify(&project, emitter.as_deref());
            }
            let options = commands::generate::Options {
                emitter,
                force,
                library,
                dump_ir,
            };
            let outcome = commands::generate::run(&project, &options)?;
            commands::generate::report(&project, &outcome);
            Ok(Outcome::Done)
        }
    }
}

/// Renders an error for people (miette) or as JSON.
fn report(error: &Error, printer: printer::Printer) {
    use std::io::Write;
    match printer.format {
        printer::Format::Human => {
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            let mut out = String::new();
            let _ = handler.render_report(&mut out, error);
            let _ = write!(std::io::stderr(), "{out}");
        }
        printer::Format::Json => {
            let problems = match error {
                Error::Problems(problems) => {
                    serde_json::to_value(&problems.problems).unwrap_or_default()
                }
                other => serde_json::json!([{
                    "code": diagnostic_code(other),
                    "message": other.to_string(),
                    "help": miette::Diagnostic::help(other).map(|h| h.to_string()),
                }]),
            };
            let document = serde_json::json!({ "error": error.to_string(), "problems": problems });
            let _ = writeln!(std::io::stdout(), "{document}");
        }
    }
}

fn diagnostic_code(error: &Error) -> String {
    miette::Diagnostic::code(error)
        .map(|c| c.to_string())
        .unwrap_or_default()
}
