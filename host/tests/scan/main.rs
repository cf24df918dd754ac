//! The scanner against golden snapshots and against the real Elixir compiler.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on any error"
)]

use std::path::{Path, PathBuf};

use snakebridge::scan::scan_source;

const MODULES: &[&str] = &["Numpy", "Math"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/scan")
}

fn modules() -> Vec<String> {
    MODULES.iter().map(|m| m.to_string()).collect()
}

/// Every fixture's calls, one per line, as a snapshot.
#[test]
fn fixtures_snapshot() {
    insta::glob!("../../../tests/fixtures/scan", "*.ex", |path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "stubs.ex" {
            return;
        }
        let source = std::fs::read_to_string(path).unwrap();
        let (calls, warning) = scan_source(&name, &source, &modules());
        let mut out = String::new();
        for call in &calls {
            out += &format!(
                "{:<24} {:>3}:{:<3} {:?}\n",
                call.mfa(),
                call.line,
                call.column,
                call.kind
            );
        }
        if let Some(warning) = warning {
            out += &format!(
                "warning {}:{}: {}\n",
                warning.line, warning.column, warning.message
            );
        }
        insta::assert_snapshot!(out);
    });
}

#[test]
fn syntax_errors_warn_and_keep_recovered_calls() {
    let source = std::fs::read_to_string(fixtures().join("syntax_error.ex")).unwrap();
    let (calls, warning) = scan_source("syntax_error.ex", &source, &modules());
    let warning = warning.expect("a warning");
    assert_eq!(warning.file, "syntax_error.ex");
    assert!(warning.line >= 4, "{warning:?}");
    assert!(calls.iter().any(|c| c.function == "mean"), "{calls:?}");
}

/// Calls inside `quote` are reported: macro output calls them in the caller.
#[test]
fn quote_bodies_count() {
    let (calls, _) = scan_source(
        "q.ex",
        "defmodule Q do\n  defmacro m, do: quote(do: Numpy.mean(1))\nend\n",
        &modules(),
    );
    assert_eq!(calls.len(), 1);
}

/// The scanner finds exactly the calls the Elixir compiler's tracer reports on the fixtures,
/// except literal `apply/3`, which the compiler does not trace.
#[cfg(feature = "test-elixir")]
#[test]
fn agrees_with_the_compiler_tracer() {
    use std::collections::BTreeSet;

    use snakebridge::model::CallKind;

    let dir = fixtures();
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ex") && name != "syntax_error.ex")
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scan/trace_calls.exs");
    let output = std::process::Command::new("elixir")
        .arg(&script)
        .arg(&dir)
        .arg(MODULES.join(","))
        .args(&files)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("elixir runs");
    assert!(
        output.status.success(),
        "tracer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let traced: BTreeSet<(String, u32, String, String, u32)> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].parse().unwrap(),
            )
        })
        .filter(|(file, ..)| file != "stubs.ex")
        .collect();
    let mut scanned = BTreeSet::new();
    for file in files.iter().filter(|f| *f != "stubs.ex") {
        let source = std::fs::read_to_string(dir.join(file)).unwrap();
        let (calls, _) = scan_source(file, &source, &modules());
        for call in calls.into_iter().filter(|c| c.kind != CallKind::Apply) {
            scanned.insert((call.file, call.line, call.module, call.function, call.arity));
        }
    }
    let missed: Vec<_> = traced.difference(&scanned).collect();
    let extra: Vec<_> = scanned.difference(&traced).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed by the scanner: {missed:#?}\nnot traced: {extra:#?}"
    );
    assert!(
        traced.len() > 40,
        "the fixtures should exercise many calls, traced {}",
        traced.len()
    );
}
