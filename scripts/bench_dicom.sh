#!/usr/bin/env bash
# DICOM decode time (figures printed, never asserted): medtriage natively and in headless
# Chromium (the package's SIMD wasm) against pydicom 3 + pylibjpeg on the same files, in the
# same run: a 512x512 CT (uncompressed and JPEG 2000), JPEG 2000 CRs (~2 MB and more) and
# the 120-frame JPEG ultrasound, all from the pydicom-data wheel (installed into .venv, never
# committed). Each figure is the median and the best of RUNS runs after a warm-up.
#   scripts/bench_dicom.sh          (the Chromium part needs scripts/build.sh to have run)
#   RUNS=9 scripts/bench_dicom.sh
#   BASELINE=<git revision> scripts/bench_dicom.sh   (adds the native figures of that revision's
#                                   library, from `git archive`, to compare before / after a change)
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

tdir="${CARGO_TARGET_DIR:-$root/target}"
if [ -n "${BASELINE:-}" ]; then
  echo "== medtriage native at $BASELINE (release, 1 thread)" >&2
  rm -rf "$out/baseline-src"; mkdir -p "$out/baseline-src"
  git archive "$BASELINE" | tar -x -C "$out/baseline-src"
  # the same harness, that revision's library
  cp examples/bench_dicom.rs "$out/baseline-src/examples/"
  # same target directory: only the crate itself is compiled again
  CARGO_TARGET_DIR="$tdir" cargo build --quiet --release --no-default-features --features dicom-all \
    --example bench_dicom --manifest-path "$out/baseline-src/Cargo.toml"
  cp "$tdir/release/examples/bench_dicom" "$out/bench_dicom-baseline"
  "$out/bench_dicom-baseline" "$runs" "${files[@]}" | tee "$out/baseline.jsonl" >&2
fi

echo "== medtriage native (release, 1 thread)" >&2
cargo build --quiet --release --no-default-features --features dicom-all --example bench_dicom
"$tdir"/release/examples/bench_dicom "$runs" "${files[@]}" | tee "$out/native.jsonl" >&2

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
nat, web, base = lines("native.jsonl"), lines("chromium.jsonl"), lines("baseline.jsonl")
print(f"pydicom {ref['pydicom']}; ms, median / best of the runs after a warm-up (pydicom: fewer runs where one "
      "takes over 6 s, see the runs column); ratio = pydicom's best time / ours (decode + window), > 1 = faster than pydicom")
cols = ["file", "what", "bytes", "frames", "pydicom decode", "pydicom decode + window (runs)"]
if base:
    cols += ["native decode + window before"]
cols += ["native decode", "native decode + window", "Chromium decode + window"]
if base:
    cols += ["native ratio before"]
cols += ["native ratio", "Chromium ratio"]
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
f = lambda v: f"{v:.1f}" if isinstance(v, (int, float)) else "-"
for name, r in ref["files"].items():
    n, w, b = nat.get(name, {}), web.get(name, {}), base.get(name, {})
    what = f"{r['modality']} {r['rows']}x{r['columns']}x{r['samplesPerPixel']}, {r['bitsStored']}-bit, {r['transferSyntax']}"
    mb = lambda j, k: f"{f(j.get(k + 'Ms'))} / {f(j.get(k + 'BestMs'))}"
    best = r["decodeWindowBestMs"]
    ratio = lambda j: f"{best / j['decodeWindowBestMs']:.2f}" if j.get("decodeWindowBestMs") else "-"
    row = [name, what, f"{r['bytes']:,}", str(r["frames"]), mb(r, "decode"), f"{mb(r, 'decodeWindow')} ({r['runs']})"]
    if base:
        row += [mb(b, "decodeWindow")]
    row += [mb(n, "decode"), mb(n, "decodeWindow"), mb(w, "decodeWindow")]
    if base:
        row += [ratio(b)]
    row += [ratio(n), ratio(w)]
    print("| " + " | ".join(row) + " |")
PY
