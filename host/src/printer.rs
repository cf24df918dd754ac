//! Where command output goes: data on stdout, everything else on stderr, and nothing but JSON
//! on stdout with `--format json`.

use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
}

impl Printer {
    /// Progress and results for people; silent with `--quiet` or `--format json`.
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet && self.format == Format::Human {
            let _ = writeln!(std::io::stderr(), "{}", message.as_ref());
        }
    }

    /// A warning, shown in both formats (JSON consumers read stdout only).
    pub fn warn(&self, message: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr(), "warning: {}", message.as_ref());
    }

    /// The command's result: text for people, or a JSON document.
    pub fn data(&self, human: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = match self.format {
            Format::Human => write!(out, "{}", human()),
            Format::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json()).unwrap_or_default()
            ),
        };
    }
}
