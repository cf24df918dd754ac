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
