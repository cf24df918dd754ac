//! The lifecycle without and with Python: `verify` in a CI-like environment with no Python on
//! `PATH`, and `analyze`, `prune`, `ledger`, `promote`, `doc` and `doctor`, each round trip
//! checked by `verify` afterwards.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any error")]

#[path = "../testutil.rs"]
mod testutil;

use testutil::{Output, TestProject, repo};

const CONFIG: &str = "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\nstatistics = { stdlib = true, module = \"Stats\" }\nnumpy = \"~> 2.0\"\n";
const SOURCE: &str = "defmodule App do\n  def f(xs), do: {Math.sqrt(2), Stats.median(xs), Numpy.mean(xs, axis: 0)}\nend\n";

fn generated_project() -> TestProject {
    let project = TestProject::new(CONFIG);
    project.write("lib/app.ex", SOURCE);
    project.run(&["generate"]).assert_success();
    project
}

/// `snakebridge ARGS` with a `PATH` holding no Python at all.
fn without_python(project: &TestProject, args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    project.run_with(args, &[("PATH", empty.path().to_str().unwrap())])
}

fn assert_drift(output: &Output, fragment: &str) {
    assert_eq!(
        output.code, 3,
        "verify must exit 3 on drift\n{}\n{}",
        output.stdout, output.stderr
    );
    assert!(
        output.stdout.contains(fragment),
        "missing {fragment:?} in:\n{}",
        output.stdout
    );
}

#[test]
fn ci_scenario_without_python() {
    let project = generated_project();
    let verified = without_python(&project, &["verify"]);
    verified.assert_success();
    assert!(
        verified
            .stdout
            .starts_with("verified: 3 file(s) and 3 call(s) match"),
        "{}",
        verified.stdout
    );

    // One edited byte in a generated file: fails with a diff.
    let path = "lib/snakebridge_generated/math.ex";
    let original = project.read(path);
    project.write(
        path,
        &original.replacen("Return the square root", "Return the square ROOT", 1),
    );
    let output = without_python(&project, &["verify"]);
    assert_drift(
        &output,
        "error[file_differs]: lib/snakebridge_generated/math.ex",
    );
    assert!(
        output.stdout.contains("-  Return the square ROOT of x.\n"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("+  Return the square root of x.\n"),
        "{}",
        output.stdout
    );
    project.write(path, &original);

    // A new call in the source: fails naming it and where it is.
    project.write(
        "lib/more.ex",
        "defmodule More do\n  def g(x), do: Math.floor(x)\nend\n",
    );
    let output = without_python(&project, &["verify"]);
    assert_drift(
        &output,
        "lib/more.ex:2:22: `Math.floor/1` has no generated wrapper",
    );
    assert!(
        output.stdout.contains("run `snakebridge generate`"),
        "{}",
        output.stdout
    );
    std::fs::remove_file(project.path("lib/more.ex")).unwrap();

    // Another stage plugin than the lock pins: fails naming it.
    let hostile = std::fs::read(repo().join("tests/fixtures/plugins/hostile.wasm")).unwrap();
    let hash = blake3::hash(&hostile).to_hex().to_string();
    std::fs::write(project.path("house.wasm"), hostile).unwrap();
    project.write(
        "snakebridge.toml",
        &format!("{CONFIG}[plugins]\nemitter = {{ path = \"house.wasm\", blake3 = \"{hash}\" }}\n"),
    );
    let output = without_python(&project, &["verify"]);
    assert_drift(&output, "the emitter plugin `");
    assert!(output.stdout.contains("house.wasm"), "{}", output.stdout);
    project.write("snakebridge.toml", CONFIG);

    // A stray file in the output directory.
    project.write(
        "lib/snakebridge_generated/extra.ex",
        "defmodule Extra do\nend\n",
    );
    assert_drift(
        &without_python(&project, &["verify"]),
        "`lib/snakebridge_generated/extra.ex` is in the output directory",
    );
    std::fs::remove_file(project.path("lib/snakebridge_generated/extra.ex")).unwrap();

    // Restored: passes again, also as strict generate and through the environment variable.
    without_python(&project, &["verify"]).assert_success();
    without_python(&project, &["generate", "--strict"]).assert_success();
    project
        .run_with(
            &["generate"],
            &[("SNAKEBRIDGE_STRICT", "1"), ("PATH", "/nonexistent")],
        )
        .assert_success();
}

#[test]
fn json_findings_are_the_same_as_data() {
    let project = generated_project();
    project.write(
        "lib/more.ex",
        "defmodule More do\n  def g(x), do: Math.floor(x)\nend\n",
    );
    let output = without_python(&project, &["verify", "--format", "json"]);
    assert_eq!(output.code, 3);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(value["ok"], false);
    let finding = &value["findings"][0];
    assert_eq!(finding["code"], "not_covered");
    assert_eq!(finding["file"], "lib/more.ex");
    assert_eq!(finding["line"], 2);
    assert_eq!(finding["symbol"], "Math.floor/1");
}

#[test]
fn malformed_manifest_and_lock_say_where() {
    let project = generated_project();
    let manifest = project.read(".snakebridge/manifest.json");
    project.write(
        ".snakebridge/manifest.json",
        &manifest.replacen("\"schema\": 1", "\"schema\": 1,,", 1),
    );
    let output = without_python(&project, &["verify"]);
    assert_eq!(output.code, 1);
    assert!(
        output
            .stderr
            .contains(".snakebridge/manifest.json` is malformed at line"),
        "{}",
        output.stderr
    );
    project.write(".snakebridge/manifest.json", &manifest);
    let lock = project.read("snakebridge.lock");
    project.write(
        "snakebridge.lock",
        &lock.replacen("\"contract\": \"0.2.0\"", "\"contract\": \"0.0.9\"", 1),
    );
    assert_drift(
        &without_python(&project, &["verify"]),
        "the lock records contract 0.0.9",
    );
    project.write(
        "snakebridge.lock",
        &lock.replacen("\"numpy==2.4.6\"", "\"numpy==2.4.7\"", 1),
    );
    assert_drift(
        &without_python(&project, &["verify"]),
        "`packages_hash` does not match",
    );
}

#[test]
fn analyze_and_prune_round_trip() {
    let project = generated_project();
    project.write(
        "lib/more.ex",
        "defmodule More do\n  def g(x), do: Math.floor(x)\nend\n",
    );
    project.write(
        "test/more_test.exs",
        "defmodule MoreTest do\n  def t(x), do: Math.ceil(x)\nend\n",
    );
    project.run(&["generate"]).assert_success();
    std::fs::remove_file(project.path("lib/more.ex")).unwrap();

    let analyzed = project.run(&["--format", "json", "analyze"]);
    let value: serde_json::Value = serde_json::from_str(&analyzed.stdout).unwrap();
    assert_eq!(
        value["libraries"]["math"]["unused"],
        serde_json::json!(["Math.floor"])
    );
    assert_eq!(
        value["libraries"]["math"]["used"]["Math.ceil"][0]["file"],
        "test/more_test.exs"
    );

    // A symbol still used, here only by a test, is refused unless tests are ignored.
    let refused = project.run(&["prune", "Math.ceil"]);
    refused.assert_failure();
    assert!(
        refused
            .stderr
            .contains("only tests call it; pass `--ignore-tests`"),
        "{}",
        refused.stderr
    );

    let dry = project.run(&["prune", "--dry-run"]);
    dry.assert_success();
    assert_eq!(dry.stdout, "would prune Math.floor\n");
    assert!(
        project
            .read(".snakebridge/manifest.json")
            .contains("\"Math.floor\""),
        "a dry run changes nothing"
    );

    let pruned = project.run(&["prune"]);
    pruned.assert_success();
    assert!(
        pruned.stdout.contains("pruned Math.floor"),
        "{}",
        pruned.stdout
    );
    assert!(
        !project
            .read(".snakebridge/manifest.json")
            .contains("\"Math.floor\"")
    );
    assert!(
        !project
            .read("lib/snakebridge_generated/math.ex")
            .contains("def floor(")
    );
    without_python(&project, &["verify"]).assert_success();

    project
        .run(&["prune", "--ignore-tests", "Math.ceil"])
        .assert_success();
    assert!(
        !project
            .read("lib/snakebridge_generated/math.ex")
            .contains("def ceil(")
    );
    // The test still calls it, so verify now says it is not covered.
    assert_drift(
        &without_python(&project, &["verify"]),
        "`Math.ceil/1` has no generated wrapper",
    );
}

#[test]
fn ledger_and_promote_round_trip() {
    let project = generated_project();
    project.write(
        ".snakebridge/ledger.json",
        r#"{"schema": 1, "calls": [
            {"library": "numpy", "module": "numpy.fft", "function": "fft", "arity": 1, "count": 3},
            {"library": "math", "module": "math", "function": "sqrt", "arity": 1, "count": 1},
            {"library": "builtins", "module": "builtins", "function": "repr", "arity": 1, "count": 1},
            {"library": "statistics", "module": "statistics", "function": "NormalDist", "arity": 2, "count": 1}]}"#,
    );
    let listed = project.run(&["ledger"]);
    listed.assert_success();
    assert!(
        listed.stdout.contains("promotable numpy.fft.fft")
            && listed.stdout.contains("Numpy.Fft.fft/1"),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains("generated  math.sqrt"),
        "{}",
        listed.stdout
    );

    let unknown = project.run(&["promote", "numpy.fft.ifft"]);
    unknown.assert_failure();
    assert!(
        unknown
            .stderr
            .contains("`numpy.fft.ifft` is not in the ledger"),
        "{}",
        unknown.stderr
    );

    // An excluded symbol is not promoted.
    project.write(
        "snakebridge.toml",
        &CONFIG.replace(
            "numpy = \"~> 2.0\"",
            "numpy = { version = \"~> 2.0\", exclude = [\"fft.fft\"] }",
        ),
    );
    let excluded = project.run(&["promote", "numpy.fft.fft"]);
    excluded.assert_failure();
    assert!(
        excluded
            .stderr
            .contains("`numpy.fft.fft` is excluded in snakebridge.toml"),
        "{}",
        excluded.stderr
    );
    project.write("snakebridge.toml", CONFIG);

    // See #10: one entry that cannot become a wrapper (`builtins` is no configured library)
    // held back `--all`; it is skipped with a warning, and `ledger --drop` forgets it.
    let all = project.run(&["promote", "--all"]);
    all.assert_success();
    assert!(
        all.stderr
            .contains("skipped: `builtins.repr` has no configured library"),
        "{}",
        all.stderr
    );
    let dropped = project.run(&["ledger", "--drop", "builtins.repr"]);
    dropped.assert_success();
    assert!(
        !dropped.stdout.contains("builtins.repr"),
        "{}",
        dropped.stdout
    );
    assert!(!project.read(".snakebridge/ledger.json").contains("repr"));
    // A class promotes to its module's constructor, not `Stats.py_NormalDist`.
    assert!(
        project
            .read("lib/snakebridge_generated/statistics.ex")
            .contains("defmodule Stats.NormalDist do")
    );
    // Promoted wrappers are used (the runtime calls them by name): prune keeps them.
    project.run(&["prune"]).assert_success();
    assert!(
        project
            .read(".snakebridge/manifest.json")
            .contains("\"Numpy.Fft.fft\"")
    );
    let manifest = project.read(".snakebridge/manifest.json");
    assert!(
        manifest.contains("\"Numpy.Fft.fft\""),
        "promoted into the manifest"
    );
    assert!(
        project
            .read("lib/snakebridge_generated/numpy.ex")
            .contains("defmodule Numpy.Fft do")
    );
    assert!(
        project
            .run(&["ledger"])
            .stdout
            .contains("generated  numpy.fft.fft")
    );
    without_python(&project, &["verify"]).assert_success();
    if cfg!(feature = "test-elixir") {
        testutil::assert_compiles_and_is_formatted(&project.generated());
    }
}

#[test]
fn doc_and_search_need_no_python() {
    let project = generated_project();
    let doc = without_python(&project, &["doc", "Numpy.mean/2"]);
    doc.assert_success();
    assert!(
        doc.stdout
            .starts_with("Compute the arithmetic mean along the specified axis."),
        "{}",
        doc.stdout
    );
    let search = without_python(&project, &["doc", "--search", "med"]);
    assert!(
        search.stdout.starts_with("0.9  Stats.median"),
        "{}",
        search.stdout
    );
    let unknown = without_python(&project, &["doc", "Numpy.meen"]);
    unknown.assert_failure();
    assert!(
        unknown
            .stderr
            .contains("`Numpy.meen` is not a generated symbol"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn doctor_reports_versions_and_fixes() {
    let project = generated_project();
    let output = project.run(&["--format", "json", "doctor"]);
    output.assert_success();
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let checks = value["checks"].as_array().unwrap();
    let numpy = checks
        .iter()
        .find(|c| c["name"] == "library `numpy`")
        .unwrap();
    assert_eq!(numpy["status"], "ok");
    assert!(
        numpy["detail"]
            .as_str()
            .unwrap()
            .contains("locked 2.4.6, installed 2.4.6")
    );
    // A Python that does not run is a problem with a fix, and a failing exit code.
    let broken = project.run_with(
        &["doctor"],
        &[("SNAKEBRIDGE_PYTHON", "/nonexistent/python")],
    );
    assert_eq!(broken.code, 1);
    assert!(broken.stdout.contains("does not run"), "{}", broken.stdout);
}
