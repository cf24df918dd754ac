//! `snakebridge init`: a commented `snakebridge.toml`, and git settings for generated files.

use std::path::Path;

use crate::Error;
use crate::write::Directory;

const TEMPLATE: &str = r#"# snakebridge: Elixir bindings for the Python symbols this project calls.
# `snakebridge generate` scans the sources below, introspects only what they call, and writes
# wrappers to `output`; commit them with `.snakebridge/manifest.json` and `snakebridge.lock`.

[project]
# Directories scanned for calls (`.ex` and `.exs`).
paths = ["lib", "test"]
# Path prefixes under them not scanned, such as large generated files.
# exclude = ["lib/generated_tables.ex"]
# Where generated wrappers go.
output = "lib/snakebridge_generated"

[python]
# Use this interpreter instead of a uv-managed environment in `.snakebridge/venv`.
# executable = "python3"
# Seconds one library's introspection may take.
timeout = 120

[runtime]
# The Python worker pool `snakebridge runtime serve` runs for `SnakeBridge.Runtime`.
workers = 2
# Seconds a caller waits; a call can set its own with `__runtime__: [timeout: ms]`.
timeout = 60
# Seconds a call may run in Python at all, and the limits on values and objects.
# hard_timeout = 300
# max_message_bytes = 67108864
# max_depth = 256
# max_refs = 100000
# max_session_refs = 25000
# heartbeat = 5
# heartbeat_misses = 3
# Modules each worker imports before it takes calls, so first calls are fast.
# preload = ["numpy"]

[libraries]
# Each key is a Python module. A version requirement may be Elixir's (`~> 2.0`) or PEP 440's.
# math = { stdlib = true }
# numpy = { version = "~> 2.0" }
# statistics = { stdlib = true, module = "Stats" }   # choose the Elixir module name
# mylib = { path = "priv/python" }                   # the project's own Python code
# Generate symbols no source calls yet, or never generate some:
# numpy = { version = "~> 2.0", include = ["std", "linalg.norm"], exclude = ["save"] }
# Generate every public symbol, for code that calls a library dynamically:
# sympy = { version = "~> 1.13", all = true }
"#;

const GITIGNORE: &[&str] = &[
    "/.snakebridge/scan_cache.json",
    "/.snakebridge/ledger.json",
    "/.snakebridge/venv/",
    "/.snakebridge/run.lock",
    // What a run stages while it switches files in; a killed run's are removed by the next.
    "/.snakebridge/switch.json",
    "*.snakebridge-tmp",
];

/// Writes the template unless a config exists (or `force`), and adds git settings once.
/// Returns the files it changed.
pub fn run(root: &Path, force: bool) -> Result<Vec<String>, Error> {
    let dir = Directory::create(root, "")?;
    let mut changed = Vec::new();
    if force || dir.read(crate::config::FILE_NAME)?.is_none() {
        if dir.write_if_changed(crate::config::FILE_NAME, TEMPLATE.as_bytes())? {
            changed.push(crate::config::FILE_NAME.to_string());
        }
    } else {
        return Err(Error::ConfigExists);
    }
    let attributes = [format!(
        "/{}/** linguist-generated=true",
        crate::config::DEFAULT_OUTPUT
    )];
    for (file, lines) in [
        (
            ".gitignore",
            GITIGNORE.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ),
        (".gitattributes", attributes.to_vec()),
    ] {
        let existing = String::from_utf8_lossy(&dir.read(file)?.unwrap_or_default()).into_owned();
        let missing: Vec<&String> = lines
            .iter()
            .filter(|line| !existing.lines().any(|l| l.trim() == line.as_str()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let mut text = existing.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# snakebridge\n");
        for line in missing {
            text.push_str(line);
            text.push('\n');
        }
        dir.write_if_changed(file, text.as_bytes())?;
        changed.push(file.to_string());
    }
    Ok(changed)
}
