//! One Python worker process: started, announced ready, watched until it exits.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, watch};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;

use crate::PoolConfig;
use crate::call::PROTOCOL_VERSION;
use crate::error::Error;
use crate::proto::worker_client::WorkerClient;
use crate::proto::{HeartbeatRequest, HeartbeatResponse};
use crate::python::WorkerDir;
use crate::transport::{Connection, connect};

/// How many of a worker's last stderr lines are kept for error messages.
const STDERR_LINES: usize = 40;

/// A client whose every request carries the pool's secret.
pub(crate) type Client = WorkerClient<InterceptedService<Connection, Authorize>>;

/// Adds `authorization: Bearer <secret>` to each request.
#[derive(Clone)]
pub(crate) struct Authorize(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Authorize {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub(crate) struct Worker {
    pub(crate) pid: u32,
    /// One connection per serving thread of the worker. The last is for bookkeeping
    /// (heartbeats, references); each of the others carries one call at a time, so a call
    /// never waits in the worker behind another.
    clients: Vec<Client>,
    /// The call connections no lease holds.
    idle: Mutex<Vec<usize>>,
    exit: watch::Receiver<Option<String>>,
    close_stdin: Arc<Notify>,
    kill: Arc<Notify>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Calls running on this worker.
    pub(crate) in_flight: AtomicUsize,
    /// Calls whose caller gave up at their deadline while Python keeps running them.
    pub(crate) abandoned: AtomicUsize,
    /// Calls running past the pool's hard limit, whose threads are taken as lost.
    pub(crate) stuck: AtomicUsize,
    /// Replaced in its slot; killed once only stuck calls remain.
    pub(crate) retiring: AtomicBool,
}

impl Worker {
    pub(crate) async fn start(config: &PoolConfig, dir: &WorkerDir) -> Result<Arc<Worker>, Error> {
        let failed = |reason: String, stderr: Vec<String>| Error::WorkerStart {
            python: config.python.clone(),
            reason,
            stderr,
        };
        let socket = dir.next_socket();
        let mut command = Command::new(&config.python);
        command
            .args(["-m", "snakebridge_worker", "--socket"])
            .arg(&socket)
            .arg("--transport")
            .arg(if config.native.is_some() {
                "native"
            } else {
                "grpc"
            })
            .arg("--threads")
            .arg((config.calls_per_worker() + 1).to_string())
            .arg("--max-message-bytes")
            .arg(config.max_message_bytes.to_string())
            .arg("--max-depth")
            .arg(config.max_depth.to_string())
            .arg("--ref-limit")
            .arg(config.max_refs.to_string())
            .arg("--session-ref-limit")
            .arg(config.max_session_refs.to_string())
            .arg("--descriptor")
            .arg(dir.descriptor());
        for module in &config.preload {
            command.arg("--preload").arg(module);
        }
        let mut path = vec![dir.path().to_path_buf()];
        path.extend(config.python_path.iter().cloned());
        if let Some(existing) = std::env::var_os("PYTHONPATH") {
            path.extend(std::env::split_paths(&existing));
        }
        command
            .env(
                "PYTHONPATH",
                std::env::join_paths(path).map_err(|e| failed(e.to_string(), vec![]))?,
            )
            .env("PYTHONUNBUFFERED", "1")
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &config.current_dir {
            command.current_dir(dir);
        }
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|e| failed(e.to_string(), vec![]))?;
        let pid = child.id().unwrap_or_default();
        // The secret goes on stdin: argv and the environment are readable by other users.
        if let Some(stdin) = child.stdin.as_mut() {
            let mut line = dir.secret().as_bytes().to_vec();
            line.push(b'\n');
            if let Err(e) = stdin.write_all(&line).await {
                let status = finish(child).await;
                return Err(failed(
                    format!("cannot hand it its secret: {e} ({status})"),
                    vec![],
                ));
            }
        }
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = child.stderr.take() {
            tokio::spawn(collect_stderr(
                pipe,
                pid,
                stderr.clone(),
                config.forward_stderr,
            ));
        }
        let stdout = child.stdout.take();
        let ready = tokio::time::timeout(config.start_timeout, read_ready(stdout)).await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                let status = finish(child).await;
                return Err(failed(
                    format!("{reason} ({status})"),
                    tail(&stderr, Duration::from_millis(100)).await,
                ));
            }
            Err(_) => {
                let _ = child.start_kill();
                finish(child).await;
                return Err(failed(
                    format!("not ready within {:?}", config.start_timeout),
                    tail(&stderr, Duration::ZERO).await,
                ));
            }
        };
        let authorize = Authorize(dir.authorization());
        let origin = http::Uri::from_static("http://worker.invalid");
        let mut clients = Vec::new();
        for _ in 0..=config.calls_per_worker() {
            let connection = connect(&socket, config.start_timeout).await.map_err(|e| {
                failed(
                    format!("cannot connect to `{}`: {e}", socket.display()),
                    vec![],
                )
            })?;
            clients.push(
                WorkerClient::with_origin(
                    InterceptedService::new(connection, authorize.clone()),
                    origin.clone(),
                )
                .max_decoding_message_size(config.max_message_bytes)
                .max_encoding_message_size(config.max_message_bytes),
            );
        }

        let (exit_tx, exit) = watch::channel(None);
        let close_stdin = Arc::new(Notify::new());
        let kill = Arc::new(Notify::new());
        tokio::spawn(watch_exit(
            child,
            exit_tx,
            close_stdin.clone(),
            kill.clone(),
        ));
        let worker = Arc::new(Worker {
            pid,
            idle: Mutex::new((0..clients.len() - 1).rev().collect()),
            clients,
            exit,
            close_stdin,
            kill,
            stderr,
            in_flight: AtomicUsize::new(0),
            abandoned: AtomicUsize::new(0),
            stuck: AtomicUsize::new(0),
            retiring: AtomicBool::new(false),
        });
        let reply = worker
            .heartbeat(config.start_timeout)
            .await
            .map_err(|e| failed(format!("first heartbeat failed: {e}"), vec![]))?;
        if reply.protocol_version != PROTOCOL_VERSION {
            worker.kill();
            return Err(failed(
                format!(
                    "the worker speaks protocol {}, this runtime {PROTOCOL_VERSION}",
                    reply.protocol_version
                ),
                vec![],
            ));
        }
        Ok(worker)
    }

    /// Whether some call on it still has a caller waiting for its answer.
    pub(crate) fn has_waiting_callers(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.in_flight.load(SeqCst) > self.abandoned.load(SeqCst) + self.stuck.load(SeqCst)
    }

    /// The client for bookkeeping calls, outside the capacity accounting.
    pub(crate) fn bookkeeping(&self) -> Client {
        self.clients[self.clients.len() - 1].clone()
    }

    /// The client of call connection `n`.
    pub(crate) fn client(&self, n: usize) -> Client {
        self.clients[n].clone()
    }

    /// Takes an idle call connection; the pool's accounting guarantees one is there.
    pub(crate) fn take_connection(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Gives a call connection back once its call is over.
    pub(crate) fn give_back(&self, n: usize) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(n);
    }

    pub(crate) async fn heartbeat(
        &self,
        timeout: Duration,
    ) -> Result<HeartbeatResponse, tonic::Status> {
        let mut request = tonic::Request::new(HeartbeatRequest { nonce: 1 });
        request.set_timeout(timeout);
        let mut client = self.bookkeeping();
        match tokio::time::timeout(timeout, client.heartbeat(request)).await {
            Ok(reply) => Ok(reply?.into_inner()),
            Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                "no heartbeat within {timeout:?}"
            ))),
        }
    }

    /// How the process ended, once it has.
    pub(crate) fn exit_status(&self) -> Option<String> {
        self.exit.borrow().clone()
    }

    /// Resolves when the process has exited.
    pub(crate) async fn exited(&self) {
        let mut exit = self.exit.clone();
        let _ = exit.wait_for(Option::is_some).await;
    }

    pub(crate) fn kill(&self) {
        self.kill.notify_one();
    }

    /// Closes stdin, which the worker takes as the signal to stop; kills it after `grace`.
    pub(crate) async fn stop(&self, grace: Duration) {
        self.close_stdin.notify_one();
        if tokio::time::timeout(grace, self.exited()).await.is_err() {
            self.kill();
            self.exited().await;
        }
    }

    pub(crate) fn stderr_tail(&self) -> Vec<String> {
        lines(&self.stderr)
    }

    /// The error for a call whose transport failed: a crash if the process has exited (give
    /// the exit a moment to be noticed), a transport error otherwise.
    pub(crate) async fn failure(&self, status: &tonic::Status) -> Error {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.exited()).await;
        match self.exit_status() {
            Some(exit) => Error::WorkerCrashed {
                pid: self.pid,
                status: exit,
                stderr: self.stderr_tail(),
            },
            None => Error::Transport(status.to_string()),
        }
    }
}

/// Makes the kernel kill the worker when the thread that started it goes (the pool's runtime
/// thread, which lives as long as the pool's process): a runtime killed with SIGKILL cannot
/// stop its workers, and a worker stuck in C holding the GIL never reads the closed stdin.
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    #[allow(unsafe_code, reason = "pre_exec runs between fork and exec")]
    // SAFETY: the closure only makes async-signal-safe system calls (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would kill us.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Reads stdout up to the `READY` line.
async fn read_ready(stdout: Option<impl AsyncRead + Unpin>) -> Result<(), String> {
    let stdout = stdout.ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let Some(fields) = line.strip_prefix("READY ") else {
            continue;
        };
        let field = |key: &str| {
            fields
                .split(' ')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        };
        if field("protocol") != Some(&PROTOCOL_VERSION.to_string()) {
            return Err(format!(
                "the worker announced `{line}`, not protocol {PROTOCOL_VERSION}"
            ));
        }
        return Ok(());
    }
    Err("the worker exited before it was ready".into())
}

async fn collect_stderr(
    pipe: impl AsyncRead + Unpin,
    pid: u32,
    ring: Arc<Mutex<VecDeque<String>>>,
    forward: bool,
) {
    use std::io::Write;

    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if forward {
            let _ = writeln!(std::io::stderr(), "[python {pid}] {line}");
        }
        if let Ok(mut ring) = ring.lock() {
            if ring.len() == STDERR_LINES {
                ring.pop_front();
            }
            ring.push_back(line);
        }
    }
}

fn lines(ring: &Mutex<VecDeque<String>>) -> Vec<String> {
    ring.lock()
        .map(|ring| ring.iter().cloned().collect())
        .unwrap_or_default()
}

/// The stderr lines so far, after giving the reader `settle` to catch up with a dead process.
async fn tail(ring: &Mutex<VecDeque<String>>, settle: Duration) -> Vec<String> {
    tokio::time::sleep(settle).await;
    lines(ring)
}

async fn finish(mut child: Child) -> String {
    match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
        Ok(Ok(status)) => status.to_string(),
        _ => {
            let _ = child.start_kill();
            "killed".into()
        }
    }
}

async fn watch_exit(
    mut child: Child,
    exit: watch::Sender<Option<String>>,
    close_stdin: Arc<Notify>,
    kill: Arc<Notify>,
) {
    let mut stdin = child.stdin.take();
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = close_stdin.notified() => drop(stdin.take()),
            () = kill.notified() => { let _ = child.start_kill(); }
        }
    };
    let text = match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("wait failed: {e}"),
    };
    let _ = exit.send(Some(text));
}
