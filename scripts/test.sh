#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this). Installs what the tests need, builds
# once in the dev profile (dependencies optimised), prepares the real models with that build,
# and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-models.sh
cargo build --locked
[ -s models/ggml-base.bin ] ||
  target/debug/zhijian models convert --ct2 models/whisper-base-ct2 --out models/ggml-base.bin
cargo test --locked
