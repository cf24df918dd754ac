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
//! | `{:repr_ref, id, {ref, limit}}` | `{:ok, text}`: a short `repr`, at most `limit` characters |
//! | `{:workers, id}` | `{:ok, [%{slot: n, pid: pid | nil, in_flight: n}]}` |
//! | `{:shutdown, id}` | none: the pool stops and the process exits |
//! | `{:callback_return, conversation, {:ok, value} \| {:error, %{type: .., message: ..}}}` | none: what an Elixir function returned or raised, for Python |
//!
//! A call whose arguments hold functions is a conversation: each time Python calls one, the
//! request the calling process waits on (the call's, or the innermost call made meanwhile) gets
//! a frame with flags bit 2 set, `{:callback, conversation, function, args}`; the process runs
//! it and answers `callback_return`. Calls it makes meanwhile carry `parent: conversation` and
//! run inside the call, in the worker thread waiting for the answer.
//!
//! A `request` is a map with atom keys: `library`, `python_module`, `call_type` (an atom),
//! `function`, `class`, `attr`, `instance` (a `%SnakeBridge.Ref{}`), `args` (a list),
//! `kwargs` (a keyword list or map), `session` (explicit, or `nil`), `owner` (the calling
//! process's own session), `parent` (the conversation a callback's call joins, or `nil`),
//! `returns` (`:auto`, `:value` or `:ref`), `timeout` (milliseconds) and `dynamic` (`true`
//! for calls no generated wrapper covers). A call runs in `session`
//! when set, else in the session of the references it passes (at any depth), else in
//! `owner`'s. An `error` is `%{kind: atom, python_type: binary | nil, message: binary,
//! traceback: binary | nil}`.
//!
//! A reply body is the 8-byte id, one flags byte (bit 0: the term holds sets to rebuild;
//! bit 1: atoms made in Python to look up, see [`term`](crate::term); bit 2: a callback
//! frame, below), and the reply term, so
//! the Elixir side routes a reply without decoding it. The first frame out, id 0, is
//! `{:hello, %{max_frame: bytes}}`: the Elixir side refuses a larger request before it sends
//! it. A larger one that arrives anyway is read past and answered `too_large`; one nested
//! deeper than the pool's `max_depth` is answered `invalid_request`. Neither ends the
//! runtime. End of input (the VM exited or closed the port) shuts the pool down.

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
use crate::pool::{CallStream, Pool, Step, Upstream};
use crate::term::{self, TermError, atom, atom_map, binary, field, integer, text, tuple};
use crate::value::Ref;

/// The largest request frame accepted, beyond the pool's message limit: a garbled length
/// must not make the server allocate gigabytes.
const FRAME_SLACK: usize = 1024 * 1024;

/// Called for every request marked `dynamic`: the host records it in the ledger.
pub type DynamicHook = Arc<dyn Fn(&Call) + Send + Sync>;

/// An open stream, and the session of the process that opened it: when that process exits,
/// its session is released and the stream closed with it.
struct OpenStream {
    owner: Option<String>,
    stream: Arc<tokio::sync::Mutex<CallStream>>,
}

type Streams = Arc<Mutex<HashMap<u64, OpenStream>>>;

/// Calls in progress whose arguments hold Elixir functions, by the id of the request that
/// started each.
type Conversations = Arc<Mutex<HashMap<u64, Arc<Conversation>>>>;

/// One call with Elixir functions, and what it is waiting for.
struct Conversation {
    upstream: Upstream,
    /// The functions Python may call, by the number their tags carry.
    functions: Mutex<HashMap<u64, Term>>,
    /// Requests made while a function ran, each waiting for its result; innermost last.
    nested: Mutex<Vec<u64>>,
}

/// The flags bit of a callback frame: `{:callback, conversation, function, args}`, sent to
/// the request the calling process waits on.
const CALLBACK: u8 = 4;

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request frame as read.
pub enum Incoming {
    Request(Vec<u8>),
    /// A frame over the limit, read past without being kept: its kind and id, when its first
    /// bytes show them, and its size.
    Oversized {
        head: Option<(String, u64)>,
        size: usize,
    },
}

/// Request frames in, reply frames out, without their length prefixes.
pub struct Frames {
    pub requests: mpsc::Receiver<Incoming>,
    pub replies: mpsc::UnboundedSender<Vec<u8>>,
}

/// The largest request frame, given the pool's message limit.
pub fn max_frame(max_message_bytes: usize) -> usize {
    max_message_bytes.saturating_add(FRAME_SLACK)
}

/// Frames over this process's stdin and stdout, read and written by two threads of their
/// own: blocking pipe I/O there costs one wake-up per frame, where tokio's stdio would hand
/// every read and write to its blocking pool. Replies queued together are written with one
/// flush. The first reply is the hello frame; requests end at end of input.
pub fn stdio(max_frame: usize) -> Frames {
    let (request_tx, requests) = mpsc::channel(64);
    let (replies, mut reply_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let _ = replies.send(hello(max_frame));
    std::thread::spawn(move || {
        let mut input = std::io::BufReader::new(std::io::stdin().lock());
        while let Ok(Some(frame)) = read_frame(&mut input, max_frame) {
            if request_tx.blocking_send(frame).is_err() {
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

/// `{:hello, %{max_frame: n}}`, as reply id 0.
fn hello(max_frame: usize) -> Vec<u8> {
    let term = tuple(vec![
        atom("hello"),
        atom_map(vec![(
            "max_frame",
            integer(i64::try_from(max_frame).unwrap_or(i64::MAX)),
        )]),
    ]);
    let mut body = vec![0; 9];
    // Encoding a small tuple into a vector cannot fail.
    let _ = term.encode(&mut body);
    body
}

/// The next frame, or `None` at the end of input. A frame over `limit` is read past in small
/// pieces, never held, so a garbled length or a huge argument costs no memory.
fn read_frame(input: &mut impl Read, limit: usize) -> std::io::Result<Option<Incoming>> {
    let mut length = [0; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > limit {
        let mut prefix = vec![0; length.min(HEAD_BYTES)];
        input.read_exact(&mut prefix)?;
        let rest = (length - prefix.len()) as u64;
        let skipped = std::io::copy(&mut input.take(rest), &mut std::io::sink())?;
        if skipped < rest {
            return Ok(None);
        }
        return Ok(Some(Incoming::Oversized {
            head: frame_head(&prefix),
            size: length,
        }));
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(Incoming::Request(body)))
}

/// Enough of a frame to hold its kind and id.
const HEAD_BYTES: usize = 300;

/// The kind and id at the start of a request frame (`{kind, id, ...}` in external term
/// format), read from its first bytes alone.
fn frame_head(prefix: &[u8]) -> Option<(String, u64)> {
    let rest = prefix.strip_prefix(&[131])?;
    let rest = match rest {
        [104, _arity, rest @ ..] => rest,
        [105, _, _, _, _, rest @ ..] => rest,
        _ => return None,
    };
    let (kind, rest) = match rest {
        [115 | 119, length, rest @ ..] => rest.split_at_checked(usize::from(*length))?,
        [100 | 118, high, low, rest @ ..] => {
            rest.split_at_checked(usize::from(u16::from_be_bytes([*high, *low])))?
        }
        _ => return None,
    };
    let kind = std::str::from_utf8(kind).ok()?.to_string();
    let id = match rest {
        [97, id, ..] => u64::from(*id),
        [98, a, b, c, d, ..] => u64::try_from(i32::from_be_bytes([*a, *b, *c, *d])).ok()?,
        [110, length, 0, digits @ ..] => {
            let digits = digits.get(..usize::from(*length))?;
            if digits.len() > 8 {
                return None;
            }
            digits
                .iter()
                .rev()
                .fold(0u64, |value, digit| (value << 8) | u64::from(*digit))
        }
        _ => return None,
    };
    Some((kind, id))
}

/// Serves requests until they end (or a `shutdown` request), then shuts the pool down.
pub async fn serve(pool: Pool, frames: Frames, on_dynamic: Option<DynamicHook>) {
    let Frames {
        mut requests,
        replies,
    } = frames;
    let streams: Streams = Arc::default();
    let conversations: Conversations = Arc::default();
    let next_stream = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(Notify::new());
    loop {
        let incoming = tokio::select! {
            incoming = requests.recv() => incoming,
            () = stop.notified() => None,
        };
        let handler = Handler {
            pool: pool.clone(),
            streams: streams.clone(),
            conversations: conversations.clone(),
            next_stream: next_stream.clone(),
            replies: replies.clone(),
            on_dynamic: on_dynamic.clone(),
            stop: stop.clone(),
        };
        match incoming {
            None => break,
            Some(Incoming::Request(body)) => {
                tokio::spawn(async move { handler.handle(&body).await });
            }
            Some(Incoming::Oversized { head, size }) => handler.oversized(head, size),
        }
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
    while let Some(incoming) = requests.recv().await {
        let head = match incoming {
            Incoming::Request(body) => request_head(&body),
            Incoming::Oversized { head, .. } => head,
        };
        let Some((kind, id)) = head else {
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
    conversations: Conversations,
    next_stream: Arc<AtomicU64>,
    replies: mpsc::UnboundedSender<Vec<u8>>,
    on_dynamic: Option<DynamicHook>,
    stop: Arc<Notify>,
}

/// What a request gets back, before encoding: a value with its flags byte, an error, or a
/// bare term.
enum Reply {
    Ok(Term, u8),
    Error(Term),
    Bare(Term),
    /// A bare term with its flags byte: a callback frame.
    Flagged(Term, u8),
}

/// Levels a request's own envelope (`{:call, id, %{args: [...]}}`) adds above its values.
const ENVELOPE_DEPTH: usize = 4;

impl Handler {
    /// Answers a frame over the limit, when its head says who to answer.
    fn oversized(&self, head: Option<(String, u64)>, size: usize) {
        let limit = self.pool.max_message_bytes();
        match head {
            Some((_, id)) => self.send(
                id,
                Reply::Error(error_term(&Error::TooLarge {
                    limit,
                    detail: format!("the request frame is {size} bytes"),
                })),
            ),
            None => report(&format!(
                "a {size}-byte frame over the limit, whose id is unreadable"
            )),
        }
    }

    async fn handle(&self, body: &[u8]) {
        // Before anything that recurses decodes it: a deep term would overflow the stack.
        if let Err(e) = term::check_depth(body, self.pool.max_depth() + ENVELOPE_DEPTH) {
            match frame_head(body) {
                Some((_, id)) => self.send(id, invalid(&e.0)),
                None => report(&e.0),
            }
            return;
        }
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
            ("call", Some(Term::Map(map))) => match self.call(id, map).await {
                Some(reply) => reply,
                // Made during a callback: its result comes through the conversation.
                None => return,
            },
            ("callback_return", Some(outcome)) => return self.callback_return(id, outcome),
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
                        Ok(released) => Reply::Ok(atom(bool_name(released)), 0),
                        Err(e) => Reply::Error(error_term(&e)),
                    },
                    None => invalid("release_ref takes a %SnakeBridge.Ref{}"),
                }
            }
            ("repr_ref", Some(Term::Tuple(pair))) => {
                let reference = pair
                    .elements
                    .first()
                    .and_then(|r| term::to_json(r).ok().and_then(|v| Ref::from_value(&v)));
                let limit = pair.elements.get(1).and_then(integer_id);
                match (reference, limit) {
                    (Some(reference), Some(limit)) => {
                        match self.pool.repr(&reference, limit.min(4096) as usize).await {
                            Ok(text) => Reply::Ok(Term::Binary(text.into_bytes().into()), 0),
                            Err(e) => Reply::Error(error_term(&e)),
                        }
                    }
                    _ => invalid("repr_ref takes {%SnakeBridge.Ref{}, limit}"),
                }
            }
            ("release_session", Some(session)) => match text(session) {
                Some(session) => self.release_session(session).await,
                None => invalid("release_session takes the session id, a string"),
            },
            ("workers", _) => Reply::Ok(self.workers(), 0),
            ("shutdown", _) => {
                self.stop.notify_one();
                return;
            }
            _ => invalid(&format!("unknown request `{kind}`")),
        };
        self.send(id, reply);
    }

    /// Frees a session's objects. A stream its process left open ends with it: dropping the
    /// stream closes the Python iterator.
    async fn release_session(&self, session: &str) -> Reply {
        self.lock_streams()
            .retain(|_, open| open.owner.as_deref() != Some(session));
        match self.pool.release_session(session).await {
            Ok(count) => Reply::Ok(integer(count as i64), 0),
            Err(e) => Reply::Error(error_term(&e)),
        }
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OpenStream>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a call; `None` when it was made during a callback, and its reply comes through
    /// the conversation it joined.
    async fn call(&self, id: u64, request: &Map) -> Option<Reply> {
        let (call, functions) = match self.parse(request) {
            Ok(parsed) => parsed,
            Err(e) => return Some(invalid(&e.0)),
        };
        let parent = field(request, "parent")
            .and_then(integer_id)
            .and_then(|parent| locked(&self.conversations).get(&parent).cloned());
        if let Some(conversation) = parent {
            let payload = match self.pool.payload(&call) {
                Ok(payload) => payload,
                Err(e) => return Some(Reply::Error(error_term(&e))),
            };
            locked(&conversation.functions).extend(functions);
            locked(&conversation.nested).push(id);
            conversation.upstream.call(payload);
            return None;
        }
        if !functions.is_empty() {
            return Some(self.converse(id, &call, functions).await);
        }
        Some(match self.pool.call(&call).await {
            Ok(value) => {
                self.record_dynamic(request, &call);
                value_reply(&value)
            }
            Err(e) => Reply::Error(error_term(&e)),
        })
    }

    /// Runs a call whose arguments hold Elixir functions. Each time Python calls one, the
    /// process waiting on the innermost open request gets a callback frame, runs the function
    /// and answers with `callback_return`; calls it makes meanwhile carry this request's id as
    /// their `parent` and run inside this call, nested as deep as Python likes.
    async fn converse(&self, id: u64, call: &Call, functions: Vec<(u64, Term)>) -> Reply {
        let mut interaction = match self.pool.interact(call).await {
            Ok(interaction) => interaction,
            Err(e) => return Reply::Error(error_term(&e)),
        };
        let conversation = Arc::new(Conversation {
            upstream: interaction.upstream(),
            functions: Mutex::new(functions.into_iter().collect()),
            nested: Mutex::new(Vec::new()),
        });
        locked(&self.conversations).insert(id, conversation.clone());
        let reply = loop {
            match interaction.next().await {
                Step::Callback { id: function, args } => {
                    let innermost = locked(&conversation.nested).last().copied().unwrap_or(id);
                    let fun = locked(&conversation.functions).get(&function).cloned();
                    match (fun, term::from_json(&Value::Array(args))) {
                        (Some(fun), Ok(args)) => {
                            let flags = args.flags() | CALLBACK;
                            let frame =
                                tuple(vec![atom("callback"), integer(id as i64), fun, args.term]);
                            self.send(innermost, Reply::Flagged(frame, flags));
                        }
                        (None, _) => conversation.upstream.returned(Err((
                            "SnakeBridge.UnknownFunction".into(),
                            format!("no Elixir function {function} was passed to this call"),
                        ))),
                        (_, Err(e)) => conversation
                            .upstream
                            .returned(Err(("SnakeBridge.BadArguments".into(), e.0))),
                    }
                }
                Step::Result(result) => {
                    let reply = match result {
                        Ok(value) => value_reply(&value),
                        Err(e) => Reply::Error(error_term(&e)),
                    };
                    let nested = locked(&conversation.nested).pop();
                    match nested {
                        Some(nested) => self.send(nested, reply),
                        None => break reply,
                    }
                }
            }
        };
        locked(&self.conversations).remove(&id);
        drop(conversation);
        interaction.finish().await;
        reply
    }

    /// What an Elixir function returned: `{:ok, value}`, or `{:error, %{type: .., message: ..}}`
    /// for what it raised. A conversation that has ended takes nothing.
    fn callback_return(&self, id: u64, outcome: &Term) {
        let Some(conversation) = locked(&self.conversations).get(&id).cloned() else {
            return;
        };
        let bad = |message: String| Err(("SnakeBridge.BadReturn".to_string(), message));
        let outcome = match outcome {
            Term::Tuple(t) => match (t.elements.first(), t.elements.get(1)) {
                (Some(Term::Atom(a)), Some(value)) if a.name == "ok" => {
                    let mut json = term::Json::new(self.pool.max_depth());
                    match json.convert(value) {
                        Ok(value) => {
                            locked(&conversation.functions).extend(json.functions);
                            let bytes = value.to_string().into_bytes();
                            let limit = self.pool.max_message_bytes();
                            if bytes.len() > limit {
                                bad(format!(
                                    "the Elixir function returned {} bytes, over the runtime's limit of {limit} (`max_message_bytes`)",
                                    bytes.len()
                                ))
                            } else {
                                Ok(bytes)
                            }
                        }
                        Err(e) => bad(format!("the Elixir function returned {}", e.0)),
                    }
                }
                (Some(Term::Atom(a)), Some(Term::Map(error))) if a.name == "error" => {
                    let text = |key| field(error, key).and_then(text).unwrap_or_default();
                    Err((text("type").to_string(), text("message").to_string()))
                }
                _ => bad("a callback_return that is neither {:ok, value} nor {:error, map}".into()),
            },
            _ => bad("a callback_return that is not a tuple".into()),
        };
        conversation.upstream.returned(outcome);
    }

    /// Tells the hook about a dynamic call that succeeded: only those are worth a wrapper.
    fn record_dynamic(&self, request: &Map, call: &Call) {
        if matches!(field(request, "dynamic"), Some(Term::Atom(a)) if a.name == "true")
            && let Some(hook) = &self.on_dynamic
        {
            hook(call);
        }
    }

    async fn stream_open(&self, request: &Map) -> Reply {
        let call = match self.parse(request) {
            Ok((_, functions)) if !functions.is_empty() => {
                return invalid(
                    "a stream call cannot take Elixir functions; call the function itself, or pass a reference",
                );
            }
            Ok((call, _)) => call,
            Err(e) => return invalid(&e.0),
        };
        match self.pool.stream(&call).await {
            Ok(stream) => {
                self.record_dynamic(request, &call);
                let id = self.next_stream.fetch_add(1, Ordering::SeqCst);
                let owner = field(request, "owner").and_then(text).map(str::to_string);
                let stream = Arc::new(tokio::sync::Mutex::new(stream));
                self.lock_streams().insert(id, OpenStream { owner, stream });
                Reply::Ok(integer(id as i64), 0)
            }
            Err(e) => Reply::Error(error_term(&e)),
        }
    }

    async fn stream_next(&self, stream: &Term) -> Reply {
        let id = integer_id(stream);
        let stream = id.and_then(|id| self.lock_streams().get(&id).map(|o| o.stream.clone()));
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

    /// The call a request map describes, and the Elixir functions among its arguments.
    fn parse(&self, request: &Map) -> Result<(Call, Vec<(u64, Term)>), TermError> {
        let string = |key: &str| field(request, key).and_then(text).map(str::to_string);
        let call_type = match field(request, "call_type") {
            Some(Term::Atom(a)) => CallType::parse(&a.name)
                .ok_or_else(|| TermError(format!("unknown call_type `{}`", a.name)))?,
            _ => CallType::Function,
        };
        let python_module = string("python_module").unwrap_or_default();
        let mut values = term::Json::new(self.pool.max_depth());
        let instance = match field(request, "instance") {
            None => None,
            Some(Term::Atom(a)) if a.name == "nil" => None,
            Some(term) => Some(
                Ref::from_value(&values.convert(term)?)
                    .ok_or_else(|| TermError("`instance` is not a %SnakeBridge.Ref{}".into()))?,
            ),
        };
        let args = match field(request, "args") {
            None => Vec::new(),
            Some(term) => match values.convert(term)? {
                Value::Array(items) => items,
                _ => return Err(TermError("`args` must be a list".into())),
            },
        };
        let kwargs = kwargs(field(request, "kwargs"), &mut values)?;
        let session = session(string("session"), &values.refs, string("owner"))?;
        let worker = values.refs.first().and_then(Ref::worker_pid);
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
            kwargs,
            session,
            worker,
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
        Ok((call, values.functions))
    }

    fn send(&self, id: u64, reply: Reply) {
        let (term, flags) = match reply {
            Reply::Ok(value, flags) => (tuple(vec![atom("ok"), value]), flags),
            Reply::Error(error) => (tuple(vec![atom("error"), error]), 0),
            Reply::Bare(term) => (term, 0),
            Reply::Flagged(term, flags) => (term, flags),
        };
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&id.to_be_bytes());
        body.push(flags);
        if term.encode(&mut body).is_err() {
            return report("a reply that cannot be encoded");
        }
        let _ = self.replies.send(body);
    }
}

/// Where a call runs: its explicit session, else that of the references it passes, else its
/// caller's own. References from two workers, or two sessions, cannot meet in one call.
fn session(
    explicit: Option<String>,
    refs: &[Ref],
    owner: Option<String>,
) -> Result<Option<String>, TermError> {
    if let Some(first) = refs.first() {
        if let Some(other) = refs.iter().find(|r| r.worker_pid() != first.worker_pid()) {
            let worker = |r: &Ref| {
                r.worker_pid()
                    .map_or("?".to_string(), |pid| pid.to_string())
            };
            return Err(TermError(format!(
                "this call passes objects from two Python workers: {} (worker {}) and {} (worker {}); an object cannot move between workers, so make them in one session (`SnakeBridge.with_session/1`)",
                first.id,
                worker(first),
                other.id,
                worker(other)
            )));
        }
        if explicit.is_none()
            && let Some(other) = refs.iter().find(|r| r.session != first.session)
        {
            return Err(TermError(format!(
                "this call passes objects of two sessions: {} (session {}) and {} (session {}); make them in one session (`SnakeBridge.with_session/1`), or name the session with `__runtime__: [session: ...]`",
                first.id, first.session, other.id, other.session
            )));
        }
    }
    Ok(explicit
        .or_else(|| refs.first().map(|r| r.session.clone()))
        .or(owner))
}

fn kwargs(
    term: Option<&Term>,
    values: &mut term::Json,
) -> Result<serde_json::Map<String, Value>, TermError> {
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
                        out.insert(key, values.convert(&t.elements[1])?);
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
                out.insert(key, values.convert(value)?);
            }
        }
        Some(_) => return Err(TermError("`kwargs` must be a keyword list".into())),
    }
    Ok(out)
}

fn value_reply(value: &Value) -> Reply {
    match term::from_json(value) {
        Ok(decoded) => {
            let flags = decoded.flags();
            Reply::Ok(decoded.term, flags)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_runs_where_its_references_are() {
        let reference = |id: &str, session: &str| Ref {
            id: id.into(),
            session: session.into(),
            library: "numpy".into(),
            python_type: "numpy.ndarray".into(),
        };
        let owner = || Some("elixir-1".to_string());
        assert_eq!(session(None, &[], owner()).unwrap(), owner());
        let a = reference("100-1", "elixir-7");
        assert_eq!(
            session(None, std::slice::from_ref(&a), owner()).unwrap(),
            Some("elixir-7".into())
        );
        assert_eq!(
            session(Some("mine".into()), std::slice::from_ref(&a), owner()).unwrap(),
            Some("mine".into())
        );
        let elsewhere = reference("200-3", "elixir-7");
        let error = session(None, &[a.clone(), elsewhere], owner())
            .unwrap_err()
            .0;
        assert!(
            error.contains("100-1 (worker 100)") && error.contains("200-3 (worker 200)"),
            "{error}"
        );
        let other_session = reference("100-2", "elixir-8");
        let error = session(None, &[a, other_session], owner()).unwrap_err().0;
        assert!(error.contains("two sessions"), "{error}");
    }

    #[test]
    fn a_frames_kind_and_id_come_from_its_first_bytes() {
        for id in [0u64, 5, 300, 1 << 40] {
            let mut bytes = Vec::new();
            let id_term = if id > i32::MAX as u64 {
                Term::BigInteger(eetf::BigInteger { value: id.into() })
            } else {
                integer(id as i64)
            };
            tuple(vec![atom("call"), id_term, binary(&"x".repeat(1000))])
                .encode(&mut bytes)
                .unwrap();
            assert_eq!(frame_head(&bytes[..HEAD_BYTES]), Some(("call".into(), id)));
        }
        assert_eq!(frame_head(b"nonsense"), None);
    }

    #[test]
    fn an_oversized_frame_is_read_past_and_the_next_one_read() {
        let mut input = Vec::new();
        let mut big = Vec::new();
        tuple(vec![atom("call"), integer(9), binary(&"x".repeat(5000))])
            .encode(&mut big)
            .unwrap();
        input.extend((big.len() as u32).to_be_bytes());
        input.extend(&big);
        input.extend(3u32.to_be_bytes());
        input.extend([1, 2, 3]);
        let mut reader = input.as_slice();
        match read_frame(&mut reader, 1000).unwrap() {
            Some(Incoming::Oversized { head, size }) => {
                assert_eq!(head, Some(("call".into(), 9)));
                assert_eq!(size, big.len());
            }
            _ => panic!("expected an oversized frame"),
        }
        match read_frame(&mut reader, 1000).unwrap() {
            Some(Incoming::Request(body)) => assert_eq!(body, [1, 2, 3]),
            _ => panic!("expected the next frame"),
        }
    }
}
