#!/usr/bin/env bash
# Consensus benchmark: Dawid-Skene (fixed iterations, equal work) and CROWDLAB,
# our engine (single-threaded, as in wasm) beside crowd-kit / cleanlab on the same inputs.
#   scripts/bench_consensus.sh                 # 10,000 and 150,000 items x 5 annotators x 10 classes
#   SIZES="10000" ITERS=100 scripts/bench_consensus.sh
# ITERS: Dawid-Skene iterations for both sides (default 100). CK_ITERS_150K: iterations for
# the 150,000-item run on both sides (default: ITERS).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY="${PY:-$root/.venv/bin/python}"
SIZES="${SIZES:-10000 150000}"
ITERS="${ITERS:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release --no-default-features --example bench_consensus >&2
BIN="$CARGO_TARGET_DIR/release/examples/bench_consensus"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for n in $SIZES; do
  it="$ITERS"
  if [ "$n" -ge 100000 ] && [ -n "${CK_ITERS_150K:-}" ]; then it="$CK_ITERS_150K"; fi
  dir="$tmp/$n"; mkdir -p "$dir"
  # the same inputs for both; numpy without the OpenBLAS overrides (see env README)
  ref="$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" - "$dir" "$n" "$it" <<'PYEOF'
import json, sys, time, warnings
import numpy as np, pandas as pd
from crowdkit.aggregation import DawidSkene
from cleanlab.multiannotator import get_label_quality_multiannotator
d, n, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m, k = 5, 10
rng = np.random.default_rng(42)
truth = rng.integers(0, k, n)
acc = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
present = rng.random((n, m)) < 0.6
present[np.arange(n), rng.integers(0, m, n)] = True
correct = rng.random((n, m)) < acc
wrong = (truth[:, None] + rng.integers(1, k, (n, m))) % k
labels = np.where(correct, truth[:, None], wrong)
labels = np.where(present, labels, -1).astype(np.int64)
logits = rng.normal(0, 1, (n, k)); logits[np.arange(n), truth] += 2.0
probs = np.exp(logits); probs /= probs.sum(1, keepdims=True)
np.save(f"{d}/labels.npy", labels); np.save(f"{d}/probs.npy", probs)
ii, jj = np.nonzero(labels >= 0)
df = pd.DataFrame({"task": ii, "worker": jj, "label": labels[ii, jj]})
wide = np.where(labels >= 0, labels, np.nan).astype(float)
t = time.perf_counter(); ds = DawidSkene(n_iter=iters, tol=-1e9).fit(df); ds_s = time.perf_counter() - t
assert len(ds.loss_history_) == iters
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter(); get_label_quality_multiannotator(wide, probs, verbose=False); cl_s = time.perf_counter() - t
print(json.dumps({"dawid_skene_s": ds_s, "crowdlab_s": cl_s, "annotations": int(len(df))}))
PYEOF
)"
  ours="$("$BIN" "$dir" "$it")"
  "$PY" - "$n" "$it" "$ours" "$ref" <<'PYEOF'
import json, sys
n, it, ours, ref = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"n={n} items x 5 annotators x 10 classes, {ours['annotations']} annotations")
print(f"  Dawid-Skene ({it} iterations): medtriage {ours['dawid_skene_s']:.3f} s | crowd-kit {ref['dawid_skene_s']:.3f} s | speed-up x{ref['dawid_skene_s']/ours['dawid_skene_s']:.1f}")
print(f"  CROWDLAB:                     medtriage {ours['crowdlab_s']:.3f} s | cleanlab  {ref['crowdlab_s']:.3f} s | speed-up x{ref['crowdlab_s']/ours['crowdlab_s']:.1f}")
print(f"  (medtriage request building from arrays: {ours['build_s']:.3f} s, not included)")
PYEOF
done
