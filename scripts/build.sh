#!/usr/bin/env bash
# Builds the npm package (pkg/) with wasm-pack as wasm-pack.toml declares, runs wasm-opt from
# npm binaryen, and lays out the demo (www/pkg, www/assets).
#   scripts/build.sh                 # every variant in wasm-pack.toml
#   MEDTRIAGE_VARIANTS=simd scripts/build.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
log() { printf '[build] %s\n' "$*" >&2; }

# Read wasm-pack.toml (Python's tomllib, standard since 3.11).
cfg() { python3 - "$@" <<'PY'
import sys, tomllib
c = tomllib.load(open("wasm-pack.toml", "rb"))
v = c
for k in sys.argv[1].split("."):
    v = v[k]
print(" ".join(v) if isinstance(v, list) else (str(v).lower() if isinstance(v, bool) else v))
PY
}

target="$(cfg build.target)"
profile="$(cfg build.profile)"
out_dir="$(cfg build.out_dir)"
variants="${MEDTRIAGE_VARIANTS:-$(cfg build.variants)}"
opt_enabled="$(cfg wasm_opt.enabled)"
case "${MEDTRIAGE_WASM_OPT:-}" in 0) opt_enabled=false ;; 1) opt_enabled=true ;; esac
opt_flags="$(cfg wasm_opt.flags)"
opt_simd="$(cfg wasm_opt.simd_flags)"

command -v wasm-pack >/dev/null || { echo "wasm-pack missing: run scripts/bootstrap.sh" >&2; exit 1; }
prof_flag="--release"; [ "$profile" = dev ] && prof_flag="--dev"

mkdir -p "$out_dir"
# Build the default (first) variant last so its package.json / JS glue are the package's.
ordered="$(echo $variants | tr ' ' '\n' | tac | tr '\n' ' ')"
for v in $ordered; do
  name="$(cfg variants.$v.out_name)"
  flags="$(cfg variants.$v.rustflags)"
  log "variant $v -> $out_dir/$name (RUSTFLAGS='$flags', $profile)"
  t0=$(date +%s)
  CARGO_TARGET_DIR="$root/target/wasm-$v" RUSTFLAGS="$flags" \
    wasm-pack build --mode no-install --target "$target" $prof_flag --out-dir "$out_dir" --out-name "$name" --no-pack . \
    -- --no-default-features --features onnx
  log "variant $v built in $(( $(date +%s) - t0 )) s"
  wasm="$out_dir/${name}_bg.wasm"
  if [ "$opt_enabled" = true ]; then
    command -v wasm-opt >/dev/null || { echo "wasm-opt missing: run scripts/bootstrap.sh" >&2; exit 1; }
    extra=""; [ "$v" = simd ] && extra="$opt_simd"
    t0=$(date +%s)
    wasm-opt $opt_flags $extra "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
    log "wasm-opt ($(wasm-opt --version | awk '{print $3}')) in $(( $(date +%s) - t0 )) s"
  fi
  raw=$(stat -c %s "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
  log "$wasm: $raw bytes raw, $gz bytes gzip -9"
done

# The npm package: ES module + .d.ts + both wasm variants + the loader.
first="$(echo $variants | awk '{print $1}')"
cp www/medtriage-loader.js "$out_dir/loader.js"
python3 - "$out_dir" <<'PY'
import json, os, sys
out = sys.argv[1]
p = os.path.join(out, "package.json")
import tomllib
cargo = tomllib.load(open("Cargo.toml", "rb"))["package"]
files = sorted(f for f in os.listdir(out) if f.endswith((".js", ".wasm", ".d.ts")))
pkg = {
  "name": "medtriage", "version": cargo["version"], "description": cargo["description"],
  "license": cargo["license"], "type": "module",
  "main": "medtriage.js", "module": "medtriage.js", "types": "medtriage.d.ts",
  "exports": {".": {"types": "./medtriage.d.ts", "default": "./medtriage.js"},
              "./loader": "./loader.js", "./*.wasm": "./*.wasm"},
  "files": files + ["README.md"], "sideEffects": ["./snippets/*"],
  "keywords": cargo.get("keywords", []),
}
json.dump(pkg, open(p, "w"), indent=2)
PY
cp README.md "$out_dir/" 2>/dev/null || true
rm -f "$out_dir/.gitignore"

# The demo: the package and the bundled fixture model + samples.
rm -rf www/pkg www/assets
mkdir -p www/pkg www/assets/digits
cp "$out_dir"/*.js "$out_dir"/*.wasm "$out_dir"/*.d.ts www/pkg/
cp tests/fixtures/digits/model.onnx tests/fixtures/digits/manifest.json www/assets/digits/
cp tests/fixtures/digits/member1.onnx tests/fixtures/digits/member2.onnx www/assets/digits/
cp tests/golden/tta/manifest.json www/assets/digits/ensemble.json
cp tests/fixtures/digits/verified.json www/assets/digits/
cp -r tests/fixtures/digits/samples www/assets/digits/samples
( cd www/assets/digits && python3 -c '
import json, os
s = sorted(f for f in os.listdir("samples") if f.startswith("d") and f.endswith(".png"))
json.dump({"model": "model.onnx", "manifest": "manifest.json", "samples": ["samples/" + f for f in s],
           "ensemble": {"models": ["model.onnx", "member1.onnx", "member2.onnx"], "manifest": "ensemble.json"}},
          open("index.json", "w"), indent=1)' )
log "package in $out_dir/, demo in www/ (serve with node scripts/serve.mjs, or scripts/demo.sh)"
