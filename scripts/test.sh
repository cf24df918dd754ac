#!/usr/bin/env bash
# The whole test suite, as CI runs it: lints, Rust tests with real Python, Elixir and
# wasmtime, the plugins' own tests, the example project's, and whole-library conformance.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

features="snakebridge/test-python,snakebridge/test-elixir,snakebridge-runtime/test-python"
if rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  features="$features,snakebridge/test-wasm-build"
fi

echo "==> cargo fmt"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --features "$features" -- -D warnings
echo "==> Python worker"
python3 -m unittest discover -s python/tests
echo "==> cargo test"
cargo test -p snakebridge --features "$features"
# The pool's tests run twice: workers serving with grpcio, then with the native extension.
cargo test -p snakebridge-runtime --features snakebridge-runtime/test-python
cargo build -p snakebridge-native
SNAKEBRIDGE_NATIVE="$PWD/target/debug/libsnakebridge_native.so" \
  cargo test -p snakebridge-runtime --features snakebridge-runtime/test-python --test pool
# The plugins are cdylibs for wasm; their unit tests run natively as libraries.
cargo test -p snakebridge-pdk -p snakebridge-plugin-default-emitter -p snakebridge-plugin-typespecs \
  -p snakebridge-plugin-docs -p snakebridge-plugin-build --lib

echo "==> Elixir"
# The Elixir package and the example call real Python through this build's runtime (which
# finds the native extension built beside it).
cargo build -p snakebridge -p snakebridge-native
export SNAKEBRIDGE_BIN="$PWD/target/debug/snakebridge"
(cd elixir && mix format --check-formatted && mix compile --warnings-as-errors && mix test)
# Callbacks cross the worker transport both ways: once more on grpcio.
(cd elixir && SNAKEBRIDGE_NATIVE=off mix test test/callbacks_test.exs)
# Strict: the example's compiler step verifies the committed bindings without Python.
(cd examples/demo && mix format --check-formatted \
  && export SNAKEBRIDGE_STRICT=1 && mix compile --warnings-as-errors && mix test)
echo "==> Conformance: the standard library, numpy and sympy generated whole (CONFORMANCE.md)"
scripts/conformance.sh ci
echo "==> all tests passed"
