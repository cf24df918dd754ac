//! `snakebridge analyze`: per library, which generated symbols the source uses, and where.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::Error;
use crate::manifest;
use crate::model::{Call, Manifest, symbol_id};
use crate::project::Project;

/// Usage of one library's generated symbols.
#[derive(Debug, Default, Serialize)]
pub struct LibraryUsage {
    /// Symbol id → the calls that use it.
    pub used: BTreeMap<String, Vec<Call>>,
    pub unused: Vec<String>,
}

/// By library name.
pub type Usage = BTreeMap<String, LibraryUsage>;

/// Which symbols `calls` use. With `ignore_tests`, calls from files under `test/` do not count.
/// A call to `x_stream` uses `x`, whose stream wrapper it is.
pub fn usage(manifest: &Manifest, calls: &[Call], ignore_tests: bool) -> Usage {
    let mut usage = Usage::new();
    for (name, record) in &manifest.libraries {
        let mut uses: BTreeMap<String, Vec<Call>> = BTreeMap::new();
        for call in calls
            .iter()
            .filter(|c| !(ignore_tests && c.file.starts_with("test/")))
        {
            let function = call.function.trim_end_matches('!');
            let id = symbol_id(&call.module, function);
            if let Some((symbol, _)) = crate::plan::covering(record, &id, function) {
                uses.entry(symbol.id()).or_default().push(call.clone());
            }
        }
        let mut library = LibraryUsage::default();
        for id in record.symbols.keys() {
            match uses.remove(id) {
                Some(calls) => {
                    library.used.insert(id.clone(), calls);
                }
                None => library.unused.push(id.clone()),
            }
        }
        usage.insert(name.clone(), library);
    }
    usage
}

pub fn run(project: &Project) -> Result<Usage, Error> {
    let manifest = manifest::load(&project.root)?;
    let mut calls = project.calls(&project.scan());
    calls.extend(super::promote::ledger_calls(project)?);
    Ok(usage(&manifest, &calls, false))
}

pub fn report(project: &Project, usage: &Usage) {
    project.printer.data(
        || {
            let mut out = String::new();
            for (name, library) in usage {
                let total = library.used.len() + library.unused.len();
                out += &format!("{name}: {total} generated, {} used, {} unused\n", library.used.len(), library.unused.len());
                for (id, calls) in &library.used {
                    let places: Vec<String> = calls.iter().map(Call::location).collect();
                    out += &format!("  used    {id:<36} {}\n", places.join(", "));
                }
                for id in &library.unused {
                    out += &format!("  unused  {id}\n");
                }
            }
            out
        },
        || {
            let libraries: BTreeMap<&String, serde_json::Value> = usage
                .iter()
                .map(|(name, library)| {
                    let used: BTreeMap<&String, Vec<serde_json::Value>> = library
                        .used
                        .iter()
                        .map(|(id, calls)| {
                            let places = calls
                                .iter()
                                .map(|c| json!({"file": c.file, "line": c.line, "column": c.column, "arity": c.arity}))
                                .collect();
                            (id, places)
                        })
                        .collect();
                    (name, json!({"generated": used.len() + library.unused.len(), "used": used, "unused": library.unused}))
                })
                .collect();
            json!({ "libraries": libraries })
        },
    );
}
