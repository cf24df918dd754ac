//! `snakebridge:plugin@0.1.0`, run through [`adapter`].

/// The contract version these bindings implement.
pub const VERSION: &str = "0.1.0";

pub mod emitter {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "emitter",
    });
}

pub mod typespecs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "typespecs",
        with: { "snakebridge:plugin/types@0.1.0": super::emitter::snakebridge::plugin::types },
    });
}

pub mod docs {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "docs",
        with: { "snakebridge:plugin/types@0.1.0": super::emitter::snakebridge::plugin::types },
    });
}

pub use emitter::snakebridge::plugin::types;

/// The adapter that runs 0.1.0 plugins on `latest` records. Lowering drops what 0.1.0 cannot
/// express: setter symbols (with their types and docs), symbol flags, annotation trees (the
/// source text stays) and the conventions; an old emitter writes no stream wrappers or
/// setters. Lifting is exact: 0.1.0 results are a subset of 0.2.0's.
pub mod adapter {
    use super::super::latest::types as new;
    use super::types as old;

    pub fn library(library: &new::Library) -> old::Library {
        old::Library {
            name: library.name.clone(),
            elixir_module: library.elixir_module.clone(),
            python_module: library.python_module.clone(),
            version: library.version.clone(),
            modules: library.modules.iter().map(module).collect(),
            symbols: library.symbols.iter().filter_map(symbol).collect(),
        }
    }

    pub fn render_input(input: &new::RenderInput) -> old::RenderInput {
        // A set: a whole library has thousands of symbols, each with a type and a doc.
        let setters: std::collections::BTreeSet<&str> = input
            .library
            .symbols
            .iter()
            .filter(|s| s.kind == new::SymbolKind::Setter)
            .map(|s| s.id.as_str())
            .collect();
        let kept = |id: &String| !setters.contains(id.as_str());
        old::RenderInput {
            library: library(&input.library),
            types: input
                .types
                .iter()
                .filter(|t| kept(&t.id))
                .map(|t| old::SymbolTypes {
                    id: t.id.clone(),
                    params: t.params.iter().map(lower_type).collect(),
                    returns: lower_type(&t.returns),
                })
                .collect(),
            docs: old::LibraryDocs {
                modules: input
                    .docs
                    .modules
                    .iter()
                    .map(|m| old::ModuleDoc {
                        elixir_module: m.elixir_module.clone(),
                        markdown: m.markdown.clone(),
                    })
                    .collect(),
                symbols: input
                    .docs
                    .symbols
                    .iter()
                    .filter(|d| kept(&d.id))
                    .map(|d| old::SymbolDoc {
                        id: d.id.clone(),
                        markdown: d.markdown.clone(),
                    })
                    .collect(),
            },
        }
    }

    fn module(module: &new::Module) -> old::Module {
        old::Module {
            elixir_module: module.elixir_module.clone(),
            python_path: module.python_path.clone(),
            kind: match module.kind {
                new::ModuleKind::Module => old::ModuleKind::Module,
                new::ModuleKind::Class => old::ModuleKind::Class,
            },
            doc: module.doc.clone(),
        }
    }

    fn symbol(symbol: &new::Symbol) -> Option<old::Symbol> {
        let kind = match symbol.kind {
            new::SymbolKind::Function => old::SymbolKind::Function,
            new::SymbolKind::Constructor => old::SymbolKind::Constructor,
            new::SymbolKind::Method => old::SymbolKind::Method,
            new::SymbolKind::ClassMethod => old::SymbolKind::ClassMethod,
            new::SymbolKind::StaticMethod => old::SymbolKind::StaticMethod,
            new::SymbolKind::Property => old::SymbolKind::Property,
            new::SymbolKind::Constant => old::SymbolKind::Constant,
            new::SymbolKind::Setter => return None,
        };
        Some(old::Symbol {
            id: symbol.id.clone(),
            kind,
            elixir_module: symbol.elixir_module.clone(),
            elixir_name: symbol.elixir_name.clone(),
            python_module: symbol.python_module.clone(),
            python_name: symbol.python_name.clone(),
            signature: signature(&symbol.signature),
            overloads: symbol.overloads.iter().map(signature).collect(),
            doc: symbol.doc.clone(),
            arity: old::ArityRange {
                min: symbol.arity.min,
                max: symbol.arity.max,
                open: symbol.arity.open,
            },
        })
    }

    fn signature(signature: &new::Signature) -> old::Signature {
        old::Signature {
            params: signature
                .params
                .iter()
                .map(|p| old::Param {
                    python_name: p.python_name.clone(),
                    elixir_name: p.elixir_name.clone(),
                    kind: match p.kind {
                        new::ParamKind::PositionalOnly => old::ParamKind::PositionalOnly,
                        new::ParamKind::PositionalOrKeyword => old::ParamKind::PositionalOrKeyword,
                        new::ParamKind::VarPositional => old::ParamKind::VarPositional,
                        new::ParamKind::KeywordOnly => old::ParamKind::KeywordOnly,
                        new::ParamKind::VarKeyword => old::ParamKind::VarKeyword,
                    },
                    default: p.default.clone(),
                    annotation: p.annotation.as_ref().map(|a| a.source.clone()),
                })
                .collect(),
            returns: signature.returns.as_ref().map(|a| a.source.clone()),
            source: match signature.source {
                new::SignatureSource::Inspect => old::SignatureSource::Inspect,
                new::SignatureSource::TextSignature => old::SignatureSource::TextSignature,
                new::SignatureSource::Docstring => old::SignatureSource::Docstring,
                new::SignatureSource::Stub => old::SignatureSource::Stub,
                new::SignatureSource::VariadicFallback => old::SignatureSource::VariadicFallback,
            },
        }
    }

    fn lower_type(expr: &new::TypeExpr) -> old::TypeExpr {
        use new::TypeNode as N;
        use old::TypeNode as O;
        let nodes = expr
            .nodes
            .iter()
            .map(|node| match node {
                N::Term => O::Term,
                N::Integer => O::Integer,
                N::Float => O::Float,
                N::Number => O::Number,
                N::Boolean => O::Boolean,
                N::String => O::String,
                N::Binary => O::Binary,
                N::Nil => O::Nil,
                N::Atom(a) => O::Atom(a.clone()),
                N::AnyAtom => O::AnyAtom,
                N::IntegerLiteral(i) => O::IntegerLiteral(*i),
                N::List(c) => O::List(*c),
                N::Tuple(c) => O::Tuple(c.clone()),
                N::AnyTuple => O::AnyTuple,
                N::Map(kv) => O::Map(*kv),
                N::AnyMap => O::AnyMap,
                N::MapSet(c) => O::MapSet(*c),
                N::Union(c) => O::Union(c.clone()),
                N::Function => O::Function,
                N::Keyword => O::Keyword,
                N::PythonRef => O::PythonRef,
                N::ModuleType(m) => O::ModuleType(m.clone()),
            })
            .collect();
        old::TypeExpr { nodes }
    }

    fn lift_type(expr: old::TypeExpr) -> new::TypeExpr {
        use new::TypeNode as N;
        use old::TypeNode as O;
        let nodes = expr
            .nodes
            .into_iter()
            .map(|node| match node {
                O::Term => N::Term,
                O::Integer => N::Integer,
                O::Float => N::Float,
                O::Number => N::Number,
                O::Boolean => N::Boolean,
                O::String => N::String,
                O::Binary => N::Binary,
                O::Nil => N::Nil,
                O::Atom(a) => N::Atom(a),
                O::AnyAtom => N::AnyAtom,
                O::IntegerLiteral(i) => N::IntegerLiteral(i),
                O::List(c) => N::List(c),
                O::Tuple(c) => N::Tuple(c),
                O::AnyTuple => N::AnyTuple,
                O::Map(kv) => N::Map(kv),
                O::AnyMap => N::AnyMap,
                O::MapSet(c) => N::MapSet(c),
                O::Union(c) => N::Union(c),
                O::Function => N::Function,
                O::Keyword => N::Keyword,
                O::PythonRef => N::PythonRef,
                O::ModuleType(m) => N::ModuleType(m),
            })
            .collect();
        new::TypeExpr { nodes }
    }

    pub fn symbol_types(types: Vec<old::SymbolTypes>) -> Vec<new::SymbolTypes> {
        types
            .into_iter()
            .map(|t| new::SymbolTypes {
                id: t.id,
                params: t.params.into_iter().map(lift_type).collect(),
                returns: lift_type(t.returns),
            })
            .collect()
    }

    pub fn library_docs(docs: old::LibraryDocs) -> new::LibraryDocs {
        new::LibraryDocs {
            modules: docs
                .modules
                .into_iter()
                .map(|m| new::ModuleDoc {
                    elixir_module: m.elixir_module,
                    markdown: m.markdown,
                })
                .collect(),
            symbols: docs
                .symbols
                .into_iter()
                .map(|d| new::SymbolDoc {
                    id: d.id,
                    markdown: d.markdown,
                })
                .collect(),
        }
    }

    pub fn files(files: Vec<old::File>) -> Vec<new::File> {
        files
            .into_iter()
            .map(|f| new::File {
                path: f.path,
                contents: f.contents,
            })
            .collect()
    }

    pub fn error(error: old::PluginError) -> new::PluginError {
        let detail = |d: old::ErrorDetail| new::ErrorDetail {
            message: d.message,
            symbol: d.symbol,
        };
        match error {
            old::PluginError::InvalidInput(d) => new::PluginError::InvalidInput(detail(d)),
            old::PluginError::Unsupported(d) => new::PluginError::Unsupported(detail(d)),
            old::PluginError::Internal(d) => new::PluginError::Internal(detail(d)),
        }
    }
}
