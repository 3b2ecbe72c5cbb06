#!/usr/bin/env python3
"""Golden files for the `select` area (batch selection for the review queue).

Regenerate:  .venv/bin/python scripts/golden_select.py
Writes tests/golden/select/{synthetic,real}.json. Pins: scripts/requirements-select.txt.

References:
- topK: NumPy `argsort(-scores, kind="stable")` (ties by lower index).
- rankedBatch: modAL 0.4.2.1 `modAL.batch.ranked_batch` called directly with a precomputed
  uncertainty vector (what `uncertainty_batch_sampling` does after `classifier_uncertainty`);
  the "classifier" is a stand-in object carrying `X_training` (the labelled set, or None for
  modAL's cold start) and `on_transformed=False`.
- kCenterGreedy: scikit-activeml 1.0.1 `skactiveml.pool.k_greedy_center` on
  `vstack(pool, labelled)` with the labelled rows marked labelled. Without a labelled set,
  medtriage starts from the highest-scored item; the reference is then given that item as
  the one labelled sample (scikit-activeml would otherwise start at random).
- badge: the authors' `init_centers` (JordanAsh/badge, query_strategies/badge_sampling.py)
  re-typed in NumPy on the *materialised* gradient embeddings, with exact (direct-difference)
  distances, and with scipy's `rv_discrete` draw replaced by the documented inverse-CDF draw
  on SplitMix64 uniforms so the indices can be compared one to one. Also stored: gradient
  norms, squared gradient distances of random pairs, and the D^2 probabilities per step.
- Per-class allocation (byEstimatedError): the documented largest-remainder rule, written
  here in NumPy (no reference package implements it); error rates = 1 - precision per
  predicted class from scikit-learn's precision_score on a verified slice.
"""
import json
import os
import warnings
from types import SimpleNamespace

import numpy as np
from modAL.batch import ranked_batch
from skactiveml.pool import k_greedy_center
from sklearn.metrics import precision_score

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "golden", "select")
DATA = os.path.join(ROOT, "..", "shared", "data", "label-errors")
M64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & M64

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def next_f64(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def fl(a):
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=float).ravel()]


def ints(a):
    return [int(v) for v in np.asarray(a).ravel()]


def modal_ranked(X, unc, b, labeled, metric):
    clf = SimpleNamespace(on_transformed=False, X_training=labeled)
    idx, _ = ranked_batch(clf, unlabeled=X, uncertainty_scores=unc, n_instances=b,
                          metric=metric, n_jobs=None)
    return ints(idx)


def skal_kcenter(X, b, labeled, metric):
    """scikit-activeml k_greedy_center; returns pool indices."""
    n = len(X)
    Xa = np.vstack([X, labeled]) if labeled is not None and len(labeled) else X
    y = np.full(len(Xa), np.nan)
    y[n:] = 0
    q, _ = k_greedy_center(Xa, y, batch_size=b, random_state=0, metric=metric)
    assert all(i < n for i in q)
    return ints(q)


def skal_kcenter_cold(X, scores, b, metric):
    """Cold start: the top-scored item is the first centre, then the reference's greedy."""
    first = int(np.argsort(-scores, kind="stable")[0])
    y = np.full(len(X), np.nan)
    y[first] = 0
    q, _ = k_greedy_center(X, y, batch_size=b - 1, random_state=0, metric=metric)
    return [first] + ints(q)


def grad_embeddings(P, H):
    n, k = P.shape
    yhat = np.argmax(P, axis=1)
    R = P.copy()
    R[np.arange(n), yhat] -= 1.0
    return (R[:, :, None] * H[:, None, :]).reshape(n, -1)  # class-major blocks, as the original


def badge_original(P, H, K, seed):
    """init_centers (Ash et al.) on materialised gradient embeddings, SplitMix64 draws."""
    G = grad_embeddings(P, H)
    norms = np.linalg.norm(G, axis=1)
    inds = [int(np.argmax(norms))]
    rng = SplitMix64(seed)
    D2 = None
    trace = []
    while len(inds) < K:
        newD = ((G - G[inds[-1]]) ** 2).sum(axis=1)  # squared distance to the newest centre
        D2 = newD if D2 is None else np.minimum(D2, newD)
        D2[inds] = 0.0  # a centre is never redrawn (the original redraws on a hit)
        cum = np.cumsum(D2)
        total = cum[-1]
        trace.append(D2 / total)
        target = rng.next_f64() * total
        ind = int(np.argmax(cum > target))
        inds.append(ind)
    return inds, norms, trace, G


def allocate_by_error(pool, rates, total, min_per_class):
    """The documented rule: floors, then largest remainder on rate x pool, capped, refilled."""
    k = len(pool)
    alloc = np.minimum(pool, min_per_class).astype(int)
    w = np.asarray(rates) * np.asarray(pool)
    for pass_ in range(2):
        while alloc.sum() < total:
            ww = w if pass_ == 0 else (pool - alloc).astype(float)
            active = [c for c in range(k) if alloc[c] < pool[c] and ww[c] > 0]
            if not active:
                break
            left = total - alloc.sum()
            s = sum(ww[c] for c in active)
            add = np.zeros(k, int)
            rem = []
            for c in active:
                q = left * ww[c] / s
                add[c] = int(np.floor(q))
                rem.append((-(q - np.floor(q)), c))
            rem.sort()
            extra = left - add.sum()
            i = 0
            while extra > 0:
                add[rem[i % len(rem)][1]] += 1
                extra -= 1
                i += 1
            moved = 0
            for c in range(k):
                a = min(add[c], pool[c] - alloc[c])
                alloc[c] += a
                moved += a
            if moved == 0:
                break
    return ints(alloc)


def synthetic():
    rng = np.random.default_rng(20240605)
    n, d, k = 2000, 16, 5
    centres = rng.normal(0, 3, (k, d))
    comp = rng.integers(0, k, n)
    X = centres[comp] + rng.normal(0, 1, (n, d))
    W = rng.normal(0, 0.5, (d, k))
    logits = X @ W + rng.normal(0, 1, (n, k))
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    unc = 1.0 - P.max(1)  # modAL's classifier_uncertainty
    L = centres[rng.integers(0, k, 50)] + rng.normal(0, 1, (50, d))
    cases = {}
    # topK with ties (2 decimals)
    s_ties = np.round(unc, 2)
    cases["topK"] = dict(scores=fl(s_ties), b=100, expected=ints(np.argsort(-s_ties, kind="stable")[:100]))
    # rankedBatch vs modAL
    cases["rankedEuclidean"] = dict(b=50, metric="euclidean", labeled=True,
                                    expected=modal_ranked(X, unc, 50, L, "euclidean"))
    cases["rankedCosine"] = dict(b=30, metric="cosine", labeled=True,
                                 expected=modal_ranked(X, unc, 30, L, "cosine"))
    cases["rankedColdMedoid"] = dict(b=30, metric="euclidean", labeled=False,
                                     expected=modal_ranked(X, unc, 30, None, "euclidean"))
    # NaN scores: the reference sees the eligible rows only
    nan_idx = rng.choice(n, 40, replace=False)
    s_nan = unc.copy()
    s_nan[nan_idx] = np.nan
    elig = np.flatnonzero(np.isfinite(s_nan))
    sub = modal_ranked(X[elig], unc[elig], 40, L, "euclidean")
    cases["rankedNaN"] = dict(scores=fl(s_nan), b=40, metric="euclidean", labeled=True,
                              expected=ints(elig[sub]), skipped=ints(np.sort(nan_idx)))
    # kCenterGreedy vs scikit-activeml
    cases["kcenterLabeled"] = dict(b=100, metric="euclidean", labeled=True,
                                   expected=skal_kcenter(X, 100, L, "euclidean"))
    cases["kcenterCold"] = dict(b=100, metric="euclidean", labeled=False,
                                expected=skal_kcenter_cold(X, unc, 100, "euclidean"))
    cases["kcenterCosine"] = dict(b=60, metric="cosine", labeled=True,
                                  expected=skal_kcenter(X, 60, L, "cosine"))
    # BADGE: n = 500 (trace), first rows only
    nb = 500
    inds, norms, trace, G = badge_original(P[:nb], X[:nb], 12, seed=7)
    pr = rng.integers(0, nb, (300, 2))
    sqd = [float(((G[i] - G[j]) ** 2).sum()) for i, j in pr]
    cases["badge"] = dict(n=nb, b=12, seed=7, expected=inds, gradientNorms=fl(norms),
                          pairs=ints(pr), pairSqDistances=sqd, trace=[fl(t) for t in trace])
    return dict(n=n, d=d, k=k, embeddings=fl(X), predProbs=fl(P), scores=fl(unc),
                labeled=fl(L), cases=cases)


def real():
    P_all = np.load(os.path.join(DATA, "cifar10_test_pyx.npy")).astype(float)
    y_all = np.load(os.path.join(DATA, "cifar10_test_labels.npy")).astype(int)
    P_all = P_all / P_all.sum(1, keepdims=True)  # rows sum to 1 within 1e-6 already
    rng = np.random.default_rng(7)
    R = rng.normal(0, 1, (10, 16)) / np.sqrt(10)
    # the verified slice: rows 0..999; the pool: rows 1000..2999
    Pv, yv = P_all[:1000], y_all[:1000]
    P = P_all[1000:3000]
    n, k, d = len(P), 10, 16
    H = np.log(P + 1e-6) @ R / 10.0 + rng.normal(0, 0.01, (n, d))  # seeded random projection
    unc = 1.0 - P.max(1)
    cases = {}
    cases["topK"] = dict(b=200, expected=ints(np.argsort(-unc, kind="stable")[:200]))
    cases["ranked"] = dict(b=50, expected=modal_ranked(H, unc, 50, None, "euclidean"))
    cases["kcenter"] = dict(b=80, expected=skal_kcenter_cold(H, unc, 80, "euclidean"))
    inds, norms, trace, G = badge_original(P, H, 40, seed=11)
    cases["badge"] = dict(b=40, seed=11, expected=inds, gradientNorms=fl(norms))
    # stratified kCenter with a per-class budget by estimated error (1 - precision)
    prec = precision_score(yv, Pv.argmax(1), labels=list(range(k)), average=None, zero_division=0)
    rates = 1.0 - prec
    pred = P.argmax(1)
    pool = np.bincount(pred, minlength=k)
    alloc = allocate_by_error(pool, rates, 60, 2)
    sel = []
    for c in range(k):
        if alloc[c] == 0:
            continue
        idx = np.flatnonzero(pred == c)
        sub = skal_kcenter_cold(H[idx], unc[idx], alloc[c], "euclidean") if alloc[c] > 1 else \
            [int(np.argsort(-unc[idx], kind="stable")[0])]
        sel += ints(idx[sub])
    cases["stratifiedKcenter"] = dict(b=60, minPerClass=2, classErrorRates=fl(rates),
                                      allocation=alloc, expected=sel)
    return dict(n=n, d=d, k=k, embeddings=fl(H), predProbs=fl(P), scores=fl(unc), cases=cases)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, f in [("synthetic", synthetic), ("real", real)]:
        g = f()
        g["versions"] = {"numpy": np.__version__, "modAL": "0.4.2.1", "scikit-activeml": "1.0.1"}
        with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
            json.dump(g, fh, separators=(",", ":"))
        print(name, {c: v["expected"][:8] for c, v in g["cases"].items()})


if __name__ == "__main__":
    main()
