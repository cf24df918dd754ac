//! The output directory's rules, and the switch that puts a run's result in place.
//!
//! What is ours: a regular file whose first bytes are [`GENERATED_MARKER`]. Everything else in
//! the output directory (a file without the marker, a link, a device) is foreign, and is never
//! overwritten, deleted or read through: `generate` stops naming it, `verify` reports it. A
//! file of ours that nothing renders any more is stale; `generate` removes it.
//!
//! A run's files, manifest and lock change together or not at all. The new contents are
//! first staged beside their targets (`.<name>.snakebridge-tmp`) and made durable; then a
//! switch record, `.snakebridge/switch.json`, lists every rename and removal, and once it is
//! on disk the run is committed; then the renames and removals happen and the record goes.
//! Every command that takes the project lock first [`recover`]s: it finishes a committed
//! switch, or removes what an uncommitted one staged. Killed at any instant, a project is
//! found with exactly the old state or exactly the new one.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use crate::stages::File;

pub use crate::naming::GENERATED_MARKER;

/// Ends the name of every file a run stages; `init`'s `.gitignore` covers it.
pub const TEMP_SUFFIX: &str = ".snakebridge-tmp";

/// The switch record, in `.snakebridge/`.
pub const SWITCH_FILE: &str = "switch.json";

const MANIFEST: &str = ".snakebridge/manifest.json";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot write `{}`", path.display())]
    #[diagnostic(
        code(snakebridge::output::io),
        help("check that the directory exists and is writable by this user")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` is a symbolic link")]
    #[diagnostic(
        code(snakebridge::output::symlink),
        help(
            "snakebridge writes only into real directories inside the project; replace the link with a directory"
        )
    )]
    Symlink { path: String },

    #[error("{} in the output directory {} not written by snakebridge: {}", count(.paths.len(), "file"), if .paths.len() == 1 { "is" } else { "are" }, list(.paths))]
    #[diagnostic(
        code(snakebridge::output::foreign_file),
        help(
            "snakebridge never overwrites or deletes a file without its `{GENERATED_MARKER}` first line; move it out of the output directory, or set `[project] output` to a directory of snakebridge's own"
        )
    )]
    Foreign { paths: Vec<String> },

    #[error("`.snakebridge/{SWITCH_FILE}` is not a switch record this snakebridge wrote: {reason}")]
    #[diagnostic(
        code(snakebridge::output::bad_switch),
        help(
            "delete `.snakebridge/{SWITCH_FILE}` and the `*{TEMP_SUFFIX}` files, then run `snakebridge generate`"
        )
    )]
    BadSwitch { reason: String },
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn list(paths: &[String]) -> String {
    let shown: Vec<String> = paths.iter().take(5).map(|p| format!("`{p}`")).collect();
    match paths.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

/// How the output directory compares with what a run renders. Paths are relative to the
/// output directory.
#[derive(Debug, Default)]
pub struct Survey {
    /// Rendered, and ours on disk with other bytes: `(path, what is there)`.
    pub changed: Vec<(String, Vec<u8>)>,
    /// Rendered, and not on disk.
    pub missing: Vec<String>,
    /// Ours on disk, and rendered by nothing.
    pub stale: Vec<String>,
    /// On disk, not ours: never touched.
    pub foreign: Vec<String>,
    /// Rendered, and on disk with the same bytes.
    pub unchanged: usize,
}

/// Compares the output directory `output` (relative to `root`) with `files`. A missing
/// directory holds nothing; a symbolic link anywhere on its path is an error.
pub fn survey(root: &Path, output: &str, files: &[File]) -> Result<Survey, Error> {
    let io = |source| Error::Io {
        path: root.join(output),
        source,
    };
    let root_dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(io)?;
    let mut survey = Survey::default();
    let Some(dir) = open_inside(&root_dir, output, false)? else {
        survey.missing = files.iter().map(|f| f.path.clone()).collect();
        return Ok(survey);
    };
    let mut on_disk = std::collections::HashMap::new();
    collect(&dir, "", &mut on_disk).map_err(io)?;
    for file in files {
        match on_disk.remove(file.path.as_str()) {
            None => survey.missing.push(file.path.clone()),
            Some(Kind::Regular) => {
                let bytes = dir.read(&file.path).map_err(io)?;
                if !is_ours(&bytes) {
                    survey.foreign.push(file.path.clone());
                } else if bytes == file.contents.as_bytes() {
                    survey.unchanged += 1;
                } else {
                    survey.changed.push((file.path.clone(), bytes));
                }
            }
            Some(Kind::Other) => survey.foreign.push(file.path.clone()),
        }
    }
    let mut rest: Vec<(String, Kind)> = on_disk.into_iter().collect();
    rest.sort();
    for (path, kind) in rest {
        let ours = kind == Kind::Regular && marked(&dir, &path);
        if ours {
            survey.stale.push(path);
        } else {
            survey.foreign.push(path);
        }
    }
    survey.foreign.sort();
    Ok(survey)
}

fn is_ours(bytes: &[u8]) -> bool {
    bytes.starts_with(GENERATED_MARKER.as_bytes())
}

/// Whether the file at `path` begins with the marker, reading only that far.
fn marked(dir: &Dir, path: &str) -> bool {
    dir.open(path)
        .and_then(|mut file| {
            let mut head = vec![0; GENERATED_MARKER.len()];
            std::io::Read::read_exact(&mut file, &mut head).map(|()| is_ours(&head))
        })
        .unwrap_or(false)
}

/// Whether snakebridge can write into the output directory, tried the way a run writes (no
/// link followed; the probe is a staged name, so a leftover is swept like any other).
pub fn probe_writable(root: &Path, output: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: root.join(output),
        source,
    };
    let root_dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(io)?;
    let dir = open_inside(&root_dir, output, true)?
        .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let probe = format!(".doctor{TEMP_SUFFIX}");
    dir.create(&probe).map_err(io)?;
    dir.remove_file(&probe).map_err(io)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Regular,
    /// A link, a device, a socket: never ours.
    Other,
}

/// Every entry below `dir` but directories, keyed by `/`-separated path; staged temporary
/// files are left to [`recover`].
fn collect(
    dir: &Dir,
    prefix: &str,
    out: &mut std::collections::HashMap<String, Kind>,
) -> std::io::Result<()> {
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        // The entry's own type: a link is never followed.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&entry.open_dir()?, &path, out)?;
        } else if !name.ends_with(TEMP_SUFFIX) {
            let kind = if kind.is_file() {
                Kind::Regular
            } else {
                Kind::Other
            };
            out.insert(path, kind);
        }
    }
    Ok(())
}

/// Opens `relative` below `root` one component at a time, refusing a symbolic link at any of
/// them (so nothing outside the project is ever written, removed or shown); with `create`,
/// makes what is missing. `None` when it does not exist and `create` is off.
fn open_inside(root: &Dir, relative: &str, create: bool) -> Result<Option<Dir>, Error> {
    let mut dir = root.try_clone().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let mut so_far = PathBuf::new();
    for component in Path::new(relative).components() {
        let Component::Normal(name) = component else {
            continue;
        };
        so_far.push(name);
        let io = |source| Error::Io {
            path: so_far.clone(),
            source,
        };
        match dir.symlink_metadata(name) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::Symlink {
                    path: so_far.display().to_string(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                dir.create_dir(name).map_err(io)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        dir = dir.open_dir(name).map_err(io)?;
    }
    Ok(Some(dir))
}

/// A run's changes, by path relative to the project root.
#[derive(Debug, Default)]
pub struct Changes {
    /// New contents.
    pub put: Vec<(String, Vec<u8>)>,
    /// Files of ours to remove.
    pub delete: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// The record that commits a switch: what to rename into place and what to remove.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    /// The output directory the paths below it belong to.
    output: String,
    put: Vec<String>,
    delete: Vec<String>,
}

/// Puts `changes` in place as one switch (see the module docs). `output` is the output
/// directory, relative to `root`.
pub fn switch(root: &Path, output: &str, changes: &Changes) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let io = |path: &str| {
        let path = root.join(path);
        move |source| Error::Io { path, source }
    };
    let root_dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(io("."))?;
    open_inside(&root_dir, output, true)?;
    open_inside(&root_dir, crate::config::METADATA_DIR, true)?;
    // Stage every new file beside its target.
    for (path, contents) in &changes.put {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            root_dir.create_dir_all(parent).map_err(io(path))?;
        }
        fault_point();
        let mut file = root_dir.create(temp_of(path)).map_err(io(path))?;
        fault_point();
        file.write_all(contents).map_err(io(path))?;
        fault_point();
    }
    // One flush of the file system instead of one per file: the staged bytes must be on disk
    // before the record that commits them.
    sync(root).map_err(io("."))?;
    fault_point();
    let record = Record {
        output: output.to_string(),
        put: changes.put.iter().map(|(path, _)| path.clone()).collect(),
        delete: changes.delete.clone(),
    };
    let switch = format!("{}/{SWITCH_FILE}", crate::config::METADATA_DIR);
    let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
    let mut file = root_dir.create(temp_of(&switch)).map_err(io(&switch))?;
    file.write_all(&text).map_err(io(&switch))?;
    file.sync_all().map_err(io(&switch))?;
    fault_point();
    root_dir
        .rename(temp_of(&switch), &root_dir, &switch)
        .map_err(io(&switch))?;
    sync(root).map_err(io(&switch))?;
    fault_point();
    // Committed: from here on, a killed run is finished by the next one.
    finish(&root_dir, root, &record)
}

/// Renames what a committed record stages into place, removes what it removes, then drops
/// the record. Each step can be done twice.
fn finish(root_dir: &Dir, root: &Path, record: &Record) -> Result<(), Error> {
    let io = |path: &str| {
        let path = root.join(path);
        move |source| Error::Io { path, source }
    };
    for path in &record.put {
        match root_dir.rename(temp_of(path), root_dir, path) {
            Ok(()) => {}
            // Already renamed by an earlier try.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(path)(e)),
        }
        fault_point();
    }
    for path in &record.delete {
        // Only a file of ours, checked again now: the record is not trusted to say so.
        let ours = marked(root_dir, path);
        let plain = root_dir
            .symlink_metadata(path)
            .is_ok_and(|m| m.file_type().is_file());
        if ours && plain {
            root_dir.remove_file(path).map_err(io(path))?;
        }
        fault_point();
    }
    sync(root).map_err(io("."))?;
    fault_point();
    let switch = format!("{}/{SWITCH_FILE}", crate::config::METADATA_DIR);
    root_dir.remove_file(&switch).map_err(io(&switch))?;
    fault_point();
    Ok(())
}

/// What [`recover`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing was interrupted.
    Clean,
    /// A committed switch was finished.
    Finished,
    /// An uncommitted one's staged files were removed.
    RolledBack,
}

/// Finishes a committed switch a killed run left, or removes what an uncommitted one staged.
/// Run under the project lock, before anything reads the output, manifest or lock.
pub fn recover(root: &Path, output: &str) -> Result<Recovery, Error> {
    let io = |source| Error::Io {
        path: root.to_path_buf(),
        source,
    };
    let root_dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(io)?;
    let switch = format!("{}/{SWITCH_FILE}", crate::config::METADATA_DIR);
    let mut recovery = Recovery::Clean;
    match root_dir.read(&switch) {
        Ok(bytes) => {
            let record: Record = serde_json::from_slice(&bytes).map_err(|e| Error::BadSwitch {
                reason: e.to_string(),
            })?;
            validate(&record)?;
            finish(&root_dir, root, &record)?;
            recovery = Recovery::Finished;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    // Whatever is still staged belongs to a switch that never committed.
    let mut swept = false;
    for dir in [output, crate::config::METADATA_DIR, ""] {
        let found = if dir.is_empty() {
            Some(root_dir.try_clone().map_err(io)?)
        } else {
            open_inside(&root_dir, dir, false)?
        };
        if let Some(found) = found {
            swept |= sweep(&found, !dir.is_empty()).map_err(io)?;
        }
    }
    if swept && recovery == Recovery::Clean {
        recovery = Recovery::RolledBack;
    }
    Ok(recovery)
}

/// Removes staged files in `dir` (and below it, when `deep`); whether there were any.
fn sweep(dir: &Dir, deep: bool) -> std::io::Result<bool> {
    let mut swept = false;
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        if kind.is_dir() && deep {
            swept |= sweep(&entry.open_dir()?, true)?;
        } else if !kind.is_dir() && name.ends_with(TEMP_SUFFIX) {
            dir.remove_file(&name)?;
            swept = true;
        }
    }
    Ok(swept)
}

/// A record names only the manifest, the lock, and canonical paths inside its output
/// directory, which must itself be one snakebridge may write.
fn validate(record: &Record) -> Result<(), Error> {
    let bad = |reason: String| Err(Error::BadSwitch { reason });
    if let Err(reason) = crate::config::check_output(&record.output, &[]) {
        return bad(reason);
    }
    let inside = |path: &str| {
        path.strip_prefix(&record.output)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| crate::write::check_plugin_path(rest).is_ok())
    };
    for path in &record.put {
        if path != MANIFEST && path != crate::lock::PATH && !inside(path) {
            return bad(format!("it would write `{path}`"));
        }
    }
    for path in &record.delete {
        if !inside(path) {
            return bad(format!("it would remove `{path}`"));
        }
    }
    Ok(())
}

/// The staged file for `path`: hidden, beside it, with the suffix.
fn temp_of(path: &str) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if dir.is_empty() {
        format!(".{name}{TEMP_SUFFIX}")
    } else {
        format!("{dir}/.{name}{TEMP_SUFFIX}")
    }
}

/// Flushes the file system holding `root` (cap-std's handles are `O_PATH`, which cannot).
fn sync(root: &Path) -> std::io::Result<()> {
    let dir = std::fs::File::open(root)?;
    rustix::fs::syncfs(&dir).map_err(std::io::Error::from)
}

/// A deterministic crash for the tests: with `SNAKEBRIDGE_FAULT_AT=N`, the process aborts at
/// the `N`th point of the write phase, as a `kill -9` would stop it there.
fn fault_point() {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static PASSED: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        std::env::var(crate::env_vars::FAULT_AT)
            .ok()
            .and_then(|n| n.parse().ok())
    });
    if let Some(at) = at
        && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *at
    {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_names_are_hidden_beside_their_target() {
        assert_eq!(
            temp_of("snakebridge.lock"),
            ".snakebridge.lock.snakebridge-tmp"
        );
        assert_eq!(
            temp_of("lib/gen/numpy.ex"),
            "lib/gen/.numpy.ex.snakebridge-tmp"
        );
    }

    #[test]
    fn a_record_cannot_reach_outside_its_output() {
        let record = |put: &[&str], delete: &[&str]| Record {
            output: "lib/gen".into(),
            put: put.iter().map(|p| p.to_string()).collect(),
            delete: delete.iter().map(|p| p.to_string()).collect(),
        };
        assert!(
            validate(&record(
                &["lib/gen/a.ex", MANIFEST, "snakebridge.lock"],
                &["lib/gen/b.ex"]
            ))
            .is_ok()
        );
        for bad in [
            record(&["mix.exs"], &[]),
            record(&["lib/gen/../../mix.exs"], &[]),
            record(&[], &["lib/app.ex"]),
            record(&[], &["snakebridge.lock"]),
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }
}
