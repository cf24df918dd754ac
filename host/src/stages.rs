//! The plugin half of the pipeline: typespec stage → doc stage → emitter, per library.
//!
//! Everything a stage sees is built here from the manifest and the lock, so rendering needs
//! no Python and gives the same bytes wherever it runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::annotation::annotation;
use crate::config::{Config, PluginRef, Plugins};
use crate::model::{
    self, LibraryRecord, ModuleKind, ParamKind, SignatureSource, SymbolKind, symbol_id,
};
use crate::naming;
use crate::plugin_host::wit::latest::types;
use crate::plugin_host::{self, Plugin, PluginHost, Source, Stage};

/// The three loaded stage plugins.
pub struct Pipeline {
    host: PluginHost,
    pub typespecs: Plugin,
    pub docs: Plugin,
    pub emitter: Plugin,
    /// Per library name, the ids of the symbols its `streaming` list names.
    streaming: BTreeMap<String, BTreeSet<String>>,
}

/// A file the emitter produced, path relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
}

fn source(stage: Stage, plugin: &PluginRef, root: &std::path::Path) -> Source {
    match plugin {
        PluginRef::Builtin => Source::Builtin(stage),
        PluginRef::File { path, blake3 } => Source::File {
            path: root.join(path),
            pinned: blake3.clone(),
        },
    }
}

impl Pipeline {
    /// Loads the configured plugins; `root` resolves relative plugin paths.
    pub fn load(
        host: PluginHost,
        plugins: &Plugins,
        root: &std::path::Path,
    ) -> Result<Self, plugin_host::Error> {
        Ok(Self {
            typespecs: host.load(
                Stage::Typespecs,
                &source(Stage::Typespecs, &plugins.typespecs, root),
            )?,
            docs: host.load(Stage::Docs, &source(Stage::Docs, &plugins.docs, root))?,
            emitter: host.load(
                Stage::Emitter,
                &source(Stage::Emitter, &plugins.emitter, root),
            )?,
            host,
            streaming: BTreeMap::new(),
        })
    }

    /// Flags the symbols each library's `streaming` list names, for rendering.
    pub fn with_streaming(mut self, config: &Config) -> Self {
        self.streaming = config
            .libraries
            .iter()
            .map(|(name, library)| {
                let ids = library
                    .streaming
                    .iter()
                    .map(|d| symbol_id(&d.elixir_module, &d.elixir_name))
                    .collect();
                (name.clone(), ids)
            })
            .collect();
        self
    }

    fn library(&self, name: &str, record: &LibraryRecord, version: &str) -> types::Library {
        let none = BTreeSet::new();
        let streaming = self.streaming.get(name).unwrap_or(&none);
        library(name, record, version, streaming)
    }

    pub fn plugins(&self) -> [&Plugin; 3] {
        [&self.typespecs, &self.docs, &self.emitter]
    }

    /// The doc stage's output for one library.
    pub fn docs_for(
        &self,
        name: &str,
        record: &LibraryRecord,
        version: &str,
    ) -> Result<types::LibraryDocs, plugin_host::Error> {
        self.host
            .render_docs(&self.docs, &self.library(name, record, version))
    }

    /// Renders one library's files.
    pub fn render(
        &self,
        name: &str,
        record: &LibraryRecord,
        version: &str,
    ) -> Result<Vec<File>, plugin_host::Error> {
        self.render_traced(name, record, version, None)
    }

    /// Renders one library's files, and with `ir`, collects each stage's input and output as
    /// JSON files (`typespecs.input.json`, ...), for `generate --dump-ir`.
    pub fn render_traced(
        &self,
        name: &str,
        record: &LibraryRecord,
        version: &str,
        mut ir: Option<&mut Vec<File>>,
    ) -> Result<Vec<File>, plugin_host::Error> {
        let library = self.library(name, record, version);
        // The typespec and doc stages are independent: run them side by side.
        let (types, docs) = std::thread::scope(|scope| {
            let types = scope.spawn(|| self.host.map_types(&self.typespecs, &library));
            let docs = self.host.render_docs(&self.docs, &library);
            (types.join(), docs)
        });
        let types = types.map_err(|_| plugin_host::Error::Panicked { stage: "typespecs" })??;
        let docs = docs?;
        let input = types::RenderInput {
            library,
            types,
            docs,
            conventions: conventions(),
        };
        if let Some(ir) = ir.as_deref_mut() {
            // The typespec and doc stages are given the same library.
            let library = ir_file("typespecs", "input", &input.library);
            ir.push(File {
                path: "docs.input.json".into(),
                contents: library.contents.clone(),
            });
            ir.push(library);
            ir.push(ir_file("typespecs", "output", &input.types));
            ir.push(ir_file("docs", "output", &input.docs));
            ir.push(ir_file("emitter", "input", &input));
        }
        let files = self.host.emit(&self.emitter, &input)?;
        if let Some(ir) = ir {
            ir.push(ir_file("emitter", "output", &files));
        }
        Ok(files
            .into_iter()
            .map(|f| File {
                path: f.path,
                contents: f.contents,
            })
            .collect())
    }
}

/// `<stage>.<side>.json`: a contract record as pretty JSON, the same bytes on every run.
fn ir_file(stage: &str, side: &str, value: &impl serde::Serialize) -> File {
    // Contract records have no maps or non-string keys: serializing them cannot fail.
    let mut contents = serde_json::to_string_pretty(value).unwrap_or_default();
    contents.push('\n');
    File {
        path: format!("{stage}.{side}.json"),
        contents,
    }
}

/// The names the host scans, verifies and cleans up by, for the emitter.
pub fn conventions() -> types::Conventions {
    types::Conventions {
        generated_marker: naming::GENERATED_MARKER.into(),
        helpers: naming::HELPERS
            .iter()
            .map(|(name, arity)| (name.to_string(), *arity))
            .collect(),
        options_param: naming::OPTS_PARAM.into(),
        receiver_param: naming::REF_PARAM.into(),
        stream_suffix: naming::STREAM_SUFFIX.into(),
    }
}

/// The contract's view of one library; `streaming` holds the ids of the symbols its
/// `streaming` list names.
pub fn library(
    name: &str,
    record: &LibraryRecord,
    version: &str,
    streaming: &BTreeSet<String>,
) -> types::Library {
    let mut modules: Vec<types::Module> = record
        .modules
        .iter()
        .map(|(elixir_module, module)| types::Module {
            elixir_module: elixir_module.clone(),
            python_path: module.python_path.clone(),
            kind: match module.kind {
                ModuleKind::Module => types::ModuleKind::Module,
                ModuleKind::Class => types::ModuleKind::Class,
            },
            doc: module.doc.clone(),
        })
        .collect();
    // The root module first, the rest by name.
    modules.sort_by_key(|m| {
        (
            m.elixir_module != record.elixir_module,
            m.elixir_module.clone(),
        )
    });
    types::Library {
        name: name.to_string(),
        elixir_module: record.elixir_module.clone(),
        python_module: record.python_module.clone(),
        version: version.to_string(),
        modules,
        symbols: record
            .symbols
            .iter()
            .map(|(id, symbol)| self::symbol(id, symbol, streaming.contains(id)))
            .collect(),
    }
}

fn symbol(id: &str, symbol: &model::Symbol, streaming: bool) -> types::Symbol {
    let signature = self::signature(&symbol.signature);
    let mut flags = types::SymbolFlags::empty();
    if symbol.yields() {
        flags |= types::SymbolFlags::GENERATOR;
    }
    if streaming {
        flags |= types::SymbolFlags::STREAMING;
    }
    types::Symbol {
        id: id.to_string(),
        kind: match symbol.kind {
            SymbolKind::Function => types::SymbolKind::Function,
            SymbolKind::Constructor => types::SymbolKind::Constructor,
            SymbolKind::Method => types::SymbolKind::Method,
            SymbolKind::ClassMethod => types::SymbolKind::ClassMethod,
            SymbolKind::StaticMethod => types::SymbolKind::StaticMethod,
            SymbolKind::Property => types::SymbolKind::Property,
            SymbolKind::Constant => types::SymbolKind::Constant,
            SymbolKind::Setter => types::SymbolKind::Setter,
        },
        elixir_module: symbol.elixir_module.clone(),
        elixir_name: symbol.elixir_name.clone(),
        python_module: symbol.python_module.clone(),
        python_name: symbol.python_name.clone(),
        signature,
        overloads: symbol.overloads.iter().map(self::signature).collect(),
        doc: symbol.doc.clone(),
        arity: types::ArityRange {
            min: symbol.arity.min,
            max: symbol.arity.max,
            open: symbol.arity.open,
        },
        flags,
    }
}

fn signature(signature: &model::Signature) -> types::Signature {
    types::Signature {
        params: signature
            .params
            .iter()
            .map(|p| types::Param {
                python_name: p.python_name.clone(),
                elixir_name: p.elixir_name.clone(),
                kind: match p.kind {
                    ParamKind::PositionalOnly => types::ParamKind::PositionalOnly,
                    ParamKind::PositionalOrKeyword => types::ParamKind::PositionalOrKeyword,
                    ParamKind::VarPositional => types::ParamKind::VarPositional,
                    ParamKind::KeywordOnly => types::ParamKind::KeywordOnly,
                    ParamKind::VarKeyword => types::ParamKind::VarKeyword,
                },
                default: p.default.clone(),
                annotation: p.annotation.as_deref().map(annotation),
            })
            .collect(),
        returns: signature.returns.as_deref().map(annotation),
        source: match signature.source {
            SignatureSource::Inspect => types::SignatureSource::Inspect,
            SignatureSource::TextSignature => types::SignatureSource::TextSignature,
            SignatureSource::Docstring => types::SignatureSource::Docstring,
            SignatureSource::Stub => types::SignatureSource::Stub,
            SignatureSource::VariadicFallback => types::SignatureSource::VariadicFallback,
        },
    }
}
