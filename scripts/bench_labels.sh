#!/usr/bin/env bash
# Benchmarks for the `labels` area: medtriage (Rust, one thread) vs cleanlab 2.9 (n_jobs=1)
# on the same inputs. Prints both and the ratios.
#   scripts/bench_labels.sh [label-errors dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY=${PYTHON:-$root/.venv/bin/python}
[ -x "$PY" ] || PY=python3
DATA=${1:-$root/../shared/data/label-errors}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
SYN=${BENCH_DIR:-$CARGO_TARGET_DIR/bench_labels}
mkdir -p "$SYN"

"$PY" - "$DATA" "$SYN" <<'EOF' | tee "$SYN/python.txt"
import json, os, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
from cleanlab.filter import find_label_issues
from cleanlab.outlier import OutOfDistribution
data, syn = sys.argv[1], sys.argv[2]

def synth(n, k=10, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    alpha = np.ones((n, k)); alpha[np.arange(n), y] = 8.0
    p = rng.gamma(alpha); p /= p.sum(1, keepdims=True)
    s = y.copy(); flip = rng.random(n) < 0.2; s[flip] = rng.integers(0, k, flip.sum())
    return p, s

print("== (a) detection quality (cleanlab, defaults, n_jobs=1) ==")
p = np.load(f"{data}/cifar10s_resnet18_pred_probs.npy"); s = np.load(f"{data}/cifar10s_resnet18_noisy_labels.npy")
t = np.load(f"{data}/cifar10s_resnet18_true_labels.npy")
t0 = time.perf_counter(); m = find_label_issues(s, p, n_jobs=1); dt = time.perf_counter() - t0
err = s != t
print(f"cleanlab cifar10s: flagged {m.sum()}, precision {(m & err).sum() / m.sum():.3f}, recall {(m & err).sum() / err.sum():.3f} ({dt:.3f} s)")
for name in ["cifar10", "mnist"]:
    p = np.load(f"{data}/{name}_test_pyx.npy"); s = np.load(f"{data}/{name}_test_labels.npy").astype(int)
    mt = {r["id"]: r["mturk"]["given"] < 3 for r in json.load(open(f"{data}/{name}_mturk.json"))}
    f = np.flatnonzero(find_label_issues(s, p, n_jobs=1))
    print(f"cleanlab {name} test: flagged {len(f)}, reviewed {sum(int(i) in mt for i in f)}, confirmed {sum(mt.get(int(i), False) for i in f)}")

print("== (b) find_label_issues speed (n_jobs=1) ==")
for n in [50_000, 1_000_000]:
    p, s = synth(n)
    np.save(f"{syn}/synth_{n}_probs.npy", p); np.save(f"{syn}/synth_{n}_labels.npy", s)
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter(); m = find_label_issues(s, p, n_jobs=1); best = min(best, time.perf_counter() - t0)
    print(f"cleanlab find_label_issues {n}x10: {best:.3f} s (best of 3), flagged {m.sum()}")

print("== (c) embeddings ==")
rng = np.random.default_rng(1)
for n in [20_000, 150_000]:
    e = rng.normal(0, 1, (n, 64)).astype(np.float32)
    dup = rng.choice(n, n // 100, replace=False)
    e[dup] = e[(dup + 1) % n] + rng.normal(0, 0.02, (len(dup), 64)).astype(np.float32)
    np.save(f"{syn}/emb_{n}.npy", e)
    if n <= 20_000:
        t0 = time.perf_counter(); OutOfDistribution().fit_score(features=e.astype(np.float64), verbose=False)
        print(f"cleanlab OutOfDistribution features {n}x64 (k=10 cosine, sklearn brute): {time.perf_counter() - t0:.2f} s")
EOF

cargo run --release --quiet --no-default-features --example bench_labels -- "$DATA" "$SYN" | tee "$SYN/rust.txt"

# In headless Chromium (wasm, one thread, one JS call including the conversions; seeded
# synthetic data of the same shape, made in the page). Needs scripts/build.sh to have run.
: > "$SYN/browser.txt"
if [ -f www/pkg/medtriage_bg.wasm ]; then
  echo "== in Chromium (wasm): findLabelIssues, Float64Array probabilities + Int32Array labels =="
  node scripts/bench-browser.mjs "page=bench-triage.html?what=labels&n=50000&runs=5" \
    "page=bench-triage.html?what=labels&n=1000000&runs=3" | tee "$SYN/browser.txt"
else
  echo "(no www/pkg: run scripts/build.sh for the in-browser figures)"
fi

"$PY" - "$SYN" <<'EOF'
import re, sys
syn = sys.argv[1]
py = open(f"{syn}/python.txt").read(); rs = open(f"{syn}/rust.txt").read()
print("== ratios (cleanlab time / medtriage time) ==")
for n in ["50000", "1000000"]:
    a = re.search(rf"cleanlab find_label_issues {n}x10: ([0-9.]+)", py); b = re.search(rf"medtriage find_label_issues {n}x10: ([0-9.]+)", rs)
    if a and b: print(f"find_label_issues {n}x10: cleanlab {a[1]} s, medtriage {b[1]} s, speed-up {float(a[1]) / float(b[1]):.1f}x")
for line in open(f"{syn}/browser.txt"):
    m = re.search(r'"n":(\d+),.*"medianMs":([0-9.]+)', line)
    a = m and re.search(rf"cleanlab find_label_issues {m[1]}x10: ([0-9.]+)", py)
    if m and a: print(f"find_label_issues {m[1]}x10 in Chromium (wasm): {float(m[2]) / 1e3:.3f} s vs cleanlab {a[1]} s native, speed-up {float(a[1]) * 1e3 / float(m[2]):.1f}x")
a = re.search(r"OutOfDistribution features 20000x64.*: ([0-9.]+) s", py); b = re.search(r"knn_outliers 20000x64.*: ([0-9.]+) s", rs)
if a and b: print(f"kNN outliers 20000x64: cleanlab {a[1]} s, medtriage {b[1]} s, ratio {float(a[1]) / float(b[1]):.2f}x")
EOF
