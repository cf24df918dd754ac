//! `snakebridge plugin new|build|check`: start, build and try a third-party stage plugin.
//!
//! `check` loads a component exactly as `generate` would (contract section, stage export, no
//! imports), then renders sample records with it in its stage and the built-ins in the others,
//! twice: the output must pass the writer's path rules and be the same bytes both times. The
//! records are the project's manifest when there is one, else the bundled example's.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::{PluginRef, Plugins};
use crate::manifest;
use crate::model::Manifest;
use crate::pipeline::render_all;
use crate::plugin_host::{self, PluginHost, Source, Stage};
use crate::printer::Printer;
use crate::stages::Pipeline;
use crate::write::Directory;
use crate::{Error, lock};

/// The bundled example's manifest: real numpy, stdlib and local-module records.
const SAMPLE_MANIFEST: &str = include_str!("../../../examples/demo/.snakebridge/manifest.json");

const CARGO_TEMPLATE: &str = include_str!("../../templates/plugin/Cargo.toml");

fn source_template(stage: Stage) -> &'static str {
    match stage {
        Stage::Emitter => include_str!("../../templates/plugin/emitter.rs"),
        Stage::Typespecs => include_str!("../../templates/plugin/typespecs.rs"),
        Stage::Docs => include_str!("../../templates/plugin/docs.rs"),
    }
}

/// Writes a plugin crate for `stage` into `dir`, which must not exist or be empty. `pdk` is
/// a path to `snakebridge-pdk`; without it, the PDK of the source tree this binary was built
/// from when that is still on disk, else the published crate.
pub fn new(dir: &Path, stage: Stage, pdk: Option<&Path>) -> Result<Vec<PathBuf>, Error> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| valid_crate_name(n))
        .ok_or_else(|| Error::PluginNew {
            dir: dir.to_path_buf(),
            reason: "its name is not a valid crate name (letters, digits, `-` and `_`, starting with a letter)".into(),
        })?;
    let occupied = fs_err::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(Error::PluginNew {
            dir: dir.to_path_buf(),
            reason: "it exists and is not empty".into(),
        });
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/pdk");
    let pdk = pdk.or_else(|| {
        built_from
            .join("Cargo.toml")
            .exists()
            .then_some(built_from.as_path())
    });
    let pdk = match pdk {
        Some(path) => {
            let path = fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            format!("path = {}", toml_string(&path.display().to_string()))
        }
        None => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let files = [
        (
            "Cargo.toml",
            CARGO_TEMPLATE
                .replace("{{name}}", name)
                .replace("{{pdk}}", &pdk)
                .replace("{{stage}}", stage.name()),
        ),
        (
            "src/lib.rs",
            source_template(stage).replace("{{name}}", name),
        ),
        (".gitignore", "/target\n".to_string()),
    ];
    let mut written = Vec::new();
    for (relative, contents) in files {
        let path = dir.join(relative);
        let io = |source| Error::PluginNew {
            dir: dir.to_path_buf(),
            reason: format!("cannot write {relative}: {source}"),
        };
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(io)?;
        }
        fs_err::write(&path, contents).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

fn valid_crate_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Builds the plugin crate in `dir` into a component at `out` (default `dir/<name>.wasm`).
pub fn build(dir: &Path, out: Option<&Path>) -> Result<PathBuf, Error> {
    let manifest_path = dir.join("Cargo.toml");
    let text = fs_err::read_to_string(&manifest_path).map_err(|e| Error::PluginBuild {
        dir: dir.to_path_buf(),
        message: format!("{e}; `snakebridge plugin new` starts a plugin crate"),
    })?;
    let package: toml::Table = toml::from_str(&text).map_err(|e| Error::PluginBuild {
        dir: dir.to_path_buf(),
        message: format!("Cargo.toml: {e}"),
    })?;
    let name = package
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| Error::PluginBuild {
            dir: dir.to_path_buf(),
            message: "Cargo.toml has no `[package] name`".into(),
        })?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    // Cargo runs in `dir`: a relative target directory would land inside it again.
    let target_dir = std::path::absolute(&target_dir).unwrap_or(target_dir);
    let component = snakebridge_plugin_build::build(&snakebridge_plugin_build::Build {
        dir,
        package: name,
        profile: "release",
        target_dir: &target_dir,
        locked: false,
    })
    .map_err(|e| Error::PluginBuild {
        dir: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let out = out.map_or_else(|| dir.join(format!("{name}.wasm")), Path::to_path_buf);
    let (parent, file) = match (out.parent(), out.file_name().and_then(|f| f.to_str())) {
        (Some(parent), Some(file)) => (parent, file),
        _ => {
            return Err(Error::PluginBuild {
                dir: dir.to_path_buf(),
                message: format!("`{}` is not a file path", out.display()),
            });
        }
    };
    Directory::create(parent, "")?.write_if_changed(file, &component)?;
    Ok(out)
}

/// What `check` found.
pub struct Checked {
    pub path: PathBuf,
    pub stage: Stage,
    pub contract: String,
    pub blake3: String,
    pub bytes: usize,
    /// Where the sample records came from.
    pub sample: &'static str,
    pub libraries: usize,
    pub symbols: usize,
    pub files: usize,
}

/// Loads `path` as `generate` would and renders sample records with it, twice.
pub fn check(
    root: &Path,
    path: &Path,
    stage: Option<Stage>,
    environment: &crate::settings::Environment,
) -> Result<Checked, Error> {
    let bytes = fs_err::read(path).map_err(|source| plugin_host::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let blake3 = blake3::hash(&bytes).to_hex().to_string();
    let host = || {
        PluginHost::new(environment.cache_dir()).map_err(|e| Error::Engine {
            message: format!("{e:#}"),
        })
    };
    let source = Source::File {
        path: path.to_path_buf(),
        pinned: blake3.clone(),
    };
    let stage = match stage {
        Some(stage) => stage,
        None => detect_stage(&host()?, &source)?,
    };
    let mut plugins = Plugins {
        emitter: PluginRef::Builtin,
        typespecs: PluginRef::Builtin,
        docs: PluginRef::Builtin,
    };
    let pinned = PluginRef::File {
        path: path.display().to_string(),
        blake3: blake3.clone(),
    };
    match stage {
        Stage::Emitter => plugins.emitter = pinned,
        Stage::Typespecs => plugins.typespecs = pinned,
        Stage::Docs => plugins.docs = pinned,
    }
    // Relative plugin paths resolve against the root; `path` is already usable as given.
    let pipeline = Pipeline::load(host()?, &plugins, Path::new(""))?;
    let contract = pipeline
        .plugins()
        .into_iter()
        .find(|plugin| plugin.stage == stage)
        .map(|plugin| plugin.contract.clone())
        .unwrap_or_default();

    let (manifest, sample) = match manifest::load(root)? {
        found if !found.libraries.is_empty() => (found, "this project's manifest"),
        _ => (sample_manifest()?, "the bundled example's manifest"),
    };
    let lock = lock::load(root)?;
    let render = || render_all(&manifest, lock.as_ref(), &pipeline, None);
    let first = render()?;
    let second = render()?;
    if first != second {
        let differs = first
            .iter()
            .zip(&second)
            .find(|(a, b)| a != b)
            .map_or_else(|| "the file list".to_string(), |(a, _)| a.path.clone());
        return Err(Error::PluginNondeterministic {
            name: path.display().to_string(),
            differs,
        });
    }
    Ok(Checked {
        path: path.to_path_buf(),
        stage,
        contract,
        blake3,
        bytes: bytes.len(),
        sample,
        libraries: manifest.libraries.len(),
        symbols: manifest.libraries.values().map(|r| r.symbols.len()).sum(),
        files: first.len(),
    })
}

/// The stage whose interface the component exports.
fn detect_stage(host: &PluginHost, source: &Source) -> Result<Stage, Error> {
    let mut last = None;
    for stage in Stage::ALL {
        match host.load(stage, source) {
            Ok(_) => return Ok(stage),
            Err(error @ plugin_host::Error::WrongStage { .. }) => last = Some(error),
            Err(error) => return Err(error.into()),
        }
    }
    Err(last.map_or(Error::NoStage, Error::from))
}

fn sample_manifest() -> Result<Manifest, Error> {
    serde_json::from_str(SAMPLE_MANIFEST).map_err(|e| Error::Engine {
        message: format!("the bundled sample manifest: {e}"),
    })
}

pub fn report_check(printer: Printer, checked: &Checked) {
    let pin = format!(
        "{} = {{ path = {}, blake3 = \"{}\" }}",
        checked.stage.name(),
        toml_string(&checked.path.display().to_string()),
        checked.blake3
    );
    printer.data(
        || {
            format!(
                "{path}: the {stage} stage, contract {contract}, {bytes} bytes\n\
                 rendered {libraries} libraries ({symbols} symbols, {sample}) into {files} files, \
                 the same bytes twice\n\
                 blake3 {blake3}\n\n\
                 pin it in snakebridge.toml:\n\n[plugins]\n{pin}\n",
                path = checked.path.display(),
                stage = checked.stage.name(),
                contract = checked.contract,
                bytes = checked.bytes,
                libraries = checked.libraries,
                symbols = checked.symbols,
                sample = checked.sample,
                files = checked.files,
                blake3 = checked.blake3,
            )
        },
        || {
            json!({
                "path": checked.path.display().to_string(),
                "stage": checked.stage.name(),
                "contract": checked.contract,
                "blake3": checked.blake3,
                "bytes": checked.bytes,
                "libraries": checked.libraries,
                "symbols": checked.symbols,
                "files": checked.files,
                "deterministic": true,
                "pin": pin,
            })
        },
    );
}
