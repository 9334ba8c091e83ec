#!/usr/bin/env bash
# ASR bench: zhijian (VAD + packed windows, encoder sized to each window; adaptive, beam or
# greedy decoding) vs whisper.cpp's plain whole-track decoding (beam 5, 30 s windows), run in
# this one invocation on the same files and model files; then one whole `zhijian inspect` of the
# same calls with the shipped defaults. Prints a table: wall time, audio seconds per wall
# second, the speed-up over plain whisper.cpp on the same model file, CER, peak RSS.
# Files: the four sample calls and the committed benchmark calls (data/calls/ci/, four since 2026-12-01 evening).
# Takes ~20 min on 2 cores: run it on a quiet machine.
#   benches/asr.sh [CONFIG…]   CONFIG = MODE:QUANT:WORKERS:THREADS[:ENV=V,ENV=V], e.g.
#                              zhijian:q8_0:1:2:BENCH_AUDIO_CTX=0   (see benches/asr.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
# The dev profile is enough: whisper.cpp is always built as Release by whisper-rs-sys, and the
# dependencies run at opt-level 3 (Cargo.toml); this avoids a second full release build.
cargo build --locked --bench asr 2>/dev/null
cargo build --locked 2>/dev/null
BIN=$(cargo build --locked --bench asr --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="asr" and m.get("executable"): print(m["executable"])')
OUT=target/bench-models
mkdir -p "$OUT"
for q in f16 q8_0 q5_0; do
  [ -s "$OUT/ggml-base-$q.bin" ] || "$BIN" convert models/whisper-base-ct2 "$OUT/ggml-base-$q.bin" "$q"
done
CONFIGS=("$@")
# MODE: zhijian (adaptive, the default) | beam | greedy | unpacked | baseline (plain whisper.cpp)
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(
  baseline:f16:1:2 baseline:q8_0:1:2
  zhijian:q8_0:1:2:BENCH_AUDIO_CTX=0 zhijian:q8_0:1:2 zhijian:q8_0:2:1 greedy:q8_0:2:1
  beam:q8_0:2:1 zhijian:f16:2:1 zhijian:q8_0:2:1:BENCH_DTW=0
)
RES=$(mktemp)
for c in "${CONFIGS[@]}"; do
  IFS=: read -r mode q workers threads envs <<<"$c"
  log=$(mktemp)
  # shellcheck disable=SC2086
  line=$(env ${envs//,/ } /usr/bin/time -v "$BIN" "$mode" "$OUT/ggml-base-$q.bin" "$workers" "$threads" 2>"$log")
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print int($2/1024)}' "$log")
  echo "${line%\}}, \"peak_rss_mib\": $rss, \"config\": \"$c\"}" | tee -a "$RES" >&2
  rm -f "$log"
done
# The whole pipeline as a site runs it (decode, VAD, Whisper, classifier, scoring, reports).
if [ -z "${BENCH_NO_INSPECT:-}" ]; then
  W=$(mktemp -d)
  files=(samples/call0{1,2}*.wav samples/call03*.mp3 samples/call04*.flac data/calls/ci/*.wav)
  /usr/bin/time -v target/debug/zhijian inspect "${files[@]}" --out "$W/out" 2>"$W/time" >/dev/null
  python3 - "$W" >>"$RES" <<'PY'
import glob, json, re, sys
w = sys.argv[1]
s = json.load(open(f"{w}/out/summary.json"))
rss = int(re.search(r"Maximum resident set size[^:]*:\s*(\d+)", open(f"{w}/time").read()).group(1)) // 1024
asr = track_s = 0.0
for f in glob.glob(f"{w}/out/calls/*.json"):
    r = json.load(open(f))
    asr += r.get("timings_ms", {}).get("asr", 0.0) / 1000
    # Track audio, as the rows above count it: each channel of a stereo call, a mono call once.
    track_s += r.get("duration_s", 0.0) * (1 if r.get("mono") else len(r.get("channels", [])))
print(json.dumps({"config": "inspect (defaults)", "wall_s": s["wall_seconds"], "track_audio_s": track_s,
                  "call_audio_s": s["audio_seconds"], "asr_share": asr / s["wall_seconds"],
                  "untranscribed_s": s["untranscribed_seconds"], "peak_rss_mib": rss,
                  "failed": s["calls_failed"]}))
PY
  tail -1 "$RES" >&2
  rm -rf "$W"
fi
python3 - "$RES" <<'PY'
import json, os, sys
cores = os.cpu_count()
rows = [json.loads(l) for l in open(sys.argv[1])]
plain = {r["model"]: r["rtf"] for r in rows if r.get("mode") == "baseline"}
print("| configuration | wall s | audio s per wall s | × plain, same file | CER | whisper calls | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if "mode" not in r:
        # The whole pipeline on the shipped model (q8_0), against plain whisper.cpp on that file.
        speed = r["track_audio_s"] / r["wall_s"]
        base = plain.get("ggml-base-q8_0.bin")
        rel = f"{speed * base:.2f}×" if base else ""
        print(f"| {r['config']}: {r['call_audio_s']:.0f} s of calls ({r['call_audio_s'] / r['wall_s']:.2f}× call real time), "
              f"ASR busy {100*r['asr_share']/cores:.0f} % of {cores} cores, {r['untranscribed_s']:.1f} s untranscribed "
              f"| {r['wall_s']:.1f} | {speed:.2f} | {rel} | | | {r['peak_rss_mib']} |")
        continue
    speed = 1 / r["rtf"]
    base = plain.get(r["model"])
    rel = f"{base / r['rtf']:.2f}×" if base and r["mode"] != "baseline" else ""
    print(f"| {r['config']} | {r['wall_s']:.1f} | {speed:.2f} | {rel} | {100*r['cer']:.1f} % | "
          f"{r['whisper_calls']} | {r['peak_rss_mib']} |")
PY
rm -f "$RES"
