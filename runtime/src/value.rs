//! Values are `serde_json::Value`s; what JSON lacks travels as tagged objects
//! `{"__type__": tag, "__schema__": 1, ...}` (the table is in `python/snakebridge_worker/codec.py`).
//! These helpers build and read them.

use serde_json::{Value, json};

pub const TYPE: &str = "__type__";
pub const SCHEMA: u32 = 1;

pub fn tagged(tag: &str, mut fields: serde_json::Map<String, Value>) -> Value {
    fields.insert(TYPE.into(), json!(tag));
    fields.insert("__schema__".into(), json!(SCHEMA));
    Value::Object(fields)
}

/// The tag of a tagged value.
pub fn tag(value: &Value) -> Option<&str> {
    value.get(TYPE)?.as_str()
}

pub fn tuple(elements: Vec<Value>) -> Value {
    json!({TYPE: "tuple", "__schema__": SCHEMA, "elements": elements})
}

pub fn atom(name: &str) -> Value {
    json!({TYPE: "atom", "__schema__": SCHEMA, "value": name})
}

/// An object that lives in a worker, owned by a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    /// `<worker pid>-<n>`.
    pub id: String,
    pub session: String,
    pub library: String,
    /// The Python type, `module.QualName`.
    pub python_type: String,
}

impl Ref {
    pub fn from_value(value: &Value) -> Option<Ref> {
        if tag(value)? != "ref" {
            return None;
        }
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        Some(Ref {
            id: text("id")?,
            session: text("session_id").unwrap_or_default(),
            library: text("library").unwrap_or_default(),
            python_type: text("type_name").unwrap_or_default(),
        })
    }

    pub fn to_value(&self) -> Value {
        json!({
            TYPE: "ref",
            "__schema__": SCHEMA,
            "id": self.id,
            "session_id": self.session,
            "library": self.library,
            "type_name": self.python_type,
        })
    }

    /// The pid of the worker that holds the object.
    pub fn worker_pid(&self) -> Option<u32> {
        self.id.split('-').next()?.parse().ok()
    }
}

/// How deeply the JSON text `bytes` nests arrays and objects, found without parsing it (and
/// so without recursion): what is checked before a parser that recurses is let near it.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_depth_counts_containers_outside_strings() {
        use super::json_depth;
        assert_eq!(json_depth(b"1"), 0);
        assert_eq!(json_depth(br#"[1, {"a": [2]}]"#), 3);
        assert_eq!(json_depth(br#"["[[[", "\"[{"]"#), 1);
        assert_eq!(json_depth("[".repeat(100_000).as_bytes()), 100_000);
    }
}
