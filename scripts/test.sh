#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this). Installs what the tests need, builds
# once in the dev profile (dependencies optimised), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --locked
cargo test --locked
