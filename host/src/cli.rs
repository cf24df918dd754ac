//! Command-line arguments: clap types only.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::printer::Format;

#[derive(Debug, Parser)]
#[command(
    name = "snakebridge",
    version,
    about = "Typed, documented Elixir bindings for the Python symbols a project uses"
)]
pub struct Cli {
    /// The project root, where `snakebridge.toml` is.
    #[arg(long, global = true, default_value = ".")]
    pub project: PathBuf,

    /// Output for people, or JSON on stdout for machines.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// No progress messages.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented `snakebridge.toml` and git settings for generated files.
    Init {
        /// Overwrite an existing `snakebridge.toml`.
        #[arg(long)]
        force: bool,
    },
    /// List the calls into configured libraries.
    Scan,
    /// Generate wrappers for every called Python symbol that has none yet.
    Generate {
        /// The emitter: `default`, or the path of the emitter pinned in `snakebridge.toml`.
        #[arg(long)]
        emitter: Option<String>,
        /// Never start Python; fail if anything needs generating (also `SNAKEBRIDGE_STRICT=1`).
        #[arg(long)]
        strict: bool,
        /// Introspect every symbol again.
        #[arg(long)]
        force: bool,
        /// Only this library.
        #[arg(long)]
        library: Option<String>,
    },
}
