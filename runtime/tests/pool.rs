//! The pool against real Python workers over real gRPC on their Unix sockets: values, errors,
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
use snakebridge_runtime::{Call, Error, Pool, PoolConfig, Ref, Returns, Step};

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

/// Running: it exists and is not a zombie waiting to be reaped.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| Some(stat.rsplit_once(')')?.1.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
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

/// A `callback` tag as the runtime writes one for an Elixir function.
fn callback(id: u64) -> serde_json::Value {
    json!({"__type__": "callback", "id": id, "arity": 1})
}

async fn expect_callback(
    interaction: &mut snakebridge_runtime::Interaction,
) -> (u64, Vec<serde_json::Value>) {
    match interaction.next().await {
        Step::Callback { id, args } => (id, args),
        Step::Result(result) => panic!("expected a callback, got {result:?}"),
    }
}

async fn expect_result(
    interaction: &mut snakebridge_runtime::Interaction,
) -> Result<serde_json::Value, Error> {
    match interaction.next().await {
        Step::Result(result) => result,
        Step::Callback { id, .. } => panic!("expected a result, got callback {id}"),
    }
}

/// Waits for the pool's one worker to run nothing.
async fn until_idle(pool: &Pool) {
    let start = Instant::now();
    while pool.workers()[0].in_flight > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the worker stays busy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An interaction: Python calls the Elixir function, the runtime answers for it, and a call
/// made meanwhile runs inside the first, on the same thread, and returns first.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_with_functions_calls_back_and_takes_nested_calls() {
    let pool = pool(1).await;
    let mut interaction = pool
        .interact(&fixture("apply").arg(callback(7)).arg(5).session("s"))
        .await
        .unwrap();
    assert_eq!(expect_callback(&mut interaction).await, (7, vec![json!(5)]));
    // While "Elixir" runs the function, it calls Python, which calls back again.
    let nested = fixture("apply").arg(callback(8)).arg(2).session("s");
    interaction.upstream().call(pool.payload(&nested).unwrap());
    assert_eq!(expect_callback(&mut interaction).await, (8, vec![json!(2)]));
    interaction.upstream().returned(Ok(b"20".to_vec()));
    assert_eq!(expect_result(&mut interaction).await.unwrap(), json!(20));
    interaction.upstream().returned(Ok(b"[\"done\"]".to_vec()));
    assert_eq!(
        expect_result(&mut interaction).await.unwrap(),
        json!(["done"])
    );
    drop(interaction);

    // What the function raised is an exception Python can catch, with the Elixir message.
    let mut interaction = pool
        .interact(&fixture("caught").arg(callback(9)).arg(1))
        .await
        .unwrap();
    expect_callback(&mut interaction).await;
    interaction
        .upstream()
        .returned(Err(("ArgumentError".into(), "no such thing".into())));
    assert_eq!(
        expect_result(&mut interaction).await.unwrap(),
        json!([
            "snakebridge_worker.ElixirError",
            "no such thing",
            "ArgumentError"
        ])
    );
    drop(interaction);

    // A caller that goes away mid-callback ends the call with an error, not a stuck thread.
    let mut interaction = pool
        .interact(&fixture("apply").arg(callback(10)).arg(1))
        .await
        .unwrap();
    expect_callback(&mut interaction).await;
    drop(interaction);
    until_idle(&pool).await;
    assert_eq!(
        pool.call(&fixture("add").arg(1).arg(2)).await.unwrap(),
        json!(3)
    );

    // A callback nobody answers runs out the call's timeout; the call's thread stays counted
    // until Python learns the caller left, then the worker is free.
    let unanswered = fixture("apply")
        .arg(callback(11))
        .arg(1)
        .timeout(Duration::from_millis(300));
    let mut interaction = pool.interact(&unanswered).await.unwrap();
    expect_callback(&mut interaction).await;
    assert!(matches!(
        expect_result(&mut interaction).await,
        Err(Error::Timeout { .. })
    ));
    interaction.finish().await;
    until_idle(&pool).await;
    assert_eq!(
        pool.call(&fixture("add").arg(2).arg(2)).await.unwrap(),
        json!(4)
    );
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
async fn a_callers_deadline_ends_its_wait_and_the_worker_keeps_every_sessions_objects() {
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    let counter = Ref::from_value(
        &pool
            .call(&Call::class("runtime_fixture", "Counter").session("other"))
            .await
            .unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    let error = pool
        .call(
            &fixture("sleep")
                .arg(1.0)
                .timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { queued: false, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // The call runs on; nothing else is disturbed, and its thread comes back when it ends.
    assert_eq!(
        pool.call(&Call::method(&counter, "incr")).await.unwrap(),
        json!(1)
    );
    let started = Instant::now();
    while pool.workers()[0].in_flight > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the thread came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pool.workers()[0].pid, Some(pid));
    assert_eq!(
        pool.call(&Call::method(&counter, "incr")).await.unwrap(),
        json!(2)
    );
}

/// Each call has a worker thread and connection of its own: a quick call does not wait for a
/// slow one on the same worker (a native worker runs calls on the thread that read them).
#[tokio::test(flavor = "multi_thread")]
async fn a_call_never_waits_behind_another_on_the_same_worker() {
    let pool = pool(1).await;
    let slow = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call(&fixture("sleep").arg(3.0)).await }
    });
    while pool.workers()[0].in_flight == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for n in 0..3 {
        assert_eq!(pool.call(&fixture("add").arg(n)).await.unwrap(), json!(n));
    }
    assert!(
        !slow.is_finished(),
        "the quick calls waited for the slow one"
    );
    slow.await.unwrap().unwrap();
}

/// A call runs in its caller's task until the caller stops waiting: a caller that drops the
/// call (a `select!`, an outer timeout) must leave the thread counted as busy until Python is
/// done with it, exactly like one whose own deadline passed.
#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_call_keeps_its_thread_counted_until_python_is_done() {
    let pool = pool(1).await;
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        pool.call(&fixture("sleep").arg(1.5)),
    )
    .await;
    assert!(dropped.is_err());
    assert_eq!(pool.workers()[0].in_flight, 1);
    let start = Instant::now();
    while pool.workers()[0].in_flight > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never counted out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(start.elapsed() > Duration::from_millis(800));
    assert_eq!(
        pool.call(&fixture("add").arg(1).arg(1)).await.unwrap(),
        json!(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_stuck_holding_the_gil_after_its_caller_left_is_replaced() {
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    let error = pool
        .call(&fixture("gil_hog").timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    // No caller waits on it, so heartbeats go to it; it cannot answer them.
    wait_until_dead(pid).await;
    pool.ready().await.unwrap();
    assert_eq!(
        pool.call(&fixture("add").arg(2).arg(2)).await.unwrap(),
        json!(4)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_whose_every_thread_is_past_the_hard_limit_is_replaced() {
    let mut config = config(1);
    config.threads_per_worker = 2;
    config.hard_timeout = Duration::from_secs(1);
    let pool = Pool::start(config).await.unwrap();
    let pid = pool.workers()[0].pid.unwrap();
    let error = pool
        .call(&fixture("sleep").arg(60).timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    wait_until_dead(pid).await;
    assert_eq!(
        pool.call(&fixture("add").arg(2).arg(3)).await.unwrap(),
        json!(5)
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
async fn an_oversized_request_or_a_huge_result_fails_alone_and_fast() {
    let mut config = config(1);
    config.max_message_bytes = 1024 * 1024;
    let pool = Pool::start(config).await.unwrap();
    let pid = pool.workers()[0].pid;
    let error = pool
        .call(&fixture("identity").arg("x".repeat(2 * 1024 * 1024)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error:?}");
    // 200 MB of result is refused as it is encoded, before any JSON is built.
    let error = pool
        .call(&fixture("big").arg(200 * 1024 * 1024))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error:?}");
    assert!(error.to_string().contains("max_message_bytes"), "{error}");
    assert_eq!(pool.call(&fixture("add").arg(1)).await.unwrap(), json!(1));
    assert_eq!(pool.workers()[0].pid, pid);
}

#[tokio::test(flavor = "multi_thread")]
async fn values_nested_past_max_depth_are_refused_by_name_both_ways() {
    let mut config = config(1);
    config.max_depth = 64;
    let pool = Pool::start(config).await.unwrap();
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let error = pool.call(&fixture("identity").arg(deep)).await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)), "{error:?}");
    assert!(error.to_string().contains("max_depth"), "{error}");
    let error = pool.call(&fixture("nested").arg(10_000)).await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)), "{error:?}");
    assert!(error.to_string().contains("max_depth"), "{error}");
    let fine = pool.call(&fixture("nested").arg(50)).await.unwrap();
    assert!(fine.is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn text_with_lone_surrogates_comes_back_as_its_bytes() {
    let pool = pool(1).await;
    let value = pool.call(&fixture("lone_surrogate")).await.unwrap();
    assert_eq!(tag(&value), Some("bytes"), "{value}");
    assert_eq!(value["data"], json!("Y2Fm6Q=="), "b\"caf\\xe9\"");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_leaking_session_cannot_use_up_another_sessions_references() {
    let mut config = config(1);
    config.max_session_refs = 3;
    let pool = Pool::start(config).await.unwrap();
    let counter = |session: &str| Call::class("runtime_fixture", "Counter").session(session);
    for _ in 0..3 {
        pool.call(&counter("leaky")).await.unwrap();
    }
    let error = python_error(pool.call(&counter("leaky")).await.unwrap_err());
    assert_eq!(error.python_type, "snakebridge.TooManyRefsError");
    assert!(
        error.message.contains("'leaky'") && error.message.contains("max_session_refs"),
        "{}",
        error.message
    );
    pool.call(&counter("careful")).await.unwrap();
    assert_eq!(pool.release_session("leaky").await.unwrap(), 3);
    pool.call(&counter("leaky")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_released_reference_says_why_it_is_gone() {
    let pool = pool(1).await;
    let make = |session: &str| Call::class("runtime_fixture", "Counter").session(session);
    let single = Ref::from_value(&pool.call(&make("a")).await.unwrap()).unwrap();
    let in_session = Ref::from_value(&pool.call(&make("b")).await.unwrap()).unwrap();
    assert!(pool.release_ref(&single).await.unwrap());
    pool.release_session("b").await.unwrap();
    let message = |reference: Ref| {
        let pool = pool.clone();
        async move {
            python_error(
                pool.call(&Call::method(&reference, "incr"))
                    .await
                    .unwrap_err(),
            )
            .message
        }
    };
    let released = message(single).await;
    assert!(released.contains("SnakeBridge.release/1"), "{released}");
    let ended = message(in_session).await;
    assert!(ended.contains("with its session 'b'"), "{ended}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_forks_leaves_no_child_serving_or_lingering() {
    let pool = pool(1).await;
    let child = pool.call(&fixture("fork_return")).await.unwrap();
    let child = u32::try_from(child.as_u64().unwrap()).unwrap();
    wait_until_dead(child).await;
    assert_eq!(pool.call(&fixture("add").arg(1)).await.unwrap(), json!(1));
    let sleeper = pool.call(&fixture("fork_sleeper")).await.unwrap();
    let sleeper = u32::try_from(sleeper.as_u64().unwrap()).unwrap();
    // (Under grpcio a forked child may also die at once, in grpc's own after-fork code: forking
    // a process with grpc's threads is not safe. Either way, it must not outlive the worker.)
    pool.shutdown(Duration::from_secs(2)).await;
    wait_until_dead(sleeper).await;
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

/// The sockets a process listens on, as `unix:<path>` and `tcp:<ip>:<port>`, from `/proc`
/// (what any user on the machine can read).
fn listening_sockets(pid: u32) -> Vec<String> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut found = Vec::new();
    for line in std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .skip(1)
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Flags 00010000 is __SO_ACCEPTCON: a listening socket.
        if fields.len() >= 8 && inodes.contains(fields[6]) && fields[3] == "00010000" {
            found.push(format!("unix:{}", fields[7]));
        }
    }
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() >= 10 && inodes.contains(fields[9]) && fields[3] == "0A" {
                let port = u16::from_str_radix(fields[1].rsplit(':').next().unwrap(), 16).unwrap();
                found.push(format!("tcp:127.0.0.1:{port}"));
            }
        }
    }
    found
}

/// Calls `os.getuid` on `target` with whatever authorization `token` gives; what it answered.
async fn attack(target: &str, token: Option<&str>) -> Result<serde_json::Value, String> {
    use snakebridge_runtime::proto::ExecuteRequest;
    use snakebridge_runtime::proto::worker_client::WorkerClient;
    let endpoint = tonic::transport::Endpoint::from_static("http://worker.invalid")
        .connect_timeout(Duration::from_secs(5));
    let target_owned = target.to_string();
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let target = target_owned.clone();
            async move {
                use hyper_util::rt::TokioIo;
                if let Some(path) = target.strip_prefix("unix:") {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(Box::new(stream) as Box<dyn Io>))
                } else {
                    let address = target.trim_start_matches("tcp:").to_string();
                    let stream = tokio::net::TcpStream::connect(address).await?;
                    Ok(TokioIo::new(Box::new(stream) as Box<dyn Io>))
                }
            }
        }))
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut client = WorkerClient::new(channel);
    let payload = Call::function("os", "getuid").payload().to_string();
    let mut request = tonic::Request::new(ExecuteRequest {
        tool: "snakebridge.call".into(),
        payload: payload.into_bytes(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    match client.execute(request).await {
        Ok(response) => Ok(json!(format!("{:?}", response.into_inner()))),
        Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// Run as another user by `another_user_cannot_reach_the_workers`: tries every target and
/// prints what each did. Does nothing when run as part of the suite.
#[tokio::test(flavor = "multi_thread")]
async fn probe_from_another_user() {
    let Ok(targets) = std::env::var("SNAKEBRIDGE_PROBE") else {
        return;
    };
    for target in targets.split(',').filter(|t| !t.is_empty()) {
        match attack(target, None).await {
            Ok(answer) => println!("probe: ANSWERED {target}: {answer}"),
            Err(reason) => println!("probe: refused {target}: {reason}"),
        }
    }
}

/// See #13: any local user could run Python in the workers through their loopback ports.
#[tokio::test(flavor = "multi_thread")]
async fn another_user_cannot_reach_the_workers() {
    #[allow(unsafe_code, reason = "geteuid cannot fail")]
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let runuser = std::process::Command::new("runuser")
        .arg("--help")
        .output()
        .is_ok();
    if !root || !runuser {
        eprintln!(
            "skipped: another_user_cannot_reach_the_workers runs the attack as user `nobody` and needs root and runuser"
        );
        return;
    }
    let pool = pool(2).await;
    let mut targets = Vec::new();
    for worker in pool.workers() {
        let sockets = listening_sockets(worker.pid.unwrap());
        assert!(
            sockets.iter().all(|s| s.starts_with("unix:")),
            "a worker listens on TCP: {sockets:?}"
        );
        assert!(
            !sockets.is_empty(),
            "worker {:?} listens on nothing",
            worker.pid
        );
        targets.extend(sockets);
    }
    // The test binary, where `nobody` can run it.
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe = dir.path().join("probe");
    std::fs::copy(std::env::current_exe().unwrap(), &probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--", "env"])
        .arg(format!("SNAKEBRIDGE_PROBE={}", targets.join(",")))
        .arg(&probe)
        .args(["probe_from_another_user", "--exact", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("probe: "))
        .collect();
    assert_eq!(
        lines.len(),
        targets.len(),
        "every socket was tried: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in lines {
        assert!(line.starts_with("probe: refused"), "{line}");
    }
}

/// See #13: a worker's socket reached some other way still needs the pool's secret.
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_reached_without_the_secret_is_refused() {
    let pool = pool(1).await;
    let sockets = listening_sockets(pool.workers()[0].pid.unwrap());
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    for token in [None, Some("0".repeat(64).as_str())] {
        let refused = attack(&sockets[0], token).await.unwrap_err();
        assert!(refused.starts_with("Unauthenticated"), "{refused}");
    }
    // The pool itself still gets through.
    assert_eq!(pool.call(&fixture("add").arg(1)).await.unwrap(), json!(1));
}

/// Run by `a_killed_runtime_leaves_no_worker_and_its_directory_is_swept`: a runtime whose
/// worker is stuck in C holding the GIL, waiting to be killed.
#[tokio::test(flavor = "multi_thread")]
async fn orphan_maker() {
    if std::env::var_os("SNAKEBRIDGE_ORPHAN_MAKER").is_none() {
        return;
    }
    let pool = pool(1).await;
    let pid = pool.workers()[0].pid.unwrap();
    tokio::spawn({
        let pool = pool.clone();
        async move { pool.call(&fixture("gil_hog")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("worker {pid}");
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// See #13: a SIGKILLed runtime left its worker spinning forever, and its directory behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runtime_leaves_no_worker_and_its_directory_is_swept() {
    use std::io::BufRead;
    let mut runtime = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["orphan_maker", "--exact", "--nocapture"])
        .env("SNAKEBRIDGE_ORPHAN_MAKER", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runtime_pid = runtime.id();
    let mut lines = std::io::BufReader::new(runtime.stdout.take().unwrap()).lines();
    let worker: u32 = lines
        .find_map(|line| line.ok()?.strip_prefix("worker ")?.parse().ok())
        .unwrap();
    let owned_by_runtime = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("snakebridge-runtime-")
            })
            .filter(|e| {
                std::fs::read_to_string(e.path().join("owner"))
                    .is_ok_and(|o| o.split_whitespace().next() == Some(&runtime_pid.to_string()))
            })
            .count()
    };
    assert_eq!(owned_by_runtime(), 1);
    runtime.kill().unwrap();
    runtime.wait().unwrap();
    wait_until_dead(worker).await;
    assert_eq!(owned_by_runtime(), 1, "a SIGKILLed runtime cannot clean up");
    let _next = pool(1).await;
    assert_eq!(owned_by_runtime(), 0, "the next pool sweeps it");
}

/// See #10: classmethods and staticmethods were called as module functions
/// (`module 'fractions' has no attribute 'from_float'`).
#[tokio::test(flavor = "multi_thread")]
async fn class_and_static_methods_are_called_on_their_class() {
    let pool = pool(1).await;
    let on_class = |function: &str| {
        let mut call = Call::function("runtime_fixture", function);
        call.class = Some("Counter".into());
        call
    };
    let counter = pool.call(&on_class("starting_at").arg(5)).await.unwrap();
    let counter = Ref::from_value(&counter).unwrap();
    assert_eq!(
        pool.call(&Call::get_attr(&counter, "value")).await.unwrap(),
        json!(5)
    );
    assert_eq!(
        pool.call(&on_class("double").arg(4)).await.unwrap(),
        json!(8)
    );
    let mut from_float = Call::function("fractions", "from_float").arg(0.5);
    from_float.class = Some("Fraction".into());
    from_float = from_float.returns(Returns::Value);
    let half = pool.call(&from_float).await.unwrap();
    assert_eq!(tag(&half), Some("ref"), "{half}");
}

/// See #10: `scipy.stats.norm.cdf` is a method of an instance a module holds; a wrapper module
/// for it names `scipy.stats.norm`, which is no module to import.
#[tokio::test(flavor = "multi_thread")]
async fn methods_of_an_instance_a_module_holds_are_called_like_functions() {
    let pool = pool(1).await;
    let incr = Call::function("runtime_fixture.shared", "incr").arg(5);
    assert_eq!(pool.call(&incr).await.unwrap(), json!(105));
    let missing = Call::function("runtime_fixture.nothing_here", "incr");
    let error = pool.call(&missing).await.unwrap_err();
    assert!(error.to_string().contains("ModuleNotFoundError"), "{error}");
}
