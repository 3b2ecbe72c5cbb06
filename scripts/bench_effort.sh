#!/usr/bin/env bash
# The human-effort benchmark: reviews needed to bring a noisy pool to 99% / 99.5%
# label accuracy, per strategy (uniform, confidence, label-issue, the tiered policy in rounds),
# on cifar10s_resnet18 (50,000 real ResNet-18 probabilities, ~20% label noise), several seeds.
# Prints the figures; writes the accuracy-vs-reviews curves to target/effort_curves.csv.
#   scripts/bench_effort.sh [seeds] [label-errors dir]   (REVIEW_SEEDS=2 for bench_review;
#   EFFORT_CLASSIC=0 skips the original cifar10s run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
SEEDS=${1:-5}
# the shared data sit next to the repository unless MEDTRIAGE_SHARED says otherwise
SHARED=${MEDTRIAGE_SHARED:-$root/../shared}
DATA=${2:-$SHARED/data/label-errors}
mkdir -p target
if [ "${EFFORT_CLASSIC:-1}" != 0 ]; then
  cargo run --release --quiet --no-default-features --example bench_effort -- "$DATA" "$SEEDS" target/effort_curves.csv
fi
# the settings with class-pair noise, the three orders side by side, the certificate's cost and
# the reviewer teams (EFFORT_SETTINGS=pairs,... picks settings, EFFORT_TEAMS=0 skips the teams)
cargo run --release --quiet --no-default-features --example bench_review -- "$DATA" "${REVIEW_SEEDS:-2}"
