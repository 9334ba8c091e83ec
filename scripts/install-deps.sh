#!/usr/bin/env bash
# System packages zhijian needs to build and test (Debian/Ubuntu). Skips apt when all are there.
#   cmake, clang, libclang-dev: build whisper.cpp (whisper-rs-sys, bindgen)
#   chromium, fonts-noto-cjk: the HTML report tests render pages in headless Chromium
#   zstd: scripts/bundle.sh compresses the offline bundle (the deploy test builds one)
#   openssl, curl: the web workbench's HTTPS test makes a throwaway certificate and connects
#   postgresql: the shared store and work queue of many workers; the tests start a throwaway
#     server (scripts/pg-scratch.sh)
#   time: scripts/bench reads peak memory from /usr/bin/time -v
#   The model fetch uses python3 + pip, which the machine already has.
set -euo pipefail
pkgs=(cmake clang libclang-dev pkg-config chromium fonts-noto-cjk zstd openssl curl postgresql time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }
