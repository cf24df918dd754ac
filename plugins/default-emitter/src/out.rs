//! The file being written, line by line. Most lines fit the width as they are and go straight
//! into the output; only a line that must break is laid out through a document, so the cost
//! of formatting is paid where formatting happens.

use crate::doc::{Doc, WIDTH, render};

/// Columns a line takes.
pub(crate) fn width(line: &str) -> usize {
    if line.is_ascii() {
        line.len()
    } else {
        line.chars().count()
    }
}

pub(crate) struct Out {
    text: String,
    /// Whether the next block needs a blank line before it.
    separate: bool,
}

impl Out {
    pub(crate) fn new() -> Self {
        Self {
            text: String::with_capacity(64 * 1024),
            separate: false,
        }
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }

    pub(crate) fn line(&mut self, indent: usize, line: &str) {
        if !line.is_empty() {
            self.text.extend(std::iter::repeat_n(' ', indent));
            self.text.push_str(line);
        }
        self.text.push('\n');
    }

    /// Writes a line with `write`; when it turns out too long, takes it back and lays out the
    /// document `doc` builds instead. The common, fitting case allocates nothing.
    pub(crate) fn fitting(
        &mut self,
        indent: usize,
        write: impl FnOnce(&mut String),
        doc: impl FnOnce() -> Doc,
    ) {
        self.fitting_or(indent, write, |out| out.doc(indent, &doc()));
    }

    /// Like [`fitting`](Self::fitting), with `fallback` writing whatever replaces the line.
    pub(crate) fn fitting_or(
        &mut self,
        indent: usize,
        write: impl FnOnce(&mut String),
        fallback: impl FnOnce(&mut Self),
    ) {
        let start = self.text.len();
        self.text.extend(std::iter::repeat_n(' ', indent));
        write(&mut self.text);
        if width(&self.text[start..]) <= WIDTH {
            self.text.push('\n');
        } else {
            self.text.truncate(start);
            fallback(self);
        }
    }

    /// A line whose content `write` appends; no width check.
    pub(crate) fn raw_line(&mut self, indent: usize, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        self.text.extend(std::iter::repeat_n(' ', indent));
        let content = self.text.len();
        write(&mut self.text);
        if self.text.len() == content {
            self.text.truncate(start);
        }
        self.text.push('\n');
    }

    /// A document laid out at `indent`, over as many lines as it takes.
    pub(crate) fn doc(&mut self, indent: usize, doc: &Doc) {
        let rendered = render(doc, indent, indent);
        for (i, line) in rendered.split('\n').enumerate() {
            // The first line starts at `indent`; later ones carry their own indentation.
            self.line(if i == 0 { indent } else { 0 }, line.trim_end());
        }
    }

    /// Starts a block: a blank line before it, unless it is the first in its module.
    pub(crate) fn block(&mut self) {
        if self.separate {
            self.text.push('\n');
        }
        self.separate = true;
    }

    /// The next block is the first of a module body.
    pub(crate) fn open(&mut self) {
        self.separate = false;
    }
}
