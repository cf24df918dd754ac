//! Erlang terms (from Elixir, in external term format) to the worker's tagged JSON and back.
//!
//! | Elixir | JSON / tag | Python |
//! |---|---|---|
//! | `nil`, `true`, `false` | null, booleans | `None`, `True`, `False` |
//! | other atoms | `atom` | `Atom`, a `str` |
//! | integers | numbers, `int` beyond 64 bits | `int` |
//! | floats | numbers; `:infinity`, `:neg_infinity`, `:nan` come back from `special_float` | `float` |
//! | UTF-8 binaries | strings | `str` |
//! | other binaries, `%SnakeBridge.Bytes{}` | `bytes` | `bytes` (which come back as binaries) |
//! | lists | arrays | `list` |
//! | tuples | `tuple` | `tuple` |
//! | maps with string keys | objects | `dict` |
//! | other maps | `dict` | `dict` |
//! | `MapSet` | `set` (`frozenset` comes back as a `MapSet` too) | `set` |
//! | `%SnakeBridge.Complex{}` | `complex` | `complex` |
//! | `Date`, `Time` | `date`, `time` | `datetime.date`, `datetime.time` |
//! | `NaiveDateTime` | `datetime` | a naive `datetime.datetime` |
//! | `DateTime` | `datetime` with `utc_offset` | an aware `datetime.datetime` (which comes back in UTC) |
//! | `%SnakeBridge.Ref{}` | `ref` | the object |
//! | a function | `callback` with `id` and `arity` | a callable that runs it in the caller's process, during the call |
//!
//! Pids, ports, references, improper lists, bitstrings and other structs cannot cross; they
//! are errors naming the value.
//!
//! Sets come back as `{:__snakebridge_set__, elements}`, which the Elixir side turns into a
//! `MapSet` (its internal layout is not ours to build); [`Decoded::has_sets`] tells it to look.
//! Atoms made in Python come back as `{:__snakebridge_atom__, name}`: the Elixir side decodes
//! replies with `:safe` and makes each an atom only if that atom already exists (a string
//! otherwise), so Python can never fill the VM's atom table; [`Decoded::has_atoms`] tells it.
//!
//! Nesting is bounded both ways by the pool's `max_depth`, counted in JSON levels (a tuple is
//! two: its object and its `elements` list): [`check_depth`] walks a request's bytes without
//! recursion before anything recursive decodes them, and conversion counts the levels it makes.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use eetf::{Atom, BigInteger, Binary, FixInteger, Float, List, Map, Term, Tuple};
use num_bigint::BigInt;
use serde_json::{Map as Object, Value, json};

use crate::value::{self, Ref, tag, tagged};

/// The atom Elixir's side replaces with a `MapSet`.
pub(crate) const SET_MARKER: &str = "__snakebridge_set__";

/// The atom Elixir's side replaces with an existing atom, or the name as a string.
pub(crate) const ATOM_MARKER: &str = "__snakebridge_atom__";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TermError(pub(crate) String);

fn error<T>(message: String) -> Result<T, TermError> {
    Err(TermError(message))
}

pub(crate) fn atom(name: &str) -> Term {
    Term::Atom(Atom::from(name))
}

pub(crate) fn binary(text: &str) -> Term {
    Term::Binary(Binary::from(text.as_bytes()))
}

pub(crate) fn tuple(elements: Vec<Term>) -> Term {
    Term::Tuple(Tuple::from(elements))
}

pub(crate) fn integer(value: i64) -> Term {
    match i32::try_from(value) {
        Ok(small) => Term::FixInteger(FixInteger::from(small)),
        Err(_) => Term::BigInteger(BigInteger {
            value: BigInt::from(value),
        }),
    }
}

/// A map with atom keys, as Elixir writes `%{key: value}`.
pub(crate) fn atom_map(entries: Vec<(&str, Term)>) -> Term {
    Term::Map(Map {
        map: entries.into_iter().map(|(k, v)| (atom(k), v)).collect(),
    })
}

fn struct_term(module: &str, fields: Vec<(&str, Term)>) -> Term {
    let mut entries = fields;
    entries.push(("__struct__", atom(module)));
    atom_map(entries)
}

/// The field `key` (an atom) of a map term.
pub(crate) fn field<'a>(map: &'a Map, key: &str) -> Option<&'a Term> {
    map.map.get(&atom(key))
}

/// A binary term as text.
pub(crate) fn text(term: &Term) -> Option<&str> {
    match term {
        Term::Binary(b) => std::str::from_utf8(&b.bytes).ok(),
        _ => None,
    }
}

/// An Elixir value as JSON for the worker, without a depth bound (for the request's own fields).
pub(crate) fn to_json(term: &Term) -> Result<Value, TermError> {
    Json::new(usize::MAX).convert(term)
}

/// Numbers the Elixir functions sent to Python, unique for the runtime's life.
static NEXT_FUNCTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Converts Elixir values to the worker's JSON, at most `max_depth` levels deep, and collects
/// the references it meets (at any depth), which decide where a call runs, and the functions,
/// which Python gets as `callback` tags to call back through.
pub(crate) struct Json {
    max_depth: usize,
    pub(crate) refs: Vec<Ref>,
    /// Each function met, by the number its tag carries.
    pub(crate) functions: Vec<(u64, Term)>,
}

impl Json {
    pub(crate) fn new(max_depth: usize) -> Json {
        Json {
            max_depth,
            refs: Vec::new(),
            functions: Vec::new(),
        }
    }

    pub(crate) fn convert(&mut self, term: &Term) -> Result<Value, TermError> {
        self.value(term, self.max_depth)
    }

    /// `levels` JSON levels a value about to be written at `left` needs.
    fn enter(&self, left: usize, levels: usize) -> Result<usize, TermError> {
        left.checked_sub(levels).ok_or_else(|| {
            TermError(format!(
                "an argument nests deeper than {} levels, the runtime's `max_depth`; flatten it, or raise `max_depth` in the `[runtime]` table of snakebridge.toml",
                self.max_depth
            ))
        })
    }

    fn value(&mut self, term: &Term, left: usize) -> Result<Value, TermError> {
        Ok(match term {
            Term::Atom(a) => match a.name.as_str() {
                "nil" => Value::Null,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                name => value::atom(name),
            },
            Term::FixInteger(i) => json!(i.value),
            Term::BigInteger(i) => match (i64::try_from(&i.value), u64::try_from(&i.value)) {
                (Ok(small), _) => json!(small),
                (_, Ok(unsigned)) => json!(unsigned),
                _ => tagged("int", object([("value", json!(i.value.to_string()))])),
            },
            Term::Float(f) => json!(f.value),
            Term::Binary(b) => match std::str::from_utf8(&b.bytes) {
                Ok(text) => json!(text),
                Err(_) => bytes(&b.bytes),
            },
            Term::ByteList(list) => json!(list.bytes),
            Term::List(list) => {
                let left = self.enter(left, 1)?;
                Value::Array(
                    list.elements
                        .iter()
                        .map(|item| self.value(item, left))
                        .collect::<Result<_, _>>()?,
                )
            }
            Term::Tuple(t) => {
                let left = self.enter(left, 2)?;
                value::tuple(
                    t.elements
                        .iter()
                        .map(|item| self.value(item, left))
                        .collect::<Result<_, _>>()?,
                )
            }
            Term::Map(map) => self.map(map, left)?,
            Term::ImproperList(_) => {
                return error("an improper list cannot be sent to Python".into());
            }
            Term::BitBinary(_) => {
                return error(
                    "a bitstring that is not whole bytes cannot be sent to Python".into(),
                );
            }
            Term::Pid(_) | Term::Port(_) | Term::Reference(_) => {
                return error(format!("{term} cannot be sent to Python"));
            }
            Term::ExternalFun(_) | Term::InternalFun(_) => {
                let arity = match term {
                    Term::ExternalFun(f) => Some(f.arity),
                    Term::InternalFun(f) => match **f {
                        eetf::InternalFun::New { arity, .. } => Some(arity),
                        eetf::InternalFun::Old { .. } => None,
                    },
                    _ => None,
                };
                let id = NEXT_FUNCTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.functions.push((id, term.clone()));
                tagged(
                    "callback",
                    object([("id", json!(id)), ("arity", json!(arity))]),
                )
            }
        })
    }

    fn map(&mut self, map: &Map, left: usize) -> Result<Value, TermError> {
        if let Some(Term::Atom(module)) = field(map, "__struct__") {
            let left = self.enter(left, 2)?;
            return self.structure(&module.name, map, left);
        }
        let string_keys = map.map.keys().all(|k| text(k).is_some());
        if string_keys {
            let left = self.enter(left, 1)?;
            let mut object = Object::new();
            // Sorted, so the same map always makes the same payload.
            let mut entries: Vec<(&str, &Term)> = map
                .map
                .iter()
                .filter_map(|(k, v)| Some((text(k)?, v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                object.insert(key.to_string(), self.value(value, left)?);
            }
            return Ok(Value::Object(object));
        }
        let left = self.enter(left, 3)?;
        let pairs = map
            .map
            .iter()
            .map(|(k, v)| Ok(json!([self.value(k, left)?, self.value(v, left)?])))
            .collect::<Result<Vec<_>, TermError>>()?;
        Ok(tagged("dict", object([("pairs", Value::Array(pairs))])))
    }

    fn structure(&mut self, module: &str, map: &Map, left: usize) -> Result<Value, TermError> {
        match module {
            "Elixir.SnakeBridge.Ref" => {
                let string = |key: &str| field(map, key).and_then(text).unwrap_or_default();
                let reference = Ref {
                    id: string("id").to_string(),
                    session: string("session").to_string(),
                    library: string("library").to_string(),
                    python_type: string("python_type").to_string(),
                };
                let value = reference.to_value();
                self.refs.push(reference);
                Ok(value)
            }
            "Elixir.MapSet" => match field(map, "map") {
                Some(Term::Map(members)) => {
                    let elements = members
                        .map
                        .keys()
                        .map(|member| self.value(member, left))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(tagged(
                        "set",
                        object([("elements", Value::Array(elements))]),
                    ))
                }
                _ => error("a MapSet whose layout this runtime does not know".into()),
            },
            _ => struct_to_json(module, map),
        }
    }
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Object<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn bytes(data: &[u8]) -> Value {
    tagged("bytes", object([("data", json!(BASE64.encode(data)))]))
}

/// The structs that hold no other values: bytes, complex numbers and calendar values.
fn struct_to_json(module: &str, map: &Map) -> Result<Value, TermError> {
    match module {
        "Elixir.SnakeBridge.Bytes" => match field(map, "data") {
            Some(Term::Binary(b)) => Ok(bytes(&b.bytes)),
            _ => error("%SnakeBridge.Bytes{} needs `data`, a binary".into()),
        },
        "Elixir.SnakeBridge.Complex" => {
            let part = |key: &str| match field(map, key) {
                Some(Term::Float(f)) => Some(f.value),
                Some(Term::FixInteger(i)) => Some(f64::from(i.value)),
                _ => None,
            };
            match (part("real"), part("imag")) {
                (Some(real), Some(imag)) => Ok(tagged(
                    "complex",
                    object([("real", json!(real)), ("imag", json!(imag))]),
                )),
                _ => error("%SnakeBridge.Complex{} needs numbers `real` and `imag`".into()),
            }
        }
        "Elixir.Date" | "Elixir.Time" | "Elixir.NaiveDateTime" | "Elixir.DateTime" => {
            calendar_to_json(module, map)
        }
        other => error(format!(
            "%{}{{}} cannot be sent to Python; convert it to a map, string or list first",
            other.strip_prefix("Elixir.").unwrap_or(other)
        )),
    }
}

/// Elixir's calendar structs (ISO calendar only) as the `date`, `time` and `datetime` tags.
fn calendar_to_json(module: &str, map: &Map) -> Result<Value, TermError> {
    let name = module.strip_prefix("Elixir.").unwrap_or(module);
    let malformed = || TermError(format!("a %{name}{{}} this runtime cannot read"));
    if !matches!(field(map, "calendar"), Some(Term::Atom(a)) if a.name == "Elixir.Calendar.ISO") {
        return error(format!(
            "a %{name}{{}} in a calendar other than Calendar.ISO cannot be sent to Python"
        ));
    }
    let int = |key: &str| match field(map, key) {
        Some(Term::FixInteger(i)) => Ok(i.value),
        _ => Err(malformed()),
    };
    let mut fields = Object::new();
    let mut keys: Vec<&str> = Vec::new();
    if module != "Elixir.Time" {
        keys.extend(["year", "month", "day"]);
    }
    if module != "Elixir.Date" {
        keys.extend(["hour", "minute", "second"]);
        let microsecond = match field(map, "microsecond") {
            Some(Term::Tuple(t)) => match t.elements.as_slice() {
                [Term::FixInteger(us), _] => us.value,
                _ => return Err(malformed()),
            },
            _ => return Err(malformed()),
        };
        fields.insert("microsecond".into(), json!(microsecond));
    }
    for key in keys {
        fields.insert(key.to_string(), json!(int(key)?));
    }
    if module == "Elixir.DateTime" {
        fields.insert(
            "utc_offset".into(),
            json!(int("utc_offset")? + int("std_offset")?),
        );
    }
    let tag = match module {
        "Elixir.Date" => "date",
        "Elixir.Time" => "time",
        _ => "datetime",
    };
    Ok(tagged(tag, fields))
}

/// The `date`, `time` and `datetime` tags as Elixir's calendar structs.
fn calendar_term(tag: &str, object: &Object<String, Value>) -> Result<Term, TermError> {
    let int = |key: &str| -> Result<i64, TermError> {
        object
            .get(key)
            .and_then(Value::as_i64)
            .ok_or_else(|| TermError(format!("tagged `{tag}`: `{key}` is not an integer")))
    };
    let mut fields = vec![("calendar", atom("Elixir.Calendar.ISO"))];
    if tag != "time" {
        for key in ["year", "month", "day"] {
            fields.push((key, integer(int(key)?)));
        }
    }
    if tag != "date" {
        for key in ["hour", "minute", "second"] {
            fields.push((key, integer(int(key)?)));
        }
        // Whole seconds read as Elixir writes them (`~T[10:00:00]`); else Python's precision.
        let microsecond = int("microsecond")?;
        let precision = if microsecond == 0 { 0 } else { 6 };
        fields.push((
            "microsecond",
            tuple(vec![integer(microsecond), integer(precision)]),
        ));
    }
    let module = match (tag, object.get("utc_offset")) {
        ("date", _) => "Elixir.Date",
        ("time", _) => "Elixir.Time",
        (_, None) => "Elixir.NaiveDateTime",
        (_, Some(offset)) if offset.as_i64() == Some(0) => {
            fields.extend([
                ("time_zone", binary("Etc/UTC")),
                ("zone_abbr", binary("UTC")),
                ("utc_offset", integer(0)),
                ("std_offset", integer(0)),
            ]);
            "Elixir.DateTime"
        }
        (_, Some(offset)) => {
            return error(format!(
                "tagged `datetime` with a UTC offset of {offset} s: Elixir's DateTime needs it in UTC"
            ));
        }
    };
    Ok(struct_term(module, fields))
}

/// Checks that an external-term-format binary nests no deeper than `max` containers (lists,
/// tuples, maps), walking its bytes without recursion: `Term::decode` recurses once per level,
/// and a deep enough term would overflow the thread's stack.
pub(crate) fn check_depth(bytes: &[u8], max: usize) -> Result<(), TermError> {
    let malformed = || TermError("a request frame that is not valid external term format".into());
    let too_deep = || {
        TermError(format!(
            "an argument nests deeper than {max} levels, the runtime's `max_depth`; flatten it, or raise `max_depth` in the `[runtime]` table of snakebridge.toml"
        ))
    };
    let mut at = 1; // past the version byte
    if bytes.first() != Some(&131) {
        return Err(malformed());
    }
    let take = |at: &mut usize, n: usize| -> Result<usize, TermError> {
        let start = *at;
        *at = at
            .checked_add(n)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(malformed)?;
        Ok(start)
    };
    let u8_at = |at: &mut usize| -> Result<usize, TermError> {
        let start = take(at, 1)?;
        Ok(usize::from(bytes[start]))
    };
    let u16_at = |at: &mut usize| -> Result<usize, TermError> {
        let start = take(at, 2)?;
        Ok(usize::from(u16::from_be_bytes([
            bytes[start],
            bytes[start + 1],
        ])))
    };
    let u32_at = |at: &mut usize| -> Result<usize, TermError> {
        let start = take(at, 4)?;
        let mut word = [0; 4];
        word.copy_from_slice(&bytes[start..start + 4]);
        Ok(u32::from_be_bytes(word) as usize)
    };
    // An atom where one must be (a pid's or reference's node).
    let node = |at: &mut usize| -> Result<(), TermError> {
        let length = match u8_at(at)? {
            100 | 118 => u16_at(at)?,
            115 | 119 => u8_at(at)?,
            _ => return Err(malformed()),
        };
        take(at, length).map(drop)
    };
    // Terms still to read at each open container, outermost first.
    let mut open: Vec<usize> = vec![1];
    while let Some(left) = open.last_mut() {
        if *left == 0 {
            open.pop();
            continue;
        }
        *left -= 1;
        let tag = u8_at(&mut at)?;
        let children = match tag {
            97 => take(&mut at, 1).map(|_| 0)?,
            98 => take(&mut at, 4).map(|_| 0)?,
            70 => take(&mut at, 8).map(|_| 0)?,
            99 => take(&mut at, 31).map(|_| 0)?,
            100 | 118 | 107 => {
                let length = u16_at(&mut at)?;
                take(&mut at, length).map(|_| 0)?
            }
            115 | 119 => {
                let length = u8_at(&mut at)?;
                take(&mut at, length).map(|_| 0)?
            }
            109 => {
                let length = u32_at(&mut at)?;
                take(&mut at, length).map(|_| 0)?
            }
            77 => {
                let length = u32_at(&mut at)?;
                take(&mut at, length + 1).map(|_| 0)?
            }
            110 => {
                let length = u8_at(&mut at)?;
                take(&mut at, length + 1).map(|_| 0)?
            }
            111 => {
                let length = u32_at(&mut at)?;
                take(&mut at, length + 1).map(|_| 0)?
            }
            106 => 0,
            104 => u8_at(&mut at)?,
            105 => u32_at(&mut at)?,
            108 => u32_at(&mut at)? + 1, // the elements and the tail
            116 => u32_at(&mut at)?.checked_mul(2).ok_or_else(malformed)?,
            113 => 3,
            88 => node(&mut at).and_then(|()| take(&mut at, 12)).map(|_| 0)?,
            103 => node(&mut at).and_then(|()| take(&mut at, 9)).map(|_| 0)?,
            89 => node(&mut at).and_then(|()| take(&mut at, 8)).map(|_| 0)?,
            120 => node(&mut at).and_then(|()| take(&mut at, 12)).map(|_| 0)?,
            102 => node(&mut at).and_then(|()| take(&mut at, 5)).map(|_| 0)?,
            90 | 114 => {
                // Node, then a four-byte (newer) or one-byte creation, then the id words.
                let words = u16_at(&mut at)?;
                node(&mut at)?;
                let creation = if tag == 90 { 4 } else { 1 };
                take(&mut at, creation + 4 * words).map(|_| 0)?
            }
            101 => node(&mut at).and_then(|()| take(&mut at, 5)).map(|_| 0)?,
            112 => {
                // A fun's size counts its own four bytes.
                let size = u32_at(&mut at)?;
                take(&mut at, size.checked_sub(4).ok_or_else(malformed)?).map(|_| 0)?
            }
            _ => return Err(malformed()),
        };
        if children > 0 {
            if open.len() > max {
                return Err(too_deep());
            }
            open.push(children);
        }
    }
    Ok(())
}

/// A worker's JSON as an Elixir term.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) term: Term,
    pub(crate) has_sets: bool,
    pub(crate) has_atoms: bool,
}

impl Decoded {
    /// The flags byte of a reply: bit 0, sets to rebuild; bit 1, atoms to look up.
    pub(crate) fn flags(&self) -> u8 {
        u8::from(self.has_sets) | (u8::from(self.has_atoms) << 1)
    }
}

/// What a conversion met that the Elixir side must finish.
#[derive(Default)]
struct Marks {
    sets: bool,
    atoms: bool,
}

pub(crate) fn from_json(value: &Value) -> Result<Decoded, TermError> {
    let mut marks = Marks::default();
    let term = convert(value, &mut marks)?;
    Ok(Decoded {
        term,
        has_sets: marks.sets,
        has_atoms: marks.atoms,
    })
}

fn convert(value: &Value, marks: &mut Marks) -> Result<Term, TermError> {
    Ok(match value {
        Value::Null => atom("nil"),
        Value::Bool(b) => atom(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                integer(i)
            } else if let Some(u) = n.as_u64() {
                Term::BigInteger(BigInteger {
                    value: BigInt::from(u),
                })
            } else {
                Term::Float(Float {
                    value: n.as_f64().unwrap_or(f64::NAN),
                })
            }
        }
        Value::String(s) => binary(s),
        Value::Array(items) => Term::List(List {
            elements: items
                .iter()
                .map(|v| convert(v, marks))
                .collect::<Result<_, _>>()?,
        }),
        Value::Object(object) => match tag(value) {
            None => Term::Map(Map {
                map: object
                    .iter()
                    .map(|(k, v)| Ok((binary(k), convert(v, marks)?)))
                    .collect::<Result<HashMap<_, _>, TermError>>()?,
            }),
            Some(tag) => tagged_term(tag, object, marks)?,
        },
    })
}

fn tagged_term(
    tag: &str,
    object: &Object<String, Value>,
    marks: &mut Marks,
) -> Result<Term, TermError> {
    let get = |key: &str| {
        object
            .get(key)
            .ok_or_else(|| TermError(format!("tagged `{tag}` without `{key}`")))
    };
    let elements = |key: &str, marks: &mut Marks| -> Result<Vec<Term>, TermError> {
        get(key)?
            .as_array()
            .ok_or_else(|| TermError(format!("tagged `{tag}`: `{key}` is not a list")))?
            .iter()
            .map(|v| convert(v, marks))
            .collect()
    };
    let string = |key: &str| -> Result<&str, TermError> {
        get(key)?
            .as_str()
            .ok_or_else(|| TermError(format!("tagged `{tag}`: `{key}` is not a string")))
    };
    Ok(match tag {
        "tuple" => tuple(elements("elements", marks)?),
        "atom" => {
            marks.atoms = true;
            tuple(vec![atom(ATOM_MARKER), binary(string("value")?)])
        }
        "bytes" => Term::Binary(Binary::from(
            BASE64
                .decode(string("data")?)
                .map_err(|e| TermError(format!("tagged `bytes`: {e}")))?,
        )),
        "set" | "frozenset" => {
            marks.sets = true;
            tuple(vec![
                atom(SET_MARKER),
                Term::List(List {
                    elements: elements("elements", marks)?,
                }),
            ])
        }
        "dict" => {
            let pairs = get("pairs")?
                .as_array()
                .ok_or_else(|| TermError("tagged `dict`: `pairs` is not a list".into()))?;
            let mut map = HashMap::new();
            for pair in pairs {
                match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => {
                        map.insert(convert(k, marks)?, convert(v, marks)?);
                    }
                    _ => return error("tagged `dict`: a pair is not [key, value]".into()),
                }
            }
            Term::Map(Map { map })
        }
        "int" => Term::BigInteger(BigInteger {
            value: string("value")?
                .parse()
                .map_err(|e| TermError(format!("tagged `int`: {e}")))?,
        }),
        "special_float" => match string("value")? {
            name @ ("infinity" | "neg_infinity" | "nan") => atom(name),
            other => return error(format!("tagged `special_float`: unknown `{other}`")),
        },
        "complex" => {
            let part = |key: &str| -> Result<Term, TermError> {
                Ok(Term::Float(Float {
                    value: get(key)?.as_f64().ok_or_else(|| {
                        TermError(format!("tagged `complex`: `{key}` is not a number"))
                    })?,
                }))
            };
            struct_term(
                "Elixir.SnakeBridge.Complex",
                vec![("real", part("real")?), ("imag", part("imag")?)],
            )
        }
        "date" | "time" | "datetime" => calendar_term(tag, object)?,
        "ref" => {
            let reference = Ref::from_value(&Value::Object(object.clone()))
                .ok_or_else(|| TermError("tagged `ref` without an id".into()))?;
            struct_term(
                "Elixir.SnakeBridge.Ref",
                vec![
                    ("id", binary(&reference.id)),
                    ("session", binary(&reference.session)),
                    ("library", binary(&reference.library)),
                    ("python_type", binary(&reference.python_type)),
                ],
            )
        }
        other => return error(format!("unknown tagged value `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(term: Term) -> Term {
        from_json(&to_json(&term).unwrap()).unwrap().term
    }

    #[test]
    fn values_survive_the_trip() {
        let big = Term::BigInteger(BigInteger {
            value: "123456789012345678901234567890".parse().unwrap(),
        });
        for term in [
            atom("nil"),
            atom("true"),
            integer(-5),
            integer(1 << 40),
            big,
            Term::Float(Float { value: 2.5 }),
            binary("héllo"),
            Term::Binary(Binary::from(&[0xff, 0x00][..])),
            tuple(vec![integer(1), binary("a")]),
            Term::List(List {
                elements: vec![integer(1), binary("x")],
            }),
            Term::Map(Map {
                map: [(binary("a"), integer(1))].into_iter().collect(),
            }),
        ] {
            assert_eq!(round_trip(term.clone()), term);
        }
    }

    #[test]
    fn atoms_from_python_are_marked_to_be_looked_up() {
        let decoded = from_json(&to_json(&atom("reflect")).unwrap()).unwrap();
        assert!(decoded.has_atoms);
        assert_eq!(decoded.flags(), 2);
        assert_eq!(
            decoded.term,
            tuple(vec![atom(ATOM_MARKER), binary("reflect")])
        );
    }

    #[test]
    fn depth_is_checked_without_recursion() {
        let mut deep = Term::List(List { elements: vec![] });
        for _ in 0..50 {
            deep = Term::List(List {
                elements: vec![deep],
            });
        }
        let mut bytes = Vec::new();
        tuple(vec![atom("call"), integer(7), deep.clone()])
            .encode(&mut bytes)
            .unwrap();
        assert!(check_depth(&bytes, 60).is_ok());
        assert!(check_depth(&bytes, 40).unwrap_err().0.contains("max_depth"));
        assert!(Json::new(40).convert(&deep).is_err());
        assert!(Json::new(60).convert(&deep).is_ok());
        // A million levels, as Elixir would write them, never touch the stack.
        let mut huge = vec![131];
        for _ in 0..1_000_000 {
            huge.extend([108, 0, 0, 0, 1]);
        }
        assert!(check_depth(&huge, 256).is_err());
        for cut in [0, 1, 3, 7] {
            assert!(check_depth(&bytes[..cut], 60).is_err());
        }
    }

    #[test]
    fn what_cannot_cross_is_named() {
        let pid = Term::Pid(eetf::Pid::new("node@host", 1, 2, 3));
        assert!(to_json(&pid).unwrap_err().0.contains("cannot be sent"));
        let range = struct_term("Elixir.Range", vec![("first", integer(1))]);
        assert_eq!(
            to_json(&range).unwrap_err().0,
            "%Range{} cannot be sent to Python; convert it to a map, string or list first"
        );
        let hebrew = struct_term("Elixir.Date", vec![("calendar", atom("Elixir.Hebrew"))]);
        assert!(to_json(&hebrew).unwrap_err().0.contains("Calendar.ISO"));
    }

    #[test]
    fn calendar_values_survive_the_trip() {
        let iso = || ("calendar", atom("Elixir.Calendar.ISO"));
        let day = |y, m, d| {
            [
                ("year", integer(y)),
                ("month", integer(m)),
                ("day", integer(d)),
            ]
        };
        let clock = |h, m, s, us: i64, p| {
            [
                ("hour", integer(h)),
                ("minute", integer(m)),
                ("second", integer(s)),
                ("microsecond", tuple(vec![integer(us), integer(p)])),
            ]
        };
        let date = struct_term(
            "Elixir.Date",
            [vec![iso()], day(2026, 11, 28).to_vec()].concat(),
        );
        let time = struct_term(
            "Elixir.Time",
            [vec![iso()], clock(23, 59, 1, 7, 6).to_vec()].concat(),
        );
        let naive = struct_term(
            "Elixir.NaiveDateTime",
            [
                vec![iso()],
                day(2026, 11, 28).to_vec(),
                clock(5, 19, 0, 0, 0).to_vec(),
            ]
            .concat(),
        );
        let utc = struct_term(
            "Elixir.DateTime",
            [
                vec![iso()],
                day(2026, 11, 28).to_vec(),
                clock(5, 19, 0, 250, 6).to_vec(),
                vec![
                    ("time_zone", binary("Etc/UTC")),
                    ("zone_abbr", binary("UTC")),
                    ("utc_offset", integer(0)),
                    ("std_offset", integer(0)),
                ],
            ]
            .concat(),
        );
        for term in [date, time, naive, utc] {
            assert_eq!(round_trip(term.clone()), term);
        }
        let offset = json!({"__type__": "datetime", "__schema__": 1, "year": 2026, "month": 1,
            "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0, "utc_offset": 3600});
        assert!(
            from_json(&offset)
                .unwrap_err()
                .0
                .contains("needs it in UTC")
        );
    }

    #[test]
    fn sets_are_marked_for_the_elixir_side() {
        let decoded =
            from_json(&json!({"__type__": "set", "__schema__": 1, "elements": [1]})).unwrap();
        assert!(decoded.has_sets);
        assert_eq!(
            decoded.term,
            tuple(vec![
                atom(SET_MARKER),
                Term::List(List {
                    elements: vec![integer(1)]
                })
            ])
        );
    }
}
