//! `snakebridge runtime serve`: the project's Python worker pool, served to Elixir over an
//! Erlang port on stdin/stdout (see `snakebridge_runtime::port`). `SnakeBridge.Runtime`
//! starts it; people rarely run it by hand.

use std::sync::Arc;
use std::time::Duration;

use snakebridge_runtime::{Call, Pool, PoolConfig, port};

use crate::Error;
use crate::introspect::{self, RUNTIME_PACKAGES};
use crate::ledger::Recorder;
use crate::project::Project;

/// Serves until stdin closes. Failing to start the pool is not fatal here: every request gets
/// the reason, so the Elixir caller sees it rather than a closed port.
pub fn serve(project: &Project) -> Result<(), Error> {
    let pool_config = pool_config(project);
    let recorder = Arc::new(Recorder::new(&project.root));
    let hook_recorder = recorder.clone();
    let hook: port::DynamicHook = Arc::new(move |call: &Call| {
        let arity = call.args.len() + usize::from(!call.kwargs.is_empty());
        hook_recorder.record(
            &call.library,
            &call.python_module,
            call.function.as_deref().unwrap_or_default(),
            u32::try_from(arity).unwrap_or(u32::MAX),
        );
    });
    let max_frame = port::max_frame(project.config.runtime.max_message_bytes);
    // One thread runs the pool, every call and every worker connection: a call's request,
    // answer and reply never cross between runtime threads (the workers' processes and the
    // port's reader and writer threads do the rest in parallel). Its stack is large because
    // values are converted recursively, up to `[runtime] max_depth` levels.
    let serving = std::thread::Builder::new()
        .name("snakebridge-runtime".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let frames = port::stdio(max_frame);
                let started = match pool_config {
                    Ok(config) => Pool::start(config).await.map_err(|e| hint(&e.to_string())),
                    Err(message) => Err(message),
                };
                match started {
                    Ok(pool) => port::serve(pool, frames, Some(hook)).await,
                    Err(message) => port::refuse(&message, frames).await,
                }
            });
            // Worker processes must not outlive the port: do not wait for stuck blocking
            // threads.
            runtime.shutdown_timeout(Duration::from_secs(1));
            Ok::<(), std::io::Error>(())
        })
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the runtime thread panicked")))
        });
    recorder.flush();
    serving.map_err(|e| Error::Runtime {
        message: e.to_string(),
    })
}

fn pool_config(project: &Project) -> Result<PoolConfig, String> {
    let config = &project.config;
    let lock = crate::lock::load(&project.root).ok().flatten();
    let environment = introspect::ensure_environment(
        &project.root,
        config,
        &project.settings,
        lock.as_ref(),
        |message| project.printer.status(message),
    )
    .map_err(|e| e.to_string())?;
    let settings = &config.runtime;
    let mut pool = PoolConfig::new(environment.python);
    pool.workers = settings.workers;
    pool.threads_per_worker = settings.threads;
    pool.call_timeout = Duration::from_secs(settings.timeout_secs);
    pool.preload = settings.preload.clone();
    pool.queue_limit = settings.queue_limit;
    pool.max_message_bytes = settings.max_message_bytes;
    pool.hard_timeout = Duration::from_secs(settings.hard_timeout_secs);
    pool.max_depth = settings.max_depth;
    pool.max_refs = settings.max_refs;
    pool.max_session_refs = settings.max_session_refs;
    pool.heartbeat_interval = Duration::from_secs(settings.heartbeat_secs);
    pool.heartbeat_misses = settings.heartbeat_misses;
    pool.python_path = config
        .libraries
        .values()
        .filter_map(|library| library.path.as_ref())
        .map(|path| project.root.join(path))
        .collect();
    pool.current_dir = Some(project.root.clone());
    pool.native = project.settings.native.clone();
    Ok(pool)
}

/// The fix for the most common start failure.
fn hint(message: &str) -> String {
    if message.contains("No module named 'grpc'") || message.contains("No module named 'google") {
        format!(
            "{message}\nhelp: the runtime's worker needs {} in that Python: `python -m pip install {}`",
            RUNTIME_PACKAGES.join(" and "),
            RUNTIME_PACKAGES
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    } else {
        message.to_string()
    }
}
