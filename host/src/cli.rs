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
        /// Also write each plugin stage's input and output, as the plugins see them, to
        /// DIR/<library>/<stage>.{input,output}.json.
        #[arg(long, value_name = "DIR", conflicts_with = "strict")]
        dump_ir: Option<std::path::PathBuf>,
    },
    /// Prove, without Python, that the committed bindings are exactly what the source,
    /// manifest, lock and pinned plugins produce.
    Verify {
        /// The emitter: `default`, or the path of the emitter pinned in `snakebridge.toml`.
        #[arg(long)]
        emitter: Option<String>,
        /// Load compiled plugins from the user's cache instead of compiling the pinned
        /// `.wasm` (faster; trust the cache only on a machine you control).
        #[arg(long)]
        use_cache: bool,
    },
    /// List, per library, the generated symbols the source uses, where, and those it does not.
    Analyze,
    /// Remove generated symbols the source no longer uses.
    Prune {
        /// Show what would be removed, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this library.
        #[arg(long)]
        library: Option<String>,
        /// Calls from `test/` do not keep a symbol.
        #[arg(long)]
        ignore_tests: bool,
        /// Symbols to remove, such as `Numpy.std`; without any, every unused symbol.
        symbols: Vec<String>,
    },
    /// List the dynamic calls the runtime recorded in `.snakebridge/ledger.json`.
    Ledger {
        /// Forget these entries, by Python path (`builtins.repr`) or Elixir name.
        #[arg(long, value_name = "SYMBOL", num_args = 1..)]
        drop: Vec<String>,
    },
    /// Generate wrappers for dynamic calls from the ledger.
    Promote {
        /// Every call the manifest does not cover yet.
        #[arg(long, conflicts_with = "symbols")]
        all: bool,
        /// Calls to promote, by Python path (`numpy.fft.fft`) or Elixir name (`Numpy.Fft.fft`).
        #[arg(required_unless_present = "all")]
        symbols: Vec<String>,
    },
    /// Show a symbol's documentation from the manifest, or search symbols by name.
    Doc {
        /// A generated symbol, such as `Numpy.mean`.
        #[arg(required_unless_present = "search")]
        symbol: Option<String>,
        /// Rank symbols by how well their name matches.
        #[arg(long, conflicts_with = "symbol")]
        search: Option<String>,
    },
    /// Report the Python, uv, library versions, output directory and plugins snakebridge finds.
    Doctor,
    /// Start, build and try a stage plugin of your own.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// The run-time worker pool that generated modules call through.
    Runtime {
        #[command(subcommand)]
        command: RuntimeCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Serve the project's Python worker pool over an Erlang port on stdin/stdout;
    /// `SnakeBridge.Runtime` starts this.
    Serve,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a plugin crate for one stage, built on snakebridge-pdk, into DIR.
    New {
        dir: PathBuf,
        #[arg(long, value_enum)]
        stage: StageArg,
        /// Where snakebridge-pdk is (`plugins/pdk` in snakebridge's repository); by default the
        /// one this binary was built beside, if it is still there, else the published crate.
        #[arg(long, value_name = "PATH")]
        pdk: Option<PathBuf>,
    },
    /// Build the plugin crate in DIR into a component (`DIR/<name>.wasm`), then check it.
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to write the component.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Load a component as `generate` would, render sample records with it twice, and print
    /// its blake3 pin.
    Check {
        file: PathBuf,
        /// The stage to run it as; by default the one it exports.
        #[arg(long, value_enum)]
        stage: Option<StageArg>,
    },
}

/// A plugin stage, as named on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StageArg {
    Emitter,
    Typespecs,
    Docs,
}

impl From<StageArg> for crate::plugin_host::Stage {
    fn from(stage: StageArg) -> Self {
        match stage {
            StageArg::Emitter => Self::Emitter,
            StageArg::Typespecs => Self::Typespecs,
            StageArg::Docs => Self::Docs,
        }
    }
}
