//! `snakebridge doc`: a symbol's rendered docs, or a ranked search, from the manifest alone.

use serde_json::json;

use crate::model::LibraryRecord;
use crate::project::Project;
use crate::{Error, lock, manifest};

/// One search hit.
#[derive(Debug, serde::Serialize)]
pub struct Hit {
    pub id: String,
    pub summary: String,
    pub relevance: f64,
}

fn relevance(name: &str, summary: &str, query: &str) -> f64 {
    let name = name.to_ascii_lowercase();
    if name == query {
        1.0
    } else if name.starts_with(query) {
        0.9
    } else if name.contains(query) {
        0.7
    } else if summary.to_ascii_lowercase().contains(query) {
        0.4
    } else {
        0.0
    }
}

/// Symbols ranked by how well their name (then summary) matches `query`; at most `limit`.
pub fn search(project: &Project, query: &str, limit: usize) -> Result<Vec<Hit>, Error> {
    let manifest = manifest::load(&project.root)?;
    let query = query.to_ascii_lowercase();
    let mut hits: Vec<Hit> = manifest
        .libraries
        .values()
        .flat_map(|record| record.symbols.iter())
        .map(|(id, symbol)| {
            let summary = symbol.doc.lines().next().unwrap_or("").to_string();
            Hit {
                relevance: relevance(&symbol.elixir_name, &summary, &query),
                id: id.clone(),
                summary,
            }
        })
        .filter(|hit| hit.relevance > 0.0)
        .collect();
    hits.sort_by(|a, b| {
        b.relevance
            .total_cmp(&a.relevance)
            .then_with(|| a.id.cmp(&b.id))
    });
    hits.truncate(limit);
    Ok(hits)
}

/// The Markdown the doc stage renders for `id` (`Numpy.mean`, `Numpy.mean/2` or `Numpy.mean!`).
pub fn show(project: &Project, id: &str) -> Result<String, Error> {
    let id = id.split('/').next().unwrap_or(id).trim_end_matches('!');
    let manifest = manifest::load(&project.root)?;
    let lock = lock::load(&project.root)?;
    let found = manifest
        .libraries
        .iter()
        .find(|(_, record)| record.symbols.contains_key(id));
    let Some((name, record)) = found else {
        return Err(Error::UnknownSymbol { id: id.to_string() });
    };
    let single = LibraryRecord {
        symbols: record
            .symbols
            .iter()
            .filter(|(k, _)| k.as_str() == id)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..record.clone()
    };
    let version = lock
        .as_ref()
        .and_then(|l| l.libraries.get(name))
        .map_or("unknown", |e| e.resolved.as_str());
    let docs = project.pipeline(None)?.docs_for(name, &single, version)?;
    Ok(docs
        .symbols
        .into_iter()
        .next()
        .map(|d| d.markdown)
        .unwrap_or_default())
}

pub fn report_show(project: &Project, id: &str, markdown: &str) {
    project.printer.data(
        || format!("{markdown}\n"),
        || json!({ "id": id, "markdown": markdown }),
    );
}

pub fn report_search(project: &Project, hits: &[Hit]) {
    project.printer.data(
        || {
            hits.iter()
                .map(|h| format!("{:.1}  {:<36} {}\n", h.relevance, h.id, h.summary))
                .collect()
        },
        || json!({ "results": hits }),
    );
}
