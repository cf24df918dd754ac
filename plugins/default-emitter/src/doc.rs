//! A pretty printer with the semantics of Elixir's `Inspect.Algebra`, which `mix format` is
//! built on: strict groups (all breaks in a group go flat or all break), flex breaks (decided
//! one at a time), nesting relative either to the indentation or to the cursor (always, or
//! only where the enclosing group breaks), and "next break fits" (a trailing map whose opening
//! fits keeps it on the line and breaks inside). Building
//! documents the way `Code.Formatter` does gives output `mix format --check-formatted` accepts.

use std::borrow::Cow;

/// Line width `mix format` uses by default.
pub(crate) const WIDTH: usize = 98;

#[derive(Clone, Debug)]
pub(crate) enum Doc {
    /// Static text costs no allocation; most of a module's text is.
    Text(Cow<'static, str>),
    /// Printed as its string when flat, as a newline plus indentation when broken.
    Break(&'static str),
    /// Like `Break`, but breaks only when what follows up to the next break does not fit.
    FlexBreak(&'static str),
    Nest(Indent, Box<Doc>),
    /// Nesting that applies only where the enclosing group breaks (`nest(doc, n, :break)`).
    NestIfBroken(Indent, Box<Doc>),
    /// `Inspect.Algebra.next_break_fits/2`: while a group around it is measured, an enabled
    /// document fits once its first break is reached; a disabled one is measured all flat.
    Fits(bool, Box<Doc>),
    Group(Box<Doc>),
    /// A group that breaks exactly when its enclosing group does (`Inspect.Algebra`'s
    /// `:inherit` groups); measured like any group.
    Inherit(Box<Doc>),
    Concat(Vec<Doc>),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Indent {
    /// Relative to the enclosing indentation.
    By(usize),
    /// At the column where the nested document starts.
    Cursor,
}

pub(crate) fn text(s: impl Into<Cow<'static, str>>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(docs: impl IntoIterator<Item = Doc>) -> Doc {
    Doc::Concat(docs.into_iter().collect())
}

pub(crate) fn group(doc: Doc) -> Doc {
    Doc::Group(Box::new(doc))
}

pub(crate) fn inherit(doc: Doc) -> Doc {
    Doc::Inherit(Box::new(doc))
}

pub(crate) fn nest(by: usize, doc: Doc) -> Doc {
    Doc::Nest(Indent::By(by), Box::new(doc))
}

pub(crate) fn nest_cursor(doc: Doc) -> Doc {
    Doc::Nest(Indent::Cursor, Box::new(doc))
}

pub(crate) fn nest_if_broken(indent: Indent, doc: Doc) -> Doc {
    Doc::NestIfBroken(indent, Box::new(doc))
}

pub(crate) fn next_break_fits(enabled: bool, doc: Doc) -> Doc {
    Doc::Fits(enabled, Box::new(doc))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
    /// Measuring only: breaks are flat, and nothing inside may break (`flat_no_break`).
    FlatNoBreak,
    /// Measuring only: the first break ends the measurement as fitting (`break_no_flat`).
    BreakNoFlat,
}

/// An entry of the layout stack. `Tail` restores the "a break was seen" flag when measuring
/// leaves a group, as `Inspect.Algebra` does.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Doc(usize, Mode, &'a Doc),
    Tail(bool),
}

/// Renders `doc` starting at column `column`, indented by `indent`, in break mode (as the body
/// of a module is).
pub(crate) fn render(doc: &Doc, indent: usize, column: usize) -> String {
    let mut out = String::new();
    let mut col = column;
    let mut stack: Vec<Entry<'_>> = vec![Entry::Doc(indent, Mode::Break, doc)];
    while let Some(entry) = stack.pop() {
        let Entry::Doc(indent, mode, doc) = entry else {
            continue;
        };
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                col += s.chars().count();
            }
            Doc::Break(sep) => {
                if mode == Mode::Break {
                    newline(&mut out, &mut col, indent);
                } else {
                    out.push_str(sep);
                    col += sep.len();
                }
            }
            Doc::FlexBreak(sep) => {
                // Flex breaks are decided one at a time, against everything that follows.
                if mode == Mode::Flat || fits(col + sep.len(), true, &[], &stack) {
                    out.push_str(sep);
                    col += sep.len();
                } else {
                    newline(&mut out, &mut col, indent);
                }
            }
            Doc::Nest(Indent::By(by), inner) => stack.push(Entry::Doc(indent + by, mode, inner)),
            Doc::Nest(Indent::Cursor, inner) => stack.push(Entry::Doc(col, mode, inner)),
            Doc::NestIfBroken(nesting, inner) => {
                let indent = match (mode, nesting) {
                    (Mode::Break, Indent::By(by)) => indent + by,
                    (Mode::Break, Indent::Cursor) => col,
                    _ => indent,
                };
                stack.push(Entry::Doc(indent, mode, inner));
            }
            Doc::Fits(_, inner) | Doc::Inherit(inner) => {
                stack.push(Entry::Doc(indent, mode, inner))
            }
            Doc::Group(inner) => {
                // A group is measured on its own content, not on what follows it.
                let flat = fits(col, false, &[Entry::Doc(indent, Mode::Flat, inner)], &[]);
                stack.push(Entry::Doc(
                    indent,
                    if flat { Mode::Flat } else { Mode::Break },
                    inner,
                ));
            }
            Doc::Concat(docs) => {
                for doc in docs.iter().rev() {
                    stack.push(Entry::Doc(indent, mode, doc));
                }
            }
        }
    }
    out
}

/// `doc` on one line, every break as its flat text.
pub(crate) fn render_flat(doc: &Doc) -> String {
    fn walk(doc: &Doc, out: &mut String) {
        match doc {
            Doc::Text(s) => out.push_str(s),
            Doc::Break(sep) | Doc::FlexBreak(sep) => out.push_str(sep),
            Doc::Nest(_, inner)
            | Doc::NestIfBroken(_, inner)
            | Doc::Fits(_, inner)
            | Doc::Group(inner)
            | Doc::Inherit(inner) => walk(inner, out),
            Doc::Concat(docs) => docs.iter().for_each(|d| walk(d, out)),
        }
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out
}

fn newline(out: &mut String, col: &mut usize, indent: usize) {
    // Empty lines keep this indentation until `tidy` drops it.
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
    *col = indent;
}

/// `Inspect.Algebra.fits?/4`: whether `items`, then `rest`, fit from column `col`. Running past
/// the width only counts once a break has been passed (`seen_break`): a line with no break in
/// it has no other choice than to be as long as it is. Both are stacks, read from the end;
/// `rest` is only read, so measuring never copies the document.
fn fits(mut col: usize, mut seen_break: bool, items: &[Entry<'_>], rest: &[Entry<'_>]) -> bool {
    let mut stack: Vec<Entry<'_>> = items.to_vec();
    let mut rest_len = rest.len();
    loop {
        if col > WIDTH && seen_break {
            return false;
        }
        let entry = match stack.pop() {
            Some(entry) => entry,
            None if rest_len > 0 => {
                rest_len -= 1;
                rest[rest_len]
            }
            None => return true,
        };
        let (indent, mode, doc) = match entry {
            Entry::Tail(saved) => {
                seen_break = saved;
                continue;
            }
            Entry::Doc(indent, mode, doc) => (indent, mode, doc),
        };
        match (mode, doc) {
            (Mode::FlatNoBreak, Doc::Fits(_, inner)) | (_, Doc::Fits(false, inner)) => {
                stack.push(Entry::Doc(indent, Mode::FlatNoBreak, inner))
            }
            (_, Doc::Fits(true, inner)) => stack.push(Entry::Doc(indent, Mode::BreakNoFlat, inner)),
            (Mode::Break | Mode::BreakNoFlat, Doc::Break(_) | Doc::FlexBreak(_)) => return true,
            (_, Doc::Text(s)) => col += s.chars().count(),
            (_, Doc::Break(sep) | Doc::FlexBreak(sep)) => {
                col += sep.len();
                seen_break = true;
            }
            (_, Doc::Nest(Indent::By(by), inner)) => {
                stack.push(Entry::Doc(indent + by, mode, inner))
            }
            (_, Doc::Nest(Indent::Cursor, inner)) => stack.push(Entry::Doc(col, mode, inner)),
            // Measuring never breaks, so a conditional nest changes nothing.
            (_, Doc::NestIfBroken(_, inner)) => stack.push(Entry::Doc(indent, mode, inner)),
            (_, Doc::Group(inner) | Doc::Inherit(inner)) => {
                stack.push(Entry::Tail(seen_break));
                // A group is measured flat, except inside a next-break-fits or a no-break
                // document, whose mode it keeps.
                let inner_mode = match mode {
                    Mode::Break => Mode::Flat,
                    other => other,
                };
                stack.push(Entry::Doc(indent, inner_mode, inner));
            }
            (_, Doc::Concat(docs)) => {
                for doc in docs.iter().rev() {
                    stack.push(Entry::Doc(indent, mode, doc));
                }
            }
        }
    }
}
