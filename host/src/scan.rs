//! The scanner: every call a project's Elixir source makes into a configured library.
//!
//! Files are parsed with tree-sitter-elixir and walked once (`scan/walker.rs`). A blake3
//! content-hash cache in `.snakebridge/scan_cache.json` makes unchanged files free. A file with
//! syntax errors still yields what the parser recovered, plus a warning with its location.

mod kernel;
mod walker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{Call, CallKind};
use walker::Targets;
use walker::{FoundCall, Position, Walker};

/// Bumped whenever the walker's output for the same source can change, to drop old caches.
const SCANNER_VERSION: u32 = 3;

/// The stack of the threads that walk trees: the walk recurses once per level of nesting, up
/// to `walker::MAX_DEPTH`, and an unoptimised build's frames are large.
const STACK_SIZE: usize = 256 << 20;

/// A source file larger than this gets a warning: scanning takes about 0.7 s and 40 MB of
/// memory per MB of calls, and files this size are usually generated.
pub const LARGE_FILE_BYTES: usize = 8 << 20;

/// The scan cache's file name inside `.snakebridge/`.
pub const CACHE_FILE: &str = "scan_cache.json";

/// A problem in one source file. Never fatal: the scan goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Sorted.
    pub calls: Vec<Call>,
    pub warnings: Vec<Warning>,
    pub files: usize,
    /// Files that were parsed rather than taken from the cache.
    pub parsed: usize,
}

/// Which files to scan and what to look for.
pub struct Request<'a> {
    pub root: &'a Path,
    /// Directories relative to `root`.
    pub paths: &'a [String],
    /// Path prefixes relative to `root` to skip, the output directory among them.
    pub exclude: &'a [String],
    /// Elixir modules of the configured libraries.
    pub modules: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Cache {
    version: u32,
    /// The configured modules the cached calls were filtered by.
    modules: Vec<String>,
    files: BTreeMap<String, CachedFile>,
}

#[derive(Clone, Serialize, Deserialize)]
struct CachedFile {
    blake3: String,
    calls: Vec<CachedCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    syntax_error: Option<(u32, u32)>,
    /// Where a subtree nested too deep to walk starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    too_deep: Option<(u32, u32)>,
    /// Where the first byte that is not UTF-8 is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_utf8: Option<(u32, u32)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct CachedCall(String, String, u32, u32, u32, CallKind);

impl From<&FoundCall> for CachedCall {
    fn from(c: &FoundCall) -> Self {
        Self(
            c.module.clone(),
            c.function.clone(),
            c.arity,
            c.line,
            c.column,
            c.kind,
        )
    }
}

/// Scans one file's text: its calls into `modules`, and a warning when it has syntax errors
/// or nests too deep to walk.
pub fn scan_source(file: &str, source: &str, modules: &[String]) -> (Vec<Call>, Option<Warning>) {
    let targets = Targets::new(modules.iter().cloned());
    let scanned = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, || scan_with(&mut new_parser(), source, &targets))
            .map(|thread| thread.join())
    });
    let Ok(Ok(Scanned {
        calls,
        syntax_error,
        too_deep,
    })) = scanned
    else {
        return (Vec::new(), Some(syntax_warning(file, 1, 1)));
    };
    let calls = calls
        .into_iter()
        .map(|c| Call {
            module: c.module,
            function: c.function,
            arity: c.arity,
            file: file.to_string(),
            line: c.line,
            column: c.column,
            kind: c.kind,
        })
        .collect();
    let warning = syntax_error
        .map(|(line, column)| syntax_warning(file, line, column))
        .or_else(|| too_deep.map(|(line, column)| too_deep_warning(file, line, column)));
    (calls, warning)
}

fn large_file_warning(file: &str, bytes: usize) -> Warning {
    Warning {
        file: file.to_string(),
        line: 1,
        column: 1,
        message: format!(
            "this file is {:.1} MB, over the {} MB past which scans get slow; if it is \
             generated, list it in `[project] exclude`",
            bytes as f64 / 1e6,
            LARGE_FILE_BYTES >> 20
        ),
    }
}

/// Where the first byte that is not UTF-8 is, if any: the scan reads it as U+FFFD.
fn not_utf8_at(bytes: &[u8]) -> Option<(u32, u32)> {
    let valid = std::str::from_utf8(bytes).err()?.valid_up_to();
    let before = &bytes[..valid];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    Some((
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    ))
}

fn not_utf8_warning(file: &str, line: u32, column: u32) -> Warning {
    Warning {
        file: file.to_string(),
        line,
        column,
        message: "not valid UTF-8 here (Elixir source must be); the scan reads it as U+FFFD, \
                  so a call spelled with these bytes is missed"
            .into(),
    }
}

fn too_deep_warning(file: &str, line: u32, column: u32) -> Warning {
    Warning {
        file: file.to_string(),
        line,
        column,
        message: format!(
            "nested more than {} levels deep here; calls inside it are not scanned",
            walker::MAX_DEPTH
        ),
    }
}

fn syntax_warning(file: &str, line: u32, column: u32) -> Warning {
    Warning {
        file: file.to_string(),
        line,
        column,
        message: "syntax error; calls after this point may be missed".into(),
    }
}

fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    // The grammar is compiled in; a version mismatch would be a build error, not a run-time one.
    let _ = parser.set_language(&tree_sitter_elixir::LANGUAGE.into());
    parser
}

/// What one file's walk found.
struct Scanned {
    calls: Vec<FoundCall>,
    syntax_error: Option<(u32, u32)>,
    too_deep: Option<(u32, u32)>,
}

fn scan_with(parser: &mut tree_sitter::Parser, source: &str, targets: &Targets) -> Scanned {
    let Some(tree) = parser.parse(source, None) else {
        return Scanned {
            calls: Vec::new(),
            syntax_error: Some((1, 1)),
            too_deep: None,
        };
    };
    let root = tree.root_node();
    let syntax_error = root.has_error().then(|| {
        let at = first_error(root);
        let Position { line, column } = Walker::position(source, at);
        (line, column)
    });
    let (calls, too_deep) = Walker::new(source, targets).run(root);
    Scanned {
        calls,
        syntax_error,
        too_deep: too_deep.map(|Position { line, column }| (line, column)),
    }
}

/// Where to point a syntax error: a missing token, or the first fragment inside an `ERROR`
/// node that is not a whole expression (the parser wraps everything it recovered around it).
/// Followed down one branch in a loop: the tree may be nested thousands deep.
fn first_error(root: tree_sitter::Node<'_>) -> tree_sitter::Node<'_> {
    let mut node = root;
    'descend: loop {
        if node.is_missing() {
            return node;
        }
        let mut cursor = node.walk();
        let children: Vec<_> = node.children(&mut cursor).collect();
        for child in children {
            if child.has_error() {
                node = child;
                continue 'descend;
            }
            if node.is_error() && child.is_named() && !matches!(child.kind(), "call" | "comment") {
                return child;
            }
        }
        return node;
    }
}

/// Lists `.ex` and `.exs` files under the requested paths, relative and sorted.
pub fn source_files(request: &Request<'_>) -> Vec<String> {
    let mut files = Vec::new();
    for path in request.paths {
        let dir = request.root.join(path);
        let walk = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .into_iter()
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                entry.depth() == 0
                    || !(name.starts_with('.')
                        || name == "_build"
                        || name == "deps"
                        || name == "node_modules")
            });
        for entry in walk.flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(relative) = relative_path(request.root, entry.path()) else {
                continue;
            };
            let is_source = relative.ends_with(".ex") || relative.ends_with(".exs");
            let excluded = request.exclude.iter().any(|prefix| {
                relative == *prefix
                    || relative.starts_with(&format!("{}/", prefix.trim_end_matches('/')))
            });
            if is_source && !excluded {
                files.push(relative);
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Tells the files that cannot call a configured library from those that may, without
/// parsing them: a file may only if it holds the last segment of one of the libraries' Elixir
/// modules. That is sound: every module name the scanner resolves is made of segments written
/// in the same file (an alias copies its target's text, `defmodule` nesting and `__MODULE__`
/// the module's, `Elixir.` is stripped), so a call into `Sci.Numpy` needs `Numpy` in the text.
/// The cache key holds the modules, so a change of configuration scans again.
struct Prefilter {
    needles: Vec<memchr::memmem::Finder<'static>>,
}

impl Prefilter {
    fn new(modules: &[String]) -> Prefilter {
        let mut segments: Vec<&str> = modules
            .iter()
            .map(|module| module.rsplit('.').next().unwrap_or(module))
            .collect();
        segments.sort_unstable();
        segments.dedup();
        Prefilter {
            needles: segments
                .into_iter()
                .map(|segment| memchr::memmem::Finder::new(segment.as_bytes()).into_owned())
                .collect(),
        }
    }

    fn may_call(&self, bytes: &[u8]) -> bool {
        self.needles
            .iter()
            .any(|needle| needle.find(bytes).is_some())
    }
}

/// Scans the project, using and refreshing the cache at `cache_path` when given.
pub fn scan(request: &Request<'_>, cache_path: Option<&Path>) -> Scan {
    let mut modules = request.modules.clone();
    modules.sort();
    let files = source_files(request);
    let mut cache: Cache = cache_path
        .and_then(|path| fs_err::read(path).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|cache: &Cache| cache.version == SCANNER_VERSION && cache.modules == modules)
        .unwrap_or_default();
    let targets = Targets::new(modules.iter().cloned());
    let prefilter = Prefilter::new(&modules);

    // Per file: its cache entry, whether it was parsed now and its size (`None` when it
    // cannot call a configured library), or why it could not be read.
    type Result = (
        String,
        std::result::Result<Option<(CachedFile, bool, usize)>, String>,
    );
    let walk = || -> Vec<Result> {
        files
            .par_iter()
            .map_init(new_parser, |parser, file| {
                let path: PathBuf = request.root.join(file);
                let result = fs_err::read(&path).map_err(|e| e.to_string()).map(|bytes| {
                    if !prefilter.may_call(&bytes) {
                        return None;
                    }
                    let hash = blake3::hash(&bytes).to_hex().to_string();
                    if let Some(cached) = cache.files.get(file).filter(|c| c.blake3 == hash) {
                        return Some((cached.clone(), false, bytes.len()));
                    }
                    let source = String::from_utf8_lossy(&bytes);
                    let scanned = scan_with(parser, &source, &targets);
                    Some((
                        CachedFile {
                            blake3: hash,
                            calls: scanned.calls.iter().map(CachedCall::from).collect(),
                            syntax_error: scanned.syntax_error,
                            too_deep: scanned.too_deep,
                            not_utf8: not_utf8_at(&bytes),
                        },
                        true,
                        bytes.len(),
                    ))
                });
                (file.clone(), result)
            })
            .collect()
    };
    // Threads with room for the walk's recursion: rayon's global pool, given large stacks when
    // this process sets it up, else a pool of its own. (A pool made per scan spread the work
    // worse: on two cores one thread idled for the last 0.4 s of a 1 s scan.)
    static GLOBAL_POOL_HAS_ROOM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let global = *GLOBAL_POOL_HAS_ROOM.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(STACK_SIZE)
            .build_global()
            .is_ok()
    });
    let own_pool = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .stack_size(STACK_SIZE)
            .build()
    };
    let results = if global {
        walk()
    } else {
        match own_pool() {
            Ok(pool) => pool.install(walk),
            Err(_) => walk(),
        }
    };

    let mut scan = Scan {
        files: files.len(),
        ..Scan::default()
    };
    let mut fresh = BTreeMap::new();
    for (file, result) in results {
        match result {
            Ok(None) => {}
            Ok(Some((entry, parsed, size))) => {
                scan.parsed += usize::from(parsed);
                if size > LARGE_FILE_BYTES {
                    scan.warnings.push(large_file_warning(&file, size));
                }
                if let Some((line, column)) = entry.not_utf8 {
                    scan.warnings.push(not_utf8_warning(&file, line, column));
                }
                if let Some((line, column)) = entry.syntax_error {
                    scan.warnings.push(syntax_warning(&file, line, column));
                }
                if let Some((line, column)) = entry.too_deep {
                    scan.warnings.push(too_deep_warning(&file, line, column));
                }
                scan.calls.extend(entry.calls.iter().map(
                    |CachedCall(module, function, arity, line, column, kind)| Call {
                        module: module.clone(),
                        function: function.clone(),
                        arity: *arity,
                        file: file.clone(),
                        line: *line,
                        column: *column,
                        kind: *kind,
                    },
                ));
                fresh.insert(file, entry);
            }
            Err(message) => scan.warnings.push(Warning {
                file,
                line: 0,
                column: 0,
                message: format!("cannot read: {message}"),
            }),
        }
    }
    scan.calls.sort();

    if let Some(path) = cache_path
        && (scan.parsed > 0 || fresh.len() != cache.files.len())
    {
        cache = Cache {
            version: SCANNER_VERSION,
            modules,
            files: fresh,
        };
        if let (Ok(json), Some(dir)) = (serde_json::to_vec(&cache), path.parent()) {
            // The cache is an optimisation: failing to write it must not fail the scan.
            if let Ok(directory) = crate::write::Directory::create(dir, "") {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let _ = directory.write_if_changed(&name, &json);
            }
        }
    }
    scan
}
