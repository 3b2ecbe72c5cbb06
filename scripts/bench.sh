#!/usr/bin/env bash
# Speed and size figures (printed, never asserted): ms per image for the fixture model and a
# 224x224 ImageNet architecture (squeezenet from the onnx wheel, seeded random weights),
# natively (tract) and in headless Chromium (tract wasm), beside onnxruntime (Python, 1 thread)
# in the same run; wasm size raw / gzip.
#   scripts/bench.sh            (needs scripts/build.sh to have run for the browser part)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
scripts/bootstrap.sh python >/dev/null
py=.venv/bin/python
out=www/assets/bench
mkdir -p "$out"
[ -f "$out/squeezenet.onnx" ] || $py scripts/make_bench_models.py "$out" >/dev/null
fx=tests/fixtures/digits
runs="${RUNS:-30}"

echo "== wasm size"
for w in pkg/*_bg.wasm; do
  printf '%s: %s bytes raw, %s bytes gzip -9\n' "$w" "$(stat -c %s "$w")" "$(gzip -9 -c "$w" | wc -c)"
done

echo "== native (tract, 1 thread, release)"
cargo build -q --release --example bench_score
"${CARGO_TARGET_DIR:-target}"/release/examples/bench_score $fx/model.onnx $fx/manifest.json $fx/samples/d05_label3.png "$runs"
"${CARGO_TARGET_DIR:-target}"/release/examples/bench_score $out/squeezenet.onnx $out/squeezenet.json rgba:224x224 "$runs"

echo "== onnxruntime (Python, 1 thread, inference only)"
$py - "$runs" <<'PY'
import json, sys, time, numpy as np, onnxruntime as ort
runs = int(sys.argv[1])
def bench(path, shape):
    o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    name = s.get_inputs()[0].name
    for _ in range(3): s.run(None, {name: x})
    ms = []
    for _ in range(runs):
        t = time.perf_counter(); s.run(None, {name: x}); ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    print(json.dumps({"model": path, "medianMs": round(ms[len(ms)//2], 3), "minMs": round(ms[0], 3), "runs": runs}))
bench("tests/fixtures/digits/model.onnx", (1, 1, 32, 32))
bench("www/assets/bench/squeezenet.onnx", (1, 3, 224, 224))
PY

echo "== headless Chromium (tract wasm, 1 thread)"
cp $fx/model.onnx $fx/manifest.json $fx/samples/d05_label3.png "$out/"
node scripts/bench-browser.mjs \
  "model=assets/bench/model.onnx&manifest=assets/bench/manifest.json&image=assets/bench/d05_label3.png&runs=$runs" \
  "model=assets/bench/squeezenet.onnx&manifest=assets/bench/squeezenet.json&image=rgba:224x224&runs=$runs"
if ls pkg/medtriage_nosimd_bg.wasm >/dev/null 2>&1; then
  node scripts/bench-browser.mjs \
    "model=assets/bench/squeezenet.onnx&manifest=assets/bench/squeezenet.json&image=rgba:224x224&runs=$runs&nosimd=1"
fi

echo "== headless Chromium: triage maths (one JS call, conversions included)"
node scripts/bench-browser.mjs \
  "page=bench-triage.html?what=labels&n=50000" \
  "page=bench-triage.html?what=labels&n=1000000&runs=1" \
  "page=bench-triage.html?what=dawidSkene&n=10000&runs=1" \
  "page=bench-triage.html?what=dawidSkene&n=150000&runs=1" \
  "page=bench-triage.html?what=crowdlab&n=10000&runs=1" \
  "page=bench-triage.html?what=crowdlab&n=150000&runs=1" \
  "page=bench-triage.html?what=tierItems&n=150000&runs=3" \
  "page=bench-triage.html?what=planRound&n=150000&runs=3"
