//! A call into Python, built step by step, and the payload it becomes (SPEC §5).
//!
//! ```
//! use snakebridge_runtime::Call;
//! let call = Call::function("numpy", "mean").arg(vec![1, 2, 3]).kwarg("axis", 0);
//! assert_eq!(call.payload()["function"], "mean");
//! ```

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::value::Ref;

/// The payload contract version this runtime speaks; the worker refuses any other.
pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallType {
    Function,
    Class,
    Method,
    GetAttr,
    SetAttr,
    ModuleAttr,
    /// Only for streams: iterate the object `instance` refers to.
    Iterate,
    /// `__enter__` of the context manager `instance`.
    ContextEnter,
    /// `__exit__` of the context manager `instance`, given the one argument: `nil`, or the
    /// `%{type: ..., message: ...}` of the Elixir exception that ended the block.
    ContextExit,
}

impl CallType {
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Function => "function",
            CallType::Class => "class",
            CallType::Method => "method",
            CallType::GetAttr => "get_attr",
            CallType::SetAttr => "set_attr",
            CallType::ModuleAttr => "module_attr",
            CallType::Iterate => "iterate",
            CallType::ContextEnter => "context_enter",
            CallType::ContextExit => "context_exit",
        }
    }

    pub fn parse(text: &str) -> Option<CallType> {
        Some(match text {
            "function" => CallType::Function,
            "class" => CallType::Class,
            "method" => CallType::Method,
            "get_attr" => CallType::GetAttr,
            "set_attr" => CallType::SetAttr,
            "module_attr" => CallType::ModuleAttr,
            "iterate" => CallType::Iterate,
            "context_enter" => CallType::ContextEnter,
            "context_exit" => CallType::ContextExit,
            _ => return None,
        })
    }
}

/// How the result comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Returns {
    /// Values by value, other objects (arrays, instances) as references.
    #[default]
    Auto,
    /// Like `Auto`, and array-likes converted with `tolist()`.
    Value,
    /// A reference to the whole result.
    Ref,
}

impl Returns {
    pub fn as_str(self) -> &'static str {
        match self {
            Returns::Auto => "auto",
            Returns::Value => "value",
            Returns::Ref => "ref",
        }
    }

    pub fn parse(text: &str) -> Option<Returns> {
        Some(match text {
            "auto" => Returns::Auto,
            "value" => Returns::Value,
            "ref" => Returns::Ref,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Call {
    pub library: String,
    pub python_module: String,
    pub call_type: CallType,
    /// The function or method name (a dotted path for functions: `fft.fft`).
    pub function: Option<String>,
    pub class: Option<String>,
    pub attr: Option<String>,
    pub instance: Option<Ref>,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// Calls in one session run on one worker, and references they make belong to it.
    pub session: Option<String>,
    /// The worker (its pid) holding the objects the call passes, where it must run.
    pub worker: Option<u32>,
    pub returns: Returns,
    /// Overrides the pool's call timeout.
    pub timeout: Option<Duration>,
}

impl Call {
    fn new(python_module: &str, call_type: CallType) -> Call {
        Call {
            library: python_module
                .split('.')
                .next()
                .unwrap_or(python_module)
                .to_string(),
            python_module: python_module.to_string(),
            call_type,
            function: None,
            class: None,
            attr: None,
            instance: None,
            args: Vec::new(),
            kwargs: Map::new(),
            session: None,
            worker: None,
            returns: Returns::Auto,
            timeout: None,
        }
    }

    /// A call on `instance`, in the session that owns it.
    fn on(instance: &Ref, call_type: CallType) -> Call {
        Call {
            instance: Some(instance.clone()),
            session: Some(instance.session.clone()),
            worker: instance.worker_pid(),
            ..Call::new(&instance.library, call_type)
        }
    }

    /// `python_module.function(...)`.
    pub fn function(python_module: &str, function: &str) -> Call {
        Call {
            function: Some(function.to_string()),
            ..Call::new(python_module, CallType::Function)
        }
    }

    /// `python_module.class(...)`: a new instance.
    pub fn class(python_module: &str, class: &str) -> Call {
        Call {
            class: Some(class.to_string()),
            ..Call::new(python_module, CallType::Class)
        }
    }

    /// `instance.method(...)`.
    pub fn method(instance: &Ref, method: &str) -> Call {
        Call {
            function: Some(method.to_string()),
            ..Call::on(instance, CallType::Method)
        }
    }

    /// `instance.attr`.
    pub fn get_attr(instance: &Ref, attr: &str) -> Call {
        Call {
            attr: Some(attr.to_string()),
            ..Call::on(instance, CallType::GetAttr)
        }
    }

    /// `instance.attr = value`.
    pub fn set_attr(instance: &Ref, attr: &str, value: impl Into<Value>) -> Call {
        Call {
            attr: Some(attr.to_string()),
            args: vec![value.into()],
            ..Call::on(instance, CallType::SetAttr)
        }
    }

    /// `python_module.attr`, a constant.
    pub fn module_attr(python_module: &str, attr: &str) -> Call {
        Call {
            attr: Some(attr.to_string()),
            ..Call::new(python_module, CallType::ModuleAttr)
        }
    }

    /// For [`Pool::stream`](crate::Pool::stream): the items of the iterable `instance`.
    pub fn iterate(instance: &Ref) -> Call {
        Call::on(instance, CallType::Iterate)
    }

    pub fn arg(mut self, value: impl Into<Value>) -> Call {
        self.args.push(value.into());
        self
    }

    pub fn kwarg(mut self, name: &str, value: impl Into<Value>) -> Call {
        self.kwargs.insert(name.to_string(), value.into());
        self
    }

    pub fn session(mut self, session: &str) -> Call {
        self.session = Some(session.to_string());
        self
    }

    pub fn returns(mut self, returns: Returns) -> Call {
        self.returns = returns;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Call {
        self.timeout = Some(timeout);
        self
    }

    /// The JSON payload the worker receives.
    pub fn payload(&self) -> Value {
        let mut payload = json!({
            "protocol_version": PROTOCOL_VERSION,
            "library": self.library,
            "python_module": self.python_module,
            "call_type": self.call_type.as_str(),
            "args": self.args,
            "kwargs": self.kwargs,
            "session_id": self.session.as_deref().unwrap_or(""),
            "returns": self.returns.as_str(),
        });
        let fields = [
            ("function", self.function.as_ref().map(|f| json!(f))),
            ("class", self.class.as_ref().map(|c| json!(c))),
            ("attr", self.attr.as_ref().map(|a| json!(a))),
            ("instance", self.instance.as_ref().map(Ref::to_value)),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                payload[key] = value;
            }
        }
        payload
    }
}
