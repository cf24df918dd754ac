//! The file being written, line by line. Most lines fit the width as they are and go straight
//! into the output; only a line that must break is laid out through a document, so the cost
//! of formatting is paid where formatting happens.

use crate::doc::{Doc, WIDTH, render};

/// A line's content: already flat, or a document to lay out.
pub(crate) enum Piece {
    Flat(String),
    Doc(Doc),
}

impl Piece {
    /// `flat` when it fits at `indent`, else the document `doc` builds.
    pub(crate) fn fitting(indent: usize, flat: String, doc: impl FnOnce() -> Doc) -> Piece {
        if fits(indent, &flat) {
            Piece::Flat(flat)
        } else {
            Piece::Doc(doc())
        }
    }
}

/// Whether `line` fits on one line at `indent`.
pub(crate) fn fits(indent: usize, line: &str) -> bool {
    indent + line.chars().count() <= WIDTH
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

    pub(crate) fn piece(&mut self, indent: usize, piece: &Piece) {
        match piece {
            Piece::Flat(line) => self.line(indent, line),
            Piece::Doc(doc) => {
                let rendered = render(doc, indent, indent);
                for (i, line) in rendered.split('\n').enumerate() {
                    // The first line starts at `indent`; later ones carry their own indentation.
                    self.line(if i == 0 { indent } else { 0 }, line.trim_end());
                }
            }
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
