#!/usr/bin/env bash
# One command on a fresh machine: system packages, release build, then inspect the shipped
# sample calls into out/samples/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked
target/release/zhijian inspect samples --meta samples/calls.csv --out out/samples
echo "results: out/samples/summary.json and out/samples/calls/*.json" >&2
