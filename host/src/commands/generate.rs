//! `snakebridge generate`: runs the [`pipeline`](crate::pipeline) and says what it did.

use serde_json::json;

pub use crate::pipeline::{Options, Outcome};
use crate::project::Project;

/// Prints the outcome.
pub fn report(project: &Project, outcome: &Outcome) {
    let printer = project.printer;
    printer.data(
        || {
            let mut out = String::new();
            for path in &outcome.written {
                out += &format!("wrote {path}\n");
            }
            for path in &outcome.removed {
                out += &format!("removed {path}\n");
            }
            if outcome.written.is_empty() && outcome.removed.is_empty() && !outcome.manifest_written
            {
                out += &format!("{} generated file(s) up to date\n", outcome.files);
            }
            out
        },
        || {
            json!({
                "written": outcome.written,
                "removed": outcome.removed,
                "files": outcome.files,
                "introspected": outcome.introspected,
                "dropped": outcome.dropped,
                "manifest_written": outcome.manifest_written,
                "lock_written": outcome.lock_written,
                "warnings": outcome.warnings,
            })
        },
    );
}
