//! The plugin host against real components: the built-ins, a hostile emitter that tries every
//! way out of its sandbox, and components crafted to break the loading rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on any error"
)]

#[path = "../testutil.rs"]
mod testutil;

use snakebridge::plugin_host::wit::latest::types;
use snakebridge::plugin_host::{self, Error, PluginHost, Source, Stage};
use testutil::TestProject;

fn host() -> PluginHost {
    PluginHost::new(None).unwrap()
}

fn hostile() -> Source {
    let path = testutil::repo().join("tests/fixtures/plugins/hostile.wasm");
    let pinned = blake3::hash(&std::fs::read(&path).unwrap())
        .to_hex()
        .to_string();
    Source::File { path, pinned }
}

fn input(library: &str) -> types::RenderInput {
    types::RenderInput {
        library: types::Library {
            name: library.into(),
            elixir_module: "Lib".into(),
            python_module: library.into(),
            version: "1.0".into(),
            modules: vec![],
            symbols: vec![],
        },
        types: vec![],
        docs: types::LibraryDocs {
            modules: vec![],
            symbols: vec![],
        },
        conventions: snakebridge::stages::conventions(),
    }
}

fn emit(library: &str) -> Result<Vec<types::File>, Error> {
    let host = host();
    let plugin = host.load(Stage::Emitter, &hostile()).unwrap();
    host.emit(&plugin, &input(library))
}

fn trap_reason(result: Result<Vec<types::File>, Error>) -> String {
    match result {
        Err(Error::Trap { reason, .. }) => reason,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    let reason = trap_reason(emit("loop"));
    assert!(reason.contains("CPU budget"), "{reason}");
}

/// Found by the conformance suite: emitting scipy whole (6,638 symbols) ran out of a budget
/// fixed per call. The budget grows with the library, so an honest emitter finishes however
/// large the library is, while an endless loop still stops.
#[test]
fn a_whole_library_fits_the_fuel_budget() {
    let symbols = 6_000;
    let mut input = input("big");
    input.library.modules.push(types::Module {
        elixir_module: "Lib".into(),
        python_path: "big".into(),
        kind: types::ModuleKind::Module,
        doc: String::new(),
    });
    input.library.symbols = (0..symbols)
        .map(|i| {
            let param = |name: &str, kind| types::Param {
                python_name: name.into(),
                elixir_name: name.into(),
                kind,
                default: None,
                annotation: None,
            };
            types::Symbol {
                id: format!("Lib.f{i:05}"),
                kind: types::SymbolKind::Function,
                elixir_module: "Lib".into(),
                elixir_name: format!("f{i:05}"),
                python_module: "big".into(),
                python_name: format!("f{i:05}"),
                // A C function without a signature: a wrapper per arity, as scipy has many.
                signature: types::Signature {
                    params: vec![
                        param("args", types::ParamKind::VarPositional),
                        param("kwargs", types::ParamKind::VarKeyword),
                    ],
                    returns: None,
                    source: types::SignatureSource::VariadicFallback,
                },
                overloads: vec![],
                doc: "Computes something.".into(),
                arity: types::ArityRange {
                    min: 0,
                    max: 9,
                    open: true,
                },
                flags: types::SymbolFlags::empty(),
            }
        })
        .collect();
    let host = host();
    let plugin = host
        .load(Stage::Emitter, &Source::Builtin(Stage::Emitter))
        .unwrap();
    let files = host.emit(&plugin, &input).unwrap();
    assert!(files[0].contents.contains("def f05999("));
}

#[test]
fn hoarding_memory_hits_the_limit() {
    let reason = trap_reason(emit("memory"));
    assert!(reason.contains("memory limit"), "{reason}");
}

#[test]
fn deep_recursion_is_a_trap() {
    let reason = trap_reason(emit("stack"));
    assert!(
        reason.contains("trapped") || reason.contains("stack"),
        "{reason}"
    );
}

#[test]
fn a_panic_is_a_trap() {
    let reason = trap_reason(emit("anything else"));
    assert!(reason.contains("panicked"), "{reason}");
}

#[test]
fn the_clock_is_not_available() {
    // std's clock panics on wasm32-unknown-unknown: there is nothing to read it from.
    let reason = trap_reason(emit("clock"));
    assert!(reason.contains("panicked"), "{reason}");
}

#[test]
fn the_file_system_is_not_available() {
    let files = emit("files").unwrap();
    assert!(
        files[0].contents.contains("not supported"),
        "{}",
        files[0].contents
    );
}

#[test]
fn typed_refusals_keep_their_code() {
    match emit("refuse") {
        Err(Error::Refused { code, message, .. }) => {
            assert_eq!(code, "unsupported");
            assert_eq!(message, "this library is not for me");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_output_is_refused() {
    assert!(matches!(emit("huge"), Err(Error::OutputTooLarge { .. })));
}

#[test]
fn escaping_paths_are_returned_but_never_written() {
    // The host validates every path before writing; see `write::check_plugin_path`.
    for (library, path) in [
        ("escape", "../escaped.ex"),
        ("absolute", "/tmp/snakebridge-absolute.ex"),
        ("hidden", ".hidden.ex"),
    ] {
        let files = emit(library).unwrap();
        assert_eq!(files[0].path, path);
        assert!(
            snakebridge::write::check_plugin_path(&files[0].path).is_err(),
            "{path}"
        );
    }
}

#[test]
fn a_changed_plugin_is_refused_until_pinned_again() {
    let Source::File { path, .. } = hostile() else {
        unreachable!()
    };
    let source = Source::File {
        path,
        pinned: "0".repeat(64),
    };
    assert!(matches!(
        host().load(Stage::Emitter, &source),
        Err(Error::HashMismatch { .. })
    ));
}

#[test]
fn a_plugin_for_another_stage_is_refused() {
    assert!(matches!(
        host().load(Stage::Docs, &hostile()),
        Err(Error::WrongStage { .. })
    ));
}

fn crafted(wat: &str) -> Source {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("crafted.wasm");
    let bytes = wat::parse_str(wat).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    Source::File {
        path,
        pinned: blake3::hash(&bytes).to_hex().to_string(),
    }
}

#[test]
fn the_contract_version_is_read_before_compiling() {
    let missing = crafted("(component)");
    assert!(matches!(
        host().load(Stage::Emitter, &missing),
        Err(Error::NoContract { .. })
    ));
    // See #9 (report #16): bytes that are not text were reported as no version at all.
    let garbled = crafted(r#"(component (@custom "snakebridge:contract" "0.\ff.0"))"#);
    match host().load(Stage::Emitter, &garbled) {
        Err(error @ Error::UnreadableContract { .. }) => {
            assert!(error.to_string().contains("not UTF-8"), "{error}");
        }
        other => panic!("{:?}", other.err()),
    }
    let future = crafted(r#"(component (@custom "snakebridge:contract" "9.9.9"))"#);
    match host().load(Stage::Emitter, &future) {
        Err(error @ Error::ContractMismatch { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("9.9.9") && message.contains("0.1.0"),
                "{message}"
            );
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn imports_beyond_the_contract_are_refused() {
    let importer = crafted(
        r#"(component
             (@custom "snakebridge:contract" "0.1.0")
             (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64))))))"#,
    );
    match host().load(Stage::Emitter, &importer) {
        Err(Error::ForbiddenImport { import, .. }) => {
            assert_eq!(import, "wasi:clocks/wall-clock@0.2.0")
        }
        other => panic!("{:?}", other.err()),
    }
}

/// Every built-in loads, serves its stage, and declares the current contract.
#[test]
fn builtins_load_for_their_stages() {
    let host = host();
    for stage in Stage::ALL {
        let plugin = host.load(stage, &Source::Builtin(stage)).unwrap();
        assert_eq!(plugin.contract, plugin_host::wit::latest::VERSION);
        assert_eq!(
            plugin_host::contract_version(plugin_host::builtin(stage))
                .unwrap()
                .as_deref(),
            Some("0.2.0")
        );
    }
}

/// Compiled components are cached by content and engine; a second load reads the cache.
#[test]
fn compiled_components_are_cached() {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(Some(cache.path().to_path_buf())).unwrap();
    host.load(Stage::Emitter, &Source::Builtin(Stage::Emitter))
        .unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache.path().join("components"))
        .unwrap()
        .collect();
    assert_eq!(entries.len(), 1);
    let plugin = host
        .load(Stage::Emitter, &Source::Builtin(Stage::Emitter))
        .unwrap();
    assert_eq!(
        plugin.blake3,
        blake3::hash(plugin_host::builtin(Stage::Emitter))
            .to_hex()
            .to_string()
    );
}

/// The committed components are exactly what their sources build to, here and in another
/// directory. Needs the `wasm32-unknown-unknown` target; `.ci/run` enables it when present.
#[cfg(feature = "test-wasm-build")]
#[test]
fn builtin_components_rebuild_byte_identical() {
    let repo = testutil::repo();
    let copy = tempfile::tempdir().unwrap();
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        "host",
        "runtime",
        "xtask",
        "plugins",
        "wit",
        "tests",
        "python",
    ] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(repo.join(entry))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    for workspace in [repo.as_path(), copy.path()] {
        let output = std::process::Command::new(env!("CARGO"))
            .args(["xtask", "plugins", "--check", "--workspace"])
            .arg(workspace)
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", copy.path().join("target"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "rebuilding in {} differs:\n{}",
            workspace.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A small deterministic generator, so a failing case can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// An annotation-like string: often valid, sometimes nonsense, sometimes cut short.
fn random_annotation(rng: &mut Rng, depth: usize) -> String {
    const NAMES: &[&str] = &[
        "int",
        "float",
        "str",
        "bool",
        "bytes",
        "None",
        "Any",
        "object",
        "np.ndarray",
        "npt.NDArray",
        "ArrayLike",
        "_ArrayLikeFloat_co",
        "DataFrame",
        "Self",
        "T",
        "typing.Optional",
        "collections.abc.Sequence",
        "complex",
        "_NoValueType",
        "Point",
        "'Point'",
        "\"forward\"",
        "1",
        "...",
        "\u{e9}t\u{e9}",
        "#{x}",
        "end",
    ];
    const GENERICS: &[&str] = &[
        "list", "dict", "tuple", "set", "Optional", "Union", "Literal", "Callable", "Sequence",
        "Mapping", "type",
    ];
    let mut text = match (depth, rng.below(4)) {
        (d, _) if d > 3 => rng.pick(NAMES).to_string(),
        (_, 0) => {
            let args: Vec<String> = (0..=rng.below(3))
                .map(|_| random_annotation(rng, depth + 1))
                .collect();
            format!("{}[{}]", rng.pick(GENERICS), args.join(", "))
        }
        (_, 1) => format!(
            "{} | {}",
            random_annotation(rng, depth + 1),
            random_annotation(rng, depth + 1)
        ),
        (_, 2) => format!(
            "Literal['{}', {}]",
            rng.pick(&["mean", "a b", "Caps", "x'y", "#{1}"]),
            rng.below(100)
        ),
        _ => rng.pick(NAMES).to_string(),
    };
    if rng.below(10) == 0 {
        let cut = text
            .char_indices()
            .map(|(i, _)| i)
            .nth(rng.below(text.chars().count() + 1))
            .unwrap_or(text.len());
        text.truncate(cut);
    }
    text
}

/// A docstring assembled from the fragments most likely to break generated Elixir.
fn random_docstring(rng: &mut Rng) -> String {
    const FRAGMENTS: &[&str] = &[
        "\"\"\"",
        "'''",
        "#{System.halt()}",
        "\\",
        "\\\\",
        "~S\"\"\"",
        "\0",
        "\u{7}",
        "\u{1b}[31m",
        "\r\n",
        "\t",
        "end",
        "do",
        ">>> x = 1\n1",
        "```",
        "Parameters\n----------\nx : int\n    The x.\n",
        ":param x: a\n:rtype: int\n",
        "Args:\n    x (int): y\n",
        "Title\n=====\n",
        "Parameters\n==========\ny : str\n    Y.\n",
        "=====  =====\nA |\\  B\n=====  =====\n#{x}  \"\"\"\n\u{1f40d}   end\n=====  =====\n",
        "lib\n    Basic `x`.\nfft\n    \"\"\"\n",
        ".. math::\n\n   x^2\n",
        ":func:`numpy.mean`",
        "``code``",
        "\u{6f22}\u{5b57}",
        "\u{1f40d}",
        "\n\n",
        "  indented\n",
        "heredoc\n  \"\"\"\n",
        "#",
        "@doc false",
        "\"",
        "'",
        "`",
        "*",
        "_",
    ];
    (0..rng.below(12))
        .map(|_| rng.pick(FRAGMENTS))
        .collect::<Vec<_>>()
        .join(if rng.below(2) == 0 { " " } else { "\n" })
}

fn random_library(seed: u64, count: usize) -> snakebridge::model::LibraryRecord {
    use snakebridge::model::*;
    let mut rng = Rng(seed);
    let mut record = LibraryRecord {
        python_module: "fuzz".into(),
        elixir_module: "Fuzz".into(),
        ..LibraryRecord::default()
    };
    record.modules.insert(
        "Fuzz".into(),
        Module {
            python_path: "fuzz".into(),
            kind: ModuleKind::Module,
            doc: random_docstring(&mut rng),
        },
    );
    record.modules.insert(
        "Fuzz.Point".into(),
        Module {
            python_path: "fuzz.Point".into(),
            kind: ModuleKind::Class,
            doc: random_docstring(&mut rng),
        },
    );
    for i in 0..count {
        let kinds = [
            ParamKind::PositionalOnly,
            ParamKind::PositionalOrKeyword,
            ParamKind::VarPositional,
            ParamKind::KeywordOnly,
            ParamKind::VarKeyword,
        ];
        let mut params: Vec<Param> = Vec::new();
        let mut optional = false;
        for p in 0..rng.below(5) {
            let kind = kinds[rng.below(kinds.len())];
            if params.iter().any(|q| {
                q.kind == kind && matches!(kind, ParamKind::VarPositional | ParamKind::VarKeyword)
            }) {
                continue;
            }
            // Python's rule: no required positional after an optional one.
            optional |= rng.below(2) == 0;
            params.push(Param {
                python_name: format!("p{p}"),
                elixir_name: String::new(),
                kind,
                default: (optional && kind.is_positional()).then(|| random_docstring(&mut rng)),
                annotation: (rng.below(3) > 0).then(|| random_annotation(&mut rng, 0)),
            });
        }
        params.sort_by_key(|p| p.kind);
        snakebridge::naming::assign_param_names(&mut params);
        let mut signature = Signature {
            params,
            returns: (rng.below(2) == 0).then(|| random_annotation(&mut rng, 0)),
            source: SignatureSource::Inspect,
        };
        let overloads = (0..rng.below(3))
            .map(|_| Signature {
                params: vec![],
                returns: Some(random_annotation(&mut rng, 0)),
                source: SignatureSource::Stub,
            })
            .collect();
        let (kind, module) = match rng.below(5) {
            0 => (SymbolKind::Method, "Fuzz.Point"),
            1 => (SymbolKind::Property, "Fuzz.Point"),
            2 => (SymbolKind::Setter, "Fuzz.Point"),
            _ => (SymbolKind::Function, "Fuzz"),
        };
        let name = if kind == SymbolKind::Setter {
            // A setter takes the one value, typed as its attribute is.
            signature.params.truncate(1);
            signature.params.iter_mut().for_each(|p| {
                p.kind = snakebridge::model::ParamKind::PositionalOrKeyword;
                p.default = None;
            });
            if signature.params.is_empty() {
                continue;
            }
            format!("set_f{i}")
        } else {
            format!("f{i}")
        };
        record.symbols.insert(
            format!("{module}.{name}"),
            Symbol {
                kind,
                elixir_module: module.into(),
                elixir_name: name.clone(),
                python_module: "fuzz".into(),
                python_name: if module == "Fuzz" {
                    name
                } else {
                    format!("Point.{name}")
                },
                arity: snakebridge::arity::range(kind, &signature),
                signature,
                overloads,
                doc: random_docstring(&mut rng),
                defined_in: None,
                // Generators get stream wrappers.
                generator: rng.below(3) == 0,
            },
        );
    }
    record
}

/// Random annotations and docstrings never make a stage trap, and what comes out compiles and
/// is formatted. Each seed is one library of many symbols, compiled at once.
#[test]
fn random_inputs_never_trap_and_always_compile() {
    let pipeline = snakebridge::stages::Pipeline::load(
        host(),
        &snakebridge::config::Plugins {
            emitter: snakebridge::config::PluginRef::Builtin,
            typespecs: snakebridge::config::PluginRef::Builtin,
            docs: snakebridge::config::PluginRef::Builtin,
        },
        &testutil::repo(),
    )
    .unwrap();
    // A few seeds run in CI; hundreds more passed while the layout rules were written.
    for seed in (1..=6).map(|i| 0x5eed_0000_u64 + i) {
        let record = random_library(seed, 120);
        let files = pipeline
            .render("fuzz", &record, "1.0")
            .unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));
        if cfg!(feature = "test-elixir") {
            let files: Vec<(String, String)> =
                files.into_iter().map(|f| (f.path, f.contents)).collect();
            testutil::assert_compiles_and_is_formatted(&files);
        }
    }
}

/// `plugin check` loads a component as `generate` would, renders sample records with it, and
/// prints the pin; what `generate` refuses, it refuses.
#[test]
fn plugin_check_prints_the_pin_and_refuses_what_generate_would() {
    let project = TestProject::new("[libraries]\n");
    let emitter = testutil::repo().join("plugins/dist/default-emitter.wasm");
    let output = project.run(&[
        "--format",
        "json",
        "plugin",
        "check",
        emitter.to_str().unwrap(),
    ]);
    output.assert_success();
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let blake3 = blake3::hash(&std::fs::read(&emitter).unwrap())
        .to_hex()
        .to_string();
    assert_eq!(report["stage"], "emitter");
    assert_eq!(report["contract"], "0.2.0");
    assert_eq!(report["blake3"], blake3.as_str());
    assert_eq!(report["deterministic"], true);
    assert!(report["files"].as_u64().unwrap() >= 5, "{report}");
    assert!(
        report["pin"].as_str().unwrap().contains(&blake3),
        "{report}"
    );

    let docs = testutil::repo().join("plugins/dist/docs.wasm");
    let output = project.run(&[
        "plugin",
        "check",
        docs.to_str().unwrap(),
        "--stage",
        "emitter",
    ]);
    output.assert_failure();
    assert!(
        output.stderr.contains("cannot run as the emitter stage"),
        "{}",
        output.stderr
    );
    // A 0.1.0 component still passes, and says which contract it speaks.
    let old = testutil::repo().join(OLD_EMITTER);
    let output = project.run(&["plugin", "check", old.to_str().unwrap()]);
    output.assert_success();
    assert!(
        output.stdout.contains("contract 0.1.0"),
        "{}",
        output.stdout
    );

    let hostile = testutil::repo().join("tests/fixtures/plugins/hostile.wasm");
    let output = project.run(&["plugin", "check", hostile.to_str().unwrap()]);
    output.assert_failure();
    assert!(output.stderr.contains("trapped"), "{}", output.stderr);
}

/// The default emitter as built from the 0.1.0 PDK, before contract 0.2.0: a published plugin
/// that must keep working.
const OLD_EMITTER: &str = "tests/fixtures/plugins/emitter-v0.1.0.wasm";

/// A 0.1.0 emitter runs through the adapter: it renders a project whose calls include a
/// setter and a stream wrapper (which 0.1.0 cannot express, so it writes neither), and what it
/// renders compiles; the lock records the plugin and `verify` reproduces it.
#[test]
fn a_0_1_0_emitter_still_renders_a_project_that_compiles() {
    let fixture = testutil::repo().join(OLD_EMITTER);
    let blake3 = blake3::hash(&std::fs::read(&fixture).unwrap())
        .to_hex()
        .to_string();
    let host = host();
    let pinned = Source::File {
        path: fixture.clone(),
        pinned: blake3.clone(),
    };
    assert_eq!(
        host.load(Stage::Emitter, &pinned).unwrap().contract,
        "0.1.0"
    );
    if !cfg!(feature = "test-python") {
        return;
    }
    let project = TestProject::new(&format!(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = {{ stdlib = true }}\n\
         shapes = {{ path = \"py\" }}\n\
         [plugins]\nemitter = {{ path = \"old.wasm\", blake3 = \"{blake3}\" }}\n"
    ));
    std::fs::copy(&fixture, project.path("old.wasm")).unwrap();
    project.write(
        "py/shapes.py",
        "class Box:\n    size: int\n\n    def __init__(self, size):\n        self.size = size\n\n\
         def count(n):\n    yield from range(n)\n",
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\n\
         def g(box), do: Shapes.Box.set_size(box, 2)\n\
         def h(n), do: Shapes.count_stream(n)\nend\n",
    );
    let output = project.run(&["generate"]);
    output.assert_success();
    // What it cannot write is said, by name.
    assert!(
        output
            .stderr
            .contains("so `Shapes.Box.set_size/2`, `Shapes.count_stream` are not generated"),
        "{}",
        output.stderr
    );
    let files = project.generated();
    let shapes = &files
        .iter()
        .find(|(path, _)| path == "shapes.ex")
        .unwrap()
        .1;
    assert!(shapes.contains("def count(n)"), "{shapes}");
    assert!(
        !shapes.contains("set_size") && !shapes.contains("count_stream"),
        "{shapes}"
    );
    assert!(project.read("snakebridge.lock").contains(&blake3));
    project.run(&["verify"]).assert_success();
    if cfg!(feature = "test-elixir") {
        testutil::assert_compiles_and_is_formatted(&files);
    }
}

/// `plugin new` starts a crate for each stage that `plugin build` turns into a component that
/// passes `check`; a pinned emitter built this way renders a project's bindings. Needs the
/// `wasm32-unknown-unknown` target.
#[cfg(feature = "test-wasm-build")]
#[test]
fn a_new_plugin_builds_checks_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let project = TestProject::new(
        "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\n",
    );
    let pdk = testutil::repo().join("plugins/pdk");
    // One target directory for the three keeps their shared dependencies built once.
    let target = dir.path().join("target");
    let env = [("CARGO_TARGET_DIR", target.to_str().unwrap())];
    for stage in ["emitter", "typespecs", "docs"] {
        let crate_dir = dir.path().join(format!("house-{stage}"));
        let crate_dir = crate_dir.to_str().unwrap();
        let mut new = vec!["plugin", "new", crate_dir, "--stage", stage];
        // The docs crate relies on the default: the PDK beside this binary's sources.
        if stage != "docs" {
            new.extend(["--pdk", pdk.to_str().unwrap()]);
        }
        project.run(&new).assert_success();
        // The workspace's lock pins what the crate shares with it, so no newer release of a
        // dependency can change what this test builds.
        std::fs::copy(
            testutil::repo().join("Cargo.lock"),
            std::path::Path::new(crate_dir).join("Cargo.lock"),
        )
        .unwrap();
        let output = project.run_with(&["--format", "json", "plugin", "build", crate_dir], &env);
        output.assert_success();
        let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        assert_eq!(report["stage"], stage, "{report}");
        assert_eq!(report["deterministic"], true);
    }

    let component = dir.path().join("house-emitter/house-emitter.wasm");
    std::fs::copy(&component, project.path("house.wasm")).unwrap();
    let blake3 = blake3::hash(&std::fs::read(&component).unwrap())
        .to_hex()
        .to_string();
    project.write(
        "snakebridge.toml",
        &format!(
            "[python]\nexecutable = \"python3\"\n[libraries]\nmath = {{ stdlib = true }}\n\
             [plugins]\nemitter = {{ path = \"house.wasm\", blake3 = \"{blake3}\" }}\n"
        ),
    );
    project.write(
        "lib/a.ex",
        "defmodule A do\n  def f(x), do: Math.sqrt(x)\nend\n",
    );
    if cfg!(feature = "test-python") {
        project.run(&["generate"]).assert_success();
        let listing = project.read("lib/snakebridge_generated/math_symbols.ex");
        assert!(listing.contains("defmodule Math.Symbols do"), "{listing}");
        assert!(listing.contains("\"math.sqrt\""), "{listing}");
        if cfg!(feature = "test-elixir") {
            testutil::assert_compiles_and_is_formatted(&[("math_symbols.ex".into(), listing)]);
        }
    }
}
