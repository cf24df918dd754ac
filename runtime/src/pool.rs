//! The pool: a fixed number of worker slots, a fair queue of calls waiting for capacity,
//! sessions pinned to a slot, and replacement of workers that crash, hang or stop answering.
//!
//! Each worker serves `threads_per_worker` gRPC threads; the pool runs at most one fewer
//! calls on it at a time, so a call never queues inside Python (where its deadline would
//! run out unseen) and a heartbeat always finds a free thread. A call past its deadline has
//! its caller told at once; its worker is replaced, and killed as soon as only such hung
//! calls remain on it, so other calls on it may finish.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
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

/// Consecutive failed starts after which a slot gives up and reports the error to calls.
const MAX_START_FAILURES: u32 = 5;
/// Missed heartbeats, while idle, after which a worker is replaced.
const MAX_MISSED_HEARTBEATS: u32 = 3;

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
    session: Option<String>,
    grant: oneshot::Sender<Lease>,
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
    /// The call outlived its deadline and is still running in Python: keep it counted.
    hung: bool,
    /// Already accounted for by whoever holds the state lock.
    defused: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.defused {
            self.inner.release(self.slot, &self.worker, self.hung);
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
        let (lease, deadline, timeout) = self.lease_for(call).await?;
        let payload = encode(call)?;
        self.execute(lease, "snakebridge.call", payload, deadline, timeout)
            .await
    }

    /// Starts a call whose result is iterated in Python (a generator, or the iterable a
    /// reference names with [`Call::iterate`]) and streams its items, batched.
    pub async fn stream(&self, call: &Call) -> Result<CallStream, Error> {
        let (lease, deadline, timeout) = self.lease_for(call).await?;
        let request = tonic::Request::new(ExecuteRequest {
            tool: "snakebridge.stream".into(),
            payload: encode(call)?,
        });
        let mut client = lease.worker.client();
        let chunks = match tokio::time::timeout_at(deadline, client.execute_stream(request)).await {
            Err(_) => return Err(self.inner.hang(lease, timeout)),
            Ok(Err(status)) => return Err(self.inner.classify(lease, &status, timeout).await),
            Ok(Ok(response)) => response.into_inner(),
        };
        Ok(CallStream {
            inner: self.inner.clone(),
            lease: Some(lease),
            chunks,
            idle_timeout: timeout,
        })
    }

    /// Releases a reference; `false` if it was already gone.
    pub async fn release_ref(&self, reference: &Ref) -> Result<bool, Error> {
        let worker = {
            let state = self.inner.lock();
            state.slots.iter().find_map(|slot| match &slot.worker {
                SlotWorker::Ready(w) if Some(w.pid) == reference.worker_pid() => Some(w.clone()),
                _ => None,
            })
        };
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
        let lease = self
            .lease(call.session.as_deref(), deadline, timeout)
            .await?;
        Ok((lease, deadline, timeout))
    }

    async fn lease(
        &self,
        session: Option<&str>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Lease, Error> {
        let grant = {
            let mut state = self.inner.lock();
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(Error::ShutDown);
            }
            if let Some(lease) = self.inner.grant(&mut state, session) {
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
            state.waiters.push_back(Waiter {
                session: session.map(str::to_string),
                grant,
            });
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

    async fn execute(
        &self,
        lease: Lease,
        tool: &str,
        payload: Vec<u8>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let mut request = tonic::Request::new(ExecuteRequest {
            tool: tool.into(),
            payload,
        });
        request.set_timeout(deadline.saturating_duration_since(Instant::now()));
        let mut client = lease.worker.client();
        match tokio::time::timeout_at(deadline, client.execute(request)).await {
            Err(_) => Err(self.inner.hang(lease, timeout)),
            Ok(Err(status)) => Err(self.inner.classify(lease, &status, timeout).await),
            Ok(Ok(response)) => outcome(response.into_inner().outcome),
        }
    }

    /// A quick bookkeeping call outside the capacity accounting: it uses the thread the pool
    /// keeps free on every worker.
    async fn direct(&self, worker: &Worker, tool: &str, payload: &Value) -> Result<Value, Error> {
        let mut request = tonic::Request::new(ExecuteRequest {
            tool: tool.into(),
            payload: payload.to_string().into_bytes(),
        });
        request.set_timeout(self.inner.config.call_timeout);
        match worker.client().execute(request).await {
            Ok(response) => outcome(response.into_inner().outcome),
            Err(status) => Err(worker.failure(&status).await),
        }
    }
}

fn encode(call: &Call) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&call.payload()).map_err(|e| Error::Protocol(e.to_string()))
}

fn outcome(outcome: Option<Outcome>) -> Result<Value, Error> {
    answer(
        outcome.map(|o| match o {
            Outcome::Result(bytes) => Ok(bytes),
            Outcome::Error(e) => Err(e),
        }),
        "a response with neither result nor error",
    )
}

/// A worker's JSON, or its Python exception as an error; `missing` names an empty answer.
fn answer(
    answer: Option<Result<Vec<u8>, crate::proto::PythonError>>,
    missing: &str,
) -> Result<Value, Error> {
    match answer {
        Some(Ok(bytes)) => {
            serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
        }
        Some(Err(e)) => Err(Error::Python(PythonError {
            python_type: e.r#type,
            message: e.message,
            traceback: e.traceback,
        })),
        None => Err(Error::Protocol(missing.into())),
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough counters; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn capacity(&self) -> usize {
        self.config.threads_per_worker.saturating_sub(1).max(1)
    }

    /// A lease on the session's slot, or the least busy one, if one has capacity now.
    fn grant(self: &Arc<Self>, state: &mut State, session: Option<&str>) -> Option<Lease> {
        let capacity = self.capacity();
        let mut bound = session.and_then(|s| state.sessions.get(s).copied());
        if let (Some(session), Some(slot)) = (session, bound) {
            // A slot that gave up on starting workers cannot serve its sessions: move them.
            if matches!(state.slots[slot].worker, SlotWorker::Failed { .. }) {
                state.sessions.remove(session);
                bound = None;
            }
        }
        let candidates: Vec<usize> = match bound {
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
            worker,
            hung: false,
            defused: false,
        })
    }

    /// Hands freed capacity to the waiters that can use it, oldest first.
    fn dispatch(self: &Arc<Self>, state: &mut State) {
        let mut index = 0;
        while index < state.waiters.len() {
            let session = state.waiters[index].session.clone();
            let Some(lease) = self.grant(state, session.as_deref()) else {
                index += 1;
                continue;
            };
            let Some(waiter) = state.waiters.remove(index) else {
                break;
            };
            if let Err(mut lease) = waiter.grant.send(lease) {
                // The caller gave up (deadline, cancelled): take the capacity back here, under
                // the lock, rather than in the lease's drop.
                lease.worker.in_flight.fetch_sub(1, Ordering::SeqCst);
                lease.defused = true;
            }
            // The same index now holds the next waiter.
        }
    }

    fn release(self: &Arc<Self>, slot: usize, worker: &Arc<Worker>, hung: bool) {
        if !hung {
            worker.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        let mut state = self.lock();
        let current =
            matches!(&state.slots[slot].worker, SlotWorker::Ready(w) if Arc::ptr_eq(w, worker));
        if current {
            self.dispatch(&mut state);
        } else if worker.retiring.load(Ordering::SeqCst)
            && worker.in_flight.load(Ordering::SeqCst) <= worker.hung.load(Ordering::SeqCst)
        {
            worker.kill();
        }
    }

    /// A call that outlived its deadline: its Python thread is still busy, so replace the
    /// worker.
    fn hang(self: &Arc<Self>, mut lease: Lease, timeout: Duration) -> Error {
        lease.hung = true;
        lease.worker.hung.fetch_add(1, Ordering::SeqCst);
        self.retire(lease.slot, &lease.worker);
        Error::Timeout {
            after: timeout,
            queued: false,
        }
    }

    async fn classify(
        self: &Arc<Self>,
        lease: Lease,
        status: &tonic::Status,
        timeout: Duration,
    ) -> Error {
        use tonic::Code;
        let message = status.message();
        if status.code() == Code::DeadlineExceeded
            || (status.code() == Code::Cancelled && message.contains("Timeout expired"))
        {
            return self.hang(lease, timeout);
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

    /// Takes `worker` out of its slot and starts a replacement; kills it once only hung
    /// calls remain on it.
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
        if worker.in_flight.load(Ordering::SeqCst) <= worker.hung.load(Ordering::SeqCst) {
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

/// Pings idle workers; one that misses several in a row while idle is hung or frozen.
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
                    SlotWorker::Ready(w) if w.in_flight.load(Ordering::SeqCst) == 0 => {
                        Some((i, w.clone()))
                    }
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
            if missed >= MAX_MISSED_HEARTBEATS {
                inner.retire(slot, &worker);
            }
        }
    }
}

/// The items of a streamed call, in order.
pub struct CallStream {
    inner: Arc<Inner>,
    lease: Option<Lease>,
    chunks: tonic::Streaming<StreamChunk>,
    idle_timeout: Duration,
}

impl CallStream {
    /// The next batch of items, `None` at the end. Waiting longer than the call timeout for a
    /// batch counts as a hung call.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Value>, Error>> {
        let lease = self.lease.take()?;
        let next = tokio::time::timeout(self.idle_timeout, self.chunks.message()).await;
        let result = match next {
            Err(_) => Err(self.inner.hang(lease, self.idle_timeout)),
            Ok(Err(status)) => Err(self.inner.classify(lease, &status, self.idle_timeout).await),
            Ok(Ok(None)) => return None,
            Ok(Ok(Some(chunk))) => {
                self.lease = Some(lease);
                let items = answer(
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
}
