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

/// A whole-project scan of `root/lib`, as `generate` runs it (no cache).
fn scan_lib(root: &Path) -> snakebridge::scan::Scan {
    snakebridge::scan::scan(
        &snakebridge::scan::Request {
            root,
            paths: &["lib".to_string()],
            exclude: &[],
            modules: modules(),
        },
        None,
    )
}

/// Source nested `depth` deep in each way the report found overflowing the stack.
fn nested(kind: &str, depth: usize) -> String {
    let (open, inner, close) = match kind {
        "maps" => ("%{a: ", "Numpy.mean(x)", "}"),
        "do" => ("if x do\n", "Numpy.mean(x)\n", "end\n"),
        "fn" => ("fn -> ", "Numpy.mean(x)", " end"),
        "calls" => ("Numpy.add(", "x", ")"),
        _ => unreachable!(),
    };
    format!(
        "defmodule Deep do\n  def f(x) do\n    Numpy.std(x)\n{}{inner}{}\n  end\nend\n",
        open.repeat(depth),
        close.repeat(depth)
    )
}

/// See #11: about 1,200 nested maps, 1,600 do-blocks, 2,000 `fn` or 3,000 calls overflowed the
/// stack and took the whole scan down.
#[test]
fn issue_11_deep_nesting_never_crashes_the_scan() {
    for kind in ["maps", "do", "fn", "calls"] {
        for depth in [1_000, 10_000] {
            let (calls, warning) = scan_source("deep.ex", &nested(kind, depth), &modules());
            assert!(
                calls.iter().any(|c| c.function == "std"),
                "{kind} {depth}: the calls outside are reported"
            );
            match warning {
                // As deep as the report's crashes, everything is walked.
                None => assert!(calls.len() > 1, "{kind} {depth}: {calls:?}"),
                Some(warning) => {
                    assert!(depth > 1_000, "{kind} {depth}: {warning:?}");
                    assert!(warning.message.contains("nested more than"), "{warning:?}");
                    assert!(warning.line >= 4, "{warning:?}");
                }
            }
        }
    }
    // In a project, alongside other files: every other file's calls are reported.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    for (n, kind) in ["maps", "do", "fn", "calls"].iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("lib/deep{n}.ex")),
            nested(kind, 10_000),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("lib/ok.ex"),
        "defmodule Ok do\n  def f(x), do: Math.sqrt(x)\nend\n",
    )
    .unwrap();
    let scan = scan_lib(dir.path());
    assert!(
        scan.calls
            .iter()
            .any(|c| c.file == "lib/ok.ex" && c.function == "sqrt")
    );
    assert!(
        scan.warnings
            .iter()
            .any(|w| w.message.contains("nested more than"))
    );
}

/// See #11: one long line of calls took time quadratic in its length (columns were counted
/// from the line's start for every call); columns are still characters, not bytes.
#[test]
fn issue_11_a_long_line_reports_every_call_at_its_column() {
    let unit = "Numpy.add(é, b); ";
    let count = 20_000;
    let source = format!(
        "defmodule Long do\n  def f(é, b) do\n{}\n  end\nend\n",
        unit.repeat(count)
    );
    let (calls, _) = scan_source("long.ex", &source, &modules());
    assert_eq!(calls.len(), count);
    let width = unit.chars().count() as u32;
    for (n, call) in calls.iter().enumerate() {
        assert_eq!((call.line, call.column), (3, 7 + n as u32 * width));
    }
}

/// See #11: a function defined inside a `describe` block was not seen as local, and its calls
/// were attributed to a broadly imported library.
#[test]
fn issue_11_functions_defined_in_describe_blocks_are_local() {
    let source = "defmodule T do\n  use ExUnit.Case\n  import Numpy\n\n  describe \"x\" do\n    defp helper(x), do: x\n    test \"t\", do: helper(1) && mean(1)\n  end\nend\n";
    let (calls, _) = scan_source("t.exs", source, &modules());
    let found: Vec<String> = calls
        .iter()
        .map(|c| format!("{}.{}/{}", c.module, c.function, c.arity))
        .collect();
    assert_eq!(found, ["Numpy.mean/1"]);
}

/// See #11: a file that names no configured module cannot call one, and is not parsed; what a
/// project scan finds is still exactly what scanning each file alone finds.
#[test]
fn issue_11_files_that_cannot_call_a_library_are_skipped_soundly() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut expected = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ex"))
        .collect();
    names.sort();
    for name in &names {
        let source = std::fs::read_to_string(fixtures().join(name)).unwrap();
        std::fs::write(lib.join(name), &source).unwrap();
        let (calls, _) = scan_source(&format!("lib/{name}"), &source, &modules());
        expected.extend(calls);
    }
    for n in 0..20 {
        std::fs::write(
            lib.join(format!("unrelated{n}.ex")),
            "defmodule Unrelated do\n  def f(x), do: Enum.map(x, & &1)\nend\n",
        )
        .unwrap();
    }
    let scan = scan_lib(dir.path());
    expected.sort();
    assert_eq!(scan.calls, expected);
    assert_eq!(scan.files, names.len() + 20);
    assert!(scan.parsed <= names.len(), "{} parsed", scan.parsed);
}

/// See #9 (report #19, #28): a 50 MB source was scanned for half a minute and 2 GB without a
/// word, and invalid UTF-8 without a warning. Both are said, with the file and the place; the
/// calls are still found.
#[test]
fn issue_9_a_huge_or_non_utf8_source_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    let filler = format!("# {}\n", "x".repeat(99));
    let big = format!(
        "defmodule Big do\n  def f(x), do: Numpy.mean(x)\nend\n{}",
        filler.repeat(snakebridge::scan::LARGE_FILE_BYTES / filler.len() + 1)
    );
    std::fs::write(lib.join("big.ex"), big).unwrap();
    std::fs::write(
        lib.join("latin1.ex"),
        b"defmodule L do\n  # caf\xe9\n  def f(x), do: Numpy.sum(x)\nend\n",
    )
    .unwrap();
    std::fs::write(lib.join("small.ex"), "defmodule S, do: def f(x), do: x\n").unwrap();
    let scan = scan_lib(dir.path());
    let found: Vec<_> = scan
        .calls
        .iter()
        .map(|c| (c.file.as_str(), c.function.as_str()))
        .collect();
    assert_eq!(found, [("lib/big.ex", "mean"), ("lib/latin1.ex", "sum")]);
    let warnings: Vec<_> = scan
        .warnings
        .iter()
        .map(|w| (w.file.as_str(), w.line, w.column))
        .collect();
    assert_eq!(warnings, [("lib/big.ex", 1, 1), ("lib/latin1.ex", 2, 8)]);
    assert!(
        scan.warnings[0].message.contains("MB") && scan.warnings[0].message.contains("exclude"),
        "{}",
        scan.warnings[0].message
    );
    assert!(scan.warnings[1].message.contains("UTF-8"));
    // From the cache, without reading the text again, the same warnings.
    let cache = dir.path().join("cache.json");
    let request = snakebridge::scan::Request {
        root: dir.path(),
        paths: &["lib".to_string()],
        exclude: &[],
        modules: modules(),
    };
    let cold = snakebridge::scan::scan(&request, Some(&cache));
    let warm = snakebridge::scan::scan(&request, Some(&cache));
    assert_eq!((cold.parsed, warm.parsed), (2, 0));
    assert_eq!(warm.warnings, scan.warnings);
}
