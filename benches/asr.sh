#!/usr/bin/env bash
# ASR bench: zhijian (VAD + packed windows; adaptive, beam or greedy decoding) vs whisper.cpp's
# plain whole-track decoding, on the four sample calls; base f16 and q8_0; 1 and 2
# threads/workers. Prints one JSON line per configuration with its peak RSS (MiB).
# BENCH_DTW=0 and BENCH_REDO_BELOW=X change the DTW and adaptive-threshold settings.
# Takes several minutes on 2 cores: run it on a quiet machine.
#   benches/asr.sh [CONFIG…]   CONFIG = MODE:QUANT:WORKERS:THREADS, e.g. zhijian:f16:1:2
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
# The dev profile is enough: whisper.cpp is always built as Release by whisper-rs-sys, and the
# dependencies run at opt-level 3 (Cargo.toml); this avoids a second full release build.
cargo build --bench asr 2>/dev/null
BIN=$(cargo build --bench asr --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="asr" and m.get("executable"): print(m["executable"])')
OUT=target/bench-models
mkdir -p "$OUT"
for q in f16 q8_0; do
  [ -s "$OUT/ggml-base-$q.bin" ] || "$BIN" convert models/whisper-base-ct2 "$OUT/ggml-base-$q.bin" "$q"
done
CONFIGS=("$@")
# MODE: zhijian (adaptive, the default) | beam | greedy | unpacked | baseline (plain whisper.cpp)
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(
  baseline:f16:1:2 baseline:q8_0:1:2 beam:f16:1:2 zhijian:f16:1:2 greedy:f16:1:2
  beam:q8_0:1:2 greedy:q8_0:1:2 zhijian:q8_0:1:2 zhijian:q8_0:2:1
)
for c in "${CONFIGS[@]}"; do
  IFS=: read -r mode q workers threads <<<"$c"
  log=$(mktemp)
  line=$(/usr/bin/time -v "$BIN" "$mode" "$OUT/ggml-base-$q.bin" "$workers" "$threads" 2>"$log")
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print int($2/1024)}' "$log")
  echo "${line%\}}, \"peak_rss_mib\": $rss}"
  rm -f "$log"
done
