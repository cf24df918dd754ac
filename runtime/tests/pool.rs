//! The pool against real Python workers over real gRPC on loopback: values, errors,
//! objects, sessions, streams, and the faults a pool must survive.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on any error"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use snakebridge_runtime::value::{self, tag};
use snakebridge_runtime::{Call, Error, Pool, PoolConfig, Ref, Returns};

fn python() -> PathBuf {
    std::env::var_os("SNAKEBRIDGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into())
}

/// With `SNAKEBRIDGE_NATIVE` (the built `libsnakebridge_native.so`) the workers serve gRPC
/// from Rust; without it, with grpcio. CI runs this suite both ways.
fn config(workers: usize) -> PoolConfig {
    let mut config = PoolConfig::new(python());
    config.native = std::env::var_os("SNAKEBRIDGE_NATIVE")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from);
    config.workers = workers;
    config.python_path =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/python")];
    config.forward_stderr = false;
    config.heartbeat_interval = Duration::from_millis(500);
    config
}

async fn pool(workers: usize) -> Pool {
    Pool::start(config(workers)).await.expect("the pool starts")
}

fn fixture(function: &str) -> Call {
    Call::function("runtime_fixture", function)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

async fn wait_until_dead(pid: u32) {
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "process {pid} is still alive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn python_error(error: Error) -> snakebridge_runtime::PythonError {
    match error {
        Error::Python(e) => e,
        other => panic!("expected a Python exception, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_serve_with_the_configured_transport() {
    let config = config(1);
    let native = config.native.is_some();
    let pool = Pool::start(config).await.unwrap();
    let loaded = |module: &'static str| {
        let pool = pool.clone();
        async move { pool.call(&fixture("imported").arg(module)).await.unwrap() }
    };
    assert_eq!(loaded("snakebridge_native").await, json!(native));
    assert_eq!(loaded("grpc").await, json!(!native));
}

#[tokio::test(flavor = "multi_thread")]
async fn values_cross_in_both_directions() {
    let pool = pool(1).await;
    for value in [
        json!(null),
        json!(true),
        json!(-7),
        json!(u64::MAX),
        json!(2.5),
        json!("héllo"),
        json!([1, [2, "x"]]),
        json!({"a": {"b": null}}),
        value::tuple(vec![json!(1), json!("a")]),
        value::atom("reflect"),
        json!({"__type__": "int", "__schema__": 1, "value": "123456789012345678901234567890"}),
        json!({"__type__": "dict", "__schema__": 1, "pairs": [[1, "one"]]}),
    ] {
        let back = pool
            .call(&fixture("identity").arg(value.clone()))
            .await
            .unwrap();
        assert_eq!(back, value);
    }
    // An atom is a str in Python, so it works where a string is expected.
    let kind = pool
        .call(&fixture("describe").arg(value::atom("mean")))
        .await
        .unwrap();
    assert_eq!(kind, json!("Atom"));
    let joined = pool
        .call(
            &Call::function("os.path", "join")
                .arg(value::atom("a"))
                .arg("b"),
        )
        .await
        .unwrap();
    assert_eq!(joined, json!("a/b"));

    let special = pool.call(&fixture("special_values")).await.unwrap();
    assert_eq!(tag(&special["set"]), Some("set"));
    assert_eq!(tag(&special["frozenset"]), Some("frozenset"));
    assert_eq!(
        special["tuple"],
        value::tuple(vec![json!(1), json!("two"), json!(null)])
    );
    assert_eq!(special["bytes"]["data"], json!("AP8="));
    assert_eq!(tag(&special["int_keys"]), Some("dict"));
    assert_eq!(special["complex"]["imag"], json!(-2.0));
    assert_eq!(special["inf"]["value"], json!("infinity"));
    assert_eq!(special["nan"]["value"], json!("nan"));
    assert_eq!(
        special["big"]["value"],
        json!("1267650600228229401496703205376")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_exceptions_are_data_and_the_worker_survives() {
    let pool = pool(1).await;
    let error = python_error(
        pool.call(&fixture("fails").arg("no good"))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.python_type, "runtime_fixture.Fails");
    assert_eq!(error.message, "no good");
    assert!(
        error.traceback.contains("runtime_fixture.py"),
        "{}",
        error.traceback
    );
    assert!(
        !error.traceback.contains("dispatch.py"),
        "{}",
        error.traceback
    );

    let error = python_error(
        pool.call(&Call::function("math", "sqrt").arg(-1.0))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (error.python_type.as_str(), error.message.as_str()),
        ("ValueError", "math domain error")
    );
    // A library calling sys.exit() is an error, not the end of the worker.
    let error = python_error(pool.call(&fixture("exit_now")).await.unwrap_err());
    assert_eq!(error.python_type, "SystemExit");

    let error = python_error(
        pool.call(&Call::function("no_such_library", "f"))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.python_type, "ModuleNotFoundError");
    let error = python_error(
        pool.call(&Call::function("math", "meen"))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.python_type, "AttributeError");

    let pid = pool.workers()[0].pid;
    let sum = pool.call(&fixture("add").arg(2).arg(3)).await.unwrap();
    assert_eq!(sum, json!(5));
    assert_eq!(pool.workers()[0].pid, pid, "the same worker still serves");
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_live_in_their_worker_and_session() {
    let pool = pool(2).await;
    let counter = pool
        .call(
            &Call::class("runtime_fixture", "Counter")
                .arg(10)
                .session("a"),
        )
        .await
        .unwrap();
    let counter = Ref::from_value(&counter).expect("an instance comes back as a ref");
    assert_eq!(counter.python_type, "runtime_fixture.Counter");
    assert_eq!(counter.session, "a");

    let value = pool
        .call(&Call::method(&counter, "incr").kwarg("by", 5))
        .await
        .unwrap();
    assert_eq!(value, json!(15));
    pool.call(&Call::set_attr(&counter, "value", 100))
        .await
        .unwrap();
    let value = pool.call(&Call::get_attr(&counter, "value")).await.unwrap();
    assert_eq!(value, json!(100));
    let pi = pool.call(&Call::module_attr("math", "pi")).await.unwrap();
    assert_eq!(pi, json!(std::f64::consts::PI));

    // A reference passed as an argument, in its own session.
    let array = pool
        .call(&Call::function("numpy", "arange").arg(5).session("a"))
        .await
        .unwrap();
    assert_eq!(tag(&array), Some("ref"));
    let total = pool
        .call(
            &Call::function("numpy", "sum")
                .arg(array.clone())
                .session("a"),
        )
        .await
        .unwrap();
    assert_eq!(total, json!(10));
    let listed = pool
        .call(
            &Call::function("numpy", "arange")
                .arg(3)
                .returns(Returns::Value),
        )
        .await
        .unwrap();
    assert_eq!(listed, json!([0, 1, 2]));

    // In another session the same reference is refused, and says why.
    let error = python_error(
        pool.call(
            &Call::function("numpy", "sum")
                .arg(array.clone())
                .session("b"),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(error.python_type, "snakebridge.SessionMismatchError");
    assert!(
        error.message.contains("belongs to session 'a'"),
        "{}",
        error.message
    );

    let array_ref = Ref::from_value(&array).unwrap();
    assert!(pool.release_ref(&array_ref).await.unwrap());
    assert!(!pool.release_ref(&array_ref).await.unwrap());
    let error = python_error(
        pool.call(&Call::function("numpy", "sum").arg(array).session("a"))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.python_type, "snakebridge.RefNotFoundError");
    assert!(error.message.contains("was released"), "{}", error.message);

    assert_eq!(pool.release_session("a").await.unwrap(), 1, "the counter");
    let error = python_error(
        pool.call(&Call::method(&counter, "incr"))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.python_type, "snakebridge.RefNotFoundError");
}

#[tokio::test(flavor = "multi_thread")]
async fn generators_stream_in_batches() {
    let pool = pool(1).await;
    let mut stream = pool
        .stream(&Call::function("builtins", "range").arg(250))
        .await
        .unwrap();
    let mut sizes = Vec::new();
    let mut items = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        items.extend(batch);
    }
    assert_eq!(items, (0..250).map(|i| json!(i)).collect::<Vec<_>>());
    assert!(sizes.len() >= 3, "batched: {sizes:?}");

    // An endless generator, abandoned after one batch: the worker is free again.
    let mut endless = pool.stream(&fixture("forever")).await.unwrap();
    let first = endless.next_batch().await.unwrap().unwrap();
    assert_eq!(first[0], json!(0));
    drop(endless);
    assert_eq!(pool.workers()[0].in_flight, 0);

    // An error mid-stream arrives after the items before it.
    let mut failing = pool.stream(&fixture("fail_after").arg(3)).await.unwrap();
    let mut seen = Vec::new();
    let error = loop {
        match failing.next_batch().await.unwrap() {
            Ok(batch) => seen.extend(batch),
            Err(e) => break python_error(e),
        }
    };
    assert_eq!(seen, vec![json!(0), json!(1), json!(2)]);
    assert_eq!(error.python_type, "RuntimeError");

    // A generator returned by a plain call is a reference, iterable later.
    let generator = pool
        .call(&fixture("countdown").arg(3).session("s"))
        .await
        .unwrap();
    let generator = Ref::from_value(&generator).unwrap();
    let mut stream = pool.stream(&Call::iterate(&generator)).await.unwrap();
    let batch = stream.next_batch().await.unwrap().unwrap();
    assert_eq!(batch, vec![json!(3), json!(2), json!(1)]);
    assert!(stream.next_batch().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_call_is_replaced() {
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    let call = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call(&fixture("sleep").arg(10)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    match call.await.unwrap() {
        Err(Error::WorkerCrashed {
            pid: crashed,
            status,
            ..
        }) => {
            assert_eq!(crashed, pid);
            assert!(status.contains("signal: 9"), "{status}");
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    pool.ready().await.unwrap();
    let new_pid = pool.workers()[0].pid.unwrap();
    assert_ne!(new_pid, pid);
    assert_eq!(
        pool.call(&fixture("add").arg(1).arg(1)).await.unwrap(),
        json!(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_deadline_fails_and_its_worker_is_replaced() {
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    let started = Instant::now();
    let error = pool
        .call(&fixture("sleep").arg(30).timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { queued: false, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The hung worker is killed (nothing else runs on it) and a new one serves.
    wait_until_dead(pid).await;
    assert_eq!(
        pool.call(&fixture("add").arg(2).arg(2)).await.unwrap(),
        json!(4)
    );
    assert_ne!(pool.workers()[0].pid, Some(pid));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_worker_misses_heartbeats_and_is_replaced() {
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    // Three missed heartbeats, 500 ms apart, each waiting up to 500 ms.
    wait_until_dead(pid).await;
    pool.ready().await.unwrap();
    assert_ne!(pool.workers()[0].pid, Some(pid));
    assert_eq!(
        pool.call(&fixture("add").arg(3).arg(4)).await.unwrap(),
        json!(7)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_over_the_size_limit_is_refused() {
    let mut config = config(1);
    config.max_message_bytes = 1024 * 1024;
    let pool = Pool::start(config).await.unwrap();
    let error = pool
        .call(&fixture("big").arg(2 * 1024 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error:?}");
    assert!(error.to_string().contains("returns: ref"), "{error}");
    let small = pool.call(&fixture("big").arg(3)).await.unwrap();
    assert_eq!(small, json!("xxx"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_calls_on_two_workers_all_return() {
    let pool = pool(2).await;
    let calls: Vec<_> = (0..1000)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.call(&fixture("add").arg(i).arg(1)).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), json!(i + 1));
    }
    assert!(pool.workers().iter().all(|w| w.in_flight == 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_is_bounded() {
    let mut config = config(1);
    config.threads_per_worker = 2;
    config.queue_limit = 1;
    let pool = Pool::start(config).await.unwrap();
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call(&fixture("sleep").arg(0.5)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call(&fixture("add").arg(1)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = pool.call(&fixture("add").arg(2)).await.unwrap_err();
    assert!(
        matches!(refused, Error::Overloaded { queued: 1 }),
        "{refused:?}"
    );
    assert_eq!(running.await.unwrap().unwrap(), json!(0.5));
    assert_eq!(queued.await.unwrap().unwrap(), json!(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn output_nobody_reads_does_not_block_a_worker() {
    let pool = pool(1).await;
    let written = pool.call(&fixture("chatter").arg(1_000_000)).await.unwrap();
    assert_eq!(written, json!(1_000_000));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_cannot_start_says_why() {
    let mut config = config(1);
    config.python = "/nonexistent/python3".into();
    let error = Pool::start(config).await.err().unwrap();
    assert!(matches!(error, Error::WorkerStart { .. }), "{error:?}");

    let mut config = self::config(1);
    config.preload = vec!["no_such_module_to_preload".into()];
    let error = Pool::start(config).await.err().unwrap().to_string();
    assert!(
        error.contains("No module named 'no_such_module_to_preload'"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_leaves_no_worker_behind() {
    let pool = pool(2).await;
    let pids: Vec<u32> = pool.workers().iter().filter_map(|w| w.pid).collect();
    assert_eq!(pids.len(), 2);
    pool.shutdown(Duration::from_secs(2)).await;
    for pid in pids {
        wait_until_dead(pid).await;
    }
    let error = pool.call(&fixture("add").arg(1)).await.unwrap_err();
    assert!(matches!(error, Error::ShutDown), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_stay_on_one_worker() {
    let pool = pool(2).await;
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let pid = pool.call(&fixture("pid").session("pinned")).await.unwrap();
        pids.insert(pid.as_u64().unwrap());
    }
    assert_eq!(pids.len(), 1, "one worker served the session: {pids:?}");
}
