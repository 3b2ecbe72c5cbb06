#!/usr/bin/env bash
# DICOM decode time, medtriage native vs pydicom (+ pylibjpeg) on the same files from the
# pydicom-data wheel: a 512x512 CT (uncompressed and JPEG 2000), JPEG 2000 CRs, and the
# 120-frame JPEG ultrasound. Needs scripts/bootstrap.sh python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/target/bench-dicom"
mkdir -p "$out"
.venv/bin/python scripts/golden_dicom.py --bench "$out"
mapfile -t files < <(.venv/bin/python -c "import json,sys; print('\n'.join(v['path'] for v in json.load(open(sys.argv[1])).values()))" "$out/bench-dicom.json")
cargo run --quiet --release --no-default-features --example bench_dicom -- "${files[@]}"
