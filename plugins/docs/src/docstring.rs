//! Python docstrings into sections. The style is detected per docstring: numpydoc (titles
//! underlined with dashes, or equals signs as in SymPy), Google (`Args:` and friends), reST field lists (`:param x:`), or
//! plain text.

/// A documented name: a parameter, a result, an exception or a cross-reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Numpydoc,
    Google,
    Rest,
    Plain,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Docstring {
    pub(crate) summary: String,
    /// Free text after the summary, as written (blank lines kept).
    pub(crate) description: String,
    pub(crate) params: Vec<Item>,
    pub(crate) returns: Vec<Item>,
    pub(crate) yields: Vec<Item>,
    pub(crate) raises: Vec<Item>,
    pub(crate) see_also: Vec<Item>,
    pub(crate) notes: String,
    pub(crate) examples: String,
    pub(crate) deprecated: Option<String>,
    /// Sections without a dedicated field, by title.
    pub(crate) other: Vec<(String, String)>,
}

const NUMPY_SECTIONS: &[&str] = &[
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Notes",
    "References",
    "Examples",
    "Attributes",
    "Methods",
];

const GOOGLE_SECTIONS: &[&str] = &[
    "Args",
    "Arguments",
    "Parameters",
    "Keyword Args",
    "Keyword Arguments",
    "Returns",
    "Return",
    "Yields",
    "Yield",
    "Raises",
    "Examples",
    "Example",
    "Note",
    "Notes",
    "Attributes",
    "See Also",
    "Todo",
    "Warning",
    "Warnings",
];

pub(crate) fn detect(text: &str) -> Style {
    let lines: Vec<&str> = text.lines().collect();
    let numpy = lines
        .windows(2)
        .any(|pair| NUMPY_SECTIONS.contains(&pair[0].trim()) && section_underline(pair[1]));
    if numpy {
        return Style::Numpydoc;
    }
    if lines.iter().any(|line| google_title(line).is_some()) {
        return Style::Google;
    }
    let rest = lines.iter().any(|line| {
        let line = line.trim_start();
        [
            ":param",
            ":returns:",
            ":return:",
            ":rtype:",
            ":raises",
            ":type ",
            ":arg ",
        ]
        .iter()
        .any(|p| line.starts_with(p))
    });
    if rest { Style::Rest } else { Style::Plain }
}

/// A numpydoc section's underline: dashes, or equals signs as SymPy writes them.
fn section_underline(line: &str) -> bool {
    matches!(adornment(line.trim_start()), Some('-' | '='))
}

/// A reST section title at the start of `lines`: its text, its adornment character and how many
/// lines it takes (`Title` over `=====`, or the same with an overline too).
pub(crate) fn section_title<'a>(lines: &[&'a str]) -> Option<(&'a str, char, usize)> {
    let (title, under, taken) = match lines {
        [over, title, under, ..] if adornment(over).is_some() && over.trim() == under.trim() => {
            (title.trim(), under, 3)
        }
        [title, under, ..] if !title.starts_with(' ') => (title.trim(), under, 2),
        _ => return None,
    };
    let mark = adornment(under)?;
    let fits = under.trim().chars().count() >= title.chars().count();
    (!title.is_empty() && !title.starts_with(">>>") && adornment(title).is_none() && fits)
        .then_some((title, mark, taken))
}

/// The character of a reST adornment line: three or more of one punctuation character.
pub(crate) fn adornment(line: &str) -> Option<char> {
    let line = line.trim_end();
    let first = line.chars().next()?;
    (line.len() >= 3 && "=-~^*+#\"'`:.".contains(first) && line.chars().all(|c| c == first))
        .then_some(first)
}

fn google_title(line: &str) -> Option<&'static str> {
    let trimmed = line.trim();
    let title = trimmed.strip_suffix(':')?;
    GOOGLE_SECTIONS.iter().find(|s| **s == title).copied()
}

pub(crate) fn parse(text: &str) -> Docstring {
    let text: std::borrow::Cow<'_, str> = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        text.into()
    };
    let (summary, body) = split_summary(&text);
    let mut doc = match detect(&text) {
        Style::Numpydoc => numpydoc(body),
        Style::Google => google(body),
        Style::Rest => rest(body),
        Style::Plain => Docstring {
            description: body.to_string(),
            ..Docstring::default()
        },
    };
    doc.summary = summary;
    doc.description = doc.description.trim_matches('\n').to_string();
    let (description, deprecated) = take_deprecated(&doc.description);
    doc.description = description;
    if doc.deprecated.is_none() {
        doc.deprecated = deprecated;
    }
    doc
}

/// The first paragraph, joined into one line, and the rest.
fn split_summary(text: &str) -> (String, &str) {
    let text = text.trim_start_matches('\n');
    let end = text.find("\n\n").unwrap_or(text.len());
    let first = &text[..end];
    // A document title, `NumPy` over `=====`, is the summary; the rest starts below it.
    let mut lines = first.lines();
    if let (Some(top), Some(under)) = (lines.next(), lines.next())
        && let Some((title, '=', 2)) = section_title(&[top, under])
        && !NUMPY_SECTIONS.contains(&title)
    {
        let below = top.len() + 1 + under.len();
        return (title.to_string(), text.get(below..).unwrap_or(""));
    }
    // A summary that runs into a section title is no summary.
    if first.lines().skip(1).any(section_underline) {
        return (String::new(), text);
    }
    let summary = first.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    (summary, text.get(end..).unwrap_or(""))
}

/// `.. deprecated:: 1.2` and its indented text, out of free text.
fn take_deprecated(text: &str) -> (String, Option<String>) {
    let mut out = Vec::new();
    let mut deprecated: Option<String> = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.trim().strip_prefix(".. deprecated::") {
            let mut message = vec![format!("Deprecated since {}.", rest.trim())];
            while let Some(next) = lines.peek() {
                if next.trim().is_empty() || next.starts_with([' ', '\t']) {
                    message.push(next.trim().to_string());
                    lines.next();
                } else {
                    break;
                }
            }
            deprecated = Some(message.join(" ").trim().to_string());
        } else {
            out.push(line);
        }
    }
    (out.join("\n"), deprecated)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Splits `body` at section titles: `(title, lines)`, the untitled part first.
fn sections<'a>(
    body: &'a str,
    title_of: impl Fn(&[&'a str], usize) -> Option<(String, usize)>,
) -> Vec<(String, Vec<&'a str>)> {
    let lines: Vec<&str> = body.lines().collect();
    let mut out: Vec<(String, Vec<&str>)> = vec![(String::new(), Vec::new())];
    let mut i = 0;
    while i < lines.len() {
        if let Some((title, skip)) = title_of(&lines, i) {
            out.push((title, Vec::new()));
            i += skip;
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.1.push(lines[i]);
        }
        i += 1;
    }
    out
}

/// The lines without their common indentation, trailing spaces or blank lines at either end.
pub(crate) fn dedent(lines: &[&str]) -> String {
    let min = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .min()
        .unwrap_or(0);
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return String::new();
    };
    let kept = &lines[first..=last];
    let mut out = String::with_capacity(kept.iter().map(|l| l.len() + 1).sum());
    for (i, line) in kept.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.get(min..).unwrap_or("").trim_end());
    }
    out
}

/// `name : type` headed items with indented descriptions (numpydoc).
fn numpy_items(lines: &[&str]) -> Vec<Item> {
    let base = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .min()
        .unwrap_or(0);
    let mut items: Vec<Item> = Vec::new();
    let mut description: Vec<&str> = Vec::new();
    for line in lines {
        if !line.trim().is_empty() && indent_of(line) == base {
            if let Some(item) = items.last_mut() {
                item.description = dedent(&description);
            }
            description.clear();
            let (name, kind) = match line.split_once(" :") {
                Some((name, kind)) => (name.trim(), kind.trim()),
                None => match line.trim().split_once(':') {
                    Some((name, kind)) if !name.contains(' ') => (name.trim(), kind.trim()),
                    _ => (line.trim(), ""),
                },
            };
            items.push(Item {
                name: name.to_string(),
                kind: kind.to_string(),
                description: String::new(),
            });
        } else {
            description.push(line);
        }
    }
    if let Some(item) = items.last_mut() {
        item.description = dedent(&description);
    }
    items
}

fn numpydoc(body: &str) -> Docstring {
    let parts = sections(body, |lines, i| {
        let title = lines[i].trim();
        (NUMPY_SECTIONS.contains(&title) && section_underline(lines.get(i + 1)?))
            .then(|| (title.to_string(), 2))
    });
    let mut doc = Docstring::default();
    for (title, lines) in parts {
        match title.as_str() {
            "" => doc.description = dedent(&lines),
            "Parameters" | "Other Parameters" => doc.params.extend(numpy_items(&lines)),
            "Returns" => doc.returns = unnamed_kinds(numpy_items(&lines)),
            "Yields" => doc.yields = unnamed_kinds(numpy_items(&lines)),
            "Raises" | "Warns" => doc.raises.extend(unnamed_kinds(numpy_items(&lines))),
            "See Also" => doc.see_also = see_also(&lines),
            "Notes" => doc.notes = dedent(&lines),
            "Examples" => doc.examples = dedent(&lines),
            _ => doc.other.push((title, dedent(&lines))),
        }
    }
    doc
}

/// In Returns and Raises an item may be a bare type: `ndarray` rather than `out : ndarray`.
fn unnamed_kinds(items: Vec<Item>) -> Vec<Item> {
    items
        .into_iter()
        .map(|item| {
            if item.kind.is_empty() {
                Item {
                    name: String::new(),
                    kind: item.name,
                    description: item.description,
                }
            } else {
                item
            }
        })
        .collect()
}

/// numpydoc's See Also: `name, other : description` lines.
fn see_also(lines: &[&str]) -> Vec<Item> {
    numpy_items(lines)
        .into_iter()
        .flat_map(|item| {
            let description = if item.kind.is_empty() {
                item.description.clone()
            } else {
                item.kind.clone()
            };
            item.name
                .split(',')
                .map(|name| Item {
                    name: name.trim().to_string(),
                    kind: String::new(),
                    description: description.clone(),
                })
                .filter(|i| !i.name.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn google(body: &str) -> Docstring {
    let parts = sections(body, |lines, i| {
        google_title(lines[i]).map(|t| (t.to_string(), 1))
    });
    let mut doc = Docstring::default();
    for (title, lines) in parts {
        match title.as_str() {
            "" => doc.description = dedent(&lines),
            "Args" | "Arguments" | "Parameters" | "Keyword Args" | "Keyword Arguments" => {
                doc.params.extend(google_items(&lines))
            }
            "Returns" | "Return" => doc.returns = vec![google_result(&lines)],
            "Yields" | "Yield" => doc.yields = vec![google_result(&lines)],
            "Raises" => {
                doc.raises = google_items(&lines)
                    .into_iter()
                    .map(|i| Item {
                        kind: i.name,
                        name: String::new(),
                        description: i.description,
                    })
                    .collect()
            }
            "Examples" | "Example" => doc.examples = dedent(&lines),
            "Note" | "Notes" => doc.notes = dedent(&lines),
            "See Also" => doc.see_also = google_items(&lines),
            _ => doc.other.push((title, dedent(&lines))),
        }
    }
    doc
}

/// `name (type): description` items, continuation lines indented deeper.
fn google_items(lines: &[&str]) -> Vec<Item> {
    let text = dedent(lines);
    let mut items: Vec<Item> = Vec::new();
    for line in text.lines() {
        if !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            let (head, description) = line.split_once(':').unwrap_or((line, ""));
            let (name, kind) = match head.split_once('(') {
                Some((name, kind)) => (name.trim(), kind.trim_end_matches(')').trim()),
                None => (head.trim(), ""),
            };
            items.push(Item {
                name: name.to_string(),
                kind: kind.to_string(),
                description: description.trim().to_string(),
            });
        } else if let Some(item) = items.last_mut() {
            if !item.description.is_empty() {
                item.description
                    .push(if line.trim().is_empty() { '\n' } else { ' ' });
            }
            item.description.push_str(line.trim());
        }
    }
    items
}

fn google_result(lines: &[&str]) -> Item {
    let text = dedent(lines);
    match text.split_once(':') {
        Some((kind, description)) if !kind.contains(' ') || kind.contains('[') => Item {
            name: String::new(),
            kind: kind.trim().to_string(),
            description: description.trim().to_string(),
        },
        _ => Item {
            name: String::new(),
            kind: String::new(),
            description: text,
        },
    }
}

fn rest(body: &str) -> Docstring {
    let mut doc = Docstring::default();
    let mut free = Vec::new();
    let mut current: Option<(String, String, String)> = None;
    let flush = |current: &mut Option<(String, String, String)>, doc: &mut Docstring| {
        let Some((field, argument, description)) = current.take() else {
            return;
        };
        let description = description.trim().to_string();
        let words: Vec<&str> = argument.split_whitespace().collect();
        match field.as_str() {
            "param" | "parameter" | "arg" | "argument" | "key" | "keyword" => {
                let (kind, name) = match words.as_slice() {
                    [kind @ .., name] if !kind.is_empty() => (kind.join(" "), name.to_string()),
                    [name] => (String::new(), name.to_string()),
                    _ => return,
                };
                match doc.params.iter_mut().find(|p| p.name == name) {
                    Some(item) => item.description = description,
                    None => doc.params.push(Item {
                        name,
                        kind,
                        description,
                    }),
                }
            }
            "type" => {
                let name = argument.trim().to_string();
                match doc.params.iter_mut().find(|p| p.name == name) {
                    Some(item) => item.kind = description,
                    None => doc.params.push(Item {
                        name,
                        kind: description,
                        description: String::new(),
                    }),
                }
            }
            "returns" | "return" => match doc.returns.first_mut() {
                Some(item) => item.description = description,
                None => doc.returns.push(Item {
                    description,
                    ..Item::default()
                }),
            },
            "rtype" => match doc.returns.first_mut() {
                Some(item) => item.kind = description,
                None => doc.returns.push(Item {
                    kind: description,
                    ..Item::default()
                }),
            },
            "raises" | "raise" | "except" | "exception" => {
                doc.raises.push(Item {
                    name: String::new(),
                    kind: argument.trim().to_string(),
                    description,
                });
            }
            _ => {}
        }
    };
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(':')
            && let Some((head, description)) = rest.split_once(':')
        {
            flush(&mut current, &mut doc);
            let (field, argument) = head.split_once(' ').unwrap_or((head, ""));
            current = Some((
                field.to_string(),
                argument.to_string(),
                description.trim().to_string(),
            ));
        } else if let Some((_, _, description)) =
            current.as_mut().filter(|_| line.starts_with([' ', '\t']))
        {
            description.push(' ');
            description.push_str(line.trim());
        } else {
            flush(&mut current, &mut doc);
            free.push(line);
        }
    }
    flush(&mut current, &mut doc);
    doc.description = dedent(&free);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpydoc_sections() {
        let doc = parse(
            "Compute the mean.\n\nLonger text.\n\nParameters\n----------\na : array_like\n    Input.\n    More.\naxis : int, optional\n    Axis.\n\nReturns\n-------\nm : ndarray\n    The mean.\n\nSee Also\n--------\naverage : Weighted.\nstd, var\n\nExamples\n--------\n>>> np.mean([1, 2])\n1.5\n",
        );
        assert_eq!(doc.summary, "Compute the mean.");
        assert_eq!(doc.description, "Longer text.");
        assert_eq!(
            doc.params[0],
            Item {
                name: "a".into(),
                kind: "array_like".into(),
                description: "Input.\nMore.".into()
            }
        );
        assert_eq!(doc.params[1].kind, "int, optional");
        assert_eq!(doc.returns[0].name, "m");
        assert_eq!(
            doc.see_also
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>(),
            ["average", "std", "var"]
        );
        assert_eq!(doc.examples, ">>> np.mean([1, 2])\n1.5");
    }

    #[test]
    fn google_sections() {
        let doc = parse(
            "Fetch rows.\n\nArgs:\n    table (str): The table.\n    keys: Which keys,\n        possibly many.\n\nReturns:\n    dict: The rows.\n\nRaises:\n    IOError: On failure.\n",
        );
        assert_eq!(
            doc.params[0],
            Item {
                name: "table".into(),
                kind: "str".into(),
                description: "The table.".into()
            }
        );
        assert_eq!(doc.params[1].description, "Which keys, possibly many.");
        assert_eq!(
            doc.returns[0],
            Item {
                name: String::new(),
                kind: "dict".into(),
                description: "The rows.".into()
            }
        );
        assert_eq!(doc.raises[0].kind, "IOError");
    }

    #[test]
    fn rest_fields() {
        let doc = parse(
            "Send it.\n\n:param str host: Where to.\n:param port: Which port,\n    a number.\n:type port: int\n:returns: Whether it worked.\n:rtype: bool\n:raises ValueError: If bad.\n\n.. deprecated:: 2.0\n   Use send_all.\n",
        );
        assert_eq!(
            doc.params[0],
            Item {
                name: "host".into(),
                kind: "str".into(),
                description: "Where to.".into()
            }
        );
        assert_eq!(
            doc.params[1],
            Item {
                name: "port".into(),
                kind: "int".into(),
                description: "Which port, a number.".into()
            }
        );
        assert_eq!(
            doc.returns[0],
            Item {
                name: String::new(),
                kind: "bool".into(),
                description: "Whether it worked.".into()
            }
        );
        assert_eq!(doc.raises[0].kind, "ValueError");
        assert_eq!(
            doc.deprecated.as_deref(),
            Some("Deprecated since 2.0. Use send_all.")
        );
    }

    #[test]
    fn titles_and_sympy_sections() {
        let doc = parse("NumPy\n=====\n\nProvides arrays.\n");
        assert_eq!(doc.summary, "NumPy");
        assert_eq!(doc.description, "Provides arrays.");
        let doc = parse(
            "Solves.\n\nParameters\n==========\n\nf : Expr\n    The equation.\n\nReturns\n=======\n\nSet\n    The solutions.\n",
        );
        assert_eq!(doc.summary, "Solves.");
        assert_eq!(doc.params[0].name, "f");
        assert_eq!(doc.params[0].kind, "Expr");
        assert_eq!(doc.returns[0].kind, "Set");
        assert_eq!(
            parse("Parameters\n==========\nx : int\n    An x.\n").summary,
            ""
        );
    }

    #[test]
    fn plain_and_empty() {
        assert_eq!(parse("").summary, "");
        let doc = parse("One line\ncontinued.\n\nA paragraph.");
        assert_eq!(doc.summary, "One line continued.");
        assert_eq!(doc.description, "A paragraph.");
    }
}
