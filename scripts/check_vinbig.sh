#!/usr/bin/env bash
# Heavier check, not part of scripts/test.sh: the multi-label consensus against crowd-kit,
# statsmodels and krippendorff on the real vinbigdata reads (15,000 chest X-rays x 3 of 17
# radiologists, 14 findings; shipped by PyPI torchxrayvision 1.5.7, installed into .venv at
# run time and never committed), then the review simulation on the same reads. ~5 min.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh python
.venv/bin/python scripts/golden_vinbig.py
MEDTRIAGE_REQUIRE_VINBIG=1 cargo test --test multilabel -- vinbigdata --nocapture
