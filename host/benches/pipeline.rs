//! Benchmarks of the generate pipeline, run with `cargo bench -p snakebridge --bench pipeline`.
//! See BENCHMARKS.md for the figures and what they are compared against.
//!
//! - `scan`: cold scan throughput on a corpus of real Elixir projects (`SNAKEBRIDGE_BENCH_CORPUS`,
//!   a directory), against Elixir's own `Code.string_to_quoted/2` on the same files in the same run.
//! - `noop`: a warm `snakebridge generate` with nothing to do, on a 1,000-file project.
//! - `stages`: the three stage plugins on a 1,000-symbol library, compiled cache warm.
//! - `introspect`: introspecting 100 numpy functions, Python start-up included.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark program"
)]

#[path = "support/rows.rs"]
mod rows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use snakebridge::config::Plugins;
use snakebridge::model::{
    LibraryRecord, Module, ModuleKind, Param, ParamKind, Signature, SignatureSource, Symbol,
    SymbolKind,
};
use snakebridge::plugin_host::PluginHost;
use snakebridge::plugin_host::wit::latest::types::RenderInput;
use snakebridge::stages::Pipeline;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `f` `runs` times and returns the sorted durations.
fn measure(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn summary(name: &str, times: &[Duration]) {
    println!(
        "{name:<48} min {:>10}  median {:>10}  max {:>10}  ({} runs)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    let wants = rows::selected();
    if wants("scan") {
        match std::env::var_os("SNAKEBRIDGE_BENCH_CORPUS") {
            Some(corpus) => scan(Path::new(&corpus)),
            None => {
                eprintln!("scan: set SNAKEBRIDGE_BENCH_CORPUS to a directory of Elixir projects")
            }
        }
    }
    if wants("stages") {
        stages();
    }
    if wants("noop") {
        noop();
    }
    if wants("introspect") {
        introspect();
    }
    if wants("coverage") {
        coverage();
    }
}

fn scan(corpus: &Path) {
    // Worst case: modules that nearly every file names, so every file is parsed.
    let every: Vec<String> = ["Enum", "Map", "String", "Keyword", "Nx"]
        .iter()
        .map(|m| m.to_string())
        .collect();
    // A typical project's: three Python libraries that most files never name.
    let typical: Vec<String> = ["Numpy", "Pandas", "Scipy"]
        .iter()
        .map(|m| m.to_string())
        .collect();
    let paths = [".".to_string()];
    let request = |modules: Vec<String>| snakebridge::scan::Request {
        root: corpus,
        paths: &paths,
        exclude: &[],
        modules,
    };
    let files = snakebridge::scan::source_files(&request(every.clone()));
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(corpus.join(f)).unwrap().len())
        .sum();
    let mb = bytes as f64 / 1e6;
    println!("corpus: {} files, {mb:.2} MB", files.len());

    // Cold: no cache. All cores, then one.
    for (name, modules) in [
        ("every file relevant", &every),
        ("typical config", &typical),
    ] {
        let request = request(modules.clone());
        let mut calls = 0;
        let mut parsed = 0;
        let all = measure(5, || {
            let scan = snakebridge::scan::scan(&request, None);
            calls = scan.calls.len();
            parsed = scan.parsed;
        });
        summary(
            &format!("scan cold, {name}, all cores ({calls} calls, {parsed} files parsed)"),
            &all,
        );
        println!(
            "{:<48} {:.1} MB/s",
            "  throughput (median)",
            mb / all[2].as_secs_f64()
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let one = measure(3, || {
            pool.install(|| snakebridge::scan::scan(&request, None));
        });
        summary(&format!("scan cold, {name}, one thread"), &one);
    }
    let request = request(every.clone());

    // What a user runs: `snakebridge scan` from a cold cache, the process included.
    let binary = repo().join("target/release/snakebridge");
    if binary.exists() {
        // A configuration cannot name Elixir's own modules: the worst case is measured above.
        let typical_config = "[project]\npaths = [\".\"]\n[libraries]\nnumpy = \"~> 2.0\"\npandas = \"~> 2.2\"\nscipy = \">= 1.13\"\n";
        let cold_cli = |root: &Path| {
            measure(5, || {
                let _ = std::fs::remove_file(root.join(".snakebridge/scan_cache.json"));
                let status = Command::new(&binary)
                    .args(["scan", "--format", "json", "--quiet"])
                    .current_dir(root)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
            })
        };
        let project = tempfile::tempdir().unwrap();
        copy_tree(corpus, project.path());
        std::fs::write(project.path().join("snakebridge.toml"), typical_config).unwrap();
        summary(
            "`snakebridge scan` cold, typical config (release binary)",
            &cold_cli(project.path()),
        );
        // Over 10,000 files: the corpus eleven times over.
        let project = tempfile::tempdir().unwrap();
        for copy in 0..11 {
            copy_tree(corpus, &project.path().join(format!("copy{copy}")));
        }
        std::fs::write(project.path().join("snakebridge.toml"), typical_config).unwrap();
        let count = snakebridge::scan::source_files(&snakebridge::scan::Request {
            root: project.path(),
            paths: &paths,
            exclude: &[],
            modules: vec![],
        })
        .len();
        summary(
            &format!("`snakebridge scan` cold, {count} files, typical config"),
            &cold_cli(project.path()),
        );
    } else {
        eprintln!(
            "scan: build the release binary for the CLI rows (`cargo build --release -p snakebridge`)"
        );
    }

    // Warm: the content-hash cache is current.
    let cache = tempfile::tempdir().unwrap();
    let cache_file = cache.path().join("scan_cache.json");
    snakebridge::scan::scan(&request, Some(&cache_file));
    let warm = measure(5, || {
        snakebridge::scan::scan(&request, Some(&cache_file));
    });
    summary("scan warm (cache current)", &warm);

    // The same files through Elixir's parser, in the same run.
    let list = cache.path().join("files.txt");
    std::fs::write(
        &list,
        files
            .iter()
            .map(|f| corpus.join(f).display().to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let script = repo().join("host/benches/parse_corpus.exs");
    let output = Command::new("elixir")
        .arg(&script)
        .arg(&list)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
}

/// Copies the `.ex`/`.exs` files under `from` to `to`, keeping their paths.
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().flatten() {
        let relative = entry.path().strip_prefix(from).unwrap();
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A library of `n` symbols with a spread of signatures, as introspection would record them.
fn library(n: usize) -> LibraryRecord {
    let mut symbols = BTreeMap::new();
    let mut modules = BTreeMap::new();
    modules.insert(
        "Bench".to_string(),
        Module {
            python_path: "bench".into(),
            kind: ModuleKind::Module,
            doc: "A benchmark library.".into(),
        },
    );
    for i in 0..n {
        let params: Vec<Param> = (0..(i % 6))
            .map(|p| Param {
                python_name: format!("arg{p}"),
                elixir_name: format!("arg{p}"),
                kind: if p % 3 == 2 {
                    ParamKind::KeywordOnly
                } else {
                    ParamKind::PositionalOrKeyword
                },
                default: (p > 1).then(|| "None".to_string()),
                annotation: (p % 2 == 0).then(|| "int | None".to_string()),
            })
            .collect();
        let signature = Signature {
            params,
            returns: Some("float".into()),
            source: SignatureSource::Inspect,
        };
        let kind = SymbolKind::Function;
        let name = format!("function_{i:04}");
        symbols.insert(
            format!("Bench.{name}"),
            Symbol {
                kind,
                elixir_module: "Bench".into(),
                elixir_name: name.clone(),
                python_module: "bench".into(),
                python_name: name,
                arity: snakebridge::arity::range(kind, &signature),
                signature,
                overloads: vec![],
                doc: "Computes something.\n\nParameters\n----------\narg0 : int\n    The first argument.\n\nReturns\n-------\nfloat\n    The result.".into(),
                defined_in: None,
                generator: false,
            },
        );
    }
    LibraryRecord {
        python_module: "bench".into(),
        elixir_module: "Bench".into(),
        modules,
        symbols,
        absent: BTreeMap::new(),
        all: false,
    }
}

fn stages() {
    let cache = tempfile::tempdir().unwrap();
    let plugins = Plugins {
        emitter: snakebridge::config::PluginRef::Builtin,
        typespecs: snakebridge::config::PluginRef::Builtin,
        docs: snakebridge::config::PluginRef::Builtin,
    };
    let cold = measure(1, || {
        Pipeline::load(
            PluginHost::new(Some(cache.path().to_path_buf())).unwrap(),
            &plugins,
            &repo(),
        )
        .unwrap();
    });
    summary("load 3 plugins, compile cache cold", &cold);
    let load = measure(10, || {
        Pipeline::load(
            PluginHost::new(Some(cache.path().to_path_buf())).unwrap(),
            &plugins,
            &repo(),
        )
        .unwrap();
    });
    summary("load 3 plugins, compile cache warm", &load);
    let pipeline = Pipeline::load(
        PluginHost::new(Some(cache.path().to_path_buf())).unwrap(),
        &plugins,
        &repo(),
    )
    .unwrap();
    for n in [100, 1000] {
        let record = library(n);
        let mut size = 0;
        let times = measure(10, || {
            size = pipeline.render("bench", &record, "1.0").unwrap()[0]
                .contents
                .len()
        });
        summary(
            &format!("stages (typespecs+docs+emitter), {n} symbols"),
            &times,
        );
        println!("{:<48} {} bytes of Elixir", "", size);
        let library = snakebridge::stages::library("bench", &record, "1.0", &Default::default());
        let host = PluginHost::new(Some(cache.path().to_path_buf())).unwrap();
        let mut types = Vec::new();
        let typespecs = measure(10, || {
            types = host.map_types(&pipeline.typespecs, &library).unwrap()
        });
        summary("  typespecs stage alone", &typespecs);
        let mut docs = None;
        let doc_stage = measure(10, || {
            docs = Some(host.render_docs(&pipeline.docs, &library).unwrap())
        });
        summary("  docs stage alone", &doc_stage);
        let input = RenderInput {
            library,
            types,
            docs: docs.unwrap(),
            conventions: snakebridge::stages::conventions(),
        };
        let emitter = measure(10, || {
            host.emit(&pipeline.emitter, &input).unwrap();
        });
        summary("  emitter stage alone", &emitter);
    }
}

fn noop() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("snakebridge.toml"), "[python]\nexecutable = \"python3\"\n[libraries]\nmath = { stdlib = true }\nstatistics = { stdlib = true, module = \"Stats\" }\n").unwrap();
    let mut bytes = 0;
    for i in 0..1000 {
        let mut source = format!(
            "defmodule Bench.M{i} do\n  @moduledoc \"Module {i}.\"\n  alias Bench.Helpers\n\n"
        );
        for f in 0..12 {
            source += &format!(
                "  def f{f}(xs) do\n    xs\n    |> Enum.map(&(&1 * {f}))\n    |> Helpers.sum()\n  end\n\n"
            );
        }
        if i % 10 == 0 {
            source += "  def root(x), do: Math.sqrt(x) + Math.log(x, 2)\n  def mid(xs), do: Stats.median(xs)\n";
        }
        source += "end\n";
        bytes += source.len();
        let path = root.join(format!("lib/bench/m{i}.ex"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    println!("no-op project: 1000 files, {:.2} MB", bytes as f64 / 1e6);
    let binary = env!("CARGO_BIN_EXE_snakebridge");
    let cache = root.join("cache");
    let run = |command: &str| {
        let out = Command::new(binary)
            .args([command, "-q"])
            .current_dir(root)
            .env("SNAKEBRIDGE_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let first = measure(1, || run("generate"));
    summary("generate, first run (introspects with Python)", &first);
    let warm = measure(20, || run("generate"));
    summary("generate, no-op (warm caches, 1000 files)", &warm);
    let verify = measure(10, || run("verify"));
    summary("verify (re-render, compare, 1000 files)", &verify);
}

/// numpy's public top-level functions (no classes), sorted.
fn numpy_functions() -> Vec<String> {
    let output = Command::new("python3")
        .args(["-c", "import numpy, inspect\nnames=[n for n in sorted(numpy.__all__) if callable(getattr(numpy, n)) and not inspect.isclass(getattr(numpy, n))]\nprint(' '.join(names))"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn introspect() {
    let mut names = numpy_functions();
    names.truncate(100);
    let request = snakebridge::introspect::Request {
        library: "numpy".into(),
        stdlib: false,
        sys_path: vec![],
        modules: vec![vec![]],
        list: false,
        symbols: names
            .iter()
            .map(|n| snakebridge::introspect::SymbolRequest {
                module: vec![],
                candidates: vec![n.clone()],
                stream_of: None,
            })
            .collect(),
    };
    let python = Path::new("python3");
    let times = measure(5, || {
        let reply =
            snakebridge::introspect::run(python, &request, Duration::from_secs(60)).unwrap();
        assert_eq!(reply.symbols.len(), names.len());
    });
    summary(
        &format!("introspect {} numpy functions (with start-up)", names.len()),
        &times,
    );
    let baseline = measure(5, || {
        Command::new("python3")
            .args(["-c", "import numpy"])
            .output()
            .unwrap();
    });
    summary("  baseline: python3 -c 'import numpy'", &baseline);
}

/// What share of numpy's parameters and results get a type more precise than `term()`, from
/// its stubs, across every public top-level function.
fn coverage() {
    let names = numpy_functions();
    let config = snakebridge::config::Config::parse("[libraries]\nnumpy = \"~> 2.0\"\n").unwrap();
    let library = &config.libraries["numpy"];
    let needs: Vec<snakebridge::plan::Need> = names
        .iter()
        .filter(|n| {
            snakebridge::naming::elixir_function_name(n, snakebridge::model::SymbolKind::Function)
                .as_deref()
                == Some(n.as_str())
        })
        .map(|n| snakebridge::plan::Need {
            module: "Numpy".into(),
            function: n.clone(),
            calls: vec![],
        })
        .collect();
    let request = snakebridge::resolve::request(library, &needs, vec![]);
    let reply =
        snakebridge::introspect::run(Path::new("python3"), &request, Duration::from_secs(120))
            .unwrap();
    let mut record = LibraryRecord::default();
    let merged = snakebridge::resolve::merge(library, &needs, &reply, &mut record);
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(Some(cache.path().to_path_buf())).unwrap();
    let plugin = host
        .load(
            snakebridge::plugin_host::Stage::Typespecs,
            &snakebridge::plugin_host::Source::Builtin(snakebridge::plugin_host::Stage::Typespecs),
        )
        .unwrap();
    let wit = snakebridge::stages::library("numpy", &record, "2", &Default::default());
    let types = host.map_types(&plugin, &wit).unwrap();
    let precise = |expr: &snakebridge::plugin_host::wit::latest::types::TypeExpr| {
        !matches!(
            expr.nodes.first(),
            Some(snakebridge::plugin_host::wit::latest::types::TypeNode::Term)
        )
    };
    let (mut params, mut typed_params, mut returns, mut typed_returns, mut with_stubs) =
        (0, 0, 0, 0, 0);
    for (symbol, types) in wit.symbols.iter().zip(&types) {
        with_stubs += usize::from(!symbol.overloads.is_empty());
        for (param, ty) in symbol.signature.params.iter().zip(&types.params) {
            use snakebridge::plugin_host::wit::latest::types::ParamKind;
            if matches!(param.kind, ParamKind::VarKeyword) {
                continue;
            }
            params += 1;
            typed_params += usize::from(precise(ty));
            if !precise(ty) && std::env::var_os("SNAKEBRIDGE_COVERAGE_DEBUG").is_some() {
                let anns: Vec<String> = symbol
                    .overloads
                    .iter()
                    .flat_map(|o| o.params.iter())
                    .filter(|p| p.python_name == param.python_name)
                    .filter_map(|p| p.annotation.as_ref().map(|a| a.source.clone()))
                    .collect();
                eprintln!(
                    "TERM {} {} {:?}",
                    symbol.id,
                    param.python_name,
                    anns.first()
                );
            }
        }
        returns += 1;
        typed_returns += usize::from(precise(&types.returns));
    }
    let share = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "numpy: {} public functions introspected ({} problems), {} with stub signatures",
        wit.symbols.len(),
        merged.problems.len(),
        with_stubs
    );
    println!(
        "  parameters typed more precisely than term(): {typed_params}/{params} ({:.1}%)",
        share(typed_params, params)
    );
    println!(
        "  results typed more precisely than term():    {typed_returns}/{returns} ({:.1}%)",
        share(typed_returns, returns)
    );
}
