//! Shared by the integration tests: a temporary project driven through the real binary, and
//! the real Elixir compiler and formatter on what it generates.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A project in a temporary directory.
pub struct TestProject {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn assert_failure(&self) -> &Self {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl TestProject {
    /// A project with this `snakebridge.toml`.
    pub fn new(config: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("snakebridge.toml", config);
        project
    }

    /// A copy of a directory of this repository, such as `examples/demo`.
    pub fn copy_of(relative: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        copy_dir(&repo().join(relative), project.root());
        project
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) -> &Self {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// Runs `snakebridge ARGS` in the project.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let output = self.command(args, env).output().unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `snakebridge ARGS` in the project, with `env` and nothing else from the test's own.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_snakebridge"));
        command
            .args(args)
            .current_dir(self.root())
            .env("SNAKEBRIDGE_CACHE_DIR", cache_dir());
        for var in [
            "SNAKEBRIDGE_STRICT",
            "SNAKEBRIDGE_SKIP",
            "SNAKEBRIDGE_PYTHON",
            "NO_COLOR",
        ] {
            command.env_remove(var);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// The generated files, path and contents, sorted.
    pub fn generated(&self) -> Vec<(String, String)> {
        let dir = self.path("lib/snakebridge_generated");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// Replaces the temporary directory in `text`, for snapshots.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.root().display().to_string(), "[PROJECT]")
    }
}

/// Compiled plugins are cached across tests.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("snakebridge-cache")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if matches!(name.to_str(), Some("_build" | "deps" | "venv")) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Compiles `files` (name, contents) with the snakebridge Elixir package using
/// `elixirc --warnings-as-errors`, and checks them with `mix format --check-formatted`.
/// Panics with the compiler's or formatter's output on failure.
pub fn assert_compiles_and_is_formatted(files: &[(String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut paths = Vec::new();
    for (name, contents) in files {
        let path = src.join(name);
        std::fs::write(&path, contents).unwrap();
        paths.push(path);
    }
    std::fs::write(
        dir.path().join(".formatter.exs"),
        "[inputs: [\"src/*.ex\"]]\n",
    )
    .unwrap();
    let format = Command::new("mix")
        .args(["format", "--check-formatted"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    if !format.status.success() {
        // Show what the formatter would change.
        let before: Vec<String> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        Command::new("mix")
            .arg("format")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let mut report = String::new();
        for (path, before) in paths.iter().zip(&before) {
            let after = std::fs::read_to_string(path).unwrap();
            let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str());
            report += &diff
                .unified_diff()
                .context_radius(3)
                .header("generated", "mix format")
                .to_string();
        }
        let lines: Vec<&str> = report.lines().take(120).collect();
        panic!(
            "generated code is not `mix format`ted:\n{}",
            lines.join("\n")
        );
    }
    let mut runtime: Vec<PathBuf> = std::fs::read_dir(repo().join("elixir/lib/snakebridge"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runtime.push(repo().join("elixir/lib/snakebridge.ex"));
    let out = dir.path().join("ebin");
    std::fs::create_dir_all(&out).unwrap();
    let compile = Command::new("elixirc")
        .arg("--warnings-as-errors")
        .arg("-o")
        .arg(&out)
        .args(&runtime)
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        compile.status.success(),
        "generated code does not compile:\n{}{}",
        String::from_utf8_lossy(&compile.stdout),
        String::from_utf8_lossy(&compile.stderr)
    );
}
