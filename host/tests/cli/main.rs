//! The command line: configuration errors, `init`, `scan`, and the committed example.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any error")]

#[path = "../testutil.rs"]
mod testutil;

use testutil::TestProject;

#[test]
fn a_typo_in_a_key_names_the_line_and_the_fix() {
    let project = TestProject::new(
        "[libraries]\nmath = { stdlib = true }\nnumpy = { versoin = \"~> 2.0\" }\n",
    );
    let output = project.run(&["scan"]);
    output.assert_failure();
    insta::assert_snapshot!(output.stderr, @r#"
    snakebridge::config::invalid

      × invalid `snakebridge.toml` at line 3: unknown field `versoin`, expected one of `version`, `stdlib`, `module`, `path`, `package`, `include`, `exclude`, `streaming`, `all`
       ╭─[snakebridge.toml:3:11]
     2 │ math = { stdlib = true }
     3 │ numpy = { versoin = "~> 2.0" }
       ·           ───┬───
       ·              ╰── here
       ╰────
      help: did you mean `version`?
    "#);
}

#[test]
fn bad_values_name_their_line() {
    for (config, line, fragment) in [
        (
            "[libraries]\nnumpy = \"latest\"\n",
            2,
            "bad version requirement for `numpy`",
        ),
        (
            "[libraries]\nmath = { stdlib = true, version = \"1.0\" }\n",
            2,
            "cannot have a version",
        ),
        (
            "[libraries]\nenum = { stdlib = true }\n",
            2,
            "would replace Elixir's own",
        ),
        (
            "[libraries]\nmath = { stdlib = true, module = \"not valid\" }\n",
            2,
            "not a valid Elixir module name",
        ),
        (
            "[project]\noutput = \"../elsewhere\"\n",
            2,
            "must be a relative path inside the project",
        ),
        ("[python]\ntimeout = 0\n", 2, "at least 1 second"),
        (
            "[plugins]\nemitter = \"fancy\"\n",
            2,
            "unknown emitter plugin `fancy`",
        ),
        ("[libraries]\nnumpy = 3\n", 2, "a version requirement"),
        (
            "[libraries]\nnumpy = { include = [\"mean\",\n  \"linalg..norm\"] }\n",
            3,
            "`include` entries of `numpy` are Python names inside it",
        ),
        (
            "[libraries]\nnumpy = { include = [\"save\"], exclude = [\"save\"] }\n",
            2,
            "`save` of `numpy` is both included and excluded",
        ),
    ] {
        let output = TestProject::new(config).run(&["scan"]);
        output.assert_failure();
        assert!(
            output.stderr.contains(&format!("at line {line}")),
            "{config}\n{}",
            output.stderr
        );
        assert!(
            output.stderr.contains(fragment),
            "{config}\n{}",
            output.stderr
        );
    }
}

#[test]
fn a_missing_config_says_to_run_init() {
    let project = TestProject::new("");
    std::fs::remove_file(project.path("snakebridge.toml")).unwrap();
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains("no `snakebridge.toml`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("run `snakebridge init`"),
        "{}",
        output.stderr
    );
}

#[test]
fn init_writes_config_and_git_settings_once() {
    let project = TestProject::new("");
    std::fs::remove_file(project.path("snakebridge.toml")).unwrap();
    project.write(".gitignore", "/_build/\n");
    project.run(&["init"]).assert_success();
    assert!(project.read("snakebridge.toml").contains("[libraries]"));
    let gitignore = project.read(".gitignore");
    assert!(gitignore.starts_with("/_build/\n"), "keeps what was there");
    assert!(
        gitignore.contains("/.snakebridge/scan_cache.json")
            && gitignore.contains("/.snakebridge/venv/")
    );
    assert!(
        project
            .read(".gitattributes")
            .contains("/lib/snakebridge_generated/** linguist-generated=true")
    );
    // The template is valid as written.
    project.run(&["scan"]).assert_success();
    let again = project.run(&["init"]);
    again.assert_failure();
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let forced = project.run(&["--format", "json", "init", "--force"]);
    forced.assert_success();
    let report: serde_json::Value = serde_json::from_str(&forced.stdout).unwrap();
    // Already as the template says: nothing to write.
    assert_eq!(report["written"], serde_json::json!([]), "{report}");
    assert_eq!(
        project.read(".gitignore").matches("scan_cache").count(),
        1,
        "entries are added once"
    );
}

#[test]
fn scan_json_lists_calls_relative_and_sorted() {
    let project = TestProject::copy_of("examples/demo");
    let output = project.run(&["scan", "--format", "json"]);
    output.assert_success();
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    insta::assert_json_snapshot!(value);
}

#[test]
fn scan_uses_its_cache_and_notices_changes() {
    let project = TestProject::new("[libraries]\nmath = { stdlib = true }\n");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    project.run(&["scan"]).assert_success();
    assert!(
        project
            .read(".snakebridge/scan_cache.json")
            .contains("Math")
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.floor(x)\nend\n",
    );
    let output = project.run(&["scan", "--format", "json"]);
    assert!(
        output.stdout.contains("\"floor\"") && !output.stdout.contains("\"sqrt\""),
        "{}",
        output.stdout
    );
}

/// The committed example is exactly what the manifest, lock and built-in plugins produce, and
/// covers every call its source makes, all without Python.
#[test]
fn the_example_is_current() {
    let project = TestProject::copy_of("examples/demo");
    let before = project.generated();
    let output = project.run_with(
        &["verify"],
        &[("SNAKEBRIDGE_PYTHON", "/nonexistent/python")],
    );
    output.assert_success();
    assert!(
        output.stdout.starts_with("verified: 7 file(s) and"),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(project.generated(), before);
}
