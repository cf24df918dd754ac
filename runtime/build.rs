//! Compiles the worker proto with protox, so building needs no system `protoc`, and keeps the
//! encoded descriptor for the Python worker, which builds its message classes from it.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/snakebridge/worker/v1/worker.proto";
    println!("cargo:rerun-if-changed={proto}");
    let mut files = protox::compile([proto], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(files.clone())?;
    // The Python side needs no comments or source positions.
    for file in &mut files.file {
        file.source_code_info = None;
    }
    std::fs::write(out.join("worker_descriptor.bin"), files.encode_to_vec())?;
    Ok(())
}
