#!/usr/bin/env bash
# Build the offline installation bundle on a connected build machine:
#   scripts/bundle.sh [--bin PATH] [--out DIR]
# writes DIR/zhijian-<version>-<arch>.tar.zst (default DIR = dist/) holding the binary, the
# Whisper model (f16 + q8_0), the classifier (4-bit encoder, tokenizer, trained heads), rules/,
# samples/, docs, systemd units, install.sh, licence texts and MANIFEST.sha256.
# Without --bin it builds the release binary first. Same commit + same binary → same archive
# bytes (sorted names, fixed owners, mtimes from the commit time).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""; out="dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/bundle.sh [--bin PATH] [--out DIR]" >&2; exit 1 ;;
  esac
done
command -v zstd >/dev/null || { echo "bundle: zstd is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
if [ -z "$bin" ]; then
  cargo build --release --locked
  bin=target/release/zhijian
fi
scripts/prepare-models.sh "$bin"
[ -s models/ggml-base-q8_0.bin ] ||
  "$bin" models convert --ct2 models/whisper-base-ct2 --out models/ggml-base-q8_0.bin --quant q8_0

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(uname -m)
name="zhijian-$version-$arch"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/models/classifier" "$root/licenses" "$root/systemd"

install -m 0755 "$bin" "$root/bin/zhijian"
cp models/ggml-base.bin models/ggml-base-q8_0.bin models/README.md "$root/models/"
for f in e5-small-q4.bin tokenizer.json heads.safetensors heads.json SOURCES; do
  cp "models/classifier/$f" "$root/models/classifier/"
done
cp -r rules samples docs "$root/"
rm -f "$root"/samples/*.py
cp README.md "$root/"
cp deploy/install.sh "$root/"
cp deploy/systemd/* "$root/systemd/"
cp deploy/licenses/* "$root/licenses/"
python3 scripts/third-party-licenses.py "$root/licenses"

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
printf 'zhijian %s\ncommit %s\narch %s\n' "$version" "$commit" "$arch" > "$root/VERSION"
(cd "$root" && find . -type f ! -name MANIFEST.sha256 | LC_ALL=C sort | sed 's|^\./||' |
  xargs -d '\n' sha256sum > MANIFEST.sha256)

mkdir -p "$out"
tarball="$out/$name.tar.zst"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$stage" -cf - "$name" | zstd -q -T0 -6 -f -o "$tarball"
echo "bundle: $tarball ($(du -h "$tarball" | cut -f1), $(wc -l < "$root/MANIFEST.sha256") files)" >&2
echo "$tarball"
