#!/usr/bin/env bash
# Builds the npm package: the wasm variants wasm-pack.toml declares (wasm-pack, one target dir
# each), then pkg/ = the committed package sources in js/ + the wasm-bindgen glue + the .wasm
# files, `npm pack` -> target/medtriage-<version>.tgz, and the demo (www/pkg is that tarball
# unpacked, as a host installs it; www/assets the bundled model and samples).
#   scripts/build.sh                       # every variant in wasm-pack.toml, no wasm-opt
#   scripts/build.sh --release             # the same with wasm-opt (npm binaryen), for publishing
#   MEDTRIAGE_VARIANTS=simd scripts/build.sh   # only these variants (others already built are kept)
#   MEDTRIAGE_ASSEMBLE_ONLY=1 scripts/build.sh # no cargo: re-assemble pkg/ from js/ and the built wasm
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
log() { printf '[build] %s\n' "$*" >&2; }
release=false
[ "${1:-}" = --release ] && release=true

. scripts/wasm-config.sh

target="$(cfg build.target)"
profile="$(cfg build.profile)"
out_dir="$(cfg build.out_dir)"
all_variants="$(cfg build.variants)"
variants="${MEDTRIAGE_VARIANTS:-$all_variants}"
opt_when="$(cfg wasm_opt.enabled)"   # true | false | release
opt_enabled=false
{ [ "$opt_when" = true ] || { [ "$opt_when" = release ] && $release; }; } && opt_enabled=true
case "${MEDTRIAGE_WASM_OPT:-}" in 0) opt_enabled=false ;; 1) opt_enabled=true ;; esac
opt_flags="$(cfg wasm_opt.flags)"
features="$(cfg build.features | tr ' ' ',')"
crate="$(cfg build.crate)"
export_wasm_profile "$profile"
prof_flag="--release"; [ "$profile" = dev ] && prof_flag="--dev"
wasm_out="$root/target/wasm-out"   # one folder per variant: glue + .wasm as wasm-pack wrote them
# Every variant is built under the first variant's name: wasm-bindgen writes that name into the
# module's import namespace (`./<name>_bg.js`) and into the glue, so only modules built under the
# same name can share one glue. The variant's own file name is given when pkg/ is assembled.
first="$(echo $all_variants | awk '{print $1}')"
first_name="$(cfg variants.$first.out_name)"

if [ -z "${MEDTRIAGE_ASSEMBLE_ONLY:-}" ]; then
  command -v wasm-pack >/dev/null || { echo "wasm-pack missing: run scripts/bootstrap.sh" >&2; exit 1; }
  for v in $variants; do
    name="$(cfg variants.$v.out_name)"
    flags="$(cfg variants.$v.rustflags)"
    # A variant may set cargo profile keys of its own ([variants.NAME.cargo_profile]) and cargo
    # --config entries (cargo_config, e.g. one crate's opt-level); they apply to its build only,
    # in its own target directory.
    mapfile -t vprofile < <(profile_env "$profile" "variants.$v.cargo_profile")
    vconfig=()
    for c in $(cfg "variants.$v.cargo_config" 2>/dev/null || true); do vconfig+=(--config "$c"); done
    log "variant $v -> $name (RUSTFLAGS='$flags', $profile: $(env "${vprofile[@]}" | grep "^CARGO_PROFILE_" | sort | tr '\n' ' ')${vconfig[*]:+${vconfig[*]} }features $features)"
    t0=$(date +%s)
    env "${vprofile[@]}" CARGO_TARGET_DIR="$root/target/wasm-$v" RUSTFLAGS="$flags" \
      wasm-pack build --mode no-install --target "$target" $prof_flag --out-dir "$wasm_out/$v" --out-name "$first_name" --no-pack "$crate" \
      -- --no-default-features --features "$features" "${vconfig[@]}"
    log "variant $v built in $(( $(date +%s) - t0 )) s"
    wasm="$wasm_out/$v/${first_name}_bg.wasm"
    if [ "$opt_enabled" = true ]; then
      command -v wasm-opt >/dev/null || { echo "wasm-opt missing: run scripts/bootstrap.sh" >&2; exit 1; }
      extra="$(cfg variants.$v.wasm_opt_flags 2>/dev/null || true)"
      t0=$(date +%s)
      wasm-opt $opt_flags $extra "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
      log "wasm-opt ($(wasm-opt --version | awk '{print $3}')) in $(( $(date +%s) - t0 )) s"
    fi
    if [ "$(cfg build.strip_names)" = true ]; then
      python3 scripts/wasm_strip_names.py "$wasm"
    fi
    raw=$(stat -c %s "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
    log "$wasm: $raw bytes raw, $gz bytes gzip -9"
  done
fi

# pkg/: js/ sources + one glue module (every variant has the same bindings: the glue of each
# must be identical, or that variant is stale and left out).
[ -f "$wasm_out/$first/$first_name.js" ] || { echo "variant $first not built (MEDTRIAGE_VARIANTS=$first scripts/build.sh)" >&2; exit 1; }
rm -rf "$out_dir"
mkdir -p "$out_dir"
cp js/*.js js/*.d.ts js/package.json "$out_dir/"
cp "$wasm_out/$first/$first_name.js" "$wasm_out/$first/$first_name.d.ts" "$wasm_out/$first/${first_name}_bg.wasm" \
   "$wasm_out/$first/${first_name}_bg.wasm.d.ts" "$out_dir/"
for v in $all_variants; do
  [ "$v" = "$first" ] && continue
  name="$(cfg variants.$v.out_name)"
  [ -f "$wasm_out/$v/$first_name.js" ] || { log "variant $v not built: the package has no ${name}_bg.wasm"; continue; }
  if diff -q "$wasm_out/$v/$first_name.js" "$wasm_out/$first/$first_name.js" >/dev/null; then
    cp "$wasm_out/$v/${first_name}_bg.wasm" "$out_dir/${name}_bg.wasm"
  else
    log "variant $v is stale (its bindings differ from $first's): left out; rebuild it"
  fi
done
cp README.md "$out_dir/"
# wasm-bindgen writes a trailing `options: ScoreOptions | undefined` as a required parameter;
# JS callers may leave it out, so the declaration says so (`options?: ScoreOptions`).
sed -i -E 's/(\w+): ((Load|Score|Profile)Options|Measure|Channels) \| undefined\)/\1?: \2)/g' "$out_dir/$first_name.d.ts"
# package.json: name, version, description, licence from Cargo.toml; only files that exist
node - "$out_dir" <<'JS'
const fs = require("node:fs"), path = require("node:path"), { execFileSync } = require("node:child_process");
const out = process.argv[2];
const meta = JSON.parse(execFileSync("cargo", ["metadata", "--no-deps", "--format-version", "1", "--offline"], { encoding: "utf8" }));
const c = meta.packages.find((p) => p.name === "medtriage");
const pj = JSON.parse(fs.readFileSync(path.join(out, "package.json"), "utf8"));
Object.assign(pj, { version: c.version, description: c.description, license: c.license, keywords: c.keywords });
pj.files = pj.files.filter((f) => fs.existsSync(path.join(out, f)));
fs.writeFileSync(path.join(out, "package.json"), JSON.stringify(pj, null, 2) + "\n");
JS
tarball="$(cd "$out_dir" && npm pack --silent --pack-destination "$root/target")"
cp "target/$tarball" target/medtriage.tgz   # a fixed name for the test hosts
log "package: $out_dir/ -> target/$tarball ($(stat -c %s "target/$tarball") bytes)"
for w in "$out_dir"/*.wasm; do log "  $(basename "$w"): $(stat -c %s "$w") bytes raw, $(gzip -9 -c "$w" | wc -c) gzip -9"; done

# The demo: the packed package unpacked into www/pkg (exactly what a host installs), plus the
# bundled fixture model and samples.
# (swapped in whole, so a demo already being served never sees a half-written package)
rm -rf www/pkg.new www/pkg.old www/assets
mkdir -p www/pkg.new www/assets/digits
tar -xzf "target/$tarball" -C www/pkg.new --strip-components=1
[ -d www/pkg ] && mv www/pkg www/pkg.old
mv www/pkg.new www/pkg
rm -rf www/pkg.old
cp tests/fixtures/digits/model.onnx tests/fixtures/digits/manifest.json www/assets/digits/
cp tests/fixtures/digits/member1.onnx tests/fixtures/digits/member2.onnx www/assets/digits/
cp tests/golden/tta/manifest.json www/assets/digits/ensemble.json
cp tests/fixtures/multilabel/model.onnx www/assets/digits/multilabel.onnx
cp tests/fixtures/multilabel/manifest.json www/assets/digits/multilabel.json
cp tests/fixtures/digits/verified.json www/assets/digits/
cp -r tests/fixtures/digits/samples www/assets/digits/samples
( cd www/assets/digits && python3 -c '
import json, os
s = sorted(f for f in os.listdir("samples") if f.startswith("d") and f.endswith(".png"))
json.dump({"model": "model.onnx", "manifest": "manifest.json", "samples": ["samples/" + f for f in s],
           "ensemble": {"models": ["model.onnx", "member1.onnx", "member2.onnx"], "manifest": "ensemble.json"},
           "multiLabel": {"model": "multilabel.onnx", "manifest": "multilabel.json"}},
          open("index.json", "w"), indent=1)' )
# The review page's third-party frontends, from node_modules (package-lock.json pins them; npm ci
# installs them; never committed): Label Studio's prebuilt frontend (npm @heartexlabs/label-studio,
# Apache-2.0: main.js + main.css only, not its index.html, which loads fonts from a CDN) and
# Chart.js (MIT, its self-contained UMD build), each with its licence.
ls_build=node_modules/@heartexlabs/label-studio/build/static
chart_js=node_modules/chart.js/dist/chart.umd.min.js
[ -f "$ls_build/js/main.js" ] && [ -f "$chart_js" ] || { echo "Label Studio / Chart.js missing in node_modules: run npm ci (scripts/bootstrap.sh)" >&2; exit 1; }
rm -rf www/vendor
mkdir -p www/vendor/label-studio
cp "$ls_build/js/main.js" "$ls_build/js/main.js.LICENSE.txt" "$ls_build/css/main.css" www/vendor/label-studio/
cp node_modules/@heartexlabs/label-studio/LICENSE www/vendor/label-studio/LICENSE
cp "$chart_js" www/vendor/chart.umd.min.js
cp node_modules/chart.js/LICENSE.md www/vendor/chart.js-LICENSE.md
# no remote asset in what the page loads (the review e2e test proves it at run time as well)
if grep -lE 'fonts\.(googleapis|gstatic)\.com|sentry\.io|cdn\.jsdelivr|unpkg\.com' www/vendor/label-studio/main.* www/vendor/chart.umd.min.js; then
  echo "a vendored frontend names a CDN / font host / Sentry: check it before serving it" >&2; exit 1
fi
for f in www/vendor/label-studio/main.js www/vendor/label-studio/main.css www/vendor/chart.umd.min.js; do
  log "  $f: $(stat -c %s "$f") bytes raw, $(gzip -9 -c "$f" | wc -c) gzip -9"
done
log "package in $out_dir/ (target/$tarball), demo in www/ (serve with node scripts/serve.mjs)"
