//! Parsed docstrings as ExDoc Markdown, written for the Elixir caller: arguments and options
//! carry the wrapper's names, `>>>` examples become fenced Python, reST roles and math become
//! code, and references to other generated functions become Elixir references ExDoc links.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use snakebridge_pdk::docs::{Param, ParamKind, Symbol, SymbolKind};

use crate::docstring::{Docstring, Item, dedent, parse, section_title};

/// Python names → the Elixir function ExDoc links: `numpy.std` and `std` → `Numpy.std/1`.
pub(crate) type Refs = BTreeMap<String, String>;

pub(crate) fn refs(symbols: &[Symbol]) -> Refs {
    let mut refs = Refs::new();
    let mut short: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for symbol in symbols {
        if matches!(symbol.kind, SymbolKind::Constructor) {
            continue;
        }
        let target = format!(
            "{}.{}/{}",
            symbol.elixir_module, symbol.elixir_name, symbol.arity.min
        );
        refs.insert(
            format!("{}.{}", symbol.python_module, symbol.python_name),
            target.clone(),
        );
        let last = symbol
            .python_name
            .rsplit('.')
            .next()
            .unwrap_or(&symbol.python_name)
            .to_string();
        short.entry(last).or_default().push(target);
    }
    for (name, targets) in short {
        if let [only] = targets.as_slice() {
            refs.entry(name).or_insert_with(|| only.clone());
        }
    }
    refs
}

/// A reference's Elixir target, trying the name as written and without its leading module.
fn resolve<'a>(refs: &'a Refs, target: &str) -> Option<&'a String> {
    let target = target.trim_start_matches(['~', '!', '.']);
    refs.get(target).or_else(|| {
        let mut parts = target.splitn(2, '.');
        parts.next();
        parts.next().and_then(|rest| refs.get(rest))
    })
}

/// Inline reST in one line: roles, ``literals`` and `text <url>`_ links.
pub(crate) fn inline(line: &str, refs: &Refs) -> String {
    let mut out = String::with_capacity(line.len());
    // A footnote reference, `[1]_`, reads as `[1]`.
    let unreferenced;
    let mut rest = if line.contains("]_") {
        unreferenced = line.replace("]_", "]");
        unreferenced.as_str()
    } else {
        line
    };
    while let Some(start) = rest.find(['`', ':']) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        if let Some(after) = from.strip_prefix("``")
            && let Some(end) = after.find("``")
        {
            out.push('`');
            out.push_str(&after[..end]);
            out.push('`');
            rest = &after[end + 2..];
            continue;
        }
        if let Some(role_text) = from.strip_prefix(':')
            && let Some(role_end) = role_text.find(":`")
            && role_text[..role_end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_')
            && let Some(close) = role_text[role_end + 2..].find('`')
        {
            let role = &role_text[..role_end];
            let target = &role_text[role_end + 2..role_end + 2 + close];
            // `:func:`title <target>`` names its target last.
            let name = target
                .rsplit_once('<')
                .map_or(target, |(_, t)| t.trim_end_matches('>'))
                .trim();
            let shown = match resolve(refs, name).filter(|_| role != "math") {
                Some(elixir) => elixir.as_str(),
                None => name.trim_start_matches(['~', '!']),
            };
            out.push('`');
            out.push_str(shown);
            out.push('`');
            rest = &role_text[role_end + 2 + close + 1..];
            continue;
        }
        // A hyperlink, `text <url>`_ or anonymous `text <url>`__; a URL broken over two lines
        // of the docstring comes back joined by a space, which a URL cannot hold.
        if let Some(after) = from.strip_prefix('`')
            && let Some(end) = after.find('`')
            && after[end + 1..].starts_with('_')
            && let Some((text, url)) = after[..end].rsplit_once('<')
        {
            let url: String = url
                .trim_end_matches('>')
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let _ = write!(out, "[{}]({url})", text.trim());
            let tail = &after[end + 1..];
            rest = tail.strip_prefix("__").unwrap_or(&tail[1..]);
            continue;
        }
        // reST's default role, `name`: a reference when it names a generated function.
        if let Some(after) = from.strip_prefix('`')
            && let Some(end) = after.find('`')
            && !after[..end].contains(' ')
            && end > 0
        {
            let name = &after[..end];
            let shown = resolve(refs, name)
                .map_or_else(|| name.trim_start_matches(['~', '!']), String::as_str);
            out.push('`');
            out.push_str(shown);
            out.push('`');
            rest = &after[end + 1..];
            continue;
        }
        out.push_str(&from[..1]);
        rest = &from[1..];
    }
    out.push_str(rest);
    out
}

/// Free text to Markdown: `>>>` sessions and reST literal blocks become fenced code, `.. math::`
/// a math block, notes and warnings quotes, and the rest goes through `inline`.
pub(crate) fn blocks(text: &str, refs: &Refs) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::new();
    // reST ranks titles by the order their adornments first appear; Markdown by `#`s.
    let mut adornments: Vec<char> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some((title, adornment, taken)) = section_title(&lines[i..]) {
            let rank = adornments
                .iter()
                .position(|&a| a == adornment)
                .unwrap_or_else(|| {
                    adornments.push(adornment);
                    adornments.len() - 1
                });
            let hashes = "#".repeat((rank + 2).min(4));
            out.push(format!("{hashes} {}", inline(title, refs)));
            i += taken;
            if lines.get(i).is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        if let Some((table, taken)) = simple_table(&lines[i..], refs) {
            out.push(table);
            i += taken;
            continue;
        }
        let starts_paragraph = i == 0 || lines[i - 1].trim().is_empty() || after_block(&out);
        if starts_paragraph && let Some((item, taken)) = definition(&lines[i..]) {
            let mut line = String::new();
            push_item(&mut line, &item.0, true, "", &item.1, refs);
            out.push(line);
            i += taken;
            continue;
        }
        if trimmed.starts_with(">>>") {
            open_block(&mut out);
            out.push("```python".into());
            while i < lines.len() && !lines[i].trim().is_empty() {
                out.push(lines[i].trim_start().to_string());
                i += 1;
            }
            out.push("```".into());
            continue;
        }
        // A footnote or citation, `.. [1] Text`: its label, then its text.
        if let Some((label, text)) = trimmed
            .strip_prefix(".. [")
            .and_then(|rest| rest.split_once(']'))
        {
            out.push(format!("[{label}] {}", inline(text.trim(), refs)));
            i += 1;
            continue;
        }
        let directive = trimmed.strip_prefix(".. ").and_then(|d| d.split_once("::"));
        let literal = trimmed.ends_with("::") && !trimmed.starts_with(".. ");
        if directive.is_some() || literal {
            let indent = line.len() - trimmed.len();
            let (name, argument) = directive.map_or(("", ""), |(n, a)| (n.trim(), a.trim()));
            if literal {
                out.push(inline(trimmed.trim_end_matches(':').trim_end(), refs) + ":");
            }
            i += 1;
            let mut body = Vec::new();
            while i < lines.len()
                && (lines[i].trim().is_empty()
                    || lines[i].len() - lines[i].trim_start().len() > indent)
            {
                body.push(lines[i]);
                i += 1;
            }
            // Blank lines after the block separate it from what follows; give them back.
            while body.last().is_some_and(|l| l.trim().is_empty()) {
                body.pop();
                i -= 1;
            }
            let body = dedent(&body);
            if matches!(name, "math" | "code-block" | "code" | "sourcecode" | "") {
                open_block(&mut out);
            }
            match name {
                "math" => out.push(format!(
                    "```math\n{}\n```",
                    if body.is_empty() { argument } else { &body }
                )),
                "note" | "warning" | "seealso" | "tip" | "important" | "versionadded"
                | "versionchanged" => {
                    let title = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
                    let text = [argument, &body]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    out.push(format!(
                        "> **{title}:** {}",
                        inline(&text.replace('\n', " "), refs)
                    ));
                }
                "code-block" | "code" | "sourcecode" | "" => {
                    let language = if argument.is_empty() {
                        "python"
                    } else {
                        argument
                    };
                    out.push(format!("```{language}\n{body}\n```"));
                }
                _ => out.push(inline(&body, refs)),
            }
            continue;
        }
        if starts_paragraph && let Some(taken) = quoted_prose(&lines[i..]) {
            // reST indents a block quote; Markdown would make it code. Keep it as prose.
            for quoted in &lines[i..i + taken] {
                out.push(inline(quoted.trim_start(), refs));
            }
            i += taken;
            continue;
        }
        out.push(inline(line, refs));
        i += 1;
    }
    out.join("\n")
}

/// A reST simple table at the start of `lines` (columns marked by `===  ===` borders) as a
/// Markdown table, and how many lines it takes. A row whose first cell is blank continues the
/// row above.
fn simple_table(lines: &[&str], refs: &Refs) -> Option<(String, usize)> {
    let columns = table_border(lines.first()?)?;
    let mut sections: Vec<Vec<Vec<String>>> = vec![Vec::new()];
    let mut end = None;
    for (at, line) in lines.iter().enumerate().skip(1) {
        if line.trim().is_empty() {
            break;
        }
        if table_border(line).is_some_and(|c| c == columns) {
            end = Some(at + 1);
            sections.push(Vec::new());
            continue;
        }
        // Columns are counted in characters: the border is ASCII, the cells may not be.
        let chars: Vec<char> = line.chars().collect();
        let cells: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(n, &(start, _))| {
                let stop = columns.get(n + 1).map_or(chars.len(), |next| next.0);
                let cell: String = chars[start.min(chars.len())..stop.min(chars.len())]
                    .iter()
                    .collect();
                cell.trim().to_string()
            })
            .collect();
        let rows = sections.last_mut()?;
        match rows.last_mut() {
            Some(row) if cells[0].is_empty() => {
                for (cell, more) in row.iter_mut().zip(cells) {
                    if !more.is_empty() {
                        cell.push(' ');
                        cell.push_str(&more);
                    }
                }
            }
            _ => rows.push(cells),
        }
    }
    let end = end?;
    sections.retain(|rows| !rows.is_empty());
    let (header, body) = match sections.as_slice() {
        [header, body] if header.len() == 1 => (header[0].clone(), body.clone()),
        [body] => (body[0].clone(), body[1..].to_vec()),
        _ => return None,
    };
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .map(|c| inline(c, refs).replace('|', "\\|"))
            .collect();
        format!("| {} |", cells.join(" | "))
    };
    let mut out = vec![row(&header), format!("|{}", "---|".repeat(columns.len()))];
    out.extend(body.iter().map(|cells| row(cells)));
    Some((out.join("\n"), end))
}

/// The columns of a simple-table border, `====  =====`: two or more runs of `=`, as byte ranges.
fn table_border(line: &str) -> Option<Vec<(usize, usize)>> {
    if line.starts_with(' ') || !line.trim_end().chars().all(|c| c == '=' || c == ' ') {
        return None;
    }
    let mut columns = Vec::new();
    let mut start = None;
    for (at, c) in line.trim_end().char_indices() {
        match (c, start) {
            ('=', None) => start = Some(at),
            (' ', Some(from)) => {
                columns.push((from, at));
                start = None;
            }
            _ => {}
        }
    }
    columns.extend(start.map(|from| (from, line.trim_end().len())));
    (columns.len() >= 2).then_some(columns)
}

/// How many lines an indented paragraph of prose at the start of `lines` takes: four or
/// more spaces deep (code, to Markdown), opening with a sentence rather than code.
fn quoted_prose(lines: &[&str]) -> Option<usize> {
    let deep = |line: &str| !line.trim().is_empty() && line.len() - line.trim_start().len() >= 4;
    let first = lines.first().filter(|line| deep(line))?.trim_start();
    // Mostly plain words: a sentence, not `x = f(y)`.
    let words: Vec<&str> = first.split_whitespace().collect();
    let plain = words
        .iter()
        .filter(|w| {
            w.trim_end_matches([',', '.', ';', ':'])
                .chars()
                .all(char::is_alphabetic)
        })
        .count();
    let prose = words.len() >= 3 && plain * 3 >= words.len() * 2;
    prose.then(|| lines.iter().take_while(|line| deep(line)).count())
}

/// A blank line before a fence, unless there is one: without it a fence right after a list
/// item's text belongs to the item, and IEx ends it at its first blank line, showing the rest
/// of the code as quotes (`> >>`).
fn open_block(out: &mut Vec<String>) {
    if out.last().is_some_and(|line| !line.is_empty()) {
        out.push(String::new());
    }
}

/// Whether the last line written ends a block a term may follow: a heading, a blank line, or
/// a definition-list item (the next term continues the list).
fn after_block(out: &[String]) -> bool {
    out.last()
        .is_some_and(|l| l.is_empty() || l.starts_with('#') || l.starts_with("  * `"))
}

/// A definition-list entry at the start of `lines`, as numpydoc writes free sections: a short
/// term (a name, no spaces) over its description, indented deeper. Returns the term, the
/// description as one line, and how many lines it takes.
fn definition(lines: &[&str]) -> Option<((String, String), usize)> {
    let term = lines.first()?;
    let indent = term.len() - term.trim_start().len();
    let name = term.trim();
    // A name, `*args` included; `**Usage**` is emphasis, not a term.
    let is_name = !name.is_empty()
        && !name.ends_with('*')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_.*,()[]".contains(c));
    if !is_name {
        return None;
    }
    let body: Vec<&str> = lines[1..]
        .iter()
        .take_while(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() > indent)
        .map(|l| l.trim())
        .collect();
    let first = body.first()?;
    // An indented list or session under a word is not a definition.
    let list = first.starts_with(['*', '-', '+', '>'])
        || first
            .split_once(". ")
            .is_some_and(|(n, _)| n.parse::<u32>().is_ok());
    (!list).then(|| ((name.to_string(), body.join(" ")), 1 + body.len()))
}

/// Markdown for a module or class docstring.
pub(crate) fn module(doc: &str, fallback: &str, refs: &Refs) -> String {
    let parsed = parse(doc);
    let mut out = Blocks::default();
    if parsed.summary.is_empty() {
        out.block().push_str(fallback);
    } else {
        out.block().push_str(&inline(&parsed.summary, refs));
    }
    push_text(&mut out, &parsed.description, refs);
    push_common(&mut out, &parsed, refs);
    out.0
}

/// Markdown blocks separated by blank lines, written into one buffer.
#[derive(Default)]
struct Blocks(String);

impl Blocks {
    /// Where the next block goes.
    fn block(&mut self) -> &mut String {
        if !self.0.is_empty() {
            self.0.push_str("\n\n");
        }
        &mut self.0
    }

    /// `## title` over `body`, unless the body is empty.
    fn section(&mut self, title: &str, body: &str) {
        if !body.trim().is_empty() {
            let out = self.block();
            out.push_str("## ");
            out.push_str(title);
            out.push_str("\n\n");
            out.push_str(body);
        }
    }
}

fn push_text(out: &mut Blocks, text: &str, refs: &Refs) {
    if !text.trim().is_empty() {
        out.block().push_str(&balanced(blocks(text, refs)));
    }
}

/// Closes a code fence the docstring left open, so it cannot swallow the sections after it.
fn balanced(mut markdown: String) -> String {
    let fences = markdown
        .lines()
        .filter(|line| line.trim_start().starts_with("```"))
        .count();
    if fences % 2 == 1 {
        markdown.push_str("\n```");
    }
    markdown
}

/// One-line prose for a list item: inline markup converted, version directives as sentences.
fn prose(text: &str, refs: &Refs) -> String {
    let mut joined = String::with_capacity(text.len() + 16);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            joined.push(' ');
        }
        let trimmed = line.trim();
        match version_directive(trimmed) {
            Some((words, version)) => {
                joined.push_str(words);
                joined.push(' ');
                joined.push_str(version.trim());
                joined.push('.');
            }
            None => joined.push_str(trimmed),
        }
    }
    inline(&joined, refs)
}

/// `.. versionadded:: 1.2` as the words to say it with and the version.
fn version_directive(line: &str) -> Option<(&'static str, &str)> {
    let rest = line.strip_prefix(".. ")?;
    [
        ("versionadded", "Added in version"),
        ("versionchanged", "Changed in version"),
        ("deprecated", "Deprecated since version"),
    ]
    .into_iter()
    .find_map(|(directive, words)| Some((words, rest.strip_prefix(directive)?.strip_prefix("::")?)))
}

/// Appends `  * name (`kind`) - description` as a line of `list`, with `name` shown as code
/// when `code_name`.
fn push_item(
    list: &mut String,
    name: &str,
    code_name: bool,
    kind: &str,
    description: &str,
    refs: &Refs,
) {
    let description = prose(description, refs);
    let description = description.trim();
    if !list.is_empty() {
        list.push('\n');
    }
    list.push_str("  * ");
    if code_name {
        push_code(list, name);
    } else {
        list.push_str(name);
    }
    if !kind.is_empty() {
        list.push_str(" (");
        push_code(list, kind);
        list.push(')');
    }
    if !description.is_empty() {
        list.push_str(" - ");
        list.push_str(description);
    }
}

/// A default's `repr` as an Elixir reader knows the value: `true`, `nil`, `"text"`. `None` for
/// a sentinel (`<no value>`, `_NoDefault.no_default`), which stands for "not given" and is no
/// value a caller could pass. Anything else stays in Python's spelling.
fn elixir_default(repr: &str) -> Option<String> {
    let converted = match repr {
        "True" => "true".to_string(),
        "False" => "false".to_string(),
        "None" => "nil".to_string(),
        _ if repr.starts_with('<') || repr.starts_with('_') => return None,
        _ if repr.contains("._") || repr.contains("no_default") || repr.contains("NoValue") => {
            return None;
        }
        _ => match repr.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            Some(text) if !text.contains(['\\', '"', '\'', '#']) => format!("\"{text}\""),
            _ => repr.to_string(),
        },
    };
    Some(converted)
}

/// `text` as inline code; backticks inside it are dropped, since they would end it.
fn push_code(out: &mut String, text: &str) {
    out.push('`');
    out.extend(text.chars().filter(|&c| c != '`'));
    out.push('`');
}

fn items(list: &[Item], refs: &Refs) -> String {
    let mut out = String::new();
    for item in list {
        if item.name.is_empty() {
            // A bare type, as Returns and Raises often have.
            push_item(&mut out, &item.kind, true, "", &item.description, refs);
        } else {
            push_item(
                &mut out,
                &item.name,
                true,
                &item.kind,
                &item.description,
                refs,
            );
        }
    }
    out
}

fn push_common(out: &mut Blocks, doc: &Docstring, refs: &Refs) {
    out.section("Returns", &items(&doc.returns, refs));
    out.section("Yields", &items(&doc.yields, refs));
    out.section("Raises", &items(&doc.raises, refs));
    for (title, text) in &doc.other {
        out.section(title, &balanced(blocks(text, refs)));
    }
    out.section("Notes", &balanced(blocks(&doc.notes, refs)));
    out.section("Examples", &balanced(blocks(&doc.examples, refs)));
    let mut see_also = String::new();
    for item in &doc.see_also {
        let name = resolve(refs, &item.name).unwrap_or(&item.name);
        push_item(&mut see_also, name, true, "", &item.description, refs);
    }
    out.section("See also", &see_also);
}

/// What a parameter's docs say, matching `x1, x2` and `*args` style names too.
fn described<'a>(doc: &'a Docstring, param: &Param) -> Option<&'a Item> {
    doc.params.iter().find(|item| {
        item.name
            .split(',')
            .map(|n| n.trim().trim_start_matches('*'))
            .any(|n| n == param.python_name)
    })
}

/// Markdown for a wrapper: the docstring, then its arguments and options under the names the
/// Elixir caller uses.
pub(crate) fn symbol(symbol: &Symbol, refs: &Refs) -> String {
    let doc = parse(&symbol.doc);
    let mut out = Blocks(String::with_capacity(symbol.doc.len() + 256));
    let python = format!("{}.{}", symbol.python_module, symbol.python_name);
    if symbol.kind == SymbolKind::Setter {
        // The docstring is the attribute's; the summary says what the function does.
        let attribute = symbol.python_name.rsplit('.').next().unwrap_or_default();
        let _ = write!(
            out.block(),
            "Sets the `{attribute}` attribute of the object to `value`, and returns the object's reference."
        );
        if !doc.summary.is_empty() {
            out.block().push_str(&inline(&doc.summary, refs));
        }
    } else if doc.summary.is_empty() {
        let summary = out.block();
        let _ = match symbol.kind {
            SymbolKind::Constructor => write!(summary, "Creates a `{python}`."),
            SymbolKind::Property => {
                write!(summary, "Reads the `{}` attribute.", symbol.python_name)
            }
            SymbolKind::Constant => write!(summary, "The value of `{python}`."),
            _ => write!(summary, "Calls `{python}`."),
        };
    } else {
        out.block().push_str(&inline(&doc.summary, refs));
    }
    if let Some(deprecated) = &doc.deprecated {
        let block = out.block();
        block.push_str("> **Deprecated:** ");
        block.push_str(&inline(deprecated, refs));
    }
    push_text(&mut out, &doc.description, refs);

    let mut arguments = String::new();
    let mut options = String::new();
    if matches!(
        symbol.kind,
        SymbolKind::Method | SymbolKind::Property | SymbolKind::Setter
    ) {
        arguments.push_str("  * `ref` - the Python object, as returned by `new` or another call");
    }
    for param in &symbol.signature.params {
        let item = described(&doc, param);
        let kind = item.map_or("", |i| i.kind.as_str());
        let text = item.map_or("", |i| i.description.as_str());
        let push_default = |list: &mut String| {
            if let Some(default) = param.default.as_deref().and_then(elixir_default) {
                list.push_str(" Defaults to ");
                push_code(list, &default);
                list.push('.');
            }
        };
        match param.kind {
            ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
                if param.default.is_none() =>
            {
                push_item(&mut arguments, &param.elixir_name, true, kind, text, refs);
            }
            ParamKind::PositionalOnly => {
                push_item(&mut arguments, &param.elixir_name, true, kind, text, refs);
                arguments.push_str(" Optional, positional only.");
                push_default(&mut arguments);
            }
            ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly => {
                let name = format!(":{}", param.python_name);
                push_item(&mut options, &name, true, kind, text, refs);
                push_default(&mut options);
                if param.kind == ParamKind::PositionalOrKeyword {
                    let _ = write!(
                        options,
                        " Also accepted as the next positional argument, `{}`.",
                        param.elixir_name
                    );
                }
            }
            ParamKind::VarPositional => {
                let name = format!("`{0}1`, `{0}2`, ...", param.elixir_name);
                push_item(&mut arguments, &name, false, kind, text, refs);
                arguments.push_str(" Any number of further positional arguments.");
            }
            ParamKind::VarKeyword => {
                if !options.is_empty() {
                    options.push('\n');
                }
                let _ = write!(
                    options,
                    "  * any other keyword is passed to Python as `**{}`",
                    param.python_name
                );
            }
        }
    }
    let takes_options = !matches!(
        symbol.kind,
        SymbolKind::Property | SymbolKind::Constant | SymbolKind::Setter
    );
    if takes_options || !options.is_empty() {
        if !options.is_empty() {
            options.push('\n');
        }
        options.push_str("  * `:__runtime__` - options for the runtime itself, such as `timeout:`");
    }
    out.section("Arguments", &arguments);
    out.section("Options", &options);
    push_common(&mut out, &doc, refs);
    let _ = write!(out.block(), "Wraps `{python}`.");
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs() -> Refs {
        let mut refs = Refs::new();
        refs.insert("numpy.std".into(), "Numpy.std/1".into());
        refs.insert("std".into(), "Numpy.std/1".into());
        refs
    }

    #[test]
    fn roles_literals_and_links() {
        assert_eq!(
            inline("see :func:`numpy.std` and :func:`~numpy.std`", &refs()),
            "see `Numpy.std/1` and `Numpy.std/1`"
        );
        assert_eq!(
            inline("use ``axis=0`` or :class:`Foo`", &refs()),
            "use `axis=0` or `Foo`"
        );
        assert_eq!(inline(":math:`x^2` here", &refs()), "`x^2` here");
        assert_eq!(
            inline("`NumPy <https://numpy.org>`_", &refs()),
            "[NumPy](https://numpy.org)"
        );
        assert_eq!(inline("a: b and `c`", &refs()), "a: b and `c`");
        assert_eq!(
            inline("see `~numpy.std` and `other`", &refs()),
            "see `Numpy.std/1` and `other`"
        );
    }

    #[test]
    fn free_text_to_markdown() {
        let cases = [
            (
                "examples and directives become blocks",
                "Intro.\n\n>>> x = 1\n>>> x\n1\n\n.. math::\n\n   x^2 + y^2\n\n.. note:: Careful.\n",
                "Intro.\n\n```python\n>>> x = 1\n>>> x\n1\n```\n\n```math\nx^2 + y^2\n```\n\n> **Note:** Careful.",
            ),
            (
                "simple tables become markdown tables",
                "=====  ============\nName   What\n=====  ============\nmean   The ``mean``.\n       More | text.\nmodé   Mode.\n=====  ============\n\nAfter.\n",
                "| Name | What |\n|---|---|\n| mean | The `mean`. More \\| text. |\n| modé | Mode. |\n\nAfter.",
            ),
            (
                "definition lists become items",
                "Subpackages\n-----------\nlib\n    Basic functions\n    and more.\nfft\n    FFT.\n\nProvides\n  1. Arrays\n\n**Usage**\n    Emphasis.\n\nA sentence\n    indented.\n\n      A quoted paragraph\n      of prose.\n\n      x = 1\n",
                "## Subpackages\n\n  * `lib` - Basic functions and more.\n  * `fft` - FFT.\n\nProvides\n  1. Arrays\n\n**Usage**\n    Emphasis.\n\nA sentence\n    indented.\n\nA quoted paragraph\nof prose.\n\n      x = 1",
            ),
            (
                "rest titles become headings ranked by first use",
                "Usage\n-----\nText.\n\n=====\nMore\n=====\nDetail ``x``.\n\nAgain\n-----\n\n  Indented\n  --------\n\nShort\n--\n",
                "## Usage\n\nText.\n\n### More\n\nDetail `x`.\n\n## Again\n\n  Indented\n  --------\n\nShort\n--",
            ),
        ];
        for (what, text, markdown) in cases {
            assert_eq!(blocks(text, &refs()), markdown, "{what}");
        }
    }

    /// See #10: what a newcomer met in sympy's, scipy's and pandas' docs.
    #[test]
    fn issue_10_rendering_glitches() {
        // A literal block right after a list item's text was part of the item, and IEx ended
        // it at its blank line, showing `> >> expand(...)`.
        assert_eq!(
            blocks(
                "- Hints are applied
  first.
Here are some examples::

  >>> x = 1

  >>> expand(x)
  1
",
                &refs()
            ),
            "- Hints are applied
  first.
Here are some examples:

```python
>>> x = 1

>>> expand(x)
1
```"
        );
        // reST left over: footnotes, anonymous links, a backtick before a link, a URL broken
        // over two lines.
        assert_eq!(
            blocks(
                "See [1]_.\n\n.. [1] \"Standard score\", *Wikipedia*,\n",
                &refs()
            ),
            "See [1].\n\n[1] \"Standard score\", *Wikipedia*,"
        );
        assert_eq!(
            inline("the `statements <https://x.org/s>`__ here", &refs()),
            "the [statements](https://x.org/s) here"
        );
        assert_eq!(
            inline(
                "note that `\"%f\"` parses, see `ISO8601 <https://w.org/ISO_8601>`_ and `docs <https://d.org/dt.html #strf>`_",
                &refs()
            ),
            "note that `\"%f\"` parses, see [ISO8601](https://w.org/ISO_8601) and [docs](https://d.org/dt.html#strf)"
        );
        // Defaults as Elixir spells them; sentinels are no value a caller could pass.
        for (repr, shown) in [
            ("True", Some("true")),
            ("False", Some("false")),
            ("None", Some("nil")),
            ("'mean'", Some("\"mean\"")),
            ("1.5", Some("1.5")),
            ("'a\"b'", Some("'a\"b'")),
            ("(1, 2)", Some("(1, 2)")),
            ("_NoDefault.no_default", None),
            ("<no value>", None),
            ("numpy._NoValue", None),
        ] {
            assert_eq!(elixir_default(repr).as_deref(), shown, "{repr}");
        }
    }
}
