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
}

impl Error {
    /// The documented exit code: 1 for problems in the project or its environment.
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = printer::Printer {
        format: cli.format,
        quiet: cli.quiet,
    };
    match run(cli, printer) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, printer);
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: cli::Cli, printer: printer::Printer) -> Result<(), Error> {
    let root = std::path::absolute(&cli.project).unwrap_or(cli.project.clone());
    match cli.command {
        cli::Command::Init { force } => {
            for file in commands::init::run(&root, force)? {
                printer.status(format!("wrote {file}"));
            }
            Ok(())
        }
        cli::Command::Scan => {
            let project = project::Project::load(&root, printer)?;
            commands::scan::run(&project);
            Ok(())
        }
        cli::Command::Generate {
            emitter,
            strict,
            force,
            library,
        } => {
            if env_vars::flag(env_vars::SKIP) {
                printer.status(format!("{} is set: skipping generation", env_vars::SKIP));
                return Ok(());
            }
            let project = project::Project::load(&root, printer)?;
            let options = commands::generate::Options {
                emitter,
                strict,
                force,
                library,
            };
            let outcome = commands::generate::run(&project, &options)?;
            commands::generate::report(&project, &outcome);
            Ok(())
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
                other => {
                    serde_json::json!([{ "code": diagnostic_code(other), "message": other.to_string(),
                    "help": miette::Diagnostic::help(other).map(|h| h.to_string()) }])
                }
            };
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::json!({ "error": error.to_string(), "problems": problems })
            );
        }
    }
}

fn diagnostic_code(error: &Error) -> String {
    miette::Diagnostic::code(error)
        .map(|c| c.to_string())
        .unwrap_or_default()
}
