//! Builds a stage plugin crate into the WebAssembly component snakebridge loads: `cargo build`
//! for `wasm32-unknown-unknown`, then the core module wrapped as a component.
//!
//! Shared by `cargo xtask plugins` (the built-ins) and `snakebridge plugin build` (anyone's).
//! The wrapping refuses a module that imports anything, since a plugin gets no capabilities,
//! and one without the contract section the PDK's export macros write.

use std::path::{Path, PathBuf};
use std::process::Command;

use snakebridge_pdk::CONTRACT_SECTION;

/// The only target plugins are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run cargo: {0}")]
    Cargo(#[source] std::io::Error),
    #[error("building `{package}` failed; is the target installed (`rustup target add {TARGET}`)?")]
    Build { package: String },
    #[error("cannot read the built module {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the module imports `{module}::{name}`; plugins must not import anything")]
    Import { module: String, name: String },
    #[error(
        "the module has no `{CONTRACT_SECTION}` section; export the stage with the PDK's macro"
    )]
    NoContract,
    #[error("not a WebAssembly module: {0}")]
    Parse(String),
    #[error("cannot make a component of the module: {0}")]
    Encode(String),
}

/// One crate to build.
pub struct Build<'a> {
    /// The directory cargo runs in.
    pub dir: &'a Path,
    pub package: &'a str,
    /// A cargo profile: `release`, or the workspace's own.
    pub profile: &'a str,
    pub target_dir: &'a Path,
    /// Pass `--locked`: the lock file must already say everything.
    pub locked: bool,
}

/// Builds the crate and returns its component's bytes.
pub fn build(build: &Build<'_>) -> Result<Vec<u8>, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(build.dir)
        .args(["build", "--quiet", "--target", TARGET, "--profile"])
        .arg(build.profile)
        .arg("--target-dir")
        .arg(build.target_dir)
        .arg("-p")
        .arg(build.package)
        // Where the build ran must not reach the bytes (panic messages carry source paths).
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            remap_flags(),
        );
    if build.locked {
        command.arg("--locked");
    }
    let status = command.status().map_err(Error::Cargo)?;
    if !status.success() {
        return Err(Error::Build {
            package: build.package.to_string(),
        });
    }
    // Cargo names the `release` profile's directory after it, and `dev`'s `debug`.
    let profile_dir = if build.profile == "dev" {
        "debug"
    } else {
        build.profile
    };
    let path = build
        .target_dir
        .join(TARGET)
        .join(profile_dir)
        .join(format!("{}.wasm", build.package.replace('-', "_")));
    let core = std::fs::read(&path).map_err(|source| Error::Read { path, source })?;
    componentize(&core)
}

/// `--remap-path-prefix` for cargo's home, where dependency sources live.
fn remap_flags() -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    home.map(|home| format!("--remap-path-prefix={}=/cargo", home.display()))
        .unwrap_or_default()
}

/// Wraps a core module into a component, refusing any import.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, Error> {
    let mut has_contract = false;
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        match payload.map_err(|e| Error::Parse(e.to_string()))? {
            wasmparser::Payload::ImportSection(reader) => {
                if let Some(import) = reader.into_imports().next() {
                    let import = import.map_err(|e| Error::Parse(e.to_string()))?;
                    return Err(Error::Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                    });
                }
            }
            wasmparser::Payload::CustomSection(section) if section.name() == CONTRACT_SECTION => {
                has_contract = true;
            }
            _ => {}
        }
    }
    if !has_contract {
        return Err(Error::NoContract);
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .and_then(|encoder| encoder.encode())
        .map_err(|e| Error::Encode(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_imports_and_modules_without_the_contract() {
        let importing = wat::parse_str(r#"(module (import "wasi" "clock" (func)))"#).unwrap();
        assert!(matches!(
            componentize(&importing),
            Err(Error::Import { module, name }) if module == "wasi" && name == "clock"
        ));
        let bare = wat::parse_str("(module)").unwrap();
        assert!(matches!(componentize(&bare), Err(Error::NoContract)));
        assert!(matches!(componentize(b"not wasm"), Err(Error::Parse(_))));
    }
}
