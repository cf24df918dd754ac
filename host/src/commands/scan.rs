//! `snakebridge scan`: the calls into configured libraries, as the generator sees them.

use serde_json::json;

use crate::project::Project;

pub fn run(project: &Project) {
    let scan = project.scan();
    for warning in &scan.warnings {
        project.printer.warn(format!(
            "{}:{}:{}: {}",
            warning.file, warning.line, warning.column, warning.message
        ));
    }
    project.printer.data(
        || {
            let mut out = String::new();
            for call in &scan.calls {
                out += &format!(
                    "{:<40} {}  ({:?})\n",
                    call.mfa(),
                    call.location(),
                    call.kind
                );
            }
            out += &format!("{} call(s) in {} file(s)\n", scan.calls.len(), scan.files);
            out
        },
        || json!({ "calls": scan.calls, "warnings": scan.warnings }),
    );
}
