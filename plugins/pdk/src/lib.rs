//! The snakebridge plugin development kit.
//!
//! A stage plugin is a WebAssembly component built for `wasm32-unknown-unknown`: a pure
//! function from the symbol records of the contract `snakebridge:plugin` to its stage's
//! output. It gets no file system, clock, network, randomness or environment, so the same
//! input always gives the same output, which is what lets `snakebridge verify` re-render a
//! project without Python.
//!
//! Enable the one feature for the stage you implement, implement its trait, and export it:
//!
//! | feature | trait | export macro | input → output |
//! |---|---|---|---|
//! | `emitter` | [`emitter::Emitter`] | [`export_emitter!`] | `RenderInput` → `Vec<File>` |
//! | `typespecs` | [`typespecs::Typespecs`] | [`export_typespecs!`] | `Library` → `Vec<SymbolTypes>` |
//! | `docs` | [`docs::Docs`] | [`export_docs!`] | `Library` → `LibraryDocs` |
//!
//! ```ignore
//! use snakebridge_pdk::emitter::{Emitter, File, PluginError, RenderInput};
//!
//! struct Listing;
//!
//! impl Emitter for Listing {
//!     fn emit(input: RenderInput) -> Result<Vec<File>, PluginError> {
//!         let contents = input.library.symbols.iter().map(|s| format!("{}\n", s.id)).collect();
//!         Ok(vec![File { path: format!("{}.txt", input.library.name), contents }])
//!     }
//! }
//!
//! snakebridge_pdk::export_emitter!(Listing);
//! ```
//!
//! Each export macro also writes [`CONTRACT_VERSION`] into the custom section
//! [`CONTRACT_SECTION`], which the host reads before it compiles the component.
//!
//! | snakebridge | snakebridge-pdk | contract |
//! |---|---|---|
//! | 0.1 | 0.1 | `snakebridge:plugin@0.1.0` |
//! | 0.2 | 0.2 | `snakebridge:plugin@0.2.0`; snakebridge 0.2 still runs 0.1.0 plugins |
//!
//! 0.2.0 adds setter symbols, [`SymbolFlags`](emitter::SymbolFlags) (generators and configured
//! streams, which get `<name>_stream` wrappers), annotations as parsed trees beside their text,
//! and the host's naming conventions in `RenderInput::conventions`: the generated-file
//! marker, the helper functions and the parameter names every emitter must use.

#![warn(missing_docs)]

/// The version of the `snakebridge:plugin` contract this PDK implements.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// The name of the custom section that carries [`CONTRACT_VERSION`].
pub const CONTRACT_SECTION: &str = "snakebridge:contract";

#[doc(hidden)]
pub const __CONTRACT_BYTES: [u8; CONTRACT_VERSION.len()] = {
    let src = CONTRACT_VERSION.as_bytes();
    let mut out = [0u8; CONTRACT_VERSION.len()];
    let mut i = 0;
    while i < src.len() {
        out[i] = src[i];
        i += 1;
    }
    out
};

/// Writes the contract version section; used by the export macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_section {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "snakebridge:contract")]
        #[used]
        static __SNAKEBRIDGE_CONTRACT: [u8; $crate::CONTRACT_VERSION.len()] =
            $crate::__CONTRACT_BYTES;
    };
}

/// The emitter stage: renders one library's source files.
#[cfg(feature = "emitter")]
pub mod emitter {
    #[doc(hidden)]
    pub mod wit {
        wit_bindgen::generate!({
            path: "../../wit/since_v0.2.0",
            world: "emitter",
            pub_export_macro: true,
            export_macro_name: "__export_emitter_world",
            default_bindings_module: "snakebridge_pdk::emitter::wit",
        });
    }

    pub use wit::snakebridge::plugin::types::{
        Annotation, AnnotationNode, ArityRange, Conventions, ErrorDetail, File, Library,
        LibraryDocs, Module, ModuleDoc, ModuleKind, Param, ParamKind, PluginError, RenderInput,
        Signature, SignatureSource, Symbol, SymbolDoc, SymbolFlags, SymbolKind, SymbolTypes,
        TypeExpr, TypeNode,
    };

    /// Implement this, then call [`export_emitter!`](crate::export_emitter).
    pub trait Emitter {
        /// Renders the files for one library. Paths are relative to the output directory.
        fn emit(input: RenderInput) -> Result<Vec<File>, PluginError>;
    }
}

/// Exports a type implementing [`emitter::Emitter`] as the plugin's emitter stage.
#[cfg(feature = "emitter")]
#[macro_export]
macro_rules! export_emitter {
    ($plugin:ident) => {
        impl $crate::emitter::wit::exports::snakebridge::plugin::emitter_stage::Guest for $plugin {
            fn emit(
                input: $crate::emitter::RenderInput,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::emitter::File>,
                $crate::emitter::PluginError,
            > {
                <$plugin as $crate::emitter::Emitter>::emit(input)
            }
        }
        $crate::emitter::wit::__export_emitter_world!($plugin);
        $crate::__contract_section!();
    };
}

/// The typespec stage: maps Python annotations to Elixir types.
#[cfg(feature = "typespecs")]
pub mod typespecs {
    #[doc(hidden)]
    pub mod wit {
        wit_bindgen::generate!({
            path: "../../wit/since_v0.2.0",
            world: "typespecs",
            pub_export_macro: true,
            export_macro_name: "__export_typespecs_world",
            default_bindings_module: "snakebridge_pdk::typespecs::wit",
        });
    }

    pub use wit::snakebridge::plugin::types::{
        Annotation, AnnotationNode, ArityRange, ErrorDetail, Library, Module, ModuleKind, Param,
        ParamKind, PluginError, Signature, SignatureSource, Symbol, SymbolFlags, SymbolKind,
        SymbolTypes, TypeExpr, TypeNode,
    };

    /// Implement this, then call [`export_typespecs!`](crate::export_typespecs).
    pub trait Typespecs {
        /// Returns one entry per symbol of `library`, with one type per parameter.
        fn map_types(library: Library) -> Result<Vec<SymbolTypes>, PluginError>;
    }
}

/// Exports a type implementing [`typespecs::Typespecs`] as the plugin's typespec stage.
#[cfg(feature = "typespecs")]
#[macro_export]
macro_rules! export_typespecs {
    ($plugin:ident) => {
        impl $crate::typespecs::wit::exports::snakebridge::plugin::typespec_stage::Guest
            for $plugin
        {
            fn map_types(
                library: $crate::typespecs::Library,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::typespecs::SymbolTypes>,
                $crate::typespecs::PluginError,
            > {
                <$plugin as $crate::typespecs::Typespecs>::map_types(library)
            }
        }
        $crate::typespecs::wit::__export_typespecs_world!($plugin);
        $crate::__contract_section!();
    };
}

/// The doc stage: renders docstrings as Markdown.
#[cfg(feature = "docs")]
pub mod docs {
    #[doc(hidden)]
    pub mod wit {
        wit_bindgen::generate!({
            path: "../../wit/since_v0.2.0",
            world: "docs",
            pub_export_macro: true,
            export_macro_name: "__export_docs_world",
            default_bindings_module: "snakebridge_pdk::docs::wit",
        });
    }

    pub use wit::snakebridge::plugin::types::{
        Annotation, AnnotationNode, ArityRange, ErrorDetail, Library, LibraryDocs, Module,
        ModuleDoc, ModuleKind, Param, ParamKind, PluginError, Signature, SignatureSource, Symbol,
        SymbolDoc, SymbolFlags, SymbolKind,
    };

    /// Implement this, then call [`export_docs!`](crate::export_docs).
    pub trait Docs {
        /// Returns the Markdown for every module and symbol of `library`.
        fn render_docs(library: Library) -> Result<LibraryDocs, PluginError>;
    }
}

/// Exports a type implementing [`docs::Docs`] as the plugin's doc stage.
#[cfg(feature = "docs")]
#[macro_export]
macro_rules! export_docs {
    ($plugin:ident) => {
        impl $crate::docs::wit::exports::snakebridge::plugin::doc_stage::Guest for $plugin {
            fn render_docs(
                library: $crate::docs::Library,
            ) -> ::core::result::Result<$crate::docs::LibraryDocs, $crate::docs::PluginError> {
                <$plugin as $crate::docs::Docs>::render_docs(library)
            }
        }
        $crate::docs::wit::__export_docs_world!($plugin);
        $crate::__contract_section!();
    };
}
