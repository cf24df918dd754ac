//! The Python that introspection runs in: the configured interpreter, or a uv-managed virtual
//! environment in `.snakebridge/venv` with the requested library versions installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;
use crate::config::Config;
use crate::lock::Lock;
use crate::settings::Settings;

/// Where the managed environment lives, relative to the project root.
pub const MANAGED_DIR: &str = ".snakebridge/venv";

/// Records what the managed environment was last installed with, to skip reinstalling.
const MARKER: &str = ".snakebridge-requirements";

/// What the runtime's Python worker needs besides the libraries, installed in the managed
/// environment along with them. A configured interpreter must have them already.
pub const RUNTIME_PACKAGES: &[&str] = &["grpcio>=1.60", "protobuf>=4.21"];

#[derive(Clone, Debug)]
pub struct Environment {
    pub python: PathBuf,
    pub managed: bool,
}

/// The pip requirement lines the managed environment needs, sorted. A library the lock has
/// resolved under the same requirement is pinned to that version, so a fresh environment
/// reproduces the committed bindings.
pub fn requirements(config: &Config, lock: Option<&Lock>) -> Vec<String> {
    let mut lines: Vec<String> = config
        .libraries
        .values()
        .filter(|library| !library.stdlib && library.path.is_none())
        .map(|library| {
            let package = library.package.as_deref().unwrap_or(&library.name);
            let locked = lock
                .and_then(|lock| lock.libraries.get(&library.name))
                .filter(|entry| entry.requested == library.requested());
            match (locked, &library.requirement) {
                (Some(entry), _) => format!("{package}=={}", entry.resolved),
                (None, Some(requirement)) => format!("{package}{}", requirement.pep440),
                (None, None) => package.to_string(),
            }
        })
        .collect();
    lines.sort();
    lines
}

/// Makes sure the Python to introspect with exists and has the libraries installed.
pub fn ensure_environment(
    root: &Path,
    config: &Config,
    settings: &Settings,
    lock: Option<&Lock>,
    mut progress: impl FnMut(&str),
) -> Result<Environment, Error> {
    if let Some(python) = settings.given_python() {
        return Ok(Environment {
            python: python.to_path_buf(),
            managed: false,
        });
    }
    let dir = root.join(MANAGED_DIR);
    let python = dir.join("bin").join("python");
    let uv = find_uv()?;
    if !python.exists() {
        progress("creating the Python environment in `.snakebridge/venv`");
        run(Command::new(&uv[0])
            .args(&uv[1..])
            .arg("venv")
            .arg("--quiet")
            .arg(&dir))?;
    }
    let wanted = wanted(config, lock);
    let marker = dir.join(MARKER);
    let installed = fs_err::read_to_string(&marker).unwrap_or_default();
    let wanted_text = wanted.join("\n");
    if installed != wanted_text {
        if !wanted.is_empty() {
            progress(&format!("installing {}", wanted.join(", ")));
            run(Command::new(&uv[0])
                .args(&uv[1..])
                .args(["pip", "install", "--quiet", "--python"])
                .arg(&python)
                .args(&wanted))?;
        }
        fs_err::write(&marker, wanted_text).map_err(|e| Error::Environment {
            command: "write the requirements marker".into(),
            output: e.to_string(),
        })?;
    }
    Ok(Environment {
        python,
        managed: true,
    })
}

/// Records that the managed environment holds what `lock` pins, once a run has introspected in
/// it: the lock's versions came from it. Without this, the first run's open requirement
/// (`six>=1.16,<2`) would differ from the pinned one the next run asks for (`six==1.17.0`) and
/// reinstall for nothing.
pub fn settle(root: &Path, config: &Config, settings: &Settings, lock: &Lock) {
    let marker = root.join(MANAGED_DIR).join(MARKER);
    if settings.given_python().is_none() && marker.exists() {
        // Only a cache: if it cannot be written, the next run reinstalls, which is harmless.
        let _ = fs_err::write(&marker, wanted(config, Some(lock)).join("\n"));
    }
}

/// Everything the managed environment installs: the libraries and the runtime's packages.
fn wanted(config: &Config, lock: Option<&Lock>) -> Vec<String> {
    let mut wanted = requirements(config, lock);
    wanted.extend(RUNTIME_PACKAGES.iter().map(|p| p.to_string()));
    wanted
}

/// `uv`, or `python3 -m uv` when only the Python package is installed.
fn find_uv() -> Result<Vec<String>, Error> {
    for candidate in [
        vec!["uv".to_string()],
        vec!["python3".into(), "-m".into(), "uv".into()],
    ] {
        let works = Command::new(&candidate[0])
            .args(&candidate[1..])
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        if works {
            return Ok(candidate);
        }
    }
    Err(Error::UvNotFound)
}

fn run(command: &mut Command) -> Result<(), Error> {
    // The network here is registries only: never let uv try to download an interpreter.
    command
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("VIRTUAL_ENV");
    let shown = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|e| Error::Environment {
        command: shown.clone(),
        output: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        Err(Error::Environment {
            command: shown,
            output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        })
    }
}
