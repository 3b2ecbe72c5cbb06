#!/usr/bin/env bash
# Benchmark for the `select` area: medtriage (Rust, one thread) on 150,000 x 512 synthetic
# embeddings, batch 100 and 1,000, every strategy; modAL 0.4.2.1's ranked batch on the SAME
# inputs (regenerated bit for bit in NumPy from the same SplitMix64 streams) where it finishes
# in a few minutes, plus the speed ratio and whether the picks agree.
#   scripts/bench_select.sh [n] [d]        (defaults 150000 512)
# modAL recomputes distances from the pool to the whole labelled+selected set at every step
# (O(n d (L + t)) per step, O(n d b (L + b/2)) per batch) and copies X[mask] each step; its
# cold start builds the n x n distance matrix (150,000^2 x 8 B = 180 GB), so both sides get
# 100 labelled rows. modAL is timed at 150,000 only for batch 100 (budget MODAL_MAX_S,
# default 600 s, estimated from a 20,000-item run first); batch 1,000 at 5,000 items
# (at 20,000 items modAL's batch 1,000 would take ~40x its batch-100 time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY=${PYTHON:-$root/.venv/bin/python}
[ -x "$PY" ] || PY=python3
N=${1:-150000}
D=${2:-512}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
OUT=${BENCH_DIR:-$CARGO_TARGET_DIR/bench_select}
mkdir -p "$OUT"

cargo build --release --quiet --no-default-features --example bench_select
BIN="$CARGO_TARGET_DIR/release/examples/bench_select"
{
  "$BIN" "$N" "$D" 100,1000
  "$BIN" 20000 "$D" 100 rankedBatch
  "$BIN" 5000 "$D" 1000 rankedBatch
} | tee "$OUT/rust.txt"

"$PY" - "$N" "$D" "${MODAL_MAX_S:-600}" <<'PYEOF' | tee "$OUT/python.txt"
import sys, time
from types import SimpleNamespace
import numpy as np
from modAL.batch import ranked_batch

N, D, BUDGET = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
GAMMA, M1, M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)

def uniforms(seed, length):
    # SplitMix64, output t uses state seed + (t + 1) * GAMMA (wrapping), as the Rust stream
    out = np.empty(length)
    step = 1 << 22
    with np.errstate(over="ignore"):
        for a in range(0, length, step):
            t = np.arange(a + 1, min(a + step, length) + 1, dtype=np.uint64)
            z = np.uint64(seed) + t * GAMMA
            z = (z ^ (z >> np.uint64(30))) * M1
            z = (z ^ (z >> np.uint64(27))) * M2
            z = z ^ (z >> np.uint64(31))
            out[a:a + len(t)] = (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return out

def blobs(seed, rows, d, centres=20):
    c = uniforms(seed, centres * d) * 10.0 - 5.0
    ids = np.minimum((uniforms(seed + 1, rows) * centres).astype(np.int64), centres - 1)
    x = uniforms(seed + 2, rows * d).reshape(rows, d)
    return c.reshape(centres, d)[ids] + (x - 0.5) * 2.0

def run(n, b):
    X = blobs(1, N, D)[:n] if n == N else blobs(1, n, D)
    L = blobs(11, 100, D)
    s = uniforms(21, n)
    clf = SimpleNamespace(on_transformed=False, X_training=L)
    t0 = time.perf_counter()
    idx, _ = ranked_batch(clf, unlabeled=X, uncertainty_scores=s, n_instances=b, metric="euclidean", n_jobs=None)
    dt = time.perf_counter() - t0
    print(f"modAL rankedBatch n={n} d={D} b={b}: {dt:.3f} s, first picks {[int(i) for i in idx[:10]]}", flush=True)
    return dt

t20 = run(20000, 100)
# cost ~ n * (L*b + b^2/2) distance rows; extrapolate 20k -> N at b = 100
est = t20 * N / 20000
if N != 20000:
    if est <= BUDGET:
        run(N, 100)
    else:
        print(f"modAL rankedBatch n={N} d={D} b=100: skipped (estimated {est:.0f} s > budget {BUDGET:.0f} s)")
    print(f"modAL rankedBatch n={N} d={D} b=1000: skipped (estimated {t20 * N / 20000 * (100 * 1000 + 1000**2 / 2) / (100 * 100 + 100**2 / 2):.0f} s)")
run(5000, 1000)
PYEOF

"$PY" - "$OUT" <<'PYEOF'
import re, sys
out = sys.argv[1]
rs = open(f"{out}/rust.txt").read(); py = open(f"{out}/python.txt").read()
print("== ratios (modAL time / medtriage time), rankedBatch, same inputs ==")
for m in re.finditer(r"modAL rankedBatch n=(\d+) d=(\d+) b=(\d+): ([0-9.]+) s, first picks (\[.*\])", py):
    n, d, b, t, head = m.groups()
    r = re.search(rf"medtriage rankedBatch n={n} d={d} b={b}: ([0-9.]+) s, working arrays (\d+) bytes.*first picks (\[.*\])", rs)
    if r:
        same = "picks equal" if r[3] == head else f"picks DIFFER ({r[3]} vs {head})"
        print(f"n={n} d={d} b={b}: modAL {t} s, medtriage {r[1]} s, speed-up {float(t) / float(r[1]):.1f}x; {same}; medtriage working arrays {int(r[2]) / 1e6:.2f} MB")
PYEOF
