//! Runs stage plugins: WebAssembly components on wasmtime, sandboxed.
//!
//! A plugin gets nothing but its input: the linker defines no imports, so a component that
//! imports anything beyond the contract's types is refused at load. Each call runs in a fresh
//! store with a memory cap and a fuel budget, so a plugin that traps, loops or hoards memory is
//! a clear error, never a hang. Compiled components are cached on disk by content hash.

mod builtin;
mod cache;
pub mod wit;

use std::path::PathBuf;
use std::sync::OnceLock;

use wasmtime::component::{Component, Linker, types::ComponentItem};
use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

pub use builtin::builtin;
use wit::latest::types;
use wit::{latest, since_v0_1_0};

/// The custom section carrying a plugin's contract version, written by the PDK.
pub const CONTRACT_SECTION: &str = "snakebridge:contract";

/// Guest linear memory per call.
pub const MEMORY_LIMIT: usize = 256 << 20;

/// Fuel per call, before [`FUEL_PER_SYMBOL`]: an endless loop runs out in about three seconds
/// per stage on this machine class (2 cores, measured: `endless_loop_runs_out_of_fuel`). Fuel
/// rather than an epoch deadline keeps the limit deterministic: a plugin that runs out does so
/// on every machine.
pub const FUEL: u64 = 5_000_000_000;

/// Fuel added per symbol of the library a call is given, so a whole library (`all = true`:
/// thousands of symbols) has room in proportion; the built-ins use under a third of it.
pub const FUEL_PER_SYMBOL: u64 = 2_000_000;

/// The fuel a call on a library of `symbols` symbols gets.
pub fn fuel_for(symbols: usize) -> u64 {
    FUEL.saturating_add(FUEL_PER_SYMBOL.saturating_mul(symbols as u64))
}

/// Plugin instances alive at once: the stages run on at most a few threads.
const POOLED_INSTANCES: u32 = 16;

/// Largest total output one call may return.
pub const OUTPUT_LIMIT: usize = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Typespecs,
    Docs,
    Emitter,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Typespecs, Stage::Docs, Stage::Emitter];

    pub fn name(self) -> &'static str {
        match self {
            Self::Typespecs => "typespecs",
            Self::Docs => "docs",
            Self::Emitter => "emitter",
        }
    }

    /// The interface a component speaking `contract` must export to serve this stage.
    fn export(self, contract: &str) -> String {
        let interface = match self {
            Self::Typespecs => "typespec-stage",
            Self::Docs => "doc-stage",
            Self::Emitter => "emitter-stage",
        };
        format!("snakebridge:plugin/{interface}@{contract}")
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot read plugin `{}`", path.display())]
    #[diagnostic(code(snakebridge::plugin::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("plugin `{name}` has blake3 `{actual}`, but `{expected}` is pinned")]
    #[diagnostic(
        code(snakebridge::plugin::hash_mismatch),
        help("if you trust the new build, pin it in `snakebridge.toml`: blake3 = \"{actual}\"")
    )]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },

    #[error("plugin `{name}` declares no contract version")]
    #[diagnostic(
        code(snakebridge::plugin::no_contract),
        help(
            "build it with snakebridge-pdk, whose export macros write the `{CONTRACT_SECTION}` section"
        )
    )]
    NoContract { name: String },

    #[error("plugin `{name}` declares its contract version in bytes that are not UTF-8: {found:?}")]
    #[diagnostic(
        code(snakebridge::plugin::unreadable_contract),
        help(
            "the `{CONTRACT_SECTION}` section holds a version such as \"0.1.0\"; rebuild the plugin with snakebridge-pdk, which writes it"
        )
    )]
    UnreadableContract { name: String, found: String },

    #[error("plugin `{name}` implements contract {found}, this snakebridge supports {}", wit::SUPPORTED.join(", "))]
    #[diagnostic(
        code(snakebridge::plugin::contract_mismatch),
        help("rebuild the plugin against a snakebridge-pdk for one of the supported contracts")
    )]
    ContractMismatch { name: String, found: String },

    #[error("plugin `{name}` is not a valid component")]
    #[diagnostic(code(snakebridge::plugin::invalid))]
    Invalid {
        name: String,
        #[source]
        source: wasmtime::Error,
    },

    #[error(
        "plugin `{name}` imports `{import}`; plugins may not import anything beyond the contract's types"
    )]
    #[diagnostic(
        code(snakebridge::plugin::imports),
        help(
            "build it for `wasm32-unknown-unknown` without WASI, using only the data it is given"
        )
    )]
    ForbiddenImport { name: String, import: String },

    #[error("plugin `{name}` does not export `{export}`, so it cannot run as the {stage} stage")]
    #[diagnostic(code(snakebridge::plugin::wrong_stage))]
    WrongStage {
        name: String,
        stage: &'static str,
        export: String,
    },

    #[error("plugin `{name}` {reason} while running the {stage} stage for `{library}`")]
    #[diagnostic(code(snakebridge::plugin::trap), help("{help}"))]
    Trap {
        name: String,
        stage: &'static str,
        library: String,
        reason: String,
        help: String,
    },

    #[error("plugin `{name}` rejected `{library}`: {message}")]
    #[diagnostic(
        code(snakebridge::plugin::refused),
        help("the {stage} stage reported {code}{symbol}")
    )]
    Refused {
        name: String,
        stage: &'static str,
        library: String,
        code: &'static str,
        message: String,
        symbol: String,
    },

    #[error("the {stage} stage's host thread panicked")]
    #[diagnostic(
        code(snakebridge::plugin::host_panic),
        help("this is a bug in snakebridge; please report it")
    )]
    Panicked { stage: &'static str },

    #[error(
        "plugin `{name}` returned {size} bytes for `{library}`, over the {OUTPUT_LIMIT}-byte limit"
    )]
    #[diagnostic(code(snakebridge::plugin::output_too_large))]
    OutputTooLarge {
        name: String,
        library: String,
        size: usize,
    },
}

/// Where a plugin's bytes come from.
#[derive(Clone, Debug)]
pub enum Source {
    Builtin(Stage),
    File { path: PathBuf, pinned: String },
}

/// A plugin ready to run: compiled, audited, and identified by its hash.
pub struct Plugin {
    /// For messages: `default` or the configured path.
    pub name: String,
    pub stage: Stage,
    pub blake3: String,
    /// The contract version it speaks, one of [`wit::SUPPORTED`].
    pub contract: String,
    component: Component,
}

impl Plugin {
    /// Whether it speaks 0.1.0, and so runs through [`since_v0_1_0::adapter`].
    fn is_v0_1(&self) -> bool {
        self.contract == since_v0_1_0::VERSION
    }
}

/// Compiles, caches and runs plugins.
pub struct PluginHost {
    engine: Engine,
    cache: Option<PathBuf>,
}

struct Limiter {
    limits: StoreLimits,
    exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.table_growing(current, desired, maximum)?;
        self.exceeded |= !allowed;
        Ok(allowed)
    }
}

fn engine() -> Result<Engine, wasmtime::Error> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = wasmtime::Config::new();
            config.consume_fuel(true);
            config.max_wasm_stack(1 << 20);
            // NaN bit patterns are observable; canonical ones keep output identical across CPUs,
            // and so do relaxed-SIMD results (fused or not, saturated or not) made deterministic.
            config.cranelift_nan_canonicalization(true);
            config.relaxed_simd_deterministic(true);
            // Every call gets a fresh instance; pooled memories that stay resident spare each
            // one the page faults of a new mapping (a fifth of the emitter's time).
            let mut pooling = wasmtime::PoolingAllocationConfig::default();
            pooling
                .total_memories(POOLED_INSTANCES)
                .total_core_instances(POOLED_INSTANCES)
                .total_component_instances(POOLED_INSTANCES)
                .max_memory_size(MEMORY_LIMIT)
                .linear_memory_keep_resident(64 << 20);
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling));
            Engine::new(&config).map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(wasmtime::Error::msg)
}

impl PluginHost {
    /// `cache` is where compiled components are kept; `None` compiles every time.
    pub fn new(cache: Option<PathBuf>) -> Result<Self, wasmtime::Error> {
        Ok(Self {
            engine: engine()?,
            cache,
        })
    }

    /// Loads a plugin: checks its pin and contract version before compiling anything, then
    /// compiles (or loads the cached compilation) and audits its imports and exports.
    pub fn load(&self, stage: Stage, source: &Source) -> Result<Plugin, Error> {
        let (name, bytes) = match source {
            Source::Builtin(builtin_stage) => {
                ("default".to_string(), builtin(*builtin_stage).to_vec())
            }
            Source::File { path, .. } => {
                let bytes = fs_err::read(path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                (path.display().to_string(), bytes)
            }
        };
        let blake3 = blake3::hash(&bytes).to_hex().to_string();
        if let Source::File { pinned, .. } = source
            && *pinned != blake3
        {
            return Err(Error::HashMismatch {
                name,
                expected: pinned.clone(),
                actual: blake3,
            });
        }
        let contract = contract_version(&bytes)
            .map_err(|found| Error::UnreadableContract {
                name: name.clone(),
                found: String::from_utf8_lossy(&found).into_owned(),
            })?
            .ok_or_else(|| Error::NoContract { name: name.clone() })?;
        if !wit::SUPPORTED.contains(&contract.as_str()) {
            return Err(Error::ContractMismatch {
                name,
                found: contract,
            });
        }
        let component = cache::compile(&self.engine, self.cache.as_deref(), &bytes, &blake3)
            .map_err(|source| Error::Invalid {
                name: name.clone(),
                source,
            })?;
        let ty = component.component_type();
        for (import, item) in ty.imports(&self.engine) {
            let types_only = match &item.ty {
                ComponentItem::Type(_) => true,
                ComponentItem::ComponentInstance(instance) => instance
                    .exports(&self.engine)
                    .all(|(_, export)| matches!(export.ty, ComponentItem::Type(_))),
                _ => false,
            };
            if !types_only {
                return Err(Error::ForbiddenImport {
                    name,
                    import: import.to_string(),
                });
            }
        }
        let export = stage.export(&contract);
        if ty.get_export(&self.engine, &export).is_none() {
            return Err(Error::WrongStage {
                name,
                stage: stage.name(),
                export,
            });
        }
        Ok(Plugin {
            name,
            stage,
            blake3,
            contract,
            component,
        })
    }

    /// One fresh, limited store per call: a trap poisons an instance, and per-call stores keep
    /// one library's run from seeing another's.
    fn store(&self, symbols: usize) -> Store<Limiter> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(MEMORY_LIMIT)
            .instances(4)
            .memories(2)
            .tables(4)
            .build();
        let mut store = Store::new(
            &self.engine,
            Limiter {
                limits,
                exceeded: false,
            },
        );
        store.limiter(|state| state);
        // Only fails when fuel is off, and the engine always has it on.
        let _ = store.set_fuel(fuel_for(symbols));
        store
    }

    pub fn map_types(
        &self,
        plugin: &Plugin,
        library: &types::Library,
    ) -> Result<Vec<types::SymbolTypes>, Error> {
        let mut store = self.store(library.symbols.len());
        let linker = Linker::new(&self.engine);
        let result = if plugin.is_v0_1() {
            use since_v0_1_0::{adapter, typespecs::Typespecs};
            Typespecs::instantiate(&mut store, &plugin.component, &linker).and_then(|instance| {
                instance
                    .snakebridge_plugin_typespec_stage()
                    .call_map_types(&mut store, &adapter::library(library))
                    .map(|r| r.map(adapter::symbol_types).map_err(adapter::error))
            })
        } else {
            latest::typespecs::Typespecs::instantiate(&mut store, &plugin.component, &linker)
                .and_then(|instance| {
                    instance
                        .snakebridge_plugin_typespec_stage()
                        .call_map_types(&mut store, library)
                })
        };
        finish(plugin, &library.name, &store, result, library.symbols.len())
    }

    pub fn render_docs(
        &self,
        plugin: &Plugin,
        library: &types::Library,
    ) -> Result<types::LibraryDocs, Error> {
        let mut store = self.store(library.symbols.len());
        let linker = Linker::new(&self.engine);
        let result = if plugin.is_v0_1() {
            use since_v0_1_0::{adapter, docs::Docs};
            Docs::instantiate(&mut store, &plugin.component, &linker).and_then(|instance| {
                instance
                    .snakebridge_plugin_doc_stage()
                    .call_render_docs(&mut store, &adapter::library(library))
                    .map(|r| r.map(adapter::library_docs).map_err(adapter::error))
            })
        } else {
            latest::docs::Docs::instantiate(&mut store, &plugin.component, &linker).and_then(
                |instance| {
                    instance
                        .snakebridge_plugin_doc_stage()
                        .call_render_docs(&mut store, library)
                },
            )
        };
        let docs = finish(plugin, &library.name, &store, result, library.symbols.len())?;
        let size: usize = docs
            .modules
            .iter()
            .map(|m| m.markdown.len())
            .chain(docs.symbols.iter().map(|s| s.markdown.len()))
            .sum();
        check_size(plugin, &library.name, size)?;
        Ok(docs)
    }

    pub fn emit(
        &self,
        plugin: &Plugin,
        input: &types::RenderInput,
    ) -> Result<Vec<types::File>, Error> {
        let mut store = self.store(input.library.symbols.len());
        let linker = Linker::new(&self.engine);
        let result = if plugin.is_v0_1() {
            use since_v0_1_0::{adapter, emitter::Emitter};
            Emitter::instantiate(&mut store, &plugin.component, &linker).and_then(|instance| {
                instance
                    .snakebridge_plugin_emitter_stage()
                    .call_emit(&mut store, &adapter::render_input(input))
                    .map(|r| r.map(adapter::files).map_err(adapter::error))
            })
        } else {
            latest::emitter::Emitter::instantiate(&mut store, &plugin.component, &linker).and_then(
                |instance| {
                    instance
                        .snakebridge_plugin_emitter_stage()
                        .call_emit(&mut store, input)
                },
            )
        };
        let files = finish(
            plugin,
            &input.library.name,
            &store,
            result,
            input.library.symbols.len(),
        )?;
        check_size(
            plugin,
            &input.library.name,
            files.iter().map(|f| f.path.len() + f.contents.len()).sum(),
        )?;
        Ok(files)
    }
}

fn check_size(plugin: &Plugin, library: &str, size: usize) -> Result<(), Error> {
    if size > OUTPUT_LIMIT {
        return Err(Error::OutputTooLarge {
            name: plugin.name.clone(),
            library: library.into(),
            size,
        });
    }
    Ok(())
}

/// Turns a call's two layers of failure into errors: the outer one is a trap or host failure,
/// the inner one the plugin's own typed refusal.
fn finish<T>(
    plugin: &Plugin,
    library: &str,
    store: &Store<Limiter>,
    result: wasmtime::Result<Result<T, types::PluginError>>,
    symbols: usize,
) -> Result<T, Error> {
    let trap = |reason: String, help: &str| Error::Trap {
        name: plugin.name.clone(),
        stage: plugin.stage.name(),
        library: library.into(),
        reason,
        help: help.into(),
    };
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(refusal)) => {
            let (code, detail) = match refusal {
                types::PluginError::InvalidInput(d) => ("invalid-input", d),
                types::PluginError::Unsupported(d) => ("unsupported", d),
                types::PluginError::Internal(d) => ("internal", d),
            };
            Err(Error::Refused {
                name: plugin.name.clone(),
                stage: plugin.stage.name(),
                library: library.into(),
                code,
                message: detail.message,
                symbol: detail
                    .symbol
                    .map(|s| format!(" for `{s}`"))
                    .unwrap_or_default(),
            })
        }
        Err(error) => Err(match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => trap(
                format!(
                    "ran out of its CPU budget ({} fuel for {symbols} symbols)",
                    fuel_for(symbols)
                ),
                "the plugin is probably in an endless loop; report it to its author",
            ),
            _ if store.data().exceeded => trap(
                format!("exceeded its memory limit of {} MiB", MEMORY_LIMIT >> 20),
                "the plugin needs more memory than a stage may use; report it to its author",
            ),
            Some(Trap::StackOverflow) => {
                trap("overflowed its stack".into(), "report it to its author")
            }
            Some(Trap::UnreachableCodeReached) => trap(
                "trapped (a Rust plugin panicked)".into(),
                "plugins should return a `plugin-error` instead of panicking; report it to its author",
            ),
            Some(other) => trap(format!("trapped: {other}"), "report it to its author"),
            None => trap(
                format!("failed: {}", error.root_cause()),
                "report it to its author",
            ),
        }),
    }
}

/// The contract version a component declares, read without compiling it: `Ok(None)` when it
/// declares none, `Err` with the section's bytes when they are not text.
pub fn contract_version(bytes: &[u8]) -> Result<Option<String>, Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|payload| match payload {
            Ok(wasmparser::Payload::CustomSection(section))
                if section.name() == CONTRACT_SECTION =>
            {
                Some(
                    std::str::from_utf8(section.data())
                        .map(str::to_string)
                        .map_err(|_| section.data().to_vec()),
                )
            }
            _ => None,
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly on any error")]

    /// See #9: relaxed SIMD gave CPU-dependent results (x86 and aarch64 disagree on an
    /// out-of-range truncation), so the same plugin could render differently per machine.
    #[test]
    fn relaxed_simd_is_deterministic() {
        let engine = super::engine().unwrap();
        let module = wasmtime::Module::new(
            &engine,
            wat::parse_str(
                r#"(module (func (export "trunc") (result i32)
                    f32.const 3e9 f32x4.splat i32x4.relaxed_trunc_f32x4_s i32x4.extract_lane 0))"#,
            )
            .unwrap(),
        )
        .unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let trunc = instance
            .get_typed_func::<(), i32>(&mut store, "trunc")
            .unwrap();
        // The deterministic semantics saturate, as aarch64 does; x86's native answer is
        // i32::MIN.
        assert_eq!(trunc.call(&mut store, ()).unwrap(), i32::MAX);
    }
}
