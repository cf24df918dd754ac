//! A project: its root, its configuration, and the paths and stages derived from them.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::plugin_host::PluginHost;
use crate::printer::Printer;
use crate::settings::{Environment, Settings};
use crate::stages::Pipeline;
use crate::{Error, scan};

pub use crate::config::METADATA_DIR;

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    pub printer: Printer,
    pub settings: Settings,
}

impl Project {
    pub fn load(root: &Path, printer: Printer, environment: &Environment) -> Result<Self, Error> {
        let config = Config::load(root)?;
        let settings = Settings::resolve(environment, &config);
        Ok(Self {
            root: root.to_path_buf(),
            config,
            printer,
            settings,
        })
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.root.join(METADATA_DIR)
    }

    /// Takes the project's run lock, and finishes or rolls back a switch a killed run left,
    /// so what follows sees exactly the old state or exactly the new one.
    pub fn lock_run(&self) -> Result<crate::write::ProjectLock, Error> {
        let printer = self.printer;
        let lock = crate::write::ProjectLock::acquire(
            &self.metadata_dir(),
            std::time::Duration::from_secs(600),
            || printer.status("waiting for another snakebridge run in this project to finish"),
        )?;
        self.recover()?;
        Ok(lock)
    }

    /// Like [`Project::lock_run`] for a command that only reads (`verify`): a project where
    /// the lock cannot even be created (a read-only checkout) has nothing to recover.
    pub fn lock_read(&self) -> Result<Option<crate::write::ProjectLock>, Error> {
        if self.metadata_dir().is_dir()
            && fs_err::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(self.metadata_dir().join("run.lock"))
                .is_ok()
        {
            self.lock_run().map(Some)
        } else {
            Ok(None)
        }
    }

    fn recover(&self) -> Result<(), Error> {
        use crate::output::Recovery;
        match crate::output::recover(&self.root, &self.config.output)? {
            Recovery::Clean => {}
            Recovery::Finished => self
                .printer
                .status("finished the switch of files an interrupted run had committed"),
            Recovery::RolledBack => self
                .printer
                .status("removed the files an interrupted run had staged; nothing had changed"),
        }
        Ok(())
    }

    /// The calls a run serves: the scan's, and one per `include` and `streaming` entry in the
    /// config, placed at its line in `snakebridge.toml` (see [`crate::config::Declared::call`]).
    pub fn calls(&self, scan: &scan::Scan) -> Vec<crate::model::Call> {
        let mut calls = scan.calls.clone();
        for library in self.config.libraries.values() {
            calls.extend(library.include.iter().map(crate::config::Declared::call));
            calls.extend(library.streaming.iter().map(crate::config::Declared::call));
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
        self.pipeline_with(emitter, true)
    }

    /// [`Project::pipeline`], compiling from the pinned bytes unless `use_cache`.
    pub fn pipeline_with(&self, emitter: Option<&str>, use_cache: bool) -> Result<Pipeline, Error> {
        let plugins = self.config.plugins_with(emitter)?;
        let cache = self.settings.cache_dir.clone().filter(|_| use_cache);
        let host = PluginHost::new(cache).map_err(|e| Error::Engine {
            message: format!("{e:#}"),
        })?;
        Ok(Pipeline::load(host, &plugins, &self.root)?.with_streaming(&self.config))
    }
}
