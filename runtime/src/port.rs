//! The pool served to Elixir over an Erlang port: `Port.open({:spawn_executable, snakebridge},
//! [{:packet, 4}, :binary, args: ["runtime", "serve"]])`.
//!
//! Every frame is a 4-byte big-endian length and a body. Requests are terms in external term
//! format, each carrying an id the reply repeats; requests run concurrently, replies arrive in
//! completion order:
//!
//! | request | reply term |
//! |---|---|
//! | `{:call, id, request}` | `{:ok, value}` or `{:error, error}` |
//! | `{:stream_open, id, request}` | `{:ok, stream_id}` |
//! | `{:stream_next, id, stream_id}` | `{:ok, [item]}`, `:done` |
//! | `{:stream_close, id, stream_id}` | `:ok` |
//! | `{:release_ref, id, ref}` | `{:ok, boolean}` |
//! | `{:release_session, id, session}` | `{:ok, count}` |
//! | `{:workers, id}` | `{:ok, [%{slot: n, pid: pid | nil, in_flight: n}]}` |
//! | `{:shutdown, id}` | none: the pool stops and the process exits |
//!
//! A `request` is a map with atom keys: `library`, `python_module`, `call_type` (an atom),
//! `function`, `class`, `attr`, `instance` (a `%SnakeBridge.Ref{}`), `args` (a list),
//! `kwargs` (a keyword list or map), `session`, `returns` (`:auto`, `:value` or `:ref`),
//! `timeout` (milliseconds) and `dynamic` (`true` for calls no generated wrapper covers).
//! An `error` is `%{kind: atom, python_type: binary | nil, message: binary, traceback:
//! binary | nil}`.
//!
//! A reply body is the 8-byte id, one flags byte (bit 0: the term holds sets to rebuild, see
//! [`term`](crate::term)), and the reply term, so the Elixir side routes a reply without
//! decoding it. End of input (the VM exited or closed the port) shuts the pool down.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eetf::{List, Map, Term};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::call::{Call, CallType, Returns};
use crate::error::Error;
use crate::pool::{CallStream, Pool};
use crate::term::{self, TermError, atom, atom_map, binary, field, integer, text, tuple};
use crate::value::Ref;

/// The largest request frame accepted, beyond the pool's message limit: a garbled length
/// must not make the server allocate gigabytes.
const FRAME_SLACK: usize = 1024 * 1024;

/// Called for every request marked `dynamic`: the host records it in the ledger.
pub type DynamicHook = Arc<dyn Fn(&Call) + Send + Sync>;

type Streams = Arc<Mutex<HashMap<u64, Arc<tokio::sync::Mutex<CallStream>>>>>;

/// Request frames in, reply frames out, without their length prefixes.
pub struct Frames {
    pub requests: mpsc::Receiver<Vec<u8>>,
    pub replies: mpsc::UnboundedSender<Vec<u8>>,
}

/// Frames over this process's stdin and stdout, read and written by two threads of their
/// own: blocking pipe I/O there costs one wake-up per frame, where tokio's stdio would hand
/// every read and write to its blocking pool. Replies queued together are written with one
/// flush. Requests end at end of input or at a frame over `max_frame` bytes.
pub fn stdio(max_frame: usize) -> Frames {
    let (request_tx, requests) = mpsc::channel(64);
    let (replies, mut reply_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut input = std::io::BufReader::new(std::io::stdin().lock());
        while let Ok(Some(body)) = read_frame(&mut input, max_frame + FRAME_SLACK) {
            if request_tx.blocking_send(body).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let mut output = std::io::BufWriter::new(std::io::stdout().lock());
        while let Some(body) = reply_rx.blocking_recv() {
            let mut written = write_frame(&mut output, &body);
            while let (Ok(()), Ok(more)) = (&written, reply_rx.try_recv()) {
                written = write_frame(&mut output, &more);
            }
            if written.and_then(|()| output.flush()).is_err() {
                break;
            }
        }
    });
    Frames { requests, replies }
}

fn write_frame(output: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    output.write_all(&length.to_be_bytes())?;
    output.write_all(body)
}

/// The next frame's body, or `None` at the end of input.
fn read_frame(input: &mut impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut length = [0; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > limit {
        return Err(std::io::Error::other(format!(
            "a {length}-byte request frame, over the limit"
        )));
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

/// Serves requests until they end (or a `shutdown` request), then shuts the pool down.
pub async fn serve(pool: Pool, frames: Frames, on_dynamic: Option<DynamicHook>) {
    let Frames {
        mut requests,
        replies,
    } = frames;
    let streams: Streams = Arc::default();
    let next_stream = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(Notify::new());
    loop {
        let body = tokio::select! {
            body = requests.recv() => body,
            () = stop.notified() => None,
        };
        let Some(body) = body else {
            break;
        };
        let handler = Handler {
            pool: pool.clone(),
            streams: streams.clone(),
            next_stream: next_stream.clone(),
            replies: replies.clone(),
            on_dynamic: on_dynamic.clone(),
            stop: stop.clone(),
        };
        tokio::spawn(async move { handler.handle(&body).await });
    }
    pool.shutdown(Duration::from_secs(2)).await;
}

/// Answers every request with `message` until they end: the pool could not start, and
/// callers should learn why rather than find the port closed.
pub async fn refuse(message: &str, frames: Frames) {
    let Frames {
        mut requests,
        replies,
    } = frames;
    let error = tuple(vec![
        atom("error"),
        atom_map(vec![
            ("kind", atom("runtime_unavailable")),
            ("python_type", atom("nil")),
            ("message", binary(message)),
            ("traceback", atom("nil")),
        ]),
    ]);
    let mut encoded = Vec::new();
    if error.encode(&mut encoded).is_err() {
        return;
    }
    while let Some(body) = requests.recv().await {
        let Some((kind, id)) = request_head(&body) else {
            continue;
        };
        if kind == "shutdown" {
            break;
        }
        let mut reply = id.to_be_bytes().to_vec();
        reply.push(0);
        reply.extend_from_slice(&encoded);
        let _ = replies.send(reply);
    }
}

/// A request's kind and id.
fn request_head(body: &[u8]) -> Option<(String, u64)> {
    match Term::decode(body).ok()? {
        Term::Tuple(t) => match (t.elements.first()?, t.elements.get(1)?) {
            (Term::Atom(kind), id) => Some((kind.name.clone(), integer_id(id)?)),
            _ => None,
        },
        _ => None,
    }
}

fn integer_id(term: &Term) -> Option<u64> {
    match term {
        Term::FixInteger(i) => u64::try_from(i.value).ok(),
        Term::BigInteger(i) => u64::try_from(&i.value).ok(),
        _ => None,
    }
}

struct Handler {
    pool: Pool,
    streams: Streams,
    next_stream: Arc<AtomicU64>,
    replies: mpsc::UnboundedSender<Vec<u8>>,
    on_dynamic: Option<DynamicHook>,
    stop: Arc<Notify>,
}

/// What a request gets back, before encoding.
enum Reply {
    Ok(Term, bool),
    Error(Term),
    Bare(Term),
}

impl Handler {
    async fn handle(&self, body: &[u8]) {
        let request = match Term::decode(body) {
            Ok(Term::Tuple(t)) => t.elements,
            _ => return report("a request frame that is not a tuple in external term format"),
        };
        let Some(id) = request.get(1).and_then(integer_id) else {
            return report("a request without an integer id");
        };
        let kind = match request.first() {
            Some(Term::Atom(a)) => a.name.as_str(),
            _ => "",
        };
        let argument = request.get(2);
        let reply = match (kind, argument) {
            ("call", Some(Term::Map(map))) => self.call(map).await,
            ("stream_open", Some(Term::Map(map))) => self.stream_open(map).await,
            ("stream_next", Some(stream)) => self.stream_next(stream).await,
            ("stream_close", Some(stream)) => {
                if let Some(id) = integer_id(stream) {
                    self.lock_streams().remove(&id);
                }
                Reply::Bare(atom("ok"))
            }
            ("release_ref", Some(Term::Map(map))) => {
                let reference = term::to_json(&Term::Map(map.clone()))
                    .ok()
                    .and_then(|v| Ref::from_value(&v));
                match reference {
                    Some(reference) => match self.pool.release_ref(&reference).await {
                        Ok(released) => Reply::Ok(atom(bool_name(released)), false),
                        Err(e) => Reply::Error(error_term(&e)),
                    },
                    None => invalid("release_ref takes a %SnakeBridge.Ref{}"),
                }
            }
            ("release_session", Some(session)) => match text(session) {
                Some(session) => match self.pool.release_session(session).await {
                    Ok(count) => Reply::Ok(integer(count as i64), false),
                    Err(e) => Reply::Error(error_term(&e)),
                },
                None => invalid("release_session takes the session id, a string"),
            },
            ("workers", _) => Reply::Ok(self.workers(), false),
            ("shutdown", _) => {
                self.stop.notify_one();
                return;
            }
            _ => invalid(&format!("unknown request `{kind}`")),
        };
        self.send(id, reply);
    }

    fn lock_streams(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<tokio::sync::Mutex<CallStream>>>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn call(&self, request: &Map) -> Reply {
        let call = match self.parse(request) {
            Ok(call) => call,
            Err(e) => return invalid(&e.0),
        };
        match self.pool.call(&call).await {
            Ok(value) => value_reply(&value),
            Err(e) => Reply::Error(error_term(&e)),
        }
    }

    async fn stream_open(&self, request: &Map) -> Reply {
        let call = match self.parse(request) {
            Ok(call) => call,
            Err(e) => return invalid(&e.0),
        };
        match self.pool.stream(&call).await {
            Ok(stream) => {
                let id = self.next_stream.fetch_add(1, Ordering::SeqCst);
                self.lock_streams()
                    .insert(id, Arc::new(tokio::sync::Mutex::new(stream)));
                Reply::Ok(integer(id as i64), false)
            }
            Err(e) => Reply::Error(error_term(&e)),
        }
    }

    async fn stream_next(&self, stream: &Term) -> Reply {
        let id = integer_id(stream);
        let stream = id.and_then(|id| self.lock_streams().get(&id).cloned());
        let Some(stream) = stream else {
            return invalid("no such stream: it ended, was closed, or never opened");
        };
        let next = stream.lock().await.next_batch().await;
        match next {
            Some(Ok(items)) => value_reply(&Value::Array(items)),
            Some(Err(e)) => {
                self.forget(id);
                Reply::Error(error_term(&e))
            }
            None => {
                self.forget(id);
                Reply::Bare(atom("done"))
            }
        }
    }

    fn forget(&self, id: Option<u64>) {
        if let Some(id) = id {
            self.lock_streams().remove(&id);
        }
    }

    fn workers(&self) -> Term {
        Term::List(List {
            elements: self
                .pool
                .workers()
                .into_iter()
                .map(|w| {
                    atom_map(vec![
                        ("slot", integer(w.slot as i64)),
                        ("pid", w.pid.map_or(atom("nil"), |p| integer(i64::from(p)))),
                        ("in_flight", integer(w.in_flight as i64)),
                    ])
                })
                .collect(),
        })
    }

    fn parse(&self, request: &Map) -> Result<Call, TermError> {
        let string = |key: &str| field(request, key).and_then(text).map(str::to_string);
        let call_type = match field(request, "call_type") {
            Some(Term::Atom(a)) => CallType::parse(&a.name)
                .ok_or_else(|| TermError(format!("unknown call_type `{}`", a.name)))?,
            _ => CallType::Function,
        };
        let python_module = string("python_module").unwrap_or_default();
        let instance = match field(request, "instance") {
            None => None,
            Some(Term::Atom(a)) if a.name == "nil" => None,
            Some(term) => Some(
                Ref::from_value(&term::to_json(term)?)
                    .ok_or_else(|| TermError("`instance` is not a %SnakeBridge.Ref{}".into()))?,
            ),
        };
        let args = match field(request, "args") {
            None => Vec::new(),
            Some(term) => match term::to_json(term)? {
                Value::Array(items) => items,
                _ => return Err(TermError("`args` must be a list".into())),
            },
        };
        let call = Call {
            library: string("library").unwrap_or_else(|| {
                python_module
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            }),
            python_module,
            call_type,
            function: string("function"),
            class: string("class"),
            attr: string("attr"),
            instance,
            args,
            kwargs: kwargs(field(request, "kwargs"))?,
            session: string("session"),
            returns: match field(request, "returns") {
                Some(Term::Atom(a)) if a.name != "nil" => Returns::parse(&a.name)
                    .ok_or_else(|| TermError(format!("unknown returns `{}`", a.name)))?,
                _ => Returns::Auto,
            },
            timeout: match field(request, "timeout") {
                Some(Term::FixInteger(i)) if i.value > 0 => {
                    Some(Duration::from_millis(i.value as u64))
                }
                Some(Term::BigInteger(i)) => {
                    u64::try_from(&i.value).ok().map(Duration::from_millis)
                }
                _ => None,
            },
        };
        if matches!(field(request, "dynamic"), Some(Term::Atom(a)) if a.name == "true")
            && let Some(hook) = &self.on_dynamic
        {
            hook(&call);
        }
        Ok(call)
    }

    fn send(&self, id: u64, reply: Reply) {
        let (term, has_sets) = match reply {
            Reply::Ok(value, has_sets) => (tuple(vec![atom("ok"), value]), has_sets),
            Reply::Error(error) => (tuple(vec![atom("error"), error]), false),
            Reply::Bare(term) => (term, false),
        };
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&id.to_be_bytes());
        body.push(u8::from(has_sets));
        if term.encode(&mut body).is_err() {
            return report("a reply that cannot be encoded");
        }
        let _ = self.replies.send(body);
    }
}

fn kwargs(term: Option<&Term>) -> Result<serde_json::Map<String, Value>, TermError> {
    let mut out = serde_json::Map::new();
    match term {
        None => {}
        Some(Term::Atom(a)) if a.name == "nil" => {}
        Some(Term::List(list)) => {
            for pair in &list.elements {
                match pair {
                    Term::Tuple(t) if t.elements.len() == 2 => {
                        let key = match &t.elements[0] {
                            Term::Atom(a) => a.name.clone(),
                            other => text(other)
                                .ok_or_else(|| {
                                    TermError("keyword argument names must be atoms".into())
                                })?
                                .to_string(),
                        };
                        out.insert(key, term::to_json(&t.elements[1])?);
                    }
                    _ => return Err(TermError("`kwargs` must be a keyword list".into())),
                }
            }
        }
        Some(Term::Map(map)) => {
            for (key, value) in &map.map {
                let key = match key {
                    Term::Atom(a) => a.name.clone(),
                    other => text(other)
                        .ok_or_else(|| {
                            TermError("keyword argument names must be atoms or strings".into())
                        })?
                        .to_string(),
                };
                out.insert(key, term::to_json(value)?);
            }
        }
        Some(_) => return Err(TermError("`kwargs` must be a keyword list".into())),
    }
    Ok(out)
}

fn value_reply(value: &Value) -> Reply {
    match term::from_json(value) {
        Ok(decoded) => Reply::Ok(decoded.term, decoded.has_sets),
        Err(e) => Reply::Error(error_term(&Error::Protocol(e.0))),
    }
}

fn bool_name(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

fn invalid(message: &str) -> Reply {
    Reply::Error(atom_map(vec![
        ("kind", atom("invalid_request")),
        ("python_type", atom("nil")),
        ("message", binary(message)),
        ("traceback", atom("nil")),
    ]))
}

fn error_term(error: &Error) -> Term {
    let (python_type, traceback) = match error {
        Error::Python(e) => (binary(&e.python_type), binary(&e.traceback)),
        _ => (atom("nil"), atom("nil")),
    };
    let message = match error {
        Error::Python(e) => e.message.clone(),
        other => other.to_string(),
    };
    atom_map(vec![
        ("kind", atom(error.kind())),
        ("python_type", python_type),
        ("message", binary(&message)),
        ("traceback", traceback),
    ])
}

fn report(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "snakebridge runtime: ignored {message}");
}
