#!/usr/bin/env bash
# Benchmark of the calib area on CIFAR-10 (ResNet-18, 5-fold cross-validated probabilities,
# TRUE labels): seeded split 5,000 verified / 45,000 pool, seeds 0-4.
#   temperature fit (verified) + ECE before/after (pool), conformal coverage and mean set size
#   at alpha 0.1 / 0.05 (ours vs MAPIE), auto-accept at alpha 0.01 / 0.02, delta 0.05 with the
#   realized error among accepted pool items; speed natively vs the Python references.
# Usage: scripts/bench_calib.sh   (env: PY=python with numpy/scipy/sklearn/mapie[/netcal],
#        CARGO_TARGET_DIR, DATA=dir of the .npy files, SEEDS="0 1 2 3 4")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# the repository's venv (scripts/bootstrap.sh python); the data sit beside the repository
PY="${PY:-$root/.venv/bin/python}"
DATA="${DATA:-$root/../shared/data/label-errors}"
SEEDS="${SEEDS:-0 1 2 3 4}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PY" - "$DATA" "$WORK" $SEEDS <<'EOF'
import sys, numpy as np
data, work, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
n = len(np.load(f"{data}/cifar10s_resnet18_true_labels.npy"))
for s in seeds:
    perm = np.random.default_rng(int(s)).permutation(n)
    np.save(f"{work}/seed{s}_verified.npy", perm[:5000].astype(np.int64))
    np.save(f"{work}/seed{s}_pool.npy", perm[5000:].astype(np.int64))
EOF

echo "== building the Rust example (release, no tract) =="
cargo build --release --no-default-features --example bench_calib 2>&1 | tail -1
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_calib"
"$BIN" "$DATA" "$WORK" $SEEDS > "$WORK/rust.jsonl"

"$PY" - "$DATA" "$WORK" "$(pwd)/scripts" $SEEDS <<'EOF'
import json, math, sys, time, warnings
import numpy as np, scipy.optimize, scipy.special, scipy.stats
warnings.filterwarnings("ignore")
data, work, scripts, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sys.path.insert(0, scripts)
from golden_calib import FixedProbs, guo_bins, load_netcal_metrics, ltt
from mapie.classification import SplitConformalClassifier

netcal = load_netcal_metrics()
P = np.load(f"{data}/cifar10s_resnet18_pred_probs.npy")
Y = np.load(f"{data}/cifar10s_resnet18_true_labels.npy")
rust = [json.loads(l) for l in open(f"{work}/rust.jsonl")]
multi = [r["multi"] for r in rust if "multi" in r][0]
rust = {r["seed"]: r for r in rust if "seed" in r}

def ms(t): return (time.perf_counter() - t) * 1e3

def ece(p, y):
    if netcal:
        return float(netcal[0](15).measure(p, y))
    return guo_bins(p, y, 15)[0]

rows, speed = [], {"fit": [], "report": [], "conformal": [], "accept": []}
for s in seeds:
    r = rust[s]
    v = np.load(f"{work}/seed{s}_verified.npy"); q = np.load(f"{work}/seed{s}_pool.npy")
    pv, yv, pq, yq = P[v], Y[v], P[q], Y[q]
    zv = np.log(pv)
    t0 = time.perf_counter()
    nll = lambda lt: -np.mean(scipy.special.log_softmax(zv / math.exp(lt), axis=1)[np.arange(len(yv)), yv])
    T = math.exp(scipy.optimize.minimize_scalar(nll, bounds=(math.log(0.05), math.log(20)), method="bounded",
                                                options={"xatol": 1e-10}).x)
    speed["fit"].append((r["fitMs"], ms(t0)))
    t0 = time.perf_counter(); e_before = ece(pq, yq); speed["report"].append((r["reportMs"], ms(t0)))
    e_after = ece(scipy.special.softmax(np.log(pq) / T, axis=1), yq)
    print(f"\n== seed {s}: temperature ours {r['temperature']:.6f} scipy {T:.6f} | pool ECE(15) before "
          f"ours {r['eceBefore']:.5f} ref {e_before:.5f} | after ours {r['eceAfter']:.5f} ref {e_after:.5f}")
    table = np.vstack([pv, pq]); Xv = np.arange(len(v))[:, None]; Xq = (len(v) + np.arange(len(q)))[:, None]
    print(f"   {'alpha':>5} {'method':>14} | {'ours cov':>8} {'size':>6} {'ms':>7} | {'MAPIE cov':>9} {'size':>6} {'ms':>7}")
    for c in r["conformal"]:
        a, m = c["alpha"], c["method"]
        score = {"lac": "lac", "aps": "aps", "apsRandomized": "aps", "raps": "raps"}[m]
        last = "randomized" if m in ("apsRandomized", "raps") else True
        t0 = time.perf_counter()
        try:
            mp = SplitConformalClassifier(estimator=FixedProbs(table), confidence_level=1 - a,
                                          conformity_score=score, prefit=True, random_state=int(s))
            mp.conformalize(Xv, yv)
            _, sets = mp.predict_set(Xq, conformity_score_params={"include_last_label": last})
            sets = sets[:, :, 0]
            mc, msz, mt = float(np.mean(sets[np.arange(len(q)), yq])), float(sets.sum(1).mean()), ms(t0)
        except Exception as ex:  # noqa: BLE001
            mc = msz = float("nan"); mt = ms(t0); print("   MAPIE", m, "failed:", ex)
        if m in ("lac", "aps"):
            speed["conformal"].append((c["ms"], mt))
        print(f"   {a:>5} {m:>14} | {c['coverage']:8.4f} {c['meanSize']:6.3f} {c['ms']:7.1f} | {mc:9.4f} {msz:6.3f} {mt:7.1f}")
    conf = pv.max(1); wrong = (pv.argmax(1) != yv).astype(int)
    print(f"   auto-accept (delta 0.05, exact binomial, fixed sequence): threshold, accepted verified / pool, error pool vs bound")
    for c in r["autoAccept"]:
        t0 = time.perf_counter()
        ref = ltt(conf, wrong, c["alpha"], 0.05, c["mode"], "binomial", "fixedSequence")
        mt = ms(t0); speed["accept"].append((c["ms"], mt))
        if "error" in c:
            print(f"   alpha {c['alpha']} {c['mode']:>11}: refused ({c['error'][:90]}...) ref {ref}")
            continue
        same = ref is not None and abs(ref["threshold"] - c["threshold"]) < 1e-12
        bound = "P(wrong|accepted)" if c["mode"] == "conditional" else "P(accepted & wrong)"
        realized = c["poolError"] if c["mode"] == "conditional" else c["poolJointError"]
        print(f"   alpha {c['alpha']} {c['mode']:>11}: lambda {c['threshold']:.6f} (numpy same: {same}) accepted "
              f"{c['verifiedAccepted']:.4f} / {c['poolAccepted']:.4f}; pool {bound} = {realized:.5f} "
              f"(<= {c['alpha']}: {realized <= c['alpha']}); error among accepted {c['poolError']:.5f}")

# multi-row uncertainty reference speed (numpy + scipy.stats.entropy), same sizes
rng = np.random.default_rng(0)
x = rng.random((multi["n"], multi["t"], multi["k"])) ** 4; x /= x.sum(2, keepdims=True)
t0 = time.perf_counter()
mean = x.mean(1); pe = scipy.stats.entropy(mean, axis=1); ee = scipy.stats.entropy(x, axis=2).mean(1); bald = pe - ee
srt = -np.sort(-mean, 1); lc = 1 - srt[:, 0]; mg = srt[:, 0] - srt[:, 1]
votes = np.apply_along_axis(np.bincount, 1, x.argmax(2), minlength=multi["k"]); vr = 1 - votes.max(1) / multi["t"]
t_multi = ms(t0)

print("\n== speed (ms, mean over seeds; ours native release vs Python reference) ==")
for k, vals in speed.items():
    a = np.mean([u for u, _ in vals]); b = np.mean([w for _, w in vals])
    what = {"fit": "temperature fit (5k x 10) vs scipy minimize_scalar",
            "report": "ECE/NLL/Brier report (45k x 10) vs netcal ECE" if netcal else "report vs numpy ECE",
            "conformal": "LAC/APS calibrate+sets (5k -> 45k) vs MAPIE",
            "accept": "auto-accept LTT (5k) vs numpy/scipy"}[k]
    print(f"  {what:55s} ours {a:8.2f}  ref {b:8.2f}  ratio {b / a:6.1f}x")
print(f"  {'multi-row uncertainty (10k x 10 x 10) vs numpy/scipy':55s} ours {multi['ms']:8.2f}  ref {t_multi:8.2f}  ratio {t_multi / multi['ms']:6.1f}x")
EOF
