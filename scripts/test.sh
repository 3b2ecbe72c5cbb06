#!/usr/bin/env bash
# Runs every test, from a fresh machine: installs what is missing, then
#   1. cargo fmt --check, clippy (-D warnings), native unit + integration + doc tests;
#   2. every wasm build the project ships compiled: the maths-only (no tract) library with
#      `cargo check`, then the integration suite compiled to wasm (SIMD) and run in headless
#      Chromium (wasm-pack test);
#   3. the npm package build (wasm-pack, both variants: SIMD and the no-SIMD fallback; pkg/
#      from js/ + the wasm, `npm pack` -> target/*.tgz);
#   4. end to end in headless Chromium (node --test + playwright-core), everything from the
#      tarball: the demo (bundled model and samples scored in workers, queue order checked
#      against onnxruntime's probabilities); the JS API; real requests and responses checked
#      against the generated TypeScript declarations; the no-SIMD build; two hosts embedding the package (a
#      static page under a strict CSP, a Vite app built offline) with the privacy proof; the
#      pool's and store's faults (trap, hang, quota, cancel, pause, reload, export/import).
# Skip parts with MEDTRIAGE_SKIP="lint wasm e2e" (space separated).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
skip=" ${MEDTRIAGE_SKIP:-} "
step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)" >&2; }
t_start=$(date +%s)

step bootstrap
scripts/bootstrap.sh all

if [[ "$skip" != *" lint "* ]]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy --all-targets -- -D warnings"
  cargo clippy --all-targets -- -D warnings
fi

step "native tests (cargo test)"
cargo test

# The package's variants: all three by default, so the relaxed-SIMD build and the no-SIMD
# fallback the loader ships are built, packed and run in Chromium (tests/e2e/variants.test.mjs)
# from the same commit as the SIMD one.
# MEDTRIAGE_VARIANTS=simd (a quicker local run) only compiles the fallback with cargo check.
export MEDTRIAGE_VARIANTS="${MEDTRIAGE_VARIANTS:-simd nosimd relaxed}"

if [[ "$skip" != *" wasm "* ]]; then
  # The no-SIMD fallback is compiled here only when the package build below will not build it.
  if [[ "$skip" == *" e2e "* || " $MEDTRIAGE_VARIANTS " != *" nosimd "* ]]; then
    step "wasm no-SIMD build (cargo check)"
    cargo check --target wasm32-unknown-unknown --lib --no-default-features --features onnx,dicom-all
  fi
  step "wasm build with DICOM but no codec (cargo check)"
  cargo check --target wasm32-unknown-unknown --lib --no-default-features --features onnx,dicom
  step "wasm maths-only build, no tract, no DICOM (cargo check)"
  cargo check --target wasm32-unknown-unknown --lib --no-default-features
  step "integration suite in headless Chromium (wasm-pack test --chrome --headless)"
  # Same target dir and flags as the SIMD package build, so dependencies are built once.
  CARGO_TARGET_DIR="$root/target/wasm-simd" RUSTFLAGS="-C target-feature=+simd128" \
    WASM_BINDGEN_TEST_TIMEOUT=600 \
    wasm-pack test --mode no-install --headless --chrome --release . --lib --test '*'
fi

if [[ "$skip" != *" e2e "* ]]; then
  step "package build"
  # wasm-opt (npm binaryen runs as wasm in node) takes 4-7 min on 2 cores for -24% raw size;
  # it is for release builds only; the tests use the SIMD build to keep CI well under its budget (MEDTRIAGE_WASM_OPT=1
  # to test the optimized package instead).
  MEDTRIAGE_WASM_OPT="${MEDTRIAGE_WASM_OPT:-0}" scripts/build.sh
  step "end-to-end in headless Chromium (demo, JS API, hosts, pool and store faults)"
  node --test tests/e2e/
fi
echo "all tests passed in $(( $(date +%s) - t_start )) s" >&2
