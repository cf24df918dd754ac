//! Python annotations as source text, parsed into a small tree: the subset of Python
//! expressions that annotations use (dotted names, subscripts, `|` unions, string forward
//! references, literals). Text is never evaluated; anything else is a parse failure.
//!
//! The host parses every annotation once and hands plugins the tree (contract 0.2.0); the
//! built-in typespec plugin reads that tree back into [`Ann`].

/// A parsed annotation.
#[derive(Clone, Debug, PartialEq)]
pub enum Ann {
    /// `int`, `np.ndarray`, `typing.Optional`.
    Name(String),
    /// `list[int]`, `dict[str, Any]`.
    Subscript(String, Vec<Ann>),
    /// `int | None`.
    Union(Vec<Ann>),
    /// A string inside `Literal[...]`, or one that is not an annotation; a forward reference
    /// (`'Point'`) that parses is replaced by what it spells.
    Str(String),
    Int(i64),
    /// `None`, `True`, `False` as values.
    Const(&'static str),
    /// `...`
    Ellipsis,
    /// `[int, str]`, as in `Callable[[int], str]`.
    List(Vec<Ann>),
}

/// Deeper nesting than this is not worth a type: the result would be unreadable anyway.
pub const MAX_DEPTH: usize = 16;

/// Parses an annotation, forward references resolved; `None` for anything outside the
/// supported subset.
pub fn parse(text: &str) -> Option<Ann> {
    parse_text(text).map(|ann| resolve(ann, false, 0))
}

/// Replaces each string outside `Literal[...]` that parses by its annotation; `depth` bounds
/// references inside references.
fn resolve(ann: Ann, in_literal: bool, depth: usize) -> Ann {
    let all = |items: Vec<Ann>, literal: bool| {
        items
            .into_iter()
            .map(|item| resolve(item, literal, depth + 1))
            .collect()
    };
    match ann {
        Ann::Str(text) if !in_literal && depth < MAX_DEPTH => match parse_text(&text) {
            Some(referenced) => resolve(referenced, false, depth + 1),
            None => Ann::Str(text),
        },
        Ann::Subscript(base, args) => {
            let literal = base.rsplit('.').next() == Some("Literal");
            Ann::Subscript(base, all(args, literal))
        }
        Ann::Union(members) => Ann::Union(all(members, in_literal)),
        Ann::List(items) => Ann::List(all(items, in_literal)),
        other => other,
    }
}

fn parse_text(text: &str) -> Option<Ann> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let ann = parser.union()?;
    (parser.pos == parser.tokens.len()).then_some(ann)
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Punct(char),
    Ellipsis,
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            tokens.push(Token::Int(digits.parse().ok()?));
        } else if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut value = String::new();
            while i < chars.len() && chars[i] != quote {
                if chars[i] == '\\' {
                    i += 1;
                }
                value.push(*chars.get(i)?);
                i += 1;
            }
            if i >= chars.len() {
                return None;
            }
            i += 1;
            tokens.push(Token::Str(value));
        } else if c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
            tokens.push(Token::Ellipsis);
            i += 3;
        } else if "[](),.|~".contains(c) {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn union(&mut self) -> Option<Ann> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut members = vec![self.primary()?];
        while self.eat('|') {
            members.push(self.primary()?);
        }
        self.depth -= 1;
        Some(if members.len() == 1 {
            members.remove(0)
        } else {
            Ann::Union(members)
        })
    }

    fn primary(&mut self) -> Option<Ann> {
        // `~T` is how `repr` shows a TypeVar.
        self.eat('~');
        match self.tokens.get(self.pos)?.clone() {
            Token::Ident(first) => {
                self.pos += 1;
                let mut name = first;
                while self.eat('.') {
                    match self.tokens.get(self.pos)? {
                        Token::Ident(part) => {
                            name.push('.');
                            name.push_str(part);
                            self.pos += 1;
                        }
                        _ => return None,
                    }
                }
                match name.as_str() {
                    "None" => return Some(Ann::Const("None")),
                    "True" => return Some(Ann::Const("True")),
                    "False" => return Some(Ann::Const("False")),
                    _ => {}
                }
                if self.eat('[') {
                    let args = self.sequence(']')?;
                    return Some(Ann::Subscript(name, args));
                }
                Some(Ann::Name(name))
            }
            Token::Str(value) => {
                self.pos += 1;
                Some(Ann::Str(value))
            }
            Token::Int(value) => {
                self.pos += 1;
                Some(Ann::Int(value))
            }
            Token::Ellipsis => {
                self.pos += 1;
                Some(Ann::Ellipsis)
            }
            Token::Punct('(') => {
                self.pos += 1;
                let inner = self.sequence(')')?;
                if inner.len() == 1 {
                    inner.into_iter().next()
                } else {
                    Some(Ann::List(inner))
                }
            }
            Token::Punct('[') => {
                self.pos += 1;
                Some(Ann::List(self.sequence(']')?))
            }
            Token::Punct(_) => None,
        }
    }

    /// Comma-separated expressions up to `close`, which is consumed; a trailing comma is fine.
    fn sequence(&mut self, close: char) -> Option<Vec<Ann>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.union()?);
            if !self.eat(',') {
                return self.eat(close).then_some(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        assert_eq!(parse("int"), Some(Ann::Name("int".into())));
        assert_eq!(
            parse("dict[str, list[int]] | None"),
            Some(Ann::Union(vec![
                Ann::Subscript(
                    "dict".into(),
                    vec![
                        Ann::Name("str".into()),
                        Ann::Subscript("list".into(), vec![Ann::Name("int".into())])
                    ]
                ),
                Ann::Const("None"),
            ]))
        );
        assert_eq!(
            parse("typing.Literal['a', \"b\", 1, None]"),
            Some(Ann::Subscript(
                "typing.Literal".into(),
                vec![
                    Ann::Str("a".into()),
                    Ann::Str("b".into()),
                    Ann::Int(1),
                    Ann::Const("None")
                ]
            ))
        );
        assert_eq!(
            parse("Callable[[int, str], bool]"),
            Some(Ann::Subscript(
                "Callable".into(),
                vec![
                    Ann::List(vec![Ann::Name("int".into()), Ann::Name("str".into())]),
                    Ann::Name("bool".into())
                ]
            ))
        );
        assert_eq!(
            parse("tuple[int, ...]"),
            Some(Ann::Subscript(
                "tuple".into(),
                vec![Ann::Name("int".into()), Ann::Ellipsis]
            ))
        );
        assert_eq!(parse("~T"), Some(Ann::Name("T".into())));
    }

    #[test]
    fn resolves_forward_references_outside_literals() {
        assert_eq!(
            parse("list['Point'] | Literal['Point']"),
            Some(Ann::Union(vec![
                Ann::Subscript("list".into(), vec![Ann::Name("Point".into())]),
                Ann::Subscript("Literal".into(), vec![Ann::Str("Point".into())]),
            ]))
        );
        assert_eq!(
            parse("'not an annotation!'"),
            Some(Ann::Str("not an annotation!".into()))
        );
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for bad in [
            "",
            "int |",
            "list[",
            "a + b",
            "lambda: 1",
            "'unterminated",
            "x[1:2]",
            "f(x)",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let deep = "list[".repeat(40) + "int" + &"]".repeat(40);
        assert_eq!(parse(&deep), None);
    }
}
