//! Elixir syntax as documents shaped the way `Code.Formatter` shapes them, and the escaping
//! that keeps anything from Python inert inside a string.

use snakebridge_pdk::emitter::{TypeExpr, TypeNode};

use crate::doc::{
    Doc, Indent, WIDTH, concat, group, inherit, nest, nest_cursor, nest_if_broken, next_break_fits,
    text,
};
use std::fmt::Write as _;

use crate::out::Out;

/// `name(a, b)`: arguments one per line, two deeper, when they do not fit.
pub(crate) fn call(name: &str, args: Vec<Doc>) -> Doc {
    if args.is_empty() {
        return text(format!("{name}()"));
    }
    // Several arguments each fit or break on their own; a sole argument breaks with the call.
    let args = if args.len() > 1 {
        args.into_iter()
            .map(|arg| {
                if matches!(arg, Doc::Group(_)) {
                    arg
                } else {
                    group(arg)
                }
            })
            .collect()
    } else {
        args
    };
    group(concat([
        text(format!("{name}(")),
        nest(
            2,
            concat([Doc::Break(""), separated(args, Doc::Break(" "))]),
        ),
        Doc::Break(""),
        text(")"),
    ]))
}

/// Elements separated by `,` and `separator`, each comma inside the last group of the element
/// before it (`Code.Formatter`'s `concat_to_last_group`): that group is measured with its comma,
/// so one that ends at the last column breaks.
fn separated(items: Vec<Doc>, separator: Doc) -> Doc {
    let last = items.len().saturating_sub(1);
    let mut out = Vec::with_capacity(items.len() * 2);
    for (i, item) in items.into_iter().enumerate() {
        if i < last {
            out.push(with_comma(item));
            out.push(separator.clone());
        } else {
            out.push(item);
        }
    }
    concat(out)
}

fn with_comma(doc: Doc) -> Doc {
    match doc {
        Doc::Group(inner) => group(concat([*inner, text(",")])),
        Doc::Inherit(inner) => inherit(concat([*inner, text(",")])),
        Doc::Concat(mut docs) => match docs.pop() {
            Some(last) => {
                docs.push(with_comma(last));
                Doc::Concat(docs)
            }
            None => text(","),
        },
        other => concat([other, text(",")]),
    }
}

/// `[a, b]`: elements one per line when they do not fit.
pub(crate) fn list(items: Vec<Doc>) -> Doc {
    if items.is_empty() {
        return text("[]");
    }
    group(concat([
        text("["),
        nest(
            2,
            concat([Doc::Break(""), separated(items, Doc::Break(" "))]),
        ),
        Doc::Break(""),
        text("]"),
    ]))
}

/// `{a, b}`: the formatter keeps the first element on the brace's line, aligns the rest after
/// the brace, and fills each line with as many elements as fit (flex breaks); each element
/// fits or breaks on its own.
pub(crate) fn tuple(items: Vec<Doc>) -> Doc {
    let items = items.into_iter().map(group).collect();
    group(concat([
        text("{"),
        nest_cursor(separated(items, Doc::FlexBreak(" "))),
        text("}"),
    ]))
}

/// `%{optional(k) => v}`: the entry on its own line when it does not fit, its value below it;
/// a value that is itself a map stays after the `=>` and breaks inside instead.
fn map(key: Doc, value: Doc) -> Doc {
    let key = call("optional", vec![key]);
    let entry = if flat(&value).starts_with("%{") {
        group(concat([key, text(" => "), value]))
    } else {
        group(concat([
            key,
            text(" =>"),
            nest(2, concat([Doc::FlexBreak(" "), group(value)])),
        ]))
    };
    group(concat([
        text("%{"),
        nest(2, concat([Doc::Break(""), entry])),
        Doc::Break(""),
        text("}"),
    ]))
}

/// `a | b`: one member per line, led by `|`, when they do not fit; a member that breaks
/// itself is indented past the `| `. The union breaks with its enclosing group, which decides
/// for it (a call argument, the result of a spec).
pub(crate) fn union(members: Vec<Doc>) -> Doc {
    let mut parts = Vec::with_capacity(members.len() * 2);
    for (i, member) in members.into_iter().enumerate() {
        if i == 0 {
            parts.push(member);
        } else {
            parts.push(concat([Doc::Break(" "), text("| "), nest(2, member)]));
        }
    }
    inherit(concat(parts))
}

/// A type as a document and as its flat text, computed once and reused by every arity.
#[derive(Clone)]
pub(crate) struct Typed {
    pub(crate) doc: Doc,
    pub(crate) flat: String,
    /// The type is a map literal, `%{...}`.
    pub(crate) map: bool,
}

/// Writes `@spec name(args) :: result`.
///
/// A map that is the last argument or the whole result is laid out as the formatter does with
/// "next break fits" (see [`trailing_map_spec`]); every other spec by the layouts below.
pub(crate) fn spec(out: &mut Out, indent: usize, name: &str, args: &[&Typed], result: &Typed) {
    out.fitting_or(
        indent,
        |line| {
            line.push_str("@spec ");
            line.push_str(name);
            line.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                line.push_str(&arg.flat);
            }
            line.push_str(") :: ");
            line.push_str(&result.flat);
        },
        |out| {
            if result.map || args.last().is_some_and(|arg| arg.map) {
                out.doc(indent, &trailing_map_spec(name, args, result));
            } else if !spec_broken_after_head(out, indent, name, args, result) {
                out.doc(indent, &spec_doc(name, args, result));
            }
        },
    );
}

/// A spec whose last argument or result is a map, built as `Code.Formatter` builds it: the
/// attribute's argument nests at the cursor, the `::` operand and the call's arguments nest by
/// 2 where they break, and a trailing map is "next break fits", so `name(a, %{` or `:: %{`
/// stays on its line and the map breaks inside.
fn trailing_map_spec(name: &str, args: &[&Typed], result: &Typed) -> Doc {
    let arg_map = args.last().is_some_and(|arg| arg.map);
    let call = if args.is_empty() {
        text(format!("{name}()"))
    } else {
        let last = args.len() - 1;
        let mut items = Vec::with_capacity(args.len() * 2);
        for (i, arg) in args.iter().enumerate() {
            let doc = if args.len() > 1 && !matches!(arg.doc, Doc::Group(_)) {
                group(arg.doc.clone())
            } else {
                arg.doc.clone()
            };
            if i < last {
                items.push(with_comma(doc));
                items.push(Doc::Break(" "));
            } else if arg_map {
                items.push(next_break_fits(true, doc));
            } else {
                items.push(doc);
            }
        }
        let parenthesized = group(concat([
            nest_if_broken(Indent::By(2), concat([text("("), Doc::Break("")])),
            nest_if_broken(Indent::By(2), concat(items)),
            Doc::Break(""),
            text(")"),
        ]));
        let parenthesized = if arg_map {
            next_break_fits(false, parenthesized)
        } else {
            parenthesized
        };
        concat([text(name.to_string()), parenthesized])
    };
    let returns = if result.map {
        next_break_fits(true, result.doc.clone())
    } else {
        result.doc.clone()
    };
    let operator = concat([
        group(call),
        group(nest_if_broken(
            Indent::By(2),
            concat([text(" ::"), Doc::Break(" "), group(returns)]),
        )),
    ]);
    let operator = if result.map {
        next_break_fits(false, operator)
    } else {
        operator
    };
    concat([
        text("@spec"),
        group(concat([
            text(" "),
            nest_if_broken(Indent::Cursor, operator),
        ])),
    ])
}

/// The layout `spec_doc` has when the call head fits flat, written without building it: the
/// head, then the result on the same line if it fits there or on the next, 8 columns in (after
/// `@spec ` and the nest of 2). Returns `false`, writing nothing, in every other case.
fn spec_broken_after_head(
    out: &mut Out,
    indent: usize,
    name: &str,
    args: &[&Typed],
    result: &Typed,
) -> bool {
    let mut head = format!("@spec {name}(");
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            head.push_str(", ");
        }
        head.push_str(&arg.flat);
    }
    head.push_str(") ::");
    let result = &result.flat;
    let (head_width, result_width) = (crate::out::width(&head), crate::out::width(result));
    if args.is_empty() || indent + head_width - 3 > WIDTH {
        // No arguments: the call never breaks, whatever its length; a head too long: it
        // breaks between arguments. Both are the document's to lay out.
        return false;
    }
    if indent + head_width + 1 + result_width <= WIDTH {
        out.line(indent, &format!("{head} {result}"));
    } else if indent + 8 + result_width <= WIDTH {
        out.line(indent, &head);
        out.line(indent + 8, result);
    } else {
        return false;
    }
    true
}

fn spec_doc(name: &str, args: &[&Typed], result: &Typed) -> Doc {
    let args = args.iter().map(|t| t.doc.clone()).collect();
    let result = group(result.doc.clone());
    concat([
        text("@spec "),
        nest_cursor(group(concat([
            call(name, args),
            text(" ::"),
            nest(2, concat([Doc::FlexBreak(" "), result])),
        ]))),
    ])
}

/// A document rendered flat.
pub(crate) fn flat(doc: &Doc) -> String {
    crate::doc::render_flat(doc)
}

/// Writes `def name(params) when guard do body end`; `body` writes the body at the given
/// indentation. A guard's group measures the trailing ` do` too, as the formatter does; a
/// plain head's does not.
pub(crate) fn def(
    out: &mut Out,
    indent: usize,
    name: &str,
    params: &[&str],
    guard: Option<&str>,
    body: impl FnOnce(&mut Out, usize),
) {
    out.fitting(
        indent,
        |line| {
            line.push_str("def ");
            line.push_str(name);
            line.push('(');
            for (i, param) in params.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                line.push_str(param);
            }
            line.push(')');
            if let Some(guard) = guard {
                line.push_str(" when ");
                line.push_str(guard);
            }
            line.push_str(" do");
        },
        || {
            let params = params.iter().map(|p| text(p.to_string())).collect();
            let head = match guard {
                Some(guard) => group(concat([
                    call(name, params),
                    Doc::Break(" "),
                    text(format!("when {guard} do")),
                ])),
                None => concat([call(name, params), text(" do")]),
            };
            concat([text("def "), nest_cursor(head)])
        },
    );
    body(out, indent + 2);
    out.line(indent, "end");
}

/// Writes a `"""` heredoc holding `content` verbatim, as the value of `@attribute`.
pub(crate) fn heredoc_attribute(out: &mut Out, indent: usize, attribute: &str, content: &str) {
    out.line(indent, &format!("@{attribute} \"\"\""));
    for line in content.lines() {
        out.raw_line(indent, |buf| escape_heredoc_line(buf, line.trim_end()));
    }
    out.line(indent, "\"\"\"");
}

/// Escapes one heredoc line so it is read back as exactly its text: no interpolation, no
/// escape sequences, no early terminator, nothing the parser would reject.
fn escape_heredoc_line(out: &mut String, line: &str) {
    let bytes = line.as_bytes();
    for (i, c) in line.char_indices() {
        // Quotes are only special in runs of three or more, which could end the heredoc.
        let in_long_run = c == '"' && {
            let start = bytes[..i].iter().rev().take_while(|&&b| b == b'"').count();
            bytes[i - start..]
                .iter()
                .take_while(|&&b| b == b'"')
                .count()
                >= 3
        };
        match c {
            '\\' => out.push_str("\\\\"),
            '#' if bytes.get(i + 1) == Some(&b'{') => out.push_str("\\#"),
            '"' if in_long_run => out.push_str("\\\""),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A double-quoted string literal.
pub(crate) fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_string(&mut out, value);
    out
}

/// Appends `value` as a double-quoted string literal.
pub(crate) fn push_string(out: &mut String, value: &str) {
    out.push('"');
    // Most strings need no escape: copy them whole.
    if !value
        .bytes()
        .any(|b| matches!(b, b'\\' | b'"' | b'#') || b.is_ascii_control() || b >= 0x80)
    {
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '#' if chars.peek() == Some(&'{') => out.push_str("\\#"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A type's union members (itself alone when it is no union), to extend a union without
/// nesting one inside another, which the formatter would lay out differently.
pub(crate) fn union_members(expr: &TypeExpr) -> Option<Vec<Doc>> {
    match expr.nodes.first()? {
        TypeNode::Union(members) => members
            .iter()
            .map(|&i| (i > 0).then(|| node_doc(expr, i, 1)).flatten())
            .collect(),
        _ => Some(vec![type_doc(expr)?]),
    }
}

/// An Elixir type, or `None` when the tree is malformed (a child index out of range or not
/// after its parent), so the caller falls back to `term()`.
pub(crate) fn type_doc(expr: &TypeExpr) -> Option<Doc> {
    node_doc(expr, 0, 0)
}

fn node_doc(expr: &TypeExpr, index: u32, depth: u32) -> Option<Doc> {
    if depth > 32 {
        return None;
    }
    let child = |i: u32| (i > index).then(|| node_doc(expr, i, depth + 1)).flatten();
    Some(match expr.nodes.get(index as usize)? {
        TypeNode::Term => text("term()"),
        TypeNode::Integer => text("integer()"),
        TypeNode::Float => text("float()"),
        TypeNode::Number => text("number()"),
        TypeNode::Boolean => text("boolean()"),
        TypeNode::String => text("String.t()"),
        TypeNode::Binary => text("binary()"),
        TypeNode::Nil => text("nil"),
        TypeNode::Atom(name) => text(atom(name)?),
        TypeNode::AnyAtom => text("atom()"),
        TypeNode::AnyTuple => text("tuple()"),
        TypeNode::IntegerLiteral(value) => text(value.to_string()),
        TypeNode::List(item) => contain(expr, "list", *item, child(*item)?),
        TypeNode::Tuple(items) => tuple(items.iter().map(|i| child(*i)).collect::<Option<_>>()?),
        TypeNode::Map((key, value)) => map(child(*key)?, child(*value)?),
        TypeNode::AnyMap => text("map()"),
        TypeNode::MapSet(item) => contain(expr, "MapSet.t", *item, child(*item)?),
        TypeNode::Union(members) => {
            union(members.iter().map(|i| child(*i)).collect::<Option<_>>()?)
        }
        TypeNode::Function => text("function()"),
        TypeNode::Keyword => text("keyword()"),
        TypeNode::PythonRef => text("SnakeBridge.Ref.t()"),
        TypeNode::ModuleType(module) if is_alias(module) => text(format!("{module}.t()")),
        TypeNode::ModuleType(_) => return None,
    })
}

/// `name(item)`. A map as the only argument hugs the parentheses, `list(%{` ... `})`, and
/// breaks inside, as the formatter lays out a sole argument that is a multi-line map.
fn contain(expr: &TypeExpr, name: &str, item: u32, doc: Doc) -> Doc {
    match expr.nodes.get(item as usize) {
        Some(TypeNode::Map(_)) => concat([text(format!("{name}(")), doc, text(")")]),
        _ => call(name, vec![doc]),
    }
}

/// `:name`, or `true`/`false`/`nil` bare; `None` for names that would need quoting.
pub(crate) fn atom(name: &str) -> Option<String> {
    if matches!(name, "true" | "false" | "nil") {
        return Some(name.to_string());
    }
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && name
            .trim_end_matches(['?', '!'])
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    valid.then(|| format!(":{name}"))
}

/// Whether `name` is a valid Elixir alias such as `Numpy.Linalg`.
pub(crate) fn is_alias(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|segment| {
            let mut chars = segment.chars();
            matches!(chars.next(), Some('A'..='Z'))
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_lines_cannot_escape() {
        let escape = |line: &str| {
            let mut out = String::new();
            escape_heredoc_line(&mut out, line);
            out
        };
        assert_eq!(
            escape(r#"a """ b #{System.halt()} \ c"#),
            r#"a \"\"\" b \#{System.halt()} \\ c"#
        );
        assert_eq!(escape("nul\0 bell\u{7}"), "nul\\u{0} bell\\u{7}");
    }

    fn typed_map(value_members: usize) -> Typed {
        let members: Vec<Doc> = ["integer()", "float()", "String.t()", "atom()", "nil"]
            .iter()
            .cycle()
            .take(value_members)
            .map(|t| text(*t))
            .collect();
        let value = if members.len() == 1 {
            members.into_iter().next().unwrap_or(text("term()"))
        } else {
            union(members)
        };
        let doc = map(text("String.t()"), call("list", vec![value]));
        Typed {
            flat: flat(&doc),
            doc,
            map: true,
        }
    }

    fn typed_text(text_: &'static str) -> Typed {
        Typed {
            doc: text(text_),
            flat: text_.to_string(),
            map: false,
        }
    }

    /// A map as the last argument or the result used to read `map()` once the spec broke;
    /// `mix format` must accept the real type laid out at every width. Runs the formatter.
    #[test]
    fn trailing_map_specs_are_formatted_as_mix_format_does() {
        let mut out = Out::new();
        out.line(0, "defmodule Grid do");
        out.line(2, "@moduledoc false");
        for name_length in [1, 20, 45, 70] {
            let name = format!("f{}", "o".repeat(name_length));
            for members in [1, 3, 6, 12] {
                let map = typed_map(members);
                for other in 0..3 {
                    let union_doc = union(vec![
                        text("SnakeBridge.Ref.t()"),
                        text("number()"),
                        text("list(term())"),
                    ]);
                    let plain = Typed {
                        flat: flat(&union_doc),
                        doc: union_doc,
                        map: false,
                    };
                    let mut args: Vec<&Typed> = vec![&plain; other];
                    let term = typed_text("term()");
                    for last_map in [false, true] {
                        if last_map {
                            args.push(&map);
                        }
                        for result in [&term, &map] {
                            out.line(0, "");
                            spec(&mut out, 2, &name, &args, result);
                        }
                    }
                }
            }
        }
        out.line(0, "end");
        let source = out.finish();
        let dir = std::env::temp_dir().join(format!("snakebridge-specs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("grid.ex");
        std::fs::write(&path, &source).unwrap();
        let Ok(check) = std::process::Command::new("mix")
            .args(["format", "--check-formatted"])
            .arg(&path)
            .current_dir(&dir)
            .output()
        else {
            eprintln!("skipped: `mix` is not installed");
            return;
        };
        let formatted = std::process::Command::new("mix")
            .arg("format")
            .arg(&path)
            .current_dir(&dir)
            .output()
            .map(|_| std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
        std::fs::remove_dir_all(&dir).ok();
        let differs: Vec<String> = source
            .lines()
            .zip(formatted.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(12)
            .map(|(i, (a, b))| format!("{}:\n  ours: {a}\n  mix:  {b}", i + 1))
            .collect();
        assert!(
            check.status.success(),
            "not as `mix format` lays it out:\n{}",
            differs.join("\n")
        );
        assert!(!source.contains("map()"), "a map type was replaced");
    }

    #[test]
    fn atoms() {
        assert_eq!(atom("mean").as_deref(), Some(":mean"));
        assert_eq!(atom("nil").as_deref(), Some("nil"));
        assert_eq!(atom("has space"), None);
        assert_eq!(atom("1x"), None);
    }
}
