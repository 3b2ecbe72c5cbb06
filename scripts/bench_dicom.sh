#!/usr/bin/env bash
# DICOM decode time (figures printed, never asserted): medtriage natively and in headless
# Chromium (the package's SIMD wasm) against pydicom 3 + pylibjpeg on the same files, in the
# same run: a 512x512 CT (uncompressed and JPEG 2000), JPEG 2000 CRs (~2 MB and more) and
# the 120-frame JPEG ultrasound, all from the pydicom-data wheel (installed into .venv, never
# committed). Each figure is the median of RUNS runs after a warm-up.
#   scripts/bench_dicom.sh          (the Chromium part needs scripts/build.sh to have run)
#   RUNS=9 scripts/bench_dicom.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
scripts/bootstrap.sh python >/dev/null
runs="${RUNS:-5}"
out="$root/target/bench-dicom"
mkdir -p "$out" www/assets/bench/dicom
rm -f "$out"/*.jsonl

echo "== pydicom $(.venv/bin/python -c 'import pydicom; print(pydicom.__version__)') (+ pylibjpeg)" >&2
.venv/bin/python scripts/golden_dicom.py --bench "$out" "$runs"
mapfile -t files < <(.venv/bin/python -c "import json,sys; print('\n'.join(v['path'] for v in json.load(open(sys.argv[1]))['files'].values()))" "$out/bench-dicom.json")

echo "== medtriage native (release, 1 thread)" >&2
cargo build --quiet --release --no-default-features --features dicom-all --example bench_dicom
"${CARGO_TARGET_DIR:-target}"/release/examples/bench_dicom "$runs" "${files[@]}" | tee "$out/native.jsonl" >&2

if [ -f www/pkg/medtriage_bg.wasm ]; then
  echo "== medtriage in headless Chromium (package wasm, SIMD, 1 thread)" >&2
  queries=()
  for f in "${files[@]}"; do
    cp "$f" www/assets/bench/dicom/
    queries+=("page=bench-dicom.html?file=assets/bench/dicom/$(basename "$f")&runs=$runs")
  done
  node scripts/bench-browser.mjs "${queries[@]}" | tee "$out/chromium.jsonl" >&2
else
  echo "(no www/pkg: run scripts/build.sh for the Chromium figures)" >&2
fi

.venv/bin/python - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
ref = json.load(open(os.path.join(out, "bench-dicom.json")))
def lines(name):
    p = os.path.join(out, name)
    return {j["file"]: j for j in map(json.loads, open(p))} if os.path.exists(p) else {}
nat, web = lines("native.jsonl"), lines("chromium.jsonl")
print(f"pydicom {ref['pydicom']}; ms, median of the runs after a warm-up (pydicom: fewer runs where one "
      "takes over 6 s, see the runs column); ratio = pydicom's time / ours (decode + window), > 1 = faster than pydicom")
print("| file | what | bytes | frames | pydicom decode | pydicom decode + window (runs) | native decode | native decode + window | Chromium decode + window | native ratio | Chromium ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, r in ref["files"].items():
    n, w = nat.get(name, {}), web.get(name, {})
    what = f"{r['modality']} {r['rows']}x{r['columns']}x{r['samplesPerPixel']}, {r['bitsStored']}-bit, {r['transferSyntax']}"
    f = lambda v: f"{v:.1f}" if isinstance(v, (int, float)) else "-"
    ratio = lambda v: f"{r['decodeWindowMs'] / v:.2f}" if isinstance(v, (int, float)) and v > 0 else "-"
    print(f"| {name} | {what} | {r['bytes']:,} | {r['frames']} | {f(r['decodeMs'])} | {f(r['decodeWindowMs'])} ({r['runs']}) | "
          f"{f(n.get('decodeMs'))} | {f(n.get('decodeWindowMs'))} | {f(w.get('decodeWindowMs'))} | "
          f"{ratio(n.get('decodeWindowMs'))} | {ratio(w.get('decodeWindowMs'))} |")
PY
