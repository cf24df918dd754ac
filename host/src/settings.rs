//! What a command runs with, resolved once from the environment and `snakebridge.toml` (the
//! command line adds its own flags on top): nothing else in the host reads an environment
//! variable, and every command sees the same answer, `doctor` included.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::env_vars;

/// The environment variables snakebridge reads, read once.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub strict: bool,
    pub skip: bool,
    pub python: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub native: Option<std::ffi::OsString>,
    home: Option<PathBuf>,
    xdg_cache_home: Option<PathBuf>,
}

impl Environment {
    pub fn read() -> Environment {
        // An empty variable is unset, not the empty path.
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        Environment {
            strict: env_vars::flag(env_vars::STRICT),
            skip: env_vars::flag(env_vars::SKIP),
            python: path(env_vars::PYTHON),
            cache_dir: path(env_vars::CACHE_DIR),
            native: std::env::var_os(env_vars::NATIVE),
            home: path("HOME"),
            xdg_cache_home: path("XDG_CACHE_HOME"),
        }
    }

    /// Where compiled plugins are cached: `SNAKEBRIDGE_CACHE_DIR`, else the user's cache
    /// directory.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir.clone().or_else(|| {
            self.xdg_cache_home
                .clone()
                .or_else(|| self.home.as_ref().map(|home| home.join(".cache")))
                .map(|base| base.join("snakebridge"))
        })
    }
}

/// Which Python introspection and the runtime use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Python {
    /// An interpreter someone named, and where: `SNAKEBRIDGE_PYTHON` or `[python] executable`.
    Given { path: PathBuf, from: &'static str },
    /// The uv-managed environment in `.snakebridge/venv`.
    Managed,
}

/// A project's resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Verify instead of generating: `[project] strict` or `SNAKEBRIDGE_STRICT`.
    pub strict: bool,
    /// Skip generation: `SNAKEBRIDGE_SKIP`.
    pub skip: bool,
    pub python: Python,
    /// Where compiled plugins are cached, if anywhere.
    pub cache_dir: Option<PathBuf>,
    /// The native worker extension: `SNAKEBRIDGE_NATIVE` (a path, or `off`), else the library
    /// built beside this executable when it is there.
    pub native: Option<PathBuf>,
}

impl Settings {
    pub fn resolve(environment: &Environment, config: &Config) -> Settings {
        let python = match (&environment.python, &config.python_executable) {
            (Some(path), _) => Python::Given {
                path: path.clone(),
                from: env_vars::PYTHON,
            },
            (None, Some(path)) => Python::Given {
                path: PathBuf::from(path),
                from: "[python] executable",
            },
            (None, None) => Python::Managed,
        };
        Settings {
            strict: config.strict || environment.strict,
            skip: environment.skip,
            python,
            cache_dir: environment.cache_dir(),
            native: native(environment.native.as_deref()),
        }
    }

    /// The interpreter named for this project, if one was.
    pub fn given_python(&self) -> Option<&Path> {
        match &self.python {
            Python::Given { path, .. } => Some(path),
            Python::Managed => None,
        }
    }
}

fn native(value: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    match value {
        Some(value) if value == "off" || value == "0" => None,
        Some(path) => Some(path.into()),
        None => {
            let beside = std::env::current_exe()
                .ok()?
                .with_file_name("libsnakebridge_native.so");
            beside.is_file().then_some(beside)
        }
    }
}
