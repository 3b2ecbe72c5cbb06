#!/usr/bin/env python3
"""Golden files for the `labels` area (confident learning, outliers, near-duplicates,
per-class analysis), computed by the reference packages (cleanlab 2.9, scikit-learn).

Regenerate:  .venv/bin/python scripts/golden_labels.py
Writes tests/golden/labels/*.json. Probabilities and features are stored as 16-hex-digit
IEEE-754 bit patterns so the Rust test reads exactly the arrays cleanlab saw.
Synthetic probabilities are continuous (softmax of Gaussian logits) so no exact ties occur.
"""
import json
import os
import struct
import warnings

import numpy as np
import cleanlab
from cleanlab.count import (
    compute_confident_joint,
    estimate_joint,
    estimate_py_and_noise_matrices_from_probabilities,
    get_confident_thresholds,
    num_label_issues,
)
from cleanlab.filter import find_label_issues
from cleanlab.outlier import OutOfDistribution
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, accuracy_score
from sklearn.metrics.pairwise import cosine_distances

warnings.filterwarnings("ignore")

# --- the one deliberate deviation --------------------------------------------------------
# cleanlab's round_preserving_sum (used by calibrate_confident_joint and the prune counts)
# orders remainders with np.argsort's default quicksort. On small arrays NumPy 2.x runs a
# SIMD sorting network (x86-simd-sort, AVX2/AVX-512), which orders *equal* remainders in a
# CPU-dependent way, and equal remainders are common (equal raw counts in a confident-joint
# row). medtriage uses a stable argsort instead. The golden files are therefore produced by
# cleanlab with exactly that one call made stable; STOCK_* entries record what unmodified
# cleanlab gives on this machine so the differences are visible.
import cleanlab.internal.util as _clu
_STOCK_RPS = _clu.round_preserving_sum


def _stable_round_preserving_sum(iterable):
    floats = np.asarray(iterable, dtype=float)
    ints = floats.round()
    orig_sum = np.sum(floats).round()
    int_sum = np.sum(ints).round()
    while abs(int_sum - orig_sum) > 1e-6:
        diff = np.round(orig_sum - int_sum)
        increment = -1 if int(diff < 0.0) else 1
        changes = min(int(abs(diff)), len(iterable))
        indices = np.argsort(floats - ints, kind="stable")[::-increment][:changes]
        for i in indices:
            ints[i] = ints[i] + increment
        int_sum = np.sum(ints).round()
    return ints.astype(int)


def stable(on):
    _clu.round_preserving_sum = _stable_round_preserving_sum if on else _STOCK_RPS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "labels")
DATA = os.path.join(ROOT, "..", "shared", "data", "label-errors")

MODES = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
         "predicted_neq_given", "low_normalized_margin", "low_self_confidence"]
METHODS = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
CAMEL = {
    "prune_by_noise_rate": "pruneByNoiseRate", "prune_by_class": "pruneByClass", "both": "both",
    "confident_learning": "confidentLearning", "predicted_neq_given": "predictedNeqGiven",
    "low_normalized_margin": "lowNormalizedMargin", "low_self_confidence": "lowSelfConfidence",
    "self_confidence": "selfConfidence", "normalized_margin": "normalizedMargin",
    "confidence_weighted_entropy": "confidenceWeightedEntropy",
}


def hexf(a):
    return "".join(struct.pack(">d", float(v)).hex() for v in np.asarray(a, dtype=np.float64).ravel())


def fl(a):
    return [float(v) for v in np.asarray(a).ravel()]


def synth(seed, n, k, noise, missing_class=False, signal=3.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    if missing_class:
        y[y == k - 1] = 0
    s = y.copy()
    flip = rng.random(n) < noise
    s[flip] = rng.integers(0, k, flip.sum())
    if missing_class:
        s[s == k - 1] = 1
    logits = rng.normal(0, 1.0, (n, k)) + signal * np.eye(k)[y] * rng.uniform(0.3, 1.5, (n, 1))
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return p, s


def cl_case(p, s):
    n, k = p.shape
    case = {}
    th = get_confident_thresholds(s, p)
    case["thresholds"] = fl(th)
    case["thresholdsHex"] = hexf(th)
    cj_raw, off = compute_confident_joint(s, p, calibrate=False, return_indices_of_off_diagonals=True)
    case["cjRaw"] = np.asarray(cj_raw).astype(int).tolist()
    case["offDiagonal"] = [int(i) for i in off]
    cj = compute_confident_joint(s, p, calibrate=True)
    case["cjCalibrated"] = np.asarray(cj).astype(int).tolist()
    case["joint"] = estimate_joint(s, p).tolist()
    py, nm, inv, cj2 = estimate_py_and_noise_matrices_from_probabilities(s, p)
    case["py"] = fl(py)
    case["noiseMatrix"] = nm.tolist()
    case["inverseNoiseMatrix"] = inv.tolist()
    case["numOffDiagonal"] = int(num_label_issues(s, p, estimation_method="off_diagonal"))
    case["numOffDiagonalCalibrated"] = int(num_label_issues(s, p, estimation_method="off_diagonal_calibrated"))
    modes = {}
    for m in MODES:
        mask = find_label_issues(s, p, filter_by=m, n_jobs=1)
        modes[CAMEL[m]] = [int(i) for i in np.flatnonzero(mask)]
    case["modes"] = modes
    # options beyond the defaults
    extra = {}
    extra["fracNoise0.5"] = [int(i) for i in np.flatnonzero(find_label_issues(s, p, frac_noise=0.5, n_jobs=1))]
    extra["bothFrac0.7"] = [int(i) for i in np.flatnonzero(find_label_issues(s, p, filter_by="both", frac_noise=0.7, n_jobs=1))]
    extra["minExamples30"] = [int(i) for i in np.flatnonzero(find_label_issues(s, p, min_examples_per_class=30, n_jobs=1))]
    lc = np.bincount(s, minlength=k)
    ntr = [int(min(c // 10, 5)) if c > 0 else 0 for c in lc]
    from cleanlab.filter import _keep_at_least_n_per_class
    pcm = _keep_at_least_n_per_class(np.asarray(compute_confident_joint(s, p)).T, 1)
    psy = pcm / np.sum(pcm, axis=1)
    if np.all(psy.sum(axis=1) - psy.diagonal() > 0):  # else cleanlab divides by zero (NaN counts)
        extra["numToRemove"] = [int(i) for i in np.flatnonzero(find_label_issues(s, p, num_to_remove_per_class=ntr, n_jobs=1))]
        case["numToRemovePerClass"] = ntr
    case["extra"] = extra
    ranked = {}
    for r in METHODS:
        ranked[CAMEL[r]] = [int(i) for i in find_label_issues(s, p, return_indices_ranked_by=r, n_jobs=1)]
    ranked["selfConfidenceAdjusted"] = [int(i) for i in find_label_issues(
        s, p, return_indices_ranked_by="self_confidence", rank_by_kwargs={"adjust_pred_probs": True}, n_jobs=1)]
    case["ranked"] = ranked
    q = {}
    for r in METHODS:
        q[CAMEL[r]] = fl(get_label_quality_scores(s, p, method=r))
    for r in METHODS[:2]:
        q[CAMEL[r] + "Adjusted"] = fl(get_label_quality_scores(s, p, method=r, adjust_pred_probs=True))
    case["quality"] = q
    return case


def synthetic():
    specs = [
        (1, 200, 3, 0.1, False),
        (2, 500, 5, 0.2, False),
        (3, 1000, 10, 0.3, False),
        (4, 300, 4, 0.05, True),
        (5, 400, 12, 0.25, False),
        (6, 120, 2, 0.15, False),
    ]
    cases = []
    for seed, n, k, noise, miss in specs:
        p, s = synth(seed, n, k, noise, miss)
        c = {"name": f"seed{seed}_n{n}_k{k}_noise{noise}" + ("_missing" if miss else ""),
             "n": n, "k": k, "predProbsHex": hexf(p), "labels": [int(v) for v in s]}
        c.update(cl_case(p, s))
        cases.append(c)
    return {"cleanlab": cleanlab.__version__, "cases": cases}


def real():
    out = {"cleanlab": cleanlab.__version__}
    for name in ["cifar10", "mnist"]:
        p = np.load(os.path.join(DATA, f"{name}_test_pyx.npy")).astype(np.float64)
        s = np.load(os.path.join(DATA, f"{name}_test_labels.npy")).astype(np.int64)
        r = {"thresholds": fl(get_confident_thresholds(s, p)), "thresholdsHex": hexf(get_confident_thresholds(s, p))}
        r["cjCalibrated"] = np.asarray(compute_confident_joint(s, p)).astype(int).tolist()
        r["numOffDiagonal"] = int(num_label_issues(s, p))
        r["numOffDiagonalCalibrated"] = int(num_label_issues(s, p, estimation_method="off_diagonal_calibrated"))
        r["modes"] = {CAMEL[m]: [int(i) for i in np.flatnonzero(find_label_issues(s, p, filter_by=m, n_jobs=1))]
                      for m in MODES}
        r["rankedSelfConfidence"] = [int(i) for i in find_label_issues(s, p, return_indices_ranked_by="self_confidence", n_jobs=1)]
        r["rankedNormalizedMargin"] = [int(i) for i in find_label_issues(s, p, return_indices_ranked_by="normalized_margin", n_jobs=1)]
        sub = np.arange(0, len(s), 10)
        r["qualityRows"] = "every 10th row"
        r["quality"] = {CAMEL[m]: fl(get_label_quality_scores(s, p, method=m)[sub]) for m in METHODS}
        r["quality"]["normalizedMarginAdjusted"] = fl(get_label_quality_scores(s, p, method="normalized_margin", adjust_pred_probs=True)[sub])
        stable(False)
        stock = {CAMEL[m]: [int(i) for i in np.flatnonzero(find_label_issues(s, p, filter_by=m, n_jobs=1))]
                 for m in MODES}
        stable(True)
        r["stockDiffers"] = {m: sorted(set(stock[m]) ^ set(r["modes"][m])) for m in stock}
        out[name] = r
    p = np.load(os.path.join(DATA, "cifar10s_resnet18_pred_probs.npy")).astype(np.float64)
    s = np.load(os.path.join(DATA, "cifar10s_resnet18_noisy_labels.npy")).astype(np.int64)
    mask = find_label_issues(s, p, n_jobs=1)
    stable(False)
    stock = np.flatnonzero(find_label_issues(s, p, n_jobs=1))
    stable(True)
    out["cifar10s"] = {
        "stockDiffers": sorted(set(int(i) for i in stock) ^ set(int(i) for i in np.flatnonzero(mask))),
        "pruneByNoiseRate": [int(i) for i in np.flatnonzero(mask)],
        "numOffDiagonal": int(num_label_issues(s, p)),
        "numOffDiagonalCalibrated": int(num_label_issues(s, p, estimation_method="off_diagonal_calibrated")),
    }
    return out


def outliers():
    cases = []
    # pred_probs based
    for seed, n, k in [(11, 300, 4), (12, 500, 10)]:
        p, s = synth(seed, n, k, 0.1, signal=2.0)
        c = {"n": n, "k": k, "predProbsHex": hexf(p), "labels": [int(v) for v in s]}
        sc = {}
        for method in ["entropy", "least_confidence", "gen"]:
            for adj in [True, False]:
                ood = OutOfDistribution(params={"method": method, "adjust_pred_probs": adj,
                                                 **({"M": k} if method == "gen" else {})})
                v = ood.fit_score(pred_probs=p, labels=s if adj else None, verbose=False)
                sc[f"{method}_{'adj' if adj else 'raw'}"] = fl(v)
        c["scores"] = sc
        cases.append(c)
    feats = []
    rng = np.random.default_rng(21)
    X = rng.normal(0, 1, (300, 16))
    X[10] = X[3]          # exact duplicates
    X[11] = X[3]
    X[50] = X[40] * 2.0    # same direction
    X[200:205] += 8.0      # a shifted cluster
    for name, Xc, params in [("cosine_k10", X, {}), ("cosine_k5_t2", X, {"k": 5, "t": 2})]:
        ood = OutOfDistribution(params=params)
        v = ood.fit_score(features=Xc, verbose=False)
        feats.append({"name": name, "n": Xc.shape[0], "d": Xc.shape[1], "featuresHex": hexf(Xc),
                      "k": params.get("k"), "t": params.get("t", 1), "metric": "cosine",
                      "scores": fl(v), "scalingFactor": float(ood.params["scaling_factor"])})
    Xe = rng.normal(0, 1, (150, 3))
    Xe[7] = Xe[8]
    ood = OutOfDistribution()
    v = ood.fit_score(features=Xe, verbose=False)
    feats.append({"name": "euclidean_d3", "n": 150, "d": 3, "featuresHex": hexf(Xe), "k": None, "t": 1,
                  "metric": "euclidean", "scores": fl(v), "scalingFactor": float(ood.params["scaling_factor"])})
    # near duplicates: brute force with sklearn's cosine distances
    Y = rng.normal(0, 1, (400, 24))
    for a, b in [(1, 2), (5, 300), (7, 8), (100, 101), (100, 102)]:
        Y[b] = Y[a] + rng.normal(0, 0.05, 24)
    Y[399] = Y[398]
    D = cosine_distances(Y)
    thr = 0.01
    pairs = [[int(i), int(j), float(D[i, j])] for i in range(400) for j in range(i + 1, 400) if D[i, j] <= thr]
    dup = {"n": 400, "d": 24, "featuresHex": hexf(Y), "threshold": thr, "pairs": pairs}
    return {"cleanlab": cleanlab.__version__, "predProbs": cases, "features": feats, "duplicates": dup}


def ece_per_class(p, y, bins):
    pred = p.argmax(1)
    conf = p.max(1)
    out = []
    for c in range(p.shape[1]):
        m = pred == c
        nc = m.sum()
        if nc == 0:
            out.append(0.0)
            continue
        b = np.clip(np.ceil(conf[m] * bins).astype(int) - 1, 0, bins - 1)
        correct = (y[m] == c).astype(float)
        e = 0.0
        for j in range(bins):
            sel = b == j
            if sel.any():
                e += sel.sum() / nc * abs(correct[sel].mean() - conf[m][sel].mean())
        out.append(float(e))
    return out


def analysis():
    cases = []
    for seed, n, k, bins in [(31, 400, 4, 15), (32, 1000, 10, 10), (33, 60, 5, 15)]:
        p, y = synth(seed, n, k, 0.2, signal=1.5)
        if seed == 33:
            # a class never predicted and never true
            p[:, 4] = 0.0
            p /= p.sum(1, keepdims=True)
            y[y == 4] = 0
        pred = p.argmax(1)
        cm = confusion_matrix(y, pred, labels=list(range(k)))
        pr, rc, f1, sup = precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0)
        cases.append({"n": n, "k": k, "bins": bins, "predProbsHex": hexf(p), "labels": [int(v) for v in y],
                      "confusion": cm.tolist(), "precision": fl(pr), "recall": fl(rc), "f1": fl(f1),
                      "support": [int(v) for v in sup], "accuracy": float(accuracy_score(y, pred)),
                      "ece": ece_per_class(p, y, bins)})
    return {"sklearn": __import__("sklearn").__version__, "cases": cases}


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    stable(True)
    dump("synthetic.json", synthetic())
    dump("real.json", real())
    dump("outliers.json", outliers())
    dump("analysis.json", analysis())
