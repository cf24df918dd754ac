#!/usr/bin/env bash
# Sets up a fresh machine and runs snakebridge's main job on the bundled example: scan
# examples/demo, generate its bindings (numpy in a uv-managed environment), compile and test it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --quiet -p snakebridge

cd examples/demo
../../target/release/snakebridge generate --emitter default
mix compile --warnings-as-errors
mix test
