#!/usr/bin/env bash
# Baseline for the ASR bench: whisper.cpp's own command-line program on the same channels and
# model. whisper-rs-sys 0.15 vendors whisper.cpp 1.8.3 without examples/, and no registry
# carries them, so pass a whisper.cpp v1.8.3 source tree (its src/ and ggml/src/ are
# identical to the vendored copy):
#   WHISPER_CPP_SRC=/path/to/whisper.cpp-1.8.3 benches/asr-cli.sh MODEL.bin [THREADS]
# Splits each sample call into 16 kHz channels (sox), runs whisper-cli per channel (no VAD,
# its defaults: beam 5), and prints wall time, peak RSS and CER against the labels.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WHISPER_CPP_SRC:?set WHISPER_CPP_SRC to a whisper.cpp v1.8.3 source tree}"
MODEL=$1 THREADS=${2:-2}
B=target/whisper-cli-build
[ -x "$B/bin/whisper-cli" ] || {
  cmake -S "$WHISPER_CPP_SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_OPENMP=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF -DWHISPER_SDL2=OFF >/dev/null
  cmake --build "$B" -j"$(nproc)" --target whisper-cli >/dev/null
}
BIN=$(cargo build --bench asr --message-format=json 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="asr" and m.get("executable"): print(m["executable"])')
W=$(mktemp -d)
for f in samples/*.labels.json; do
  audio=samples/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file"])' "$f")
  chans=$(soxi -c "$audio" 2>/dev/null || echo 1)
  for ((c = 0; c < chans; c++)); do
    id=$(basename "$f" .labels.json)_$c
    python3 - "$f" "$c" >"$W/$id.ref.txt" <<'PY'
import json, sys
l = json.load(open(sys.argv[1])); c = int(sys.argv[2])
print("".join(t["text"] for t in l["turns"] if l["agent_channel"] is None or t["channel"] == c))
PY
    if [ "$chans" -gt 1 ]; then sox "$audio" -r 16000 "$W/$id.wav" remix $((c + 1)); else sox "$audio" -r 16000 "$W/$id.wav"; fi
    /usr/bin/time -v "$B/bin/whisper-cli" -m "$MODEL" -l zh -t "$THREADS" -np -otxt -of "$W/$id" -f "$W/$id.wav" >/dev/null 2>"$W/$id.time"
    wall=$(awk -F': ' '/Elapsed/ {print $2}' "$W/$id.time")
    rss=$(awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$W/$id.time")
    echo "$id wall=$wall peak_rss_mib=$rss $("$BIN" cer "$W/$id.ref.txt" "$W/$id.txt")"
  done
done
rm -rf "$W"
