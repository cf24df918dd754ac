//! A project: its root, its configuration, and the paths and stages derived from them.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::plugin_host::PluginHost;
use crate::printer::Printer;
use crate::stages::Pipeline;
use crate::{Error, scan};

/// snakebridge's own files, relative to the project root.
pub const METADATA_DIR: &str = ".snakebridge";

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    pub printer: Printer,
    /// Where compiled plugins are cached.
    pub cache_dir: Option<PathBuf>,
}

impl Project {
    pub fn load(root: &Path, printer: Printer) -> Result<Self, Error> {
        let config = Config::load(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            config,
            printer,
            cache_dir: crate::plugin_host::default_cache_dir(),
        })
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.root.join(METADATA_DIR)
    }

    /// Takes the project's run lock for a command that writes.
    pub fn lock_run(&self) -> Result<crate::write::ProjectLock, Error> {
        let printer = self.printer;
        Ok(crate::write::ProjectLock::acquire(
            &self.metadata_dir(),
            std::time::Duration::from_secs(600),
            || printer.status("waiting for another snakebridge run in this project to finish"),
        )?)
    }

    /// The calls a run serves: the scan's, and one per `include` entry in the config, placed
    /// at its line in `snakebridge.toml` (see [`crate::config::Declared::call`]).
    pub fn calls(&self, scan: &scan::Scan) -> Vec<crate::model::Call> {
        let mut calls = scan.calls.clone();
        for library in self.config.libraries.values() {
            calls.extend(library.include.iter().map(crate::config::Declared::call));
        }
        calls
    }

    /// Scans the project's sources, with the content-hash cache.
    pub fn scan(&self) -> scan::Scan {
        let mut exclude = self.config.exclude.clone();
        exclude.push(self.config.output.clone());
        let request = scan::Request {
            root: &self.root,
            paths: &self.config.paths,
            exclude: &exclude,
            modules: self
                .config
                .libraries
                .values()
                .map(|l| l.elixir_module.clone())
                .collect(),
        };
        scan::scan(&request, Some(&self.metadata_dir().join(scan::CACHE_FILE)))
    }

    /// Loads the configured stage plugins, with `emitter` overriding the configured emitter.
    pub fn pipeline(&self, emitter: Option<&str>) -> Result<Pipeline, Error> {
        let mut plugins = self.config.plugins.clone();
        if let Some(emitter) = emitter {
            plugins.emitter = crate::commands::generate::emitter_override(&self.config, emitter)?;
        }
        let host = PluginHost::new(self.cache_dir.clone()).map_err(|e| Error::Engine {
            message: format!("{e:#}"),
        })?;
        Ok(Pipeline::load(host, &plugins, &self.root)?)
    }
}
