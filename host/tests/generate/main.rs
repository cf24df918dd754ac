//! `snakebridge generate` end to end: real Python, real plugins, the real Elixir compiler and
//! formatter on the output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on any error"
)]

#[path = "../testutil.rs"]
mod testutil;

use std::time::SystemTime;

use testutil::{TestProject, repo};

/// The fixture project that calls every kind of wrapper, copied to a temporary directory.
fn bindings() -> TestProject {
    TestProject::copy_of("tests/fixtures/projects/bindings")
}

fn python_fixture(project: &TestProject, name: &str) {
    project.write(
        &format!("py/{name}"),
        &std::fs::read_to_string(repo().join("tests/fixtures/python").join(name)).unwrap(),
    );
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    // Versions of the machine's Python and numpy only reach headers; keep snapshots portable.
    settings.add_filter(
        r"`(math|statistics|json|collections|datetime)` 3\.\d+\.\d+",
        "`$1` [PYTHON]",
    );
    settings
}

#[test]
fn generated_bindings_are_stable_compile_and_are_formatted() {
    let project = bindings();
    project.run(&["generate"]).assert_success();
    let files = project.generated();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "annotated.ex",
            "collections.ex",
            "datetime.ex",
            "hostile_names.ex",
            "json.ex",
            "math.ex",
            "numpy.ex",
            "statistics.ex",
            "sympy.ex"
        ]
    );
    snapshot_settings().bind(|| {
        for (name, contents) in &files {
            insta::assert_snapshot!(format!("bindings__{name}"), contents);
        }
    });
    // The same bytes, with the code that calls them: every call must resolve to a wrapper.
    let mut sources = files.clone();
    sources.push(("app.ex".into(), project.read("lib/app.ex")));
    if cfg!(feature = "test-elixir") {
        testutil::assert_compiles_and_is_formatted(&sources);
    }
}

#[test]
fn hostile_python_cannot_inject_code() {
    let project = bindings();
    project.run(&["generate"]).assert_success();
    let code = project.read("lib/snakebridge_generated/hostile_names.ex");
    // Each payload appears only escaped, inside a heredoc.
    let unescaped = code
        .match_indices("#{")
        .filter(|(i, _)| !code[..*i].ends_with('\\'))
        .count();
    assert_eq!(unescaped, 0, "an interpolation survived");
    assert!(code.contains("\\#{System.halt()}"));
    assert!(code.contains("\\#{IO.puts(\"pwned\")}"));
    assert!(!code.contains("\0"));
    for line in code.lines() {
        assert_ne!(
            line.trim(),
            "\"\"\" and",
            "a docstring line ended the heredoc early"
        );
    }
    // Renamed on the Elixir side, called by their Python names.
    for (elixir, python) in [
        ("py_end", "end"),
        ("py_N", "N"),
        ("py_doc", "doc"),
        ("py_new", "new"),
    ] {
        assert!(code.contains(&format!("def {elixir}(")), "{elixir}");
        assert!(code.contains(&format!("\"{python}\"")), "{python}");
    }
}

#[test]
fn a_second_run_starts_no_python_and_rewrites_nothing() {
    let project = bindings();
    project.run(&["generate"]).assert_success();
    let tracked = [
        "lib/snakebridge_generated/numpy.ex",
        ".snakebridge/manifest.json",
        "snakebridge.lock",
    ];
    let before: Vec<(SystemTime, String)> = tracked
        .iter()
        .map(|p| {
            (
                std::fs::metadata(project.path(p))
                    .unwrap()
                    .modified()
                    .unwrap(),
                project.read(p),
            )
        })
        .collect();
    // An interpreter that does not exist: any Python work would fail the run.
    let output = project.run_with(
        &["generate"],
        &[("SNAKEBRIDGE_PYTHON", "/nonexistent/python")],
    );
    output.assert_success();
    assert!(output.stdout.contains("up to date"), "{}", output.stdout);
    let after: Vec<(SystemTime, String)> = tracked
        .iter()
        .map(|p| {
            (
                std::fs::metadata(project.path(p))
                    .unwrap()
                    .modified()
                    .unwrap(),
                project.read(p),
            )
        })
        .collect();
    assert_eq!(before, after);
}

#[test]
fn regenerating_from_scratch_is_byte_identical() {
    let project = bindings();
    project.run(&["generate"]).assert_success();
    let first = (
        project.generated(),
        project.read(".snakebridge/manifest.json"),
        project.read("snakebridge.lock"),
    );
    std::fs::remove_dir_all(project.path("lib/snakebridge_generated")).unwrap();
    std::fs::remove_dir_all(project.path(".snakebridge")).unwrap();
    project.run(&["generate"]).assert_success();
    let second = (
        project.generated(),
        project.read(".snakebridge/manifest.json"),
        project.read("snakebridge.lock"),
    );
    assert!(first == second, "a fresh generation differs from the first");
}

#[test]
fn a_new_call_adds_only_its_symbol() {
    let project = bindings();
    project.run(&["generate"]).assert_success();
    project.write(
        "lib/more.ex",
        "defmodule More do\n  def f(x), do: Math.floor(x)\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_success();
    assert!(
        output
            .stderr
            .contains("Introspecting 1 symbol(s) of `math`"),
        "{}",
        output.stderr
    );
    assert_eq!(
        output.stdout.trim(),
        "wrote lib/snakebridge_generated/math.ex"
    );
    assert!(
        project
            .read("lib/snakebridge_generated/math.ex")
            .contains("def floor(x) do")
    );
}

#[test]
fn an_unknown_symbol_suggests_the_close_match_and_writes_nothing() {
    let project =
        TestProject::new("[python]\nexecutable = \"python3\"\n[libraries]\nnumpy = \"~> 2.0\"\n");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x) do\n    Numpy.meen(x)\n  end\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(output.stderr.contains("lib/a.ex:3:11"), "{}", output.stderr);
    assert!(
        output.stderr.contains("`Numpy.meen` is not in `numpy`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("did you mean `Numpy.mean`"),
        "{}",
        output.stderr
    );
    assert!(!project.path("lib/snakebridge_generated").exists());
    assert!(!project.path(".snakebridge/manifest.json").exists());
    assert!(!project.path("snakebridge.lock").exists());
}

#[test]
fn an_unknown_submodule_suggests_the_close_match() {
    let project =
        TestProject::new("[python]\nexecutable = \"python3\"\n[libraries]\nnumpy = \"~> 2.0\"\n");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Numpy.Linalgg.norm(x)\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains("did you mean `Numpy.Linalg.norm`"),
        "{}",
        output.stderr
    );
}

/// A `_stream` call reaches its symbol's stream wrapper only when the symbol yields or the
/// config lists it in `streaming`; otherwise the error names the call and both fixes. A real
/// Python `x_stream` is the function itself, never a stream wrapper.
#[test]
fn stream_wrapper_calls_need_a_generator_or_a_streaming_entry() {
    let config = |streaming: &str| {
        format!(
            "[python]\nexecutable = \"python3\"\n[libraries]\n\
             tools = {{ path = \"py\", streaming = [{streaming}] }}\n"
        )
    };
    let project = TestProject::new(&config(""));
    project.write(
        "py/tools.py",
        "def pairs(n):\n    return [[i, i] for i in range(n)]\n\n\
         def read_stream():\n    return 'its own'\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f, do: Tools.pairs_stream(2)\n  def g, do: Tools.read_stream()\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    for expected in [
        "lib/a.ex:2:20",
        "`Tools.pairs_stream` calls a stream wrapper, but `tools.pairs` is not a generator",
        "add `pairs` to `streaming = [...]` of `tools`",
    ] {
        assert!(
            output.stderr.contains(expected),
            "{expected}: {}",
            output.stderr
        );
    }
    assert!(!project.path(".snakebridge/manifest.json").exists());

    project.write("snakebridge.toml", &config("\"pairs\""));
    project.run(&["generate"]).assert_success();
    let code = project.read("lib/snakebridge_generated/tools.ex");
    assert!(code.contains("def pairs_stream(n)"), "{code}");
    assert!(code.contains("def read_stream()"), "{code}");
    assert!(!code.contains("def read_stream_stream"), "{code}");
    project.run(&["verify"]).assert_success();
    // A `_stream` call uses its symbol: `prune` keeps it.
    let analyzed = project.run(&["--format", "json", "analyze"]);
    analyzed.assert_success();
    let usage: serde_json::Value = serde_json::from_str(&analyzed.stdout).unwrap();
    let uses = &usage["libraries"]["tools"]["used"]["Tools.pairs"];
    assert_eq!(
        (&uses[0]["file"], &uses[0]["line"]),
        (&"lib/a.ex".into(), &2.into()),
        "{usage}"
    );
    project.run(&["prune"]).assert_success();
    let code = project.read("lib/snakebridge_generated/tools.ex");
    assert!(code.contains("def pairs_stream(n)"), "{code}");
    // Dropping the entry makes the committed bindings stale, which verify sees.
    project.write("snakebridge.toml", &config(""));
    project.run(&["verify"]).assert_failure();
}

#[test]
fn a_library_that_is_not_installed_says_how_to_install_it() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nnot_a_real_package = \"~> 1.0\"\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f, do: NotARealPackage.go()\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("the Python package for `not_a_real_package` is not installed"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("pip install not_a_real_package"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("lib/a.ex:2:30"), "{}", output.stderr);
}

#[test]
fn an_import_that_raises_shows_the_python_error() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nexplodes = { path = \"py\" }\n",
    );
    python_fixture(&project, "explodes.py");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f, do: Explodes.go()\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains(
            "importing `explodes` raised RuntimeError: this module refuses to be imported"
        ),
        "{}",
        output.stderr
    );
    assert!(!project.path("lib/snakebridge_generated").exists());
}

#[test]
fn a_slow_import_times_out_with_advice() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\ntimeout = 1\n[libraries]\nslow_import = { path = \"py\" }\n",
    );
    python_fixture(&project, "slow_import.py");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f, do: SlowImport.go()\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("lib/a.ex:2:25: introspecting `slow_import` took longer than 1 s, looking up `SlowImport.go`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("raise `[python] timeout`"),
        "{}",
        output.stderr
    );
}

#[test]
fn printing_at_import_does_not_corrupt_the_reply() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nnoisy = { path = \"py\" }\n",
    );
    python_fixture(&project, "noisy.py");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Noisy.quiet(x)\nend\n",
    );
    project.run(&["generate"]).assert_success();
    assert!(
        project
            .read("lib/snakebridge_generated/noisy.ex")
            .contains("def quiet(x) do")
    );
}

#[test]
fn syntax_errors_warn_with_their_location_and_do_not_abort() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/ok.ex",
        "defmodule Ok do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    project.write(
        "lib/broken.ex",
        "defmodule Broken do\n  def f(x) do\n    Math.ceil(x\n  end\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_success();
    assert!(
        output.stderr.contains("warning: lib/broken.ex:"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("syntax error"), "{}", output.stderr);
    assert!(
        project
            .read("lib/snakebridge_generated/math.ex")
            .contains("def sqrt(x) do")
    );
}

#[test]
fn an_unwritable_output_directory_is_an_error_naming_it() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/ok.ex",
        "defmodule Ok do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    // A file where the directory should be: no user, root included, can write into it.
    project.write("lib/snakebridge_generated", "not a directory");
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(output.stderr.contains("cannot write"), "{}", output.stderr);
    assert!(
        output.stderr.contains("snakebridge_generated"),
        "{}",
        output.stderr
    );
    assert!(
        !project.path(".snakebridge/manifest.json").exists(),
        "the manifest must not claim files that were not written"
    );
}

#[test]
fn a_trapping_emitter_is_a_clear_error_and_writes_nothing() {
    let hostile = std::fs::read(repo().join("tests/fixtures/plugins/hostile.wasm")).unwrap();
    let hash = blake3::hash(&hostile).to_hex().to_string();
    let project = TestProject::new(&format!(
        "[python]\nexecutable = \"python3\"\n[plugins]\nemitter = {{ path = \"hostile.wasm\", blake3 = \"{hash}\" }}\n[libraries]\nmath = {{ stdlib = true }}\n"
    ));
    std::fs::write(project.path("hostile.wasm"), hostile).unwrap();
    project.write(
        "lib/ok.ex",
        "defmodule Ok do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    let output = project.run(&["generate", "--emitter", "hostile.wasm"]);
    output.assert_failure();
    assert!(output.stderr.contains("plugin `"), "{}", output.stderr);
    assert!(
        output.stderr.contains("a Rust plugin panicked"),
        "{}",
        output.stderr
    );
    assert!(!project.path("lib/snakebridge_generated").exists());
    assert!(!project.path("snakebridge.lock").exists());
}

#[test]
fn a_broad_import_drops_what_the_library_does_not_have() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  import Math\n  def f(x), do: sqrt(x) + not_in_math(x)\n  def not_in_math(x), do: x\nend\n\
         defmodule B do\n  import Math\n  def g(x), do: helper_from_elsewhere(x)\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_success();
    assert!(
        output
            .stderr
            .contains("`Math.helper_from_elsewhere/1` is not in its imported library"),
        "{}",
        output.stderr
    );
    let manifest = project.read(".snakebridge/manifest.json");
    assert!(manifest.contains("\"Math.sqrt\""));
    assert!(
        manifest.contains("\"Math.helper_from_elsewhere\""),
        "remembered as absent"
    );
    // Known now: the next run needs no Python.
    project
        .run_with(
            &["generate"],
            &[("SNAKEBRIDGE_PYTHON", "/nonexistent/python")],
        )
        .assert_success();
}

#[test]
fn strict_mode_never_starts_python() {
    let project = TestProject::new(
        "[python]\nexecutable = \"/nonexistent/python\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    for (args, env) in [
        (&["generate", "--strict"][..], &[][..]),
        (&["generate"][..], &[("SNAKEBRIDGE_STRICT", "1")][..]),
    ] {
        let output = project.run_with(args, env);
        assert_eq!(output.code, 3, "{}\n{}", output.stdout, output.stderr);
        assert!(
            output
                .stdout
                .contains("lib/a.ex:2:22: `Math.sqrt/1` has no generated wrapper"),
            "{}",
            output.stdout
        );
        assert!(
            !project.path("lib/snakebridge_generated").exists(),
            "strict mode writes nothing"
        );
    }
}

#[test]
fn json_output_is_data() {
    let project = bindings();
    let output = project.run(&["--format", "json", "generate"]);
    output.assert_success();
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(value["files"], 9);
    assert_eq!(value["introspected"]["numpy"], 4);
}

/// Without `[python] executable`, generate makes a uv environment under `.snakebridge/` with
/// the requested versions (from PyPI), reuses it, and reinstalls only when a requirement changes.
#[test]
fn a_managed_environment_is_made_once_and_follows_the_requirements() {
    let project = TestProject::new("[libraries]\nsix = \"~> 1.16\"\n");
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Six.ensure_str(x)\nend\n",
    );
    let first = project.run(&["generate"]);
    first.assert_success();
    assert!(
        first.stderr.contains("creating the Python environment"),
        "{}",
        first.stderr
    );
    assert!(project.path(".snakebridge/venv/bin/python").exists());
    let lock = project.read("snakebridge.lock");
    assert!(lock.contains("\"requested\": \"~> 1.16\""), "{lock}");
    assert!(lock.contains("\"six==1."), "{lock}");
    assert!(
        project
            .read("lib/snakebridge_generated/six.ex")
            .contains("def ensure_str(")
    );

    // A new call needs Python again, in the same environment, with nothing to install.
    project.write(
        "lib/b.ex",
        "defmodule B do\n  def g(x), do: Six.ensure_text(x)\nend\n",
    );
    let second = project.run(&["generate"]);
    second.assert_success();
    assert!(!second.stderr.contains("creating"), "{}", second.stderr);
    assert!(!second.stderr.contains("installing"), "{}", second.stderr);
    assert!(
        project
            .read("lib/snakebridge_generated/six.ex")
            .contains("def ensure_text(")
    );

    // A changed requirement installs the version it asks for.
    project.write("snakebridge.toml", "[libraries]\nsix = \"==1.16.0\"\n");
    let third = project.run(&["generate"]);
    third.assert_success();
    assert!(third.stderr.contains("installing"), "{}", third.stderr);
    assert!(!third.stderr.contains("creating"), "{}", third.stderr);
    let lock = project.read("snakebridge.lock");
    assert!(lock.contains("\"resolved\": \"1.16.0\""), "{lock}");
}

/// A run waits for another run in the same project, says so, and goes on once it ends.
#[test]
fn a_second_run_waits_for_the_first() {
    use std::io::{BufRead, BufReader};
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    std::fs::create_dir_all(project.path(".snakebridge")).unwrap();
    // Holding the lock file stands in for a first run in progress.
    let held = std::fs::File::create(project.path(".snakebridge/run.lock")).unwrap();
    held.lock().unwrap();

    let mut child = project
        .command(&["generate"], &[])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("waiting for another snakebridge run") {
        assert!(stderr.read_line(&mut seen).unwrap() > 0, "{seen}");
    }
    assert!(!project.path("lib/snakebridge_generated").exists());
    drop(held);

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{seen}{rest}");
    assert!(project.path("lib/snakebridge_generated/math.ex").exists());
}

#[test]
fn a_python_that_dies_on_import_is_a_problem_at_the_call() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\ndies = { path = \"py\" }\n",
    );
    project.write(
        "py/dies.py",
        "import os, sys\nsys.stderr.write('native code gave up\\n')\nos._exit(3)\n",
    );
    project.write("lib/a.ex", "defmodule A do\n  def f, do: Dies.go(1)\nend\n");
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains(
            "lib/a.ex:2:19: the Python introspection of `dies` failed (exit status: 3), looking up `Dies.go`"
        ),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("native code gave up"),
        "{}",
        output.stderr
    );
    assert!(!project.path("lib/snakebridge_generated").exists());
}

/// `--dump-ir` writes what each stage was given and gave back, as the plugins see it.
#[test]
fn dump_ir_writes_each_stage_input_and_output() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    project
        .run(&["generate", "--dump-ir", "ir"])
        .assert_success();
    let read = |stage: &str| -> serde_json::Value {
        serde_json::from_str(&project.read(&format!("ir/math/{stage}.json"))).unwrap()
    };
    let library = read("typespecs.input");
    assert_eq!(library, read("docs.input"));
    assert_eq!(library["symbols"][0]["id"], "Math.sqrt");
    let emitter_input = read("emitter.input");
    assert_eq!(emitter_input["library"], library);
    assert_eq!(emitter_input["types"], read("typespecs.output"));
    assert_eq!(emitter_input["docs"], read("docs.output"));
    let output = read("emitter.output");
    assert_eq!(output[0]["path"], "math.ex");
    assert_eq!(
        output[0]["contents"].as_str().unwrap(),
        project.read("lib/snakebridge_generated/math.ex")
    );

    // The dump is deterministic and holds no machine paths; a no-op run writes it too.
    let paths: Vec<String> = ["typespecs", "docs", "emitter"]
        .iter()
        .flat_map(|stage| ["input", "output"].map(|side| format!("ir/math/{stage}.{side}.json")))
        .collect();
    let first: Vec<String> = paths.iter().map(|path| project.read(path)).collect();
    std::fs::remove_dir_all(project.path("ir")).unwrap();
    project
        .run(&["generate", "--dump-ir", "ir"])
        .assert_success();
    let root = project.root().display().to_string();
    for (path, before) in paths.iter().zip(first) {
        let after = project.read(path);
        assert_eq!(after, before, "{path}");
        assert!(!after.contains(&root), "{path}");
    }
}

/// `include` generates symbols no source calls, located at their line in the config; `exclude`
/// makes a call an error at the call; both survive `verify`, `analyze` and `prune`.
#[test]
fn include_and_exclude_lists() {
    let config = |include: &str| {
        format!(
            "[python]\nexecutable = \"python3\"\n[libraries]\n\
             math = {{ stdlib = true, include = [{include}], exclude = [\"floor\"] }}\n\
             collections = {{ stdlib = true, include = [\"OrderedDict.popitem\"] }}\n"
        )
    };
    let project = TestProject::new(&config("\"sqrt\""));
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.cos(x)\nend\n",
    );
    project.run(&["generate"]).assert_success();
    let math = project.read("lib/snakebridge_generated/math.ex");
    assert!(math.contains("  def sqrt(x) do"), "{math}");
    assert!(math.contains("  def cos(x) do"), "{math}");
    let collections = project.read("lib/snakebridge_generated/collections.ex");
    assert!(
        collections.contains("defmodule Collections.OrderedDict do"),
        "{collections}"
    );
    assert!(collections.contains("  def popitem(ref"), "{collections}");
    project.run(&["verify"]).assert_success();

    let output = project.run(&["--format", "json", "analyze"]);
    output.assert_success();
    let usage: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let sqrt = &usage["libraries"]["math"]["used"]["Math.sqrt"][0];
    assert_eq!(sqrt["file"], "snakebridge.toml");
    assert_eq!(sqrt["line"], 4);
    let output = project.run(&["prune", "--dry-run"]);
    output.assert_success();
    assert!(!output.stdout.contains("Math.sqrt"), "{}", output.stdout);

    // An entry Python lacks is reported at its place in the config.
    project.write("snakebridge.toml", &config("\"sqrt\", \"sqrtt\""));
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("snakebridge.toml:4:44: `Math.sqrtt` is not in `math`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("did you mean `Math.sqrt`"),
        "{}",
        output.stderr
    );

    // A new entry is drift until generated.
    project.write("snakebridge.toml", &config("\"sqrt\", \"hypot\""));
    let output = project.run(&["verify"]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("snakebridge.toml:4:44: `Math.hypot` has no generated wrapper"),
        "{}",
        output.stdout
    );

    // Excluding what is already generated leaves it to `prune`, and says so.
    project.write(
        "snakebridge.toml",
        &config("\"sqrt\"").replace("[\"floor\"]", "[\"floor\", \"cos\"]"),
    );
    project.write("lib/a.ex", "defmodule A do\nend\n");
    let output = project.run(&["generate"]);
    output.assert_success();
    assert!(
        output.stderr.contains(
            "`Math.cos` is still generated though `math` excludes `cos`; `snakebridge prune Math.cos` removes it"
        ),
        "{}",
        output.stderr
    );

    // Calling an excluded symbol is an error at the call.
    project.write("snakebridge.toml", &config("\"sqrt\""));
    project.write(
        "lib/b.ex",
        "defmodule B do\n  def g(x), do: Math.floor(x)\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("lib/b.ex:2:22: `Math.floor` is called, but `math` excludes `floor`"),
        "{}",
        output.stderr
    );
}

/// `all = true` generates every public symbol of each kind, skips what has no Elixir home with
/// a warning, lists once, and keeps its symbols from `prune` unless excluded.
#[test]
fn all_generates_every_public_symbol() {
    let config = |all: bool| {
        format!(
            "[python]\nexecutable = \"python3\"\n[libraries]\n\
             whole = {{ path = \"py\", all = {all}, exclude = [\"beta\"] }}\n"
        )
    };
    let project = TestProject::new(&config(true));
    for name in ["__init__.py", "tools.py"] {
        project.write(
            &format!("py/whole/{name}"),
            &std::fs::read_to_string(repo().join("tests/fixtures/python/whole").join(name))
                .unwrap(),
        );
    }
    project.write("lib/a.ex", "defmodule A do\nend\n");
    // Not generated yet: drift that `verify` names at the library's line.
    let output = project.run(&["verify"]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(
        output.stdout.contains(
            "snakebridge.toml:4:1: `whole` sets `all = true`, but its public symbols were never generated"
        ),
        "{}",
        output.stdout
    );
    let output = project.run(&["generate"]);
    output.assert_success();
    assert!(
        output.stderr.contains(
            "`all = true` skipped the 1 symbol(s) of `whole.tools`: their Elixir module `Whole.Tools` is taken, which is `whole.Tools`"
        ),
        "{}",
        output.stderr
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read(".snakebridge/manifest.json")).unwrap();
    let record = &manifest["libraries"]["whole"];
    assert_eq!(record["all"], true);
    let kinds: Vec<(String, String)> = record["symbols"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, s)| (id.clone(), s["kind"].as_str().unwrap().to_string()))
        .collect();
    let expected = [
        ("Whole.Account.deposit", "method"),
        ("Whole.Account.doubled", "property"),
        ("Whole.Account.fee", "static_method"),
        ("Whole.Account.new", "constructor"),
        ("Whole.Account.opened_with", "class_method"),
        ("Whole.Counter.tick", "function"),
        ("Whole.Tools.new", "constructor"),
        ("Whole.Tools.use", "method"),
        ("Whole.alpha", "function"),
        ("Whole.counter", "constant"),
        ("Whole.py_RATE", "constant"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(id, kind)| (id.to_string(), kind.to_string()))
        .collect();
    assert_eq!(kinds, expected);
    testutil::assert_compiles_and_is_formatted(&project.generated());
    project.run(&["verify"]).assert_success();

    // Listed once: the next run needs no Python.
    let output = project.run_with(
        &["generate"],
        &[("SNAKEBRIDGE_PYTHON", "/nonexistent/python")],
    );
    output.assert_success();
    assert!(output.stdout.contains("up to date"), "{}", output.stdout);

    // Nothing calls them, and still they stay.
    let output = project.run(&["prune", "--dry-run"]);
    output.assert_success();
    assert!(
        output.stdout.contains("nothing to prune"),
        "{}",
        output.stdout
    );
    let output = project.run(&["prune", "Whole.alpha"]);
    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("`Whole.alpha` is generated because `whole` sets `all = true`"),
        "{}",
        output.stderr
    );

    // Without `all`, they are ordinary unused symbols, once generated again.
    project.write("snakebridge.toml", &config(false));
    let output = project.run(&["verify"]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("`whole` no longer sets `all = true`"),
        "{}",
        output.stdout
    );
    project.run(&["generate"]).assert_success();
    project.run(&["verify"]).assert_success();
    let output = project.run(&["prune", "--dry-run"]);
    output.assert_success();
    assert!(
        output.stdout.contains("would prune Whole.alpha"),
        "{}",
        output.stdout
    );
}

/// A library listing 1,000 times more public names than a big real one is refused at its line
/// before any symbol is introspected or anything is written.
#[test]
fn all_refuses_a_library_listing_too_many_symbols() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nflood = { path = \"py\", all = true }\n",
    );
    project.write(
        "py/flood.py",
        "for _i in range(20001):\n    globals()[f\"f{_i}\"] = lambda: None\n",
    );
    project.write("lib/a.ex", "defmodule A do\nend\n");
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains(
            "snakebridge.toml:4:1: `flood` lists 20001 public symbols, more than the 20000 `all = true` generates"
        ),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("Introspecting"),
        "{}",
        output.stderr
    );
    assert!(!project.path("lib/snakebridge_generated").exists());
}

/// `include` reads a capitalised name as a class; the error says how to name a capitalised
/// function instead, and that spelling works.
#[test]
fn include_tells_a_capitalised_function_from_a_class() {
    let config = |entry: &str| {
        format!(
            "[python]\nexecutable = \"python3\"\n[libraries]\ncaps = {{ path = \"py\", include = [\"{entry}\"] }}\n"
        )
    };
    let project = TestProject::new(&config("Shout"));
    project.write("py/caps.py", "def Shout(text):\n    return text.upper()\n");
    project.write("lib/a.ex", "defmodule A do\nend\n");
    let output = project.run(&["generate"]);
    output.assert_failure();
    assert!(
        output.stderr.contains("Python has no class `caps.Shout`")
            && output.stderr.contains("by its Elixir name: `py_Shout`"),
        "{}",
        output.stderr
    );
    project.write("snakebridge.toml", &config("py_Shout"));
    project.run(&["generate"]).assert_success();
    let caps = project.read("lib/snakebridge_generated/caps.ex");
    assert!(caps.contains("  def py_Shout(text) do"), "{caps}");
}

/// Hundreds of real numpy and sympy functions at once, whatever their docstrings and
/// signatures hold, give bindings that `mix format` leaves alone and that compile.
#[test]
fn hundreds_of_real_functions_compile_and_are_formatted() {
    let listing = std::process::Command::new("python3")
        .args([
            "-c",
            "import inspect, json, numpy, sympy\n\
             def names(m):\n    \
                 return [n for n in sorted(getattr(m, '__all__', dir(m))) if n[0].islower()\n            \
                         and callable(getattr(m, n, None)) and not inspect.isclass(getattr(m, n))][:150]\n\
             print(json.dumps(names(numpy)), json.dumps(names(sympy)), sep='\\n')",
        ])
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8(listing.stdout).unwrap();
    let (numpy, sympy) = listing.trim().split_once('\n').unwrap();
    let project = TestProject::new(&format!(
        "[python]\nexecutable = \"python3\"\n[libraries]\n\
         numpy = {{ version = \"~> 2.0\", include = {numpy} }}\n\
         sympy = {{ include = {sympy} }}\n"
    ));
    project.write("lib/a.ex", "defmodule A do\nend\n");
    project.run(&["generate"]).assert_success();
    let files = project.generated();
    assert!(
        files.iter().all(|(_, code)| code.len() > 500_000),
        "{}",
        files.len()
    );
    if cfg!(feature = "test-elixir") {
        testutil::assert_compiles_and_is_formatted(&files);
    }
}

/// See #10: `promote scipy.stats.norm.cdf` said Python has no `scipy.stats.norm`, a module-level
/// instance; its methods are a module's functions to Elixir (`Scipy.Stats.Norm.cdf/1`).
#[test]
fn methods_of_a_module_level_instance_are_functions_of_its_module() {
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\ninst = { path = \"py\" }\n",
    );
    project.write(
        "py/inst.py",
        "class Gen:\n    def cdf(self, x):\n        \"\"\"Twice `x`.\"\"\"\n        return 2 * x\n\n\nnorm = Gen()\n",
    );
    project.write(
        "lib/app.ex",
        "defmodule App do\n  def f(x), do: Inst.Norm.cdf(x)\nend\n",
    );
    project.run(&["generate"]).assert_success();
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read(".snakebridge/manifest.json")).unwrap();
    let symbol = &manifest["libraries"]["inst"]["symbols"]["Inst.Norm.cdf"];
    assert_eq!(symbol["kind"], "function", "{manifest}");
    assert_eq!(symbol["python_module"], "inst.norm", "{manifest}");
    if cfg!(feature = "test-elixir") {
        let mut files = project.generated();
        files.push(("app.ex".into(), project.read("lib/app.ex")));
        testutil::assert_compiles_and_is_formatted(&files);
    }
}
