#!/usr/bin/env bash
# Sets up a fresh machine and runs snakebridge's main job on the bundled example: scan
# examples/demo, generate its bindings (numpy in a uv-managed environment), compile it, and
# run it: its tests call real Python through the generated modules.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --quiet -p snakebridge -p snakebridge-native

export SNAKEBRIDGE_BIN="$PWD/target/release/snakebridge"
cd examples/demo
"$SNAKEBRIDGE_BIN" generate --emitter default
mix compile --warnings-as-errors
mix run -e 'IO.inspect(Demo.summary([1, 2, 3, 4]), label: "Demo.summary([1, 2, 3, 4])")'
mix test
