use snakebridge_runtime::{Call, Pool, PoolConfig};

#[tokio::test(flavor = "multi_thread")]
async fn smoke() {
    let pool = Pool::start(PoolConfig::new("python3")).await.unwrap();
    let v = pool.call(&Call::function("math", "sqrt").arg(2.0)).await.unwrap();
    println!("{v}");
    let e = pool.call(&Call::function("math", "sqrt").arg(-1.0)).await.unwrap_err();
    println!("{e}");
    let r = pool.call(&Call::function("numpy", "arange").arg(5).session("s")).await.unwrap();
    println!("{r}");
    let r2 = pool.call(&Call::function("numpy", "sum").arg(r.clone()).session("s")).await.unwrap();
    println!("{r2}");
    let mut s = pool.stream(&Call::function("builtins", "range").arg(250)).await.unwrap();
    while let Some(b) = s.next_batch().await { println!("batch {}", b.unwrap().len()); }
    pool.shutdown(std::time::Duration::from_secs(1)).await;
}
