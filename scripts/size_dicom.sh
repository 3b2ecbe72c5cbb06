#!/usr/bin/env bash
# What DICOM costs in the package's wasm, codec by codec (figures printed, never asserted):
# the SIMD package wasm (release, RUSTFLAGS, cargo profile and target dir as scripts/build.sh, wasm-bindgen
# --target web, no wasm-opt) built with the package's features, then with one DICOM feature
# left out at a time, then with DICOM off. Bytes raw and gzip -9, and the difference to the
# full build. Each build recompiles only this crate (about 2-4 min here): the builds without
# a codec leave out a leaf dependency, and the build without DICOM takes the `size-baseline`
# feature (DICOM's dependencies compiled, never linked) so that the dependencies it shares with
# tract keep their features and tract is not rebuilt. Every crate a build compiles is listed.
#   scripts/size_dicom.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
export CARGO_TARGET_DIR="$root/target/wasm-simd" RUSTFLAGS="-C target-feature=+simd128"
. scripts/wasm-config.sh
export_wasm_profile release
crate="$(cfg build.crate)"
out="$root/target/size-dicom"
rm -rf "$out"; mkdir -p "$out"
codecs="dicom-jpeg dicom-jpeg12 dicom-jpeg2000 dicom-rle dicom-deflate"
all="onnx,dicom,${codecs// /,}"
# name|features
builds=("full|$all")
for c in $codecs; do builds+=("without $c|onnx,dicom,$(echo $codecs | tr ' ' '\n' | grep -vx "$c" | paste -sd,)"); done
builds+=("no codec (dicom only)|onnx,dicom" "no DICOM|onnx,size-baseline")
printf '| build | features | raw bytes | gzip -9 bytes | raw cost of what is left out | gzip cost of what is left out |\n|---|---|---|---|---|---|\n' > "$out/table.md"
full_gz="" full_raw=""
for b in "${builds[@]}"; do
  name="${b%%|*}"; feats="${b#*|}"
  t0=$(date +%s)
  cargo build --release --target wasm32-unknown-unknown --manifest-path "$crate/Cargo.toml" --no-default-features --features "$feats" 2>"$out/cargo.log" \
    || { cat "$out/cargo.log" >&2; exit 1; }
  compiled=$(grep -o 'Compiling [^ ]*' "$out/cargo.log" | cut -d' ' -f2 | paste -sd' ')
  dir="$out/$(echo "$name" | tr -c 'a-z0-9' _)"
  wasm-bindgen --target web --out-dir "$dir" --out-name medtriage target/wasm-simd/wasm32-unknown-unknown/release/medtriage_wasm.wasm
  w="$dir/medtriage_bg.wasm"
  raw=$(stat -c %s "$w"); gz=$(gzip -9 -c "$w" | wc -c)
  [ -z "$full_gz" ] && full_gz=$gz full_raw=$raw
  echo "$name: $raw raw, $gz gzip -9 ($(( $(date +%s) - t0 )) s; compiled: ${compiled:-nothing})" >&2
  printf '| %s | `%s` | %s | %s | %s | %s |\n' "$name" "$feats" "$raw" "$gz" "$(( full_raw - raw ))" "$(( full_gz - gz ))" >> "$out/table.md"
  rm -f "$dir"/*.js "$dir"/*.ts
done
cat "$out/table.md"
