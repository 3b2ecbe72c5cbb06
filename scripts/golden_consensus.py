#!/usr/bin/env python3
"""Golden files for the consensus engine, from the real reference packages.

    .venv/bin/python scripts/golden_consensus.py      # rewrites tests/golden/consensus/*.json

Seeded synthetic annotations (several n, K, annotator counts, missingness and accuracies)
are run through crowd-kit (MajorityVote, DawidSkene), cleanlab.multiannotator
(get_label_quality_multiannotator, get_active_learning_scores with and without unlabeled
items), sklearn.metrics.cohen_kappa_score, statsmodels' fleiss_kappa and krippendorff.alpha.
Versions are pinned in scripts/requirements-consensus.txt.
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd

import cleanlab
import krippendorff
import sklearn
import statsmodels
from cleanlab.multiannotator import get_active_learning_scores, get_label_quality_multiannotator
from crowdkit.aggregation import DawidSkene, MajorityVote
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "consensus")

# name, n, K, accuracies per annotator, probability an annotation is missing, unlabeled rows
SETTINGS = [
    ("small_k3", 60, 3, [0.9, 0.8, 0.7, 0.6], 0.3, 8),
    ("k5_sparse", 150, 5, [0.92, 0.85, 0.7, 0.55, 0.4, 0.25], 0.55, 12),
    ("binary_full", 40, 2, [0.85, 0.75, 0.65], 0.0, 5),
    ("k4_full", 80, 4, [0.95, 0.8, 0.6, 0.45, 0.3], 0.0, 6),
    ("k6_mixed", 200, 6, [0.9, 0.9, 0.7, 0.5, 0.3, 0.8, 0.6], 0.7, 10),
]


def synth(seed, n, k, acc, miss, n_unlabeled):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    m = len(acc)
    wide = np.full((n, m), np.nan)
    for j, a in enumerate(acc):
        for i in range(n):
            if rng.random() < miss:
                continue
            if rng.random() < a:
                wide[i, j] = truth[i]
            else:
                wide[i, j] = rng.choice([c for c in range(k) if c != truth[i]])
    # every item has an annotation, every annotator has one, some item has two
    for i in range(n):
        if np.isnan(wide[i]).all():
            j = int(rng.integers(0, m))
            wide[i, j] = truth[i] if rng.random() < acc[j] else rng.integers(0, k)
    for j in range(m):
        if np.isnan(wide[:, j]).all():
            wide[int(rng.integers(0, n)), j] = truth[0]

    def probs(rows, t):
        logits = rng.normal(0, 1, size=(rows, k))
        logits[np.arange(rows), t] += 1.8
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    pred = probs(n, truth)
    unl = probs(n_unlabeled, rng.integers(0, k, size=n_unlabeled))
    return truth, wide, pred, unl


def single_label_case(seed, n, k):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    m = 3
    wide = np.full((n, m), np.nan)
    for i in range(n):
        j = i % m
        wide[i, j] = truth[i] if rng.random() < 0.8 else rng.integers(0, k)
    logits = rng.normal(0, 1, size=(n, k))
    logits[np.arange(n), truth] += 1.5
    pred = np.exp(logits)
    pred /= pred.sum(axis=1, keepdims=True)
    unl = np.exp(rng.normal(0, 1, size=(4, k)))
    unl /= unl.sum(axis=1, keepdims=True)
    return wide, pred, unl


def long_df(wide):
    rows = []
    for i in range(wide.shape[0]):
        for j in range(wide.shape[1]):
            if not np.isnan(wide[i, j]):
                rows.append((f"t{i}", f"w{j}", int(wide[i, j])))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def nan_to_none(x):
    if isinstance(x, (list, tuple)):
        return [nan_to_none(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def run_crowdkit(df, n, k, m, items, n_iter, tol):
    ds = DawidSkene(n_iter=n_iter, tol=tol)
    ds.fit(df)
    probas = ds.probas_.reindex(index=items, columns=list(range(k)), fill_value=0.0)
    errors = np.zeros((m, k, k))
    for (w, l), row in ds.errors_.iterrows():
        j = int(w[1:])
        for c in range(k):
            errors[j, int(l), c] = row.get(c, 0.0)
    priors = ds.priors_.reindex(list(range(k)), fill_value=0.0).to_numpy()
    # observed-data log-likelihood at the final parameters (natural log)
    ll = 0.0
    logp = np.log(np.clip(priors, 1e-10, None))
    for t, g in df.groupby("task", sort=False):
        v = logp.copy()
        for _, r in g.iterrows():
            v = v + np.log(errors[int(r.worker[1:]), int(r.label)])
        mx = v.max()
        ll += mx + math.log(np.exp(v - mx).sum())
    return {
        "nIter": n_iter,
        "tol": tol,
        "labels": [int(x) for x in ds.labels_.reindex(items)],
        "posteriors": probas.to_numpy().ravel().tolist(),
        "priors": priors.tolist(),
        "confusion": errors.ravel().tolist(),
        "lossHistory": [float(x) for x in ds.loss_history_],
        "iterations": len(ds.loss_history_),
        "logLikelihood": ll,
    }


def agreement_ref(wide, k, min_overlap=2):
    n, m = wide.shape
    pairs = []
    for a in range(m):
        for b in range(a + 1, m):
            mask = ~np.isnan(wide[:, a]) & ~np.isnan(wide[:, b])
            ov = int(mask.sum())
            kappa = None
            obs = None
            if ov >= min_overlap:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kv = cohen_kappa_score(wide[mask, a].astype(int), wide[mask, b].astype(int))
                kappa = None if math.isnan(kv) else float(kv)
                obs = float(np.mean(wide[mask, a] == wide[mask, b]))
            pairs.append({"a": a, "b": b, "overlap": ov, "cohenKappa": kappa, "observedAgreement": obs})
    counts = np.zeros((n, k), dtype=int)
    for i in range(n):
        for j in range(m):
            if not np.isnan(wide[i, j]):
                counts[i, int(wide[i, j])] += 1
    raters = counts.sum(axis=1)
    fk = None
    if (raters == raters[0]).all() and raters[0] >= 2:
        fk = float(fleiss_kappa(counts, method="fleiss"))
    alpha = float(krippendorff.alpha(reliability_data=wide.T, level_of_measurement="nominal"))
    multi = raters >= 2
    pi = (counts * (counts - 1)).sum(axis=1)[multi] / (raters[multi] * (raters[multi] - 1))
    return {
        "pairs": pairs,
        "fleissKappa": fk,
        "krippendorffAlpha": alpha,
        "observedAgreement": float(pi.mean()),
        "numDisagreements": int(((counts > 0).sum(axis=1) > 1).sum()),
    }


def crowdlab_ref(wide, pred, calibrate):
    m = wide.shape[1]
    df = pd.DataFrame(wide, columns=[f"w{j}" for j in range(m)])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = get_label_quality_multiannotator(df, pred, verbose=False, return_weights=True, calibrate_probs=calibrate)
    if any("random selection" in str(w.message) for w in rec):
        raise RuntimeError("random tie")
    lq = res["label_quality"]
    detailed = res["detailed_label_quality"].to_numpy()
    stats = res["annotator_stats"].reindex([f"w{j}" for j in range(m)])
    # per-annotation quality in the long order (item, then annotator)
    ann_q = [float(detailed[i, j]) for i in range(wide.shape[0]) for j in range(m) if not np.isnan(wide[i, j])]
    return {
        "calibrateProbs": calibrate,
        "consensusLabel": [int(x) for x in lq["consensus_label"]],
        "consensusQualityScore": lq["consensus_quality_score"].astype(float).tolist(),
        "annotatorAgreement": lq["annotator_agreement"].astype(float).tolist(),
        "numAnnotations": [int(x) for x in lq["num_annotations"]],
        "annotationQuality": ann_q,
        "annotatorQuality": nan_to_none(stats["annotator_quality"].astype(float).tolist()),
        "agreementWithConsensus": stats["agreement_with_consensus"].astype(float).tolist(),
        "worstClass": [int(x) for x in stats["worst_class"]],
        "numExamplesLabeled": [int(x) for x in stats["num_examples_labeled"]],
        "modelWeight": float(res["model_weight"]),
        "annotatorWeight": [float(x) for x in res["annotator_weight"]],
    }


def activelab_ref(wide, pred, unl):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s, su = get_active_learning_scores(wide, pred, unl.copy())
        s2, _ = get_active_learning_scores(wide, pred)
    if any("random selection" in str(w.message) for w in rec):
        raise RuntimeError("random tie")
    assert np.allclose(s, s2)
    _, su_only = get_active_learning_scores(pred_probs_unlabeled=unl.copy())
    return {
        "scores": s.tolist(),
        "scoresUnlabeled": su.tolist(),
        "scoresUnlabeledOnly": su_only.tolist(),
    }


def request_for(wide, k):
    n, m = wide.shape
    anns = [
        {"item": f"t{i}", "annotator": f"w{j}", "label": int(wide[i, j])}
        for i in range(n)
        for j in range(m)
        if not np.isnan(wide[i, j])
    ]
    return {
        "annotations": anns,
        "numClasses": k,
        "items": [f"t{i}" for i in range(n)],
        "annotators": [f"w{j}" for j in range(m)],
    }


def case(name, seed, n, k, acc, miss, n_unl):
    for attempt in range(50):
        truth, wide, pred, unl = synth(seed + 1000 * attempt, n, k, acc, miss, n_unl)
        np.random.seed(0)
        try:
            cl = crowdlab_ref(wide, pred, calibrate=False)
            cl_cal = crowdlab_ref(wide, pred, calibrate=True)
            al = activelab_ref(wide, pred, unl)
        except RuntimeError:
            continue
        break
    else:
        raise SystemExit(f"{name}: could not avoid random ties")
    m = wide.shape[1]
    items = [f"t{i}" for i in range(n)]
    df = long_df(wide)
    mv = MajorityVote()
    mv.fit(df)
    mv_probas = mv.probas_.reindex(index=items, columns=list(range(k)), fill_value=0.0)
    counts = mv_probas.to_numpy()
    top = counts.max(axis=1, keepdims=True)
    tied = ((counts == top).sum(axis=1) > 1).tolist()
    return {
        "name": name,
        "seed": seed,
        "n": n,
        "k": k,
        "m": m,
        "request": request_for(wide, k),
        "predProbs": pred.ravel().tolist(),
        "predProbsUnlabeled": unl.ravel().tolist(),
        "majority": {
            "labels": [int(x) for x in mv.labels_.reindex(items)],
            "probabilities": counts.ravel().tolist(),
            "tied": tied,
            "skills": [float(mv.skills_[f"w{j}"]) for j in range(m)],
        },
        "dawidSkene": run_crowdkit(df, n, k, m, items, 100, 1e-5),
        "dawidSkeneFixed": run_crowdkit(df, n, k, m, items, 15, -1e9),
        "crowdlab": cl,
        "crowdlabCalibrated": cl_cal,
        "activeLab": al,
        "agreement": agreement_ref(wide, k),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    from importlib.metadata import version

    versions = {
        "cleanlab": cleanlab.__version__,
        "crowd-kit": version("crowd-kit"),
        "krippendorff": version("krippendorff"),
        "scikit-learn": sklearn.__version__,
        "statsmodels": statsmodels.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    cases = [case(name, 100 + i, n, k, acc, miss, u) for i, (name, n, k, acc, miss, u) in enumerate(SETTINGS)]
    wide, pred, unl = single_label_case(7, 30, 4)
    single = {
        "request": request_for(wide, 4),
        "predProbs": pred.ravel().tolist(),
        "predProbsUnlabeled": unl.ravel().tolist(),
        "activeLab": activelab_ref(wide, pred, unl),
    }
    doc = {"versions": versions, "cases": cases, "singleLabel": single}
    path = os.path.join(OUT, "consensus.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
