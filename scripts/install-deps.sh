#!/usr/bin/env bash
# Installs what building and testing snakebridge needs, idempotently: Elixir from Debian, the
# Python packages from PyPI, and the wasm32-unknown-unknown target when it can be downloaded.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v elixir >/dev/null || ! command -v mix >/dev/null; then
  echo "==> installing Elixir (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq elixir >/dev/null
fi

# Pinned so generated docs and the committed example match what tests produce; grpcio and
# protobuf are what the runtime's Python worker needs.
python_packages=(numpy==2.4.6 sympy==1.14.0 uv grpcio==1.85.3 protobuf==7.36.2)
if ! python3 -c 'import numpy, sympy, grpc, google.protobuf; assert numpy.__version__ == "2.4.6"' 2>/dev/null \
   || ! command -v uv >/dev/null; then
  echo "==> installing Python packages: ${python_packages[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}"
fi

# The built-in plugins are committed, so the host builds without this target; with it, the
# tests also rebuild them and check the bytes are identical.
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  echo "==> adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >/dev/null 2>&1 \
    || echo "warning: could not add wasm32-unknown-unknown; skipping the plugin rebuild check" >&2
fi
