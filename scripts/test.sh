#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this). Installs what the tests need, builds
# once in the dev profile (dependencies optimised), prepares the real models with that build
# (Whisper ggml conversion, classifier training), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --locked
scripts/prepare-models.sh target/debug/zhijian
cargo test --locked
