#!/usr/bin/env bash
# The test command (README; .ci/run calls exactly this). Installs what the tests need, builds
# once in the dev profile (dependencies optimised), prepares the real models with that build
# (Whisper ggml conversion, classifier training), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --locked
scripts/prepare-models.sh target/debug/zhijian
# A throwaway PostgreSQL for the shared-store and work-queue tests, stopped on exit.
pgdir=$(mktemp -d /tmp/zhijian-test-pg.XXXXXX)
trap 'scripts/pg-scratch.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ZHIJIAN_TEST_PG=$(scripts/pg-scratch.sh start "$pgdir" "$port")
export ZHIJIAN_TEST_PG
cargo test --locked
