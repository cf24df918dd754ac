//! The worker service, generated from `runtime/proto/snakebridge/worker/v1/worker.proto` by
//! the build script: the client the pool uses, and the server `snakebridge-native` serves.
#![allow(unreachable_pub, missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("snakebridge.worker.v1");
