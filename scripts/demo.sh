#!/usr/bin/env bash
# Install what is missing, build the package and the demo, and serve it on 127.0.0.1.
# The page is served as soon as the SIMD build (what every current browser runs) is ready;
# the plain build for browsers without wasm SIMD is built behind it (target/demo-nosimd.log).
# No wasm-opt here (scripts/build.sh --release runs it, for publishing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
t0=$(date +%s)
scripts/bootstrap.sh all
MEDTRIAGE_VARIANTS=simd scripts/build.sh
node scripts/serve.mjs --port "${PORT:-8080}" &
server=$!
trap 'kill $server 2>/dev/null' EXIT INT TERM
sleep 0.5
echo "[demo] serving after $(( $(date +%s) - t0 )) s; building the no-SIMD variant behind it (target/demo-nosimd.log)" >&2
if MEDTRIAGE_VARIANTS=nosimd scripts/build.sh >target/demo-nosimd.log 2>&1; then
  echo "[demo] no-SIMD variant ready after $(( $(date +%s) - t0 )) s" >&2
else
  echo "[demo] the no-SIMD build failed (see target/demo-nosimd.log); the SIMD demo keeps running" >&2
fi
wait $server
