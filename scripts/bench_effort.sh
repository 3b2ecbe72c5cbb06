#!/usr/bin/env bash
# The human-effort benchmark: reviews needed to bring a noisy pool to 99% / 99.5%
# label accuracy, per strategy (uniform, confidence, label-issue, the tiered policy in rounds),
# on cifar10s_resnet18 (50,000 real ResNet-18 probabilities, ~20% label noise), several seeds.
# Prints the figures; writes the accuracy-vs-reviews curves to target/effort_curves.csv.
#   scripts/bench_effort.sh [seeds] [label-errors dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
SEEDS=${1:-5}
DATA=${2:-$root/../shared/data/label-errors}
mkdir -p target
cargo run --release --quiet --no-default-features --example bench_effort -- "$DATA" "$SEEDS" target/effort_curves.csv
