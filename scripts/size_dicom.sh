#!/usr/bin/env bash
# What DICOM costs in the package's wasm, codec by codec (figures printed, never asserted):
# the SIMD package wasm (release, RUSTFLAGS and target dir as scripts/build.sh, wasm-bindgen
# --target web, no wasm-opt) built with the package's features, then with one DICOM feature
# left out at a time, then with DICOM off. Bytes raw and gzip -9, and the difference to the
# full build. Each build relinks only this crate (about 1-3 min here).
#   scripts/size_dicom.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
export CARGO_TARGET_DIR="$root/target/wasm-simd" RUSTFLAGS="-C target-feature=+simd128"
out="$root/target/size-dicom"
rm -rf "$out"; mkdir -p "$out"
codecs="dicom-jpeg dicom-jpeg12 dicom-jpeg2000 dicom-rle dicom-deflate"
all="onnx,dicom,${codecs// /,}"
# name|features
builds=("full|$all")
for c in $codecs; do builds+=("without $c|onnx,dicom,$(echo $codecs | tr ' ' '\n' | grep -vx "$c" | paste -sd,)"); done
builds+=("no codec (dicom only)|onnx,dicom" "no DICOM|onnx")
printf '| build | features | raw bytes | gzip -9 bytes | gzip cost of what is left out |\n|---|---|---|---|---|\n' > "$out/table.md"
full_gz=""
for b in "${builds[@]}"; do
  name="${b%%|*}"; feats="${b#*|}"
  t0=$(date +%s)
  cargo build --quiet --release --target wasm32-unknown-unknown --lib --no-default-features --features "$feats"
  dir="$out/$(echo "$name" | tr -c 'a-z0-9' _)"
  wasm-bindgen --target web --out-dir "$dir" --out-name medtriage target/wasm-simd/wasm32-unknown-unknown/release/medtriage.wasm
  w="$dir/medtriage_bg.wasm"
  raw=$(stat -c %s "$w"); gz=$(gzip -9 -c "$w" | wc -c)
  [ -z "$full_gz" ] && full_gz=$gz
  echo "$name: $raw raw, $gz gzip -9 ($(( $(date +%s) - t0 )) s)" >&2
  printf '| %s | `%s` | %s | %s | %s |\n' "$name" "$feats" "$raw" "$gz" "$(( full_gz - gz ))" >> "$out/table.md"
  rm -f "$dir"/*.js "$dir"/*.ts
done
cat "$out/table.md"
