//! The pool: a fixed number of worker slots, a fair queue of calls waiting for capacity,
//! sessions pinned to a slot, and replacement of workers that crash, hang or stop answering.
//!
//! Each worker serves `threads_per_worker` threads, and the pool holds one connection to
//! each: one for bookkeeping (heartbeats, references), the others carrying one call at a
//! time. So a call never queues inside Python (where its deadline would run out unseen), a
//! heartbeat always finds a free thread, and a native worker runs the call on the thread that
//! read it, crossing no thread.
//!
//! A caller's deadline ends that caller's wait, nothing more: the call runs on in Python,
//! holding its thread, and the worker goes on serving every other session. A worker is
//! replaced, and its objects lost, only when it can no longer serve: it exited, it missed
//! heartbeats while no caller was waiting on it (stopped, or stuck in C code holding the
//! GIL), or every one of its threads runs a call past the pool's hard limit.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::PoolConfig;
use crate::call::Call;
use crate::error::{Error, PythonError};
use crate::proto::execute_response::Outcome;
use crate::proto::stream_chunk::Outcome as ChunkOutcome;
use crate::proto::{ExecuteRequest, StreamChunk};
use crate::python::WorkerDir;
use crate::value::Ref;
use crate::worker::Worker;

/// Parses a worker's JSON, bounded by `max_depth` levels (checked before parsing, so no
/// value can overflow a stack).
pub(crate) fn parse_json(bytes: &[u8], max_depth: usize) -> Result<Value, Error> {
    use serde::Deserialize;
    if crate::value::json_depth(bytes) > max_depth {
        return Err(Error::InvalidRequest(format!(
            "the result nests deeper than {max_depth} levels, the runtime's `max_depth`; return a reference instead (returns: :ref), or raise `max_depth` in the `[runtime]` table of snakebridge.toml"
        )));
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    json.disable_recursion_limit();
    let value = Value::deserialize(&mut json).map_err(|e| Error::Protocol(e.to_string()))?;
    json.end().map_err(|e| Error::Protocol(e.to_string()))?;
    Ok(value)
}

/// Consecutive failed starts after which a slot gives up and reports the error to calls.
const MAX_START_FAILURES: u32 = 5;

/// A pool of Python workers. Cloning is cheap; the workers stop when [`Pool::shutdown`] is
/// called or the last clone is dropped.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    config: PoolConfig,
    dir: Arc<WorkerDir>,
    state: Mutex<State>,
    closed: AtomicBool,
}

struct State {
    slots: Vec<Slot>,
    sessions: HashMap<String, usize>,
    waiters: VecDeque<Waiter>,
}

struct Slot {
    worker: SlotWorker,
    failures: u32,
    missed_heartbeats: u32,
}

enum SlotWorker {
    Ready(Arc<Worker>),
    Starting,
    Failed { reason: String, stderr: Vec<String> },
}

struct Waiter {
    place: Place,
    grant: oneshot::Sender<Lease>,
}

/// Where a call must run: its session's worker, or the worker holding the objects it passes
/// (which decides when the session is not pinned any more, say after its owner left).
#[derive(Clone, Default)]
struct Place {
    session: Option<String>,
    worker: Option<u32>,
}

/// What a pool slot is doing, for diagnostics and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    pub slot: usize,
    /// `None` while the slot's worker is starting or has failed to start.
    pub pid: Option<u32>,
    pub in_flight: usize,
}

/// The right to run one call on one worker; gives the capacity back when dropped.
struct Lease {
    inner: Arc<Inner>,
    slot: usize,
    worker: Arc<Worker>,
    /// The worker's connection (and so its thread) this lease's call runs on.
    connection: usize,
    /// The call ran past the hard limit and is taken as lost: its thread stays counted.
    stuck: bool,
    /// Already accounted for by whoever holds the state lock.
    defused: bool,
}

impl Lease {
    /// The client of the connection this lease holds.
    fn client(&self) -> crate::worker::Client {
        self.worker.client(self.connection)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.defused {
            self.inner
                .release(self.slot, &self.worker, self.connection, self.stuck);
        }
    }
}

/// Whether a call's caller stopped waiting: shared by the caller and the task that runs the
/// call, so exactly one of them counts it in and out of the worker's abandoned calls.
#[derive(Clone, Default)]
struct Abandon(Arc<AtomicBool>);

impl Abandon {
    /// The caller gives up.
    fn caller_left(&self, worker: &Worker) {
        if !self.0.swap(true, Ordering::SeqCst) {
            worker.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The call is over.
    fn call_ended(&self, worker: &Worker) {
        if self.0.swap(true, Ordering::SeqCst) {
            worker.abandoned.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A call's future that, dropped before it ends, finishes in a task of its own.
struct Detached<F: Future<Output: Send + 'static> + Send + 'static>(Option<Pin<Box<F>>>);

impl<F: Future<Output: Send + 'static> + Send + 'static> Future for Detached<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(running) = self.0.as_mut() else {
            return Poll::Pending;
        };
        let output = std::task::ready!(running.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(output)
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Drop for Detached<F> {
    fn drop(&mut self) {
        if let (Some(running), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(running);
        }
    }
}

impl Pool {
    /// Starts `config.workers` workers and waits until all are ready.
    pub async fn start(config: PoolConfig) -> Result<Pool, Error> {
        let dir = Arc::new(WorkerDir::create(config.native.as_deref()).map_err(|e| {
            Error::WorkerStart {
                python: config.python.clone(),
                reason: format!("cannot write the worker package: {e}"),
                stderr: vec![],
            }
        })?);
        let count = config.workers.max(1);
        let mut starts = Vec::new();
        for _ in 0..count {
            let config = config.clone();
            let dir = dir.clone();
            starts.push(tokio::spawn(
                async move { Worker::start(&config, &dir).await },
            ));
        }
        let mut workers = Vec::new();
        let mut failure = None;
        for start in starts {
            match start.await {
                Ok(Ok(worker)) => workers.push(worker),
                Ok(Err(e)) => failure = failure.or(Some(e)),
                Err(e) => failure = failure.or(Some(Error::Transport(e.to_string()))),
            }
        }
        if let Some(error) = failure {
            for worker in &workers {
                worker.kill();
            }
            return Err(error);
        }
        let inner = Arc::new(Inner {
            config,
            dir,
            state: Mutex::new(State {
                slots: workers
                    .iter()
                    .map(|w| Slot {
                        worker: SlotWorker::Ready(w.clone()),
                        failures: 0,
                        missed_heartbeats: 0,
                    })
                    .collect(),
                sessions: HashMap::new(),
                waiters: VecDeque::new(),
            }),
            closed: AtomicBool::new(false),
        });
        for (slot, worker) in workers.into_iter().enumerate() {
            tokio::spawn(monitor(Arc::downgrade(&inner), slot, worker));
        }
        tokio::spawn(heartbeats(Arc::downgrade(&inner)));
        Ok(Pool { inner })
    }

    /// Runs one call and returns its result.
    pub async fn call(&self, call: &Call) -> Result<Value, Error> {
        let payload = self.inner.encode(call)?;
        let (lease, deadline, timeout) = self.lease_for(call).await?;
        self.execute(lease, "snakebridge.call", payload, deadline, timeout)
            .await
    }

    /// Starts a call whose result is iterated in Python (a generator, or the iterable a
    /// reference names with [`Call::iterate`]) and streams its items, batched.
    pub async fn stream(&self, call: &Call) -> Result<CallStream, Error> {
        let payload = self.inner.encode(call)?;
        let (lease, deadline, timeout) = self.lease_for(call).await?;
        let request = tonic::Request::new(ExecuteRequest {
            tool: "snakebridge.stream".into(),
            payload,
        });
        let mut client = lease.client();
        let opening = client.execute_stream(request);
        let (lease, chunks) = self.opened(lease, deadline, timeout, opening).await?;
        Ok(CallStream {
            inner: self.inner.clone(),
            lease: Some(lease),
            chunks: Some(chunks),
            idle_timeout: timeout,
        })
    }

    /// Starts a call whose arguments hold Elixir functions (`callback` tags): the worker asks
    /// for each call of one through the returned [`Interaction`], and takes the calls made
    /// meanwhile through it. The lease is held until the interaction is dropped.
    pub async fn interact(&self, call: &Call) -> Result<Interaction, Error> {
        let payload = self.inner.encode(call)?;
        let (lease, deadline, timeout) = self.lease_for(call).await?;
        let (up, steps) = tokio::sync::mpsc::unbounded_channel();
        let upstream = Upstream(up);
        upstream.call(payload);
        let mut client = lease.client();
        let request =
            tonic::Request::new(tokio_stream::wrappers::UnboundedReceiverStream::new(steps));
        let opening = client.interact(request);
        let (lease, down) = self.opened(lease, deadline, timeout, opening).await?;
        Ok(Interaction {
            inner: self.inner.clone(),
            lease: Some(lease),
            down: Some(down),
            upstream,
            timeout,
        })
    }

    /// Waits, until `deadline`, for the worker to answer a streaming call's opening.
    async fn opened<T>(
        &self,
        lease: Lease,
        deadline: Instant,
        timeout: Duration,
        opening: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<(Lease, T), Error> {
        match tokio::time::timeout_at(deadline, opening).await {
            // Nothing ran yet that could hold a thread for long: give the capacity back.
            Err(_) => Err(Error::Timeout {
                after: timeout,
                queued: false,
            }),
            Ok(Err(status)) => Err(self.inner.classify(lease, &status).await),
            Ok(Ok(response)) => Ok((lease, response.into_inner())),
        }
    }

    /// A call's payload, for one made inside an [`Interaction`].
    pub fn payload(&self, call: &Call) -> Result<Vec<u8>, Error> {
        self.inner.encode(call)
    }

    /// The running worker that holds `reference`'s object, if it still runs.
    fn worker_of(&self, reference: &Ref) -> Option<Arc<Worker>> {
        let state = self.inner.lock();
        state.slots.iter().find_map(|slot| match &slot.worker {
            SlotWorker::Ready(w) if Some(w.pid) == reference.worker_pid() => Some(w.clone()),
            _ => None,
        })
    }

    /// Releases a reference; `false` if it was already gone.
    pub async fn release_ref(&self, reference: &Ref) -> Result<bool, Error> {
        let worker = self.worker_of(reference);
        let Some(worker) = worker else {
            return Ok(false);
        };
        let payload = serde_json::json!({
            "protocol_version": crate::call::PROTOCOL_VERSION,
            "ref": reference.to_value(),
        });
        let value = self
            .direct(&worker, "snakebridge.release_ref", &payload)
            .await?;
        Ok(value.as_bool().unwrap_or(false))
    }

    /// A short `repr` of a reference's object, at most `limit` characters, for showing it
    /// (Elixir's `Inspect`); taken on the thread each worker keeps free for bookkeeping.
    pub async fn repr(&self, reference: &Ref, limit: usize) -> Result<String, Error> {
        let worker = self.worker_of(reference);
        let Some(worker) = worker else {
            return Err(Error::Python(PythonError {
                python_type: "snakebridge.RefNotFoundError".into(),
                message: format!(
                    "reference {} was made by a worker that is no longer running; its objects are gone",
                    reference.id
                ),
                traceback: String::new(),
            }));
        };
        let payload = serde_json::json!({
            "protocol_version": crate::call::PROTOCOL_VERSION,
            "ref": reference.to_value(),
            "limit": limit,
        });
        let value = self.direct(&worker, "snakebridge.repr", &payload).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Releases every reference of a session and unpins it; returns how many there were.
    pub async fn release_session(&self, session: &str) -> Result<u64, Error> {
        let worker = {
            let mut state = self.inner.lock();
            let slot = state.sessions.remove(session);
            slot.and_then(|slot| match &state.slots[slot].worker {
                SlotWorker::Ready(w) => Some(w.clone()),
                _ => None,
            })
        };
        let Some(worker) = worker else {
            return Ok(0);
        };
        let payload = serde_json::json!({
            "protocol_version": crate::call::PROTOCOL_VERSION,
            "session_id": session,
        });
        let value = self
            .direct(&worker, "snakebridge.release_session", &payload)
            .await?;
        Ok(value.as_u64().unwrap_or(0))
    }

    /// The largest request or result, each way.
    pub fn max_message_bytes(&self) -> usize {
        self.inner.config.max_message_bytes
    }

    /// The deepest nesting of a value, each way.
    pub fn max_depth(&self) -> usize {
        self.inner.config.max_depth
    }

    /// The slots and what runs in them.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let state = self.inner.lock();
        state
            .slots
            .iter()
            .enumerate()
            .map(|(slot, s)| match &s.worker {
                SlotWorker::Ready(w) => WorkerInfo {
                    slot,
                    pid: Some(w.pid),
                    in_flight: w.in_flight.load(Ordering::SeqCst),
                },
                _ => WorkerInfo {
                    slot,
                    pid: None,
                    in_flight: 0,
                },
            })
            .collect()
    }

    /// Waits until every slot has a ready worker (after a crash or replacement).
    pub async fn ready(&self) -> Result<(), Error> {
        loop {
            {
                let state = self.inner.lock();
                let mut all = true;
                for slot in &state.slots {
                    match &slot.worker {
                        SlotWorker::Ready(_) => {}
                        SlotWorker::Starting => all = false,
                        SlotWorker::Failed { reason, stderr } => {
                            return Err(self.inner.start_error(reason, stderr));
                        }
                    }
                }
                if all {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops taking calls, fails the queued ones, and stops every worker: stdin closed first,
    /// killed if it has not exited within `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let workers: Vec<Arc<Worker>> = {
            let mut state = self.inner.lock();
            state.waiters.clear();
            state
                .slots
                .iter()
                .filter_map(|slot| match &slot.worker {
                    SlotWorker::Ready(w) => Some(w.clone()),
                    _ => None,
                })
                .collect()
        };
        let mut stops = Vec::new();
        for worker in workers {
            stops.push(tokio::spawn(async move { worker.stop(grace).await }));
        }
        for stop in stops {
            let _ = stop.await;
        }
    }

    /// A worker for `call`, with the call's deadline and the timeout it comes from.
    async fn lease_for(&self, call: &Call) -> Result<(Lease, Instant, Duration), Error> {
        let timeout = call.timeout.unwrap_or(self.inner.config.call_timeout);
        let deadline = Instant::now() + timeout;
        let place = Place {
            session: call.session.clone(),
            worker: call.worker,
        };
        let lease = self.lease(place, deadline, timeout).await?;
        Ok((lease, deadline, timeout))
    }

    async fn lease(
        &self,
        place: Place,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Lease, Error> {
        let grant = {
            let mut state = self.inner.lock();
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(Error::ShutDown);
            }
            if let Some(lease) = self.inner.grant(&mut state, &place) {
                return Ok(lease);
            }
            if let Some(error) = self.inner.all_failed(&state) {
                return Err(error);
            }
            if state.waiters.len() >= self.inner.config.queue_limit {
                return Err(Error::Overloaded {
                    queued: state.waiters.len(),
                });
            }
            let (grant, receive) = oneshot::channel();
            state.waiters.push_back(Waiter { place, grant });
            receive
        };
        match tokio::time::timeout_at(deadline, grant).await {
            Ok(Ok(lease)) => Ok(lease),
            Ok(Err(_)) => Err(self
                .inner
                .all_failed(&self.inner.lock())
                .unwrap_or(Error::ShutDown)),
            Err(_) => Err(Error::Timeout {
                after: timeout,
                queued: true,
            }),
        }
    }

    /// Runs the call, holding the lease until Python is done. A caller that stops waiting, at
    /// its deadline or by dropping the call, hands the rest to a task of its own, so the thread
    /// stays counted as busy; until then the call runs in the caller's task, which saves a
    /// spawn and a wake-up per call.
    async fn execute(
        &self,
        lease: Lease,
        tool: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let inner = self.inner.clone();
        let hard = inner.config.hard_timeout;
        let mut request = tonic::Request::new(ExecuteRequest {
            tool: tool.into(),
            payload,
        });
        request.set_timeout(hard);
        let worker = lease.worker.clone();
        let abandon = Abandon::default();
        let mut running = Detached(Some(Box::pin({
            let abandon = abandon.clone();
            async move {
                let mut client = lease.client();
                let sent = tokio::time::timeout(hard, client.execute(request)).await;
                abandon.call_ended(&lease.worker);
                match sent {
                    Err(_) => Err(inner.stuck(lease)),
                    Ok(Err(status)) => Err(inner.classify(lease, &status).await),
                    Ok(Ok(response)) => {
                        drop(lease);
                        inner.outcome(response.into_inner().outcome)
                    }
                }
            }
        })));
        match tokio::time::timeout_at(deadline, &mut running).await {
            Ok(result) => result,
            Err(_) => {
                abandon.caller_left(&worker);
                Err(Error::Timeout {
                    after: timeout,
                    queued: false,
                })
            }
        }
    }

    /// A quick bookkeeping call outside the capacity accounting: it uses the thread the pool
    /// keeps free on every worker.
    async fn direct(&self, worker: &Worker, tool: &str, payload: &Value) -> Result<Value, Error> {
        let mut request = tonic::Request::new(ExecuteRequest {
            tool: tool.into(),
            payload: payload.to_string().into_bytes(),
        });
        let timeout = self.inner.config.call_timeout;
        request.set_timeout(timeout);
        let mut client = worker.bookkeeping();
        match tokio::time::timeout(timeout, client.execute(request)).await {
            Ok(Ok(response)) => self.inner.outcome(response.into_inner().outcome),
            Ok(Err(status)) => Err(worker.failure(&status).await),
            Err(_) => Err(Error::Timeout {
                after: timeout,
                queued: false,
            }),
        }
    }
}

impl Inner {
    /// A call's payload, refused before anything is sent when it is over the size limit.
    fn encode(&self, call: &Call) -> Result<Vec<u8>, Error> {
        let payload =
            serde_json::to_vec(&call.payload()).map_err(|e| Error::Protocol(e.to_string()))?;
        let limit = self.config.max_message_bytes;
        if payload.len() > limit {
            return Err(Error::TooLarge {
                limit,
                detail: format!("the request is {} bytes", payload.len()),
            });
        }
        Ok(payload)
    }

    fn outcome(&self, outcome: Option<Outcome>) -> Result<Value, Error> {
        self.answer(
            outcome.map(|o| match o {
                Outcome::Result(bytes) => Ok(bytes),
                Outcome::Error(e) => Err(e),
            }),
            "a response with neither result nor error",
        )
    }

    /// A worker's JSON, or its Python exception as an error (the worker's own limit errors as
    /// the runtime's); `missing` names an empty answer.
    fn answer(
        &self,
        answer: Option<Result<Vec<u8>, crate::proto::PythonError>>,
        missing: &str,
    ) -> Result<Value, Error> {
        match answer {
            Some(Ok(bytes)) => parse_json(&bytes, self.config.max_depth),
            Some(Err(e)) => Err(match e.r#type.as_str() {
                "snakebridge.TooLargeError" => Error::TooLarge {
                    limit: self.config.max_message_bytes,
                    detail: e.message,
                },
                "snakebridge.TooDeepError" => Error::InvalidRequest(e.message),
                _ => Error::Python(PythonError {
                    python_type: e.r#type,
                    message: e.message,
                    traceback: e.traceback,
                }),
            }),
            None => Err(Error::Protocol(missing.into())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough counters; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn capacity(&self) -> usize {
        self.config.calls_per_worker()
    }

    /// A lease on the slot of the worker holding the call's objects, else the session's, else
    /// the least busy one, if it has capacity now.
    fn grant(self: &Arc<Self>, state: &mut State, place: &Place) -> Option<Lease> {
        let capacity = self.capacity();
        let session = place.session.as_deref();
        let holder = place.worker.and_then(|pid| {
            state
                .slots
                .iter()
                .position(|slot| matches!(&slot.worker, SlotWorker::Ready(w) if w.pid == pid))
        });
        let mut bound = session.and_then(|s| state.sessions.get(s).copied());
        if let (Some(session), Some(slot)) = (session, bound) {
            // A slot that gave up on starting workers cannot serve its sessions: move them.
            if matches!(state.slots[slot].worker, SlotWorker::Failed { .. }) {
                state.sessions.remove(session);
                bound = None;
            }
        }
        let candidates: Vec<usize> = match holder.or(bound) {
            Some(slot) => vec![slot],
            None => (0..state.slots.len()).collect(),
        };
        let (slot, worker) = candidates
            .into_iter()
            .filter_map(|i| match &state.slots[i].worker {
                SlotWorker::Ready(w) if w.in_flight.load(Ordering::SeqCst) < capacity => {
                    Some((i, w.clone()))
                }
                _ => None,
            })
            .min_by_key(|(_, w)| w.in_flight.load(Ordering::SeqCst))?;
        if let (Some(session), None) = (session, bound) {
            state.sessions.insert(session.to_string(), slot);
        }
        worker.in_flight.fetch_add(1, Ordering::SeqCst);
        Some(Lease {
            inner: self.clone(),
            slot,
            connection: worker.take_connection(),
            worker,
            stuck: false,
            defused: false,
        })
    }

    /// Hands freed capacity to the waiters that can use it, oldest first.
    fn dispatch(self: &Arc<Self>, state: &mut State) {
        let mut index = 0;
        while index < state.waiters.len() {
            let place = state.waiters[index].place.clone();
            let Some(lease) = self.grant(state, &place) else {
                index += 1;
                continue;
            };
            let Some(waiter) = state.waiters.remove(index) else {
                break;
            };
            if let Err(mut lease) = waiter.grant.send(lease) {
                // The caller gave up (deadline, cancelled): take the capacity back here, under
                // the lock, rather than in the lease's drop.
                lease.worker.give_back(lease.connection);
                lease.worker.in_flight.fetch_sub(1, Ordering::SeqCst);
                lease.defused = true;
            }
            // The same index now holds the next waiter.
        }
    }

    fn release(
        self: &Arc<Self>,
        slot: usize,
        worker: &Arc<Worker>,
        connection: usize,
        stuck: bool,
    ) {
        if !stuck {
            worker.give_back(connection);
            worker.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        let mut state = self.lock();
        let current =
            matches!(&state.slots[slot].worker, SlotWorker::Ready(w) if Arc::ptr_eq(w, worker));
        if current {
            self.dispatch(&mut state);
        } else if worker.retiring.load(Ordering::SeqCst) && !worker.has_waiting_callers() {
            worker.kill();
        }
    }

    /// A call past the hard limit: its thread is taken as lost for good. A worker whose every
    /// thread is lost can no longer serve, and is replaced.
    fn stuck(self: &Arc<Self>, mut lease: Lease) -> Error {
        lease.stuck = true;
        let stuck = lease.worker.stuck.fetch_add(1, Ordering::SeqCst) + 1;
        if stuck >= self.capacity() {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "snakebridge runtime: every thread of Python worker {} runs a call past the hard limit of {:?}; replacing it (its objects are lost)",
                lease.worker.pid,
                self.config.hard_timeout
            );
            self.retire(lease.slot, &lease.worker);
        }
        Error::Stuck {
            after: self.config.hard_timeout,
        }
    }

    async fn classify(self: &Arc<Self>, lease: Lease, status: &tonic::Status) -> Error {
        use tonic::Code;
        let message = status.message();
        if status.code() == Code::DeadlineExceeded
            || (status.code() == Code::Cancelled && message.contains("Timeout expired"))
        {
            return self.stuck(lease);
        }
        if matches!(status.code(), Code::ResourceExhausted | Code::OutOfRange)
            && (message.contains("larger than max") || message.contains("too large"))
        {
            return Error::TooLarge {
                limit: self.config.max_message_bytes,
                detail: message.to_string(),
            };
        }
        let error = lease.worker.failure(status).await;
        if matches!(error, Error::WorkerCrashed { .. }) {
            // Before the caller can retry: the monitor may not have seen the exit yet.
            self.crashed(lease.slot, &lease.worker);
        }
        error
    }

    /// A worker that exited: if it was still serving its slot, start a replacement.
    fn crashed(self: &Arc<Self>, slot: usize, worker: &Arc<Worker>) {
        let mut state = self.lock();
        let current =
            matches!(&state.slots[slot].worker, SlotWorker::Ready(w) if Arc::ptr_eq(w, worker));
        if current && !self.closed.load(Ordering::SeqCst) {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "snakebridge runtime: Python worker {} exited ({}); starting a new one",
                worker.pid,
                worker.exit_status().unwrap_or_default()
            );
            state.slots[slot].worker = SlotWorker::Starting;
            spawn_replacement(self.clone(), slot, Duration::ZERO);
        }
    }

    /// Takes `worker` out of its slot and starts a replacement; kills it once no caller waits
    /// on it any more.
    fn retire(self: &Arc<Self>, slot: usize, worker: &Arc<Worker>) {
        worker.retiring.store(true, Ordering::SeqCst);
        {
            let mut state = self.lock();
            let current =
                matches!(&state.slots[slot].worker, SlotWorker::Ready(w) if Arc::ptr_eq(w, worker));
            if current && !self.closed.load(Ordering::SeqCst) {
                state.slots[slot].worker = SlotWorker::Starting;
                spawn_replacement(self.clone(), slot, Duration::ZERO);
            }
        }
        if !worker.has_waiting_callers() {
            worker.kill();
        }
    }

    fn start_error(&self, reason: &str, stderr: &[String]) -> Error {
        Error::WorkerStart {
            python: self.config.python.clone(),
            reason: reason.to_string(),
            stderr: stderr.to_vec(),
        }
    }

    /// The start error, when no slot has or will have a worker.
    fn all_failed(&self, state: &State) -> Option<Error> {
        let mut first = None;
        for slot in &state.slots {
            match &slot.worker {
                SlotWorker::Failed { reason, stderr } => {
                    first = first.or(Some((reason, stderr)));
                }
                _ => return None,
            }
        }
        first.map(|(reason, stderr)| self.start_error(reason, stderr))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        for slot in &state.slots {
            if let SlotWorker::Ready(worker) = &slot.worker {
                worker.kill();
            }
        }
    }
}

/// Starts a worker for `slot` after `delay`, and puts it to work.
fn spawn_replacement(inner: Arc<Inner>, slot: usize, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let started = Worker::start(&inner.config, &inner.dir).await;
        let mut state = inner.lock();
        if inner.closed.load(Ordering::SeqCst) {
            if let Ok(worker) = started {
                worker.kill();
            }
            return;
        }
        match started {
            Ok(worker) => {
                state.slots[slot] = Slot {
                    worker: SlotWorker::Ready(worker.clone()),
                    failures: 0,
                    missed_heartbeats: 0,
                };
                tokio::spawn(monitor(Arc::downgrade(&inner), slot, worker));
                inner.dispatch(&mut state);
            }
            Err(Error::WorkerStart { reason, stderr, .. }) => {
                let failures = state.slots[slot].failures + 1;
                state.slots[slot].failures = failures;
                if failures >= MAX_START_FAILURES {
                    state.slots[slot].worker = SlotWorker::Failed { reason, stderr };
                    if inner.all_failed(&state).is_some() {
                        // Nobody will serve the queue: dropping the senders fails the waiters.
                        state.waiters.clear();
                    }
                } else {
                    spawn_replacement(inner.clone(), slot, backoff(failures));
                }
            }
            Err(_) => spawn_replacement(inner.clone(), slot, backoff(1)),
        }
    });
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100 * 2u64.pow(failures.min(6)))
}

/// Waits for the worker to exit; if it was still serving its slot, that is a crash.
async fn monitor(inner: Weak<Inner>, slot: usize, worker: Arc<Worker>) {
    worker.exited().await;
    if let Some(inner) = inner.upgrade() {
        inner.crashed(slot, &worker);
    }
}

/// Pings the workers no caller waits on (idle, or running only calls whose callers gave up);
/// one that misses several in a row is stopped, or stuck in C code holding the GIL.
async fn heartbeats(inner: Weak<Inner>) {
    loop {
        let interval = match inner.upgrade() {
            Some(inner) => inner.config.heartbeat_interval,
            None => return,
        };
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let idle: Vec<(usize, Arc<Worker>)> = {
            let state = inner.lock();
            state
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, slot)| match &slot.worker {
                    SlotWorker::Ready(w) if !w.has_waiting_callers() => Some((i, w.clone())),
                    _ => None,
                })
                .collect()
        };
        for (slot, worker) in idle {
            let answered = worker
                .heartbeat(interval.min(Duration::from_secs(5)))
                .await
                .is_ok();
            let missed = {
                let mut state = inner.lock();
                let entry = &mut state.slots[slot];
                entry.missed_heartbeats = if answered {
                    0
                } else {
                    entry.missed_heartbeats + 1
                };
                entry.missed_heartbeats
            };
            if missed >= inner.config.heartbeat_misses.max(1) {
                inner.retire(slot, &worker);
            }
        }
    }
}

/// What the worker sends during an [`Interaction`].
pub enum Step {
    /// Python called Elixir function `id` with `args`.
    Callback { id: u64, args: Vec<Value> },
    /// The innermost open call ended.
    Result(Result<Value, Error>),
}

/// Sends steps to the worker of an [`Interaction`]; clones share the stream.
#[derive(Clone)]
pub struct Upstream(tokio::sync::mpsc::UnboundedSender<crate::proto::Interaction>);

impl Upstream {
    fn send(&self, step: crate::proto::interaction::Step) {
        // A closed stream ends the interaction, which its reader sees.
        let _ = self.0.send(crate::proto::Interaction { step: Some(step) });
    }

    /// A call made while an Elixir function runs: its result is the next `Step::Result`.
    pub fn call(&self, payload: Vec<u8>) {
        self.send(crate::proto::interaction::Step::Call(ExecuteRequest {
            tool: "snakebridge.call".into(),
            payload,
        }));
    }

    /// What the Elixir function Python is waiting on returned (JSON) or raised (the
    /// exception's type and message).
    pub fn returned(&self, outcome: Result<Vec<u8>, (String, String)>) {
        let outcome = match outcome {
            Ok(json) => Outcome::Result(json),
            Err((r#type, message)) => Outcome::Error(crate::proto::PythonError {
                r#type,
                message,
                traceback: String::new(),
            }),
        };
        self.send(crate::proto::interaction::Step::Returned(
            crate::proto::ExecuteResponse {
                outcome: Some(outcome),
            },
        ));
    }
}

/// A call with Elixir functions among its arguments, in progress: read its steps with
/// [`Interaction::next`], answer them through [`Interaction::upstream`].
pub struct Interaction {
    inner: Arc<Inner>,
    lease: Option<Lease>,
    /// `None` once a wait ran out and the rest went to a task of its own.
    down: Option<tonic::Streaming<crate::proto::Interaction>>,
    upstream: Upstream,
    timeout: Duration,
}

impl Interaction {
    pub fn upstream(&self) -> Upstream {
        self.upstream.clone()
    }

    /// Ends the interaction after its last result: closes the steps this side sends (once every
    /// [`Upstream`] clone is gone) and reads the worker's stream to its end. Dropping it
    /// instead resets the stream, and the worker's closing frames then arrive on a reset
    /// stream, which HTTP/2 counts against the connection until it gives up on it.
    pub async fn finish(self) {
        let Interaction {
            mut down,
            upstream,
            timeout,
            lease,
            ..
        } = self;
        drop(upstream);
        if let Some(down) = down.as_mut() {
            let drained = async { while let Ok(Some(_)) = down.message().await {} };
            let _ = tokio::time::timeout(timeout, drained).await;
        }
        drop(lease);
    }

    /// A wait ran out: the thread running the call stays counted until Python is done (it
    /// learns the caller left at its next step) or the hard limit, as an abandoned call's does.
    fn abandon(&mut self, lease: Lease) {
        let abandon = Abandon::default();
        abandon.caller_left(&lease.worker);
        let Some(mut down) = self.down.take() else {
            return;
        };
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let drained = async { while let Ok(Some(_)) = down.message().await {} };
            let ended = tokio::time::timeout(inner.config.hard_timeout, drained).await;
            abandon.call_ended(&lease.worker);
            if ended.is_err() {
                inner.stuck(lease);
            }
        });
    }

    /// The worker's next step. A wait longer than the call's timeout ends the interaction.
    pub async fn next(&mut self) -> Step {
        use crate::proto::interaction::Step as Down;
        let (Some(lease), Some(down)) = (self.lease.take(), self.down.as_mut()) else {
            return Step::Result(Err(Error::Protocol("the interaction has ended".into())));
        };
        let step = match tokio::time::timeout(self.timeout, down.message()).await {
            Err(_) => {
                self.abandon(lease);
                return Step::Result(Err(Error::Timeout {
                    after: self.timeout,
                    queued: false,
                }));
            }
            Ok(Err(status)) => return Step::Result(Err(self.inner.classify(lease, &status).await)),
            Ok(Ok(step)) => step.and_then(|s| s.step),
        };
        self.lease = Some(lease);
        match step {
            Some(Down::Callback(callback)) => {
                match parse_json(&callback.args, self.inner.config.max_depth) {
                    Ok(Value::Array(args)) => Step::Callback {
                        id: callback.id,
                        args,
                    },
                    Ok(_) => Step::Result(Err(Error::Protocol(
                        "callback arguments that are not a list".into(),
                    ))),
                    Err(e) => Step::Result(Err(e)),
                }
            }
            Some(Down::Result(response)) => Step::Result(self.inner.outcome(response.outcome)),
            _ => Step::Result(Err(Error::Protocol(
                "the worker ended the interaction without a result".into(),
            ))),
        }
    }
}

/// The items of a streamed call, in order.
pub struct CallStream {
    inner: Arc<Inner>,
    lease: Option<Lease>,
    chunks: Option<tonic::Streaming<StreamChunk>>,
    idle_timeout: Duration,
}

impl CallStream {
    /// The next batch of items, `None` at the end. Waiting longer than the call timeout for a
    /// batch ends the stream with a timeout.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Value>, Error>> {
        let lease = self.lease.take()?;
        let chunks = self.chunks.as_mut()?;
        let next = tokio::time::timeout(self.idle_timeout, chunks.message()).await;
        let result = match next {
            Err(_) => {
                self.abandon(lease);
                Err(Error::Timeout {
                    after: self.idle_timeout,
                    queued: false,
                })
            }
            Ok(Err(status)) => Err(self.inner.classify(lease, &status).await),
            Ok(Ok(None)) => return None,
            Ok(Ok(Some(chunk))) => {
                self.lease = Some(lease);
                let items = self.inner.answer(
                    chunk.outcome.map(|o| match o {
                        ChunkOutcome::Items(bytes) => Ok(bytes),
                        ChunkOutcome::Error(e) => Err(e),
                    }),
                    "an empty stream chunk",
                );
                items.and_then(|items| match items {
                    Value::Array(items) => Ok(items),
                    _ => Err(Error::Protocol("a stream chunk that is not a list".into())),
                })
            }
        };
        Some(result)
    }

    /// The caller stopped waiting for a batch: the generator's thread stays counted until its
    /// next item (when cancelling the call stops it) or the hard limit.
    fn abandon(&mut self, lease: Lease) {
        let inner = self.inner.clone();
        let abandon = Abandon::default();
        abandon.caller_left(&lease.worker);
        let Some(mut chunks) = self.chunks.take() else {
            return;
        };
        tokio::spawn(async move {
            let next = tokio::time::timeout(inner.config.hard_timeout, chunks.message()).await;
            abandon.call_ended(&lease.worker);
            drop(chunks);
            if next.is_err() {
                inner.stuck(lease);
            }
        });
    }
}
