#!/usr/bin/env bash
# Work-queue bench: the same calls inspected by one `inspect` and by 1, 2 and 3 `worker`
# processes over a throwaway PostgreSQL on this machine (scripts/pg-scratch.sh). Prints a
# table: calls/hour, audio seconds per wall second, and the queue's own overhead per call
# (leasing, storing, archiving), as the workers measured it. Run on a quiet machine; takes
# several minutes on 2 cores.
#   benches/queue.sh [CALLS_DIR]   default: the sample calls and the fixture dialogues
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked 2>/dev/null
BIN=$PWD/target/debug/zhijian
work=$(mktemp -d /tmp/zhijian-qbench.XXXXXX)
# Its own folder: the server runs as the postgres user, who cannot enter $work.
pgdir=$(mktemp -d /tmp/zhijian-qbench-pg.XXXXXX)
trap 'scripts/pg-scratch.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$work" "$pgdir"' EXIT
calls="$work/calls"
if [ $# -gt 0 ]; then
  calls=$1
else
  mkdir -p "$calls"
  cp samples/*.wav samples/*.mp3 samples/*.flac tests/fixtures/audio/two_party.* "$calls/"
fi
meta=samples/calls.csv
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=$(scripts/pg-scratch.sh start "$pgdir" "$port")
base=${url%/*}
n_calls=$(find "$calls" -type f | wc -l)

t0=$(date +%s.%N)
"$BIN" inspect "$calls" --out "$work/one" --meta "$meta" --no-progress --jobs 1 --asr-threads 2 2>/dev/null || true
t1=$(date +%s.%N)
audio=$(python3 -c "import json; print(json.load(open('$work/one/summary.json'))['audio_seconds'])")
row() { # label wall overhead_ms
  python3 -c "
n, a, w = $n_calls, $audio, $2
print(f'| {\"$1\":<32} | {n * 3600 / w:>8.0f} | {a / w:>6.2f} | {w:>7.1f} | {\"$3\":>12} |')"
}
echo "| configuration (2 cores)          | calls/h  | × real | wall s  | queue ms/call |"
echo "|----------------------------------|----------|--------|---------|---------------|"
row "inspect, 1 job × 2 ASR threads" "$(python3 -c "print($t1 - $t0)")" "–"
for n in 1 2 3; do
  psql -q "$url" -c "CREATE DATABASE bench$n" >/dev/null
  db="$base/bench$n"
  "$BIN" enqueue "$calls" --db "$db" --meta "$meta" >/dev/null
  threads=1; [ "$n" = 1 ] && threads=2
  t0=$(date +%s.%N)
  pids=()
  for i in $(seq "$n"); do
    "$BIN" worker --db "$db" --name "w$i" --jobs 1 --asr-threads "$threads" --until-empty \
      >"$work/w$n-$i.out" 2>/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(date +%s.%N)
  over=$(python3 -c "
import re, glob
ms = [float(re.search(r'overhead ([0-9.]+) ms', open(f).read()).group(1)) for f in glob.glob('$work/w$n-*.out')]
print(f'{sum(ms) / len(ms):.1f}')")
  row "$n worker(s) × $threads ASR thread(s)" "$(python3 -c "print($t1 - $t0)")" "$over"
done
echo
echo "$n_calls calls, $(python3 -c "print(f'{$audio / 60:.1f}')") min of audio; workers and database on the same machine."
