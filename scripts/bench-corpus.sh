#!/usr/bin/env bash
# Brings a large corpus of real Elixir source into DIR (default: a temp dir) for the scan
# benchmark: Debian's source tarballs of Elixir itself, ExDoc, Hex, Makeup, NimbleParsec,
# EarmarkParser and RabbitMQ (its CLI is Elixir). Debian's mirror is reachable where GitHub
# and Hex are not; each tarball is pinned by SHA-256. Only *.ex and *.exs files are kept.
#
#   dir=$(bash scripts/bench-corpus.sh)
#   SNAKEBRIDGE_BENCH_CORPUS=$dir cargo bench -p snakebridge --bench pipeline
set -euo pipefail

dir="${1:-${TMPDIR:-/tmp}/snakebridge-bench-corpus}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$dir"

while read -r path sha; do
  name="$(basename "$path")"
  target="$dir/${name%%.orig.tar.*}"
  [ -d "$target" ] && continue
  tarball="$dir/$name"
  curl -fsSL "$mirror/$path" -o "$tarball"
  echo "$sha  $tarball" | sha256sum --check --quiet
  mkdir -p "$target.partial"
  tar -xf "$tarball" -C "$target.partial" --wildcards '*.ex' '*.exs'
  mv "$target.partial" "$target"
  rm "$tarball"
done <<'LIST'
pool/main/e/elixir-lang/elixir-lang_1.18.3.dfsg.orig.tar.xz 3620a200199328950e309ab1994c014311ee46440d8692a331ad6509edce582f
pool/main/e/elixir-ex-doc/elixir-ex-doc_0.35.1+dfsg.orig.tar.xz e3957b7ffb8e27718df8cdc6aa76edab70541c42411caef757a773b700a972ca
pool/main/e/elixir-earmark-parser/elixir-earmark-parser_1.4.44.orig.tar.xz 5090141c4c8375f8f4db12e92ac5e3c0843a01d74a66c2052c1bfb049979dff7
pool/main/e/elixir-makeup/elixir-makeup_1.2.1.orig.tar.xz 6a3f3e89647a092989c5f08e0a84d2735436c8d83824c4ce7a5bb6abef30b2cc
pool/main/e/elixir-makeup-elixir/elixir-makeup-elixir_1.0.1.orig.tar.xz b459be24e55721ac3f4fa0559130401d99b670a0ade69fa9bd0313cf4a5aad3a
pool/main/e/elixir-makeup-erlang/elixir-makeup-erlang_1.0.2.orig.tar.xz 0cd866795798e37365719f69ae81d9aa22fe575876f269f59cb6656692667d27
pool/main/e/elixir-nimble-parsec/elixir-nimble-parsec_1.4.2.orig.tar.xz 0268b1485fd83151b2c98188689d52609d2b9a562730de96ae5dfe89719fa088
pool/main/e/erlang-hex/erlang-hex_2.0.6.orig.tar.gz 5f8050a93876f5e7ab01265249673ab79250ad4fcfb711dc1713134ca59dc78c
pool/main/r/rabbitmq-server/rabbitmq-server_4.0.5.orig.tar.xz 267e83bd2bde81ece1abece365b51d1d1fdbe8a820f90a99c030ebc6edb5fb48
LIST
echo "$dir"
