//! Generated from `runtime/proto/snakebridge/worker/v1/worker.proto` by the build script.
#![allow(unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("snakebridge.worker.v1");
