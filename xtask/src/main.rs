//! Repository tasks.
//!
//! `cargo xtask plugins` builds the built-in stage plugins into WebAssembly components and writes
//! them to `plugins/dist/`, where the host embeds them. `cargo xtask plugins --check` builds them
//! again and fails unless the bytes equal the committed ones, which is how CI proves the committed
//! components are exactly what the sources produce.
//!
//! Reproducibility rests on three things: the pinned toolchain version recorded in
//! `plugins/dist/TOOLCHAIN`, the `plugin` profile (one codegen unit, LTO, no debug info), and
//! remapping `$CARGO_HOME` out of the embedded panic locations.

#![expect(
    clippy::print_stderr,
    reason = "a developer tool that reports progress on stderr"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Components to build: package name and the file it becomes, relative to the workspace. The
/// first three are the built-ins the host embeds; the last is the sandbox tests' hostile plugin.
const PLUGINS: &[(&str, &str)] = &[
    (
        "snakebridge-plugin-default-emitter",
        "plugins/dist/default-emitter.wasm",
    ),
    (
        "snakebridge-plugin-typespecs",
        "plugins/dist/typespecs.wasm",
    ),
    ("snakebridge-plugin-docs", "plugins/dist/docs.wasm"),
    (
        "snakebridge-test-hostile",
        "tests/fixtures/plugins/hostile.wasm",
    ),
];

type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let mut check = false;
    let mut workspace = None;
    let mut iter = args.iter();
    match iter.next().map(String::as_str) {
        Some("plugins") => {}
        _ => return Err("usage: cargo xtask plugins [--check] [--workspace DIR]".into()),
    }
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--workspace" => {
                workspace = Some(PathBuf::from(
                    iter.next().ok_or("`--workspace` needs a directory")?,
                ))
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let root = match workspace {
        Some(dir) => dir,
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask lives inside the workspace")?
            .to_path_buf(),
    };
    plugins(&root, check)
}

fn plugins(root: &Path, check: bool) -> Result<()> {
    let dist = root.join("plugins/dist");
    let toolchain = rustc_version()?;
    let pinned = std::fs::read_to_string(dist.join("TOOLCHAIN")).unwrap_or_default();
    if check && pinned.trim() != toolchain {
        return Err(format!(
            "the committed plugins were built with `{}`, this machine has `{toolchain}`; \
             byte-identical rebuilds need the same compiler",
            pinned.trim()
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut mismatched = Vec::new();
    for (package, file) in PLUGINS {
        // One cargo invocation per plugin: building them together would unify the PDK's stage
        // features and give every component all three worlds.
        let component = snakebridge_plugin_build::build(&snakebridge_plugin_build::Build {
            dir: root,
            package,
            profile: "plugin",
            target_dir: &target_dir,
            locked: true,
        })
        .map_err(|e| format!("`{package}`: {e}"))?;
        let out = root.join(file);
        if check {
            let committed = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            if committed == component {
                eprintln!("ok {file} ({} bytes)", component.len());
            } else {
                eprintln!(
                    "MISMATCH {file}: committed {} bytes, rebuilt {} bytes",
                    committed.len(),
                    component.len()
                );
                mismatched.push(*file);
            }
        } else {
            std::fs::write(&out, &component).map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!("wrote {file} ({} bytes)", component.len());
        }
    }
    if !check {
        std::fs::write(dist.join("TOOLCHAIN"), format!("{toolchain}\n"))
            .map_err(|e| format!("plugins/dist/TOOLCHAIN: {e}"))?;
    }
    if mismatched.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} differ from their sources: run `cargo xtask plugins` and commit the components",
            mismatched.join(", ")
        ))
    }
}

fn rustc_version() -> Result<String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
