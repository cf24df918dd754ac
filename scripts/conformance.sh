#!/usr/bin/env bash
# Whole-library conformance (results in CONFORMANCE.md): generates every public symbol of each
# library in a set, then checks `verify` without Python, `mix format --check-formatted`,
# `mix compile --warnings-as-errors`, and the call table with a spec check per result.
#
#   scripts/conformance.sh ci       35 standard library modules, numpy, sympy (CI runs this)
#   scripts/conformance.sh managed  pandas, scipy, networkx in the managed environment
#
# The project is built in a scratch directory ($CONFORMANCE_DIR, else a new temporary one);
# the last lines printed are the table CONFORMANCE.md publishes.
set -euo pipefail
cd "$(dirname "$0")/.."
set_name="${1:-ci}"
repo="$PWD"
[ -f "tests/conformance/$set_name.toml" ] || { echo "no set \`$set_name\`: ci or managed" >&2; exit 2; }
bin="${SNAKEBRIDGE_BIN:-$repo/target/debug/snakebridge}"
if [ -z "${SNAKEBRIDGE_BIN:-}" ]; then
  cargo build -p snakebridge -p snakebridge-native
fi
work="${CONFORMANCE_DIR:-$(mktemp -d)}"
project="$work/$set_name"
rm -rf "$project"
mkdir -p "$project"
cp -r tests/conformance/mix.exs tests/conformance/.formatter.exs tests/conformance/lib "$project/"
cp "tests/conformance/$set_name.toml" "$project/snakebridge.toml"
cd "$project"
export SNAKEBRIDGE_ELIXIR="$repo/elixir" SNAKEBRIDGE_BIN="$bin"

echo "==> generate (every library whole)"
"$bin" generate 2> generate.log > /dev/null || { cat generate.log >&2; exit 1; }
grep -E "^(Listed|warning)" generate.log || true
echo "==> verify without Python"
SNAKEBRIDGE_PYTHON=/nonexistent/python "$bin" verify
echo "==> mix format --check-formatted"
mix format --check-formatted
echo "==> mix compile --warnings-as-errors"
mix compile --warnings-as-errors
echo "==> calls"
mix run -e 'Conformance.Runner.main(["generate.log"])'
