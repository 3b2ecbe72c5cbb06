#!/usr/bin/env python3
"""Golden files for multi-label findings, label quality part: cleanlab 2.9's
`multilabel_classification` (find_label_issues, find_multilabel_issues_per_class,
get_label_quality_scores, get_label_quality_scores_per_class, common_multilabel_issues,
rank_classes_by_multilabel_quality, overall_multilabel_health_score) and
`count.compute_confident_joint(multi_label=True)`.

Regenerate:  .venv/bin/python scripts/golden_multilabel.py   (from the repo root; the venv
comes from `scripts/bootstrap.sh python`). Writes tests/golden/multilabel/label_issues.json.
Probabilities are stored as 16-hex-digit IEEE-754 bit patterns so the Rust test reads
exactly the arrays cleanlab saw. Synthetic sigmoid outputs are continuous (no exact ties).

Also writes tests/golden/multilabel/calibration.json: per-finding Platt scaling against
scikit-learn's `_SigmoidCalibration`, per-finding temperature against scipy's bounded scalar
minimizer of the same binary NLL, per-finding ECE/MCE/Brier/NLL from numpy.histogram bins and
sklearn.metrics, and per-finding split-conformal (LAC) thresholds from numpy's
`quantile(method="inverted_cdf")`.
And tests/golden/multilabel/consensus.json: synthetic multi-reader reads (each image read by
3 readers) through crowd-kit's MajorityVote and DawidSkene, statsmodels' fleiss_kappa and
krippendorff.alpha per finding (the same reference code checks the vinbigdata reads at test
time, scripts/golden_vinbig.py).
"""
import json
import os
import struct
import warnings

import numpy as np
import cleanlab
from cleanlab.count import compute_confident_joint
from cleanlab.multilabel_classification import dataset as mld
from cleanlab.multilabel_classification.filter import (
    find_label_issues,
    find_multilabel_issues_per_class,
)
from cleanlab.multilabel_classification.rank import (
    get_label_quality_scores,
    get_label_quality_scores_per_class,
)

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "multilabel")

MODES = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
         "predicted_neq_given", "low_normalized_margin", "low_self_confidence"]
METHODS = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]


def camel(s):
    a = s.split("_")
    return a[0] + "".join(w.title() for w in a[1:])


def hexf(a):
    return "".join(struct.pack(">d", float(v)).hex() for v in np.asarray(a, dtype=np.float64).ravel())


def fl(a):
    return [float(v) for v in np.asarray(a).ravel()]


def ints(a):
    return [int(v) for v in np.asarray(a).ravel()]


def synth(seed, n, k, noise, absent=None):
    """True findings with per-finding prevalence, given = true with false positives and
    misses at rate `noise`, probabilities = sigmoid(Gaussian logits shifted by the truth)."""
    rng = np.random.default_rng(seed)
    prev = rng.uniform(0.08, 0.5, k)
    y = (rng.random((n, k)) < prev).astype(int)
    s = y.copy()
    flip = rng.random((n, k)) < noise
    s[flip] = 1 - s[flip]
    if absent is not None:  # a finding nobody gave (rare findings in real reads)
        s[:, absent] = 0
    logits = rng.normal(-2.5, 1.2, (n, k)) + y * rng.uniform(2.5, 6.5, (n, k))
    p = 1.0 / (1.0 + np.exp(-logits))
    labels = [[int(j) for j in np.flatnonzero(r)] for r in s]
    return p, labels


def case(name, p, labels):
    n, k = p.shape
    c = {"name": name, "n": n, "k": k, "predProbsHex": hexf(p), "labels": labels}
    modes = {}
    for m in MODES:
        try:
            modes[camel(m)] = ints(np.flatnonzero(find_label_issues(labels, p, filter_by=m, n_jobs=1)))
        except ValueError as e:  # cleanlab refuses a finding nobody gave in this mode
            modes[camel(m)] = None
            c["refused"] = f"{m}: {e}"
    c["modes"] = modes
    ranked = {}
    for r in METHODS:
        ranked[camel(r)] = ints(find_label_issues(labels, p, return_indices_ranked_by=r, n_jobs=1))
    ranked["selfConfidenceAdjusted"] = ints(find_label_issues(
        labels, p, return_indices_ranked_by="self_confidence",
        rank_by_kwargs={"adjust_pred_probs": True}, n_jobs=1))
    # cleanlab's low_* ranking mixes orders (see the Rust module docs): the set is compared
    ranked["lowSelfConfidenceNormalizedMargin"] = ints(find_label_issues(
        labels, p, filter_by="low_self_confidence", return_indices_ranked_by="normalized_margin", n_jobs=1))
    c["ranked"] = ranked
    extra = {
        "fracNoise0.5": ints(np.flatnonzero(find_label_issues(labels, p, frac_noise=0.5, n_jobs=1))),
        "bothFrac0.7": ints(np.flatnonzero(find_label_issues(labels, p, filter_by="both", frac_noise=0.7, n_jobs=1))),
        "minExamples30": ints(np.flatnonzero(find_label_issues(labels, p, min_examples_per_class=30, n_jobs=1))),
    }
    ntr = [int(v) for v in np.random.default_rng(n + k).integers(0, 6, k)]
    extra["numToRemove"] = ints(np.flatnonzero(find_label_issues(
        labels, p, filter_by="prune_by_class", num_to_remove_per_class=ntr, n_jobs=1)))
    c["numToRemovePerClass"] = ntr
    c["extra"] = extra
    per = find_multilabel_issues_per_class(labels, p, n_jobs=1)
    c["perClassMask"] = [int(v) for v in np.asarray(per).astype(int).ravel()]
    lists, _, _ = find_multilabel_issues_per_class(labels, p, return_indices_ranked_by="self_confidence", n_jobs=1)
    c["perClassRanked"] = [ints(v) for v in lists]
    q = {}
    for r in METHODS:
        q[camel(r)] = fl(get_label_quality_scores(labels, p, method=r))
        q[camel(r) + "PerClass"] = fl(get_label_quality_scores_per_class(labels, p, method=r))
    for r in METHODS[:2]:
        q[camel(r) + "Adjusted"] = fl(get_label_quality_scores(labels, p, method=r, adjust_pred_probs=True))
        q[camel(r) + "AdjustedPerClass"] = fl(get_label_quality_scores_per_class(labels, p, method=r, adjust_pred_probs=True))
    q["emaAlphaNone"] = fl(get_label_quality_scores(
        labels, p, aggregator_kwargs={"method": "exponential_moving_average", "alpha": None}))
    q["emaAlpha0.5"] = fl(get_label_quality_scores(
        labels, p, aggregator_kwargs={"method": "exponential_moving_average", "alpha": 0.5}))
    q["softmin"] = fl(get_label_quality_scores(labels, p, aggregator_kwargs={"method": "softmin"}))
    q["softminT0.5"] = fl(get_label_quality_scores(
        labels, p, aggregator_kwargs={"method": "softmin", "temperature": 0.5}))
    c["quality"] = q
    c["confidentJoint"] = ints(compute_confident_joint(labels, p, multi_label=True))
    c["confidentJointRaw"] = ints(compute_confident_joint(labels, p, multi_label=True, calibrate=False))
    common = mld.common_multilabel_issues(labels=labels, pred_probs=p)
    summary = []
    for j in range(k):
        g = common[(common["Class Index"] == j) & (common["In Given Label"])]["Num Examples"].iloc[0]
        ng = common[(common["Class Index"] == j) & (~common["In Given Label"])]["Num Examples"].iloc[0]
        summary.append({"finding": j, "inGivenLabel": int(g), "notInGivenLabel": int(ng)})
    c["commonIssues"] = summary
    rank = mld.rank_classes_by_multilabel_quality(labels=labels, pred_probs=p)
    c["rankClasses"] = [{"finding": int(r["Class Index"]), "labelNoise": float(r["Label Noise"]),
                         "inverseLabelNoise": float(r["Inverse Label Noise"]),
                         "labelQualityScore": float(r["Label Quality Score"])}
                        for _, r in rank.iterrows()]
    c["healthScore"] = float(mld.overall_multilabel_health_score(labels=labels, pred_probs=p))
    return c


def calibration():
    from scipy.optimize import minimize_scalar
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.metrics import brier_score_loss, log_loss
    cases = []
    for seed, n, k in [(21, 400, 4), (22, 1500, 14)]:
        rng = np.random.default_rng(seed)
        prev = rng.uniform(0.05, 0.4, k)
        y = (rng.random((n, k)) < prev).astype(int)
        # over-confident logits with a per-finding shift: calibration has work to do
        z = (rng.normal(-1.5, 1.0, (n, k)) + y * rng.uniform(1.5, 3.5, (n, k))) * rng.uniform(1.5, 3.0, k) \
            + rng.normal(0, 0.5, k)
        labels = [[int(j) for j in np.flatnonzero(r)] for r in y]
        c = {"n": n, "k": k, "logitsHex": hexf(z), "labels": labels, "bins": 15}
        platt, temp, metrics, conf = [], [], [], []
        for j in range(k):
            cal = _SigmoidCalibration().fit(z[:, j], y[:, j])
            platt.append({"slope": float(-cal.a_), "intercept": float(-cal.b_)})

            def nll(lt, zj=z[:, j], yj=y[:, j]):
                s = zj / np.exp(lt)
                return float(np.mean(np.logaddexp(0, s) - yj * s))
            r = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20)), method="bounded",
                                options={"xatol": 1e-12})
            temp.append(float(np.exp(r.x)))
            p = 1 / (1 + np.exp(-z[:, j]))
            cnt, edges = np.histogram(p, bins=15, range=(0, 1))
            idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 14)
            gaps = [abs(y[idx == b, j].mean() - p[idx == b].mean()) for b in range(15) if cnt[b] > 0]
            w = [cnt[b] / n for b in range(15) if cnt[b] > 0]
            metrics.append({"ece": float(np.dot(w, gaps)), "mce": float(max(gaps)),
                            "brier": float(brier_score_loss(y[:, j], p)),
                            "nll": float(log_loss(y[:, j], np.clip(p, np.finfo(float).eps, 1 - np.finfo(float).eps), labels=[0, 1])),
                            "accuracy": float(np.mean((p >= 0.5) == (y[:, j] == 1)))})
            # LAC on [1-p, p]: score 1 - p_true; threshold at level ceil((n+1)(1-a))/n
            a = 0.1 / k
            sc = np.where(y[:, j] == 1, 1 - p, p)
            q = np.quantile(sc, np.ceil((n + 1) * (1 - a)) / n, method="inverted_cdf")
            conf.append(float(q))
        c.update({"platt": platt, "temperature": temp, "metricsBefore": metrics,
                  "conformalAlpha": 0.1, "conformalThresholds": conf})
        cases.append(c)
    import sklearn, scipy
    return {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "cases": cases}


def consensus_ref(items, annotators, reads, k, n_iter=100, tol=1e-5):
    """crowd-kit MajorityVote + DawidSkene, statsmodels' Fleiss kappa and krippendorff's
    nominal alpha on each finding's present/absent reads. `reads` = [(item index,
    annotator index, [finding indices])]; returns one dict per finding."""
    import krippendorff
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote
    from statsmodels.stats.inter_rater import fleiss_kappa
    n, m = len(items), len(annotators)
    task = [items[i] for i, _, _ in reads]
    worker = [annotators[a] for _, a, _ in reads]
    out = []
    for j in range(k):
        lab = [int(j in f) for _, _, f in reads]
        df = pd.DataFrame({"task": task, "worker": worker, "label": lab})
        mv = MajorityVote().fit(df)
        mv_labels = mv.labels_.reindex(items)
        mv_probas = mv.probas_.reindex(index=items, columns=[0, 1], fill_value=0.0)
        ds = DawidSkene(n_iter=n_iter, tol=tol).fit(df)
        post = ds.probas_.reindex(index=items, columns=[0, 1], fill_value=0.0)
        errors = np.zeros((m, 2, 2))
        aix = {a: i for i, a in enumerate(annotators)}
        for (w, l), row in ds.errors_.iterrows():
            for c in (0, 1):
                errors[aix[w], int(l), c] = row.get(c, 0.0)
        wide = np.full((m, n), np.nan)
        counts = np.zeros((n, 2), dtype=int)
        for (i, a, _), y in zip(reads, lab):
            wide[a, i] = y
            counts[i, y] += 1
        raters = counts.sum(1)
        fk = float(fleiss_kappa(counts, method="fleiss")) if (raters == raters[0]).all() and raters[0] >= 2 else None
        alpha = float(krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal"))
        out.append({
            "majorityLabels": [int(v) for v in mv_labels],
            "majorityFraction": fl(mv_probas[1].to_numpy()),
            "dsLabels": [int(v) for v in ds.labels_.reindex(items)],
            "dsPosterior": fl(post[1].to_numpy()),
            "dsPriors": fl(ds.priors_.reindex([0, 1], fill_value=0.0).to_numpy()),
            "dsConfusion": fl(errors),
            "dsIterations": len(ds.loss_history_),
            "fleissKappa": fk,
            "krippendorffAlpha": alpha,
        })
    return out


def synthetic_reads(seed, n, m, r, k):
    """n images, each read by r of m readers; reader-specific sensitivity/specificity."""
    rng = np.random.default_rng(seed)
    prev = rng.uniform(0.03, 0.3, k)
    truth = rng.random((n, k)) < prev
    sens = rng.uniform(0.5, 0.95, (m, k))
    spec = rng.uniform(0.9, 0.995, (m, k))
    reads = []
    for i in range(n):
        for a in sorted(rng.choice(m, r, replace=False)):
            seen = np.where(truth[i], rng.random(k) < sens[a], rng.random(k) > spec[a])
            reads.append((i, int(a), [int(j) for j in np.flatnonzero(seen)]))
    order = rng.permutation(len(reads))
    reads = [reads[x] for x in order]
    # ids in first-appearance order (as the Rust side orders undeclared ids)
    items, annotators = [], []
    for i, a, _ in reads:
        if f"img{i}" not in items:
            items.append(f"img{i}")
        if f"rad{a}" not in annotators:
            annotators.append(f"rad{a}")
    ii = {name: x for x, name in enumerate(items)}
    aa = {name: x for x, name in enumerate(annotators)}
    reads = [(ii[f"img{i}"], aa[f"rad{a}"], f) for i, a, f in reads]
    return items, annotators, reads


def consensus():
    cases = []
    for seed, n, m, r, k in [(41, 400, 8, 3, 6), (42, 300, 17, 3, 14)]:
        items, annotators, reads = synthetic_reads(seed, n, m, r, k)
        c = {"name": f"seed{seed}_n{n}_m{m}_r{r}_k{k}", "items": items, "annotators": annotators,
             "k": k, "reads": [[i, a, f] for i, a, f in reads]}
        c["perFinding"] = consensus_ref(items, annotators, reads, k)
        cases.append(c)
    from importlib.metadata import version
    return {"crowdkit": version("crowd-kit"), "krippendorff": version("krippendorff"),
            "statsmodels": version("statsmodels"), "cases": cases}


def main():
    specs = [(1, 200, 3, 0.08, None), (2, 600, 6, 0.12, None), (3, 500, 14, 0.05, 13),
             (4, 150, 2, 0.2, None)]
    cases = []
    for seed, n, k, noise, absent in specs:
        p, labels = synth(seed, n, k, noise, absent)
        name = f"seed{seed}_n{n}_k{k}_noise{noise}" + ("_absent" if absent is not None else "")
        cases.append(case(name, p, labels))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "label_issues.json")
    with open(path, "w") as f:
        json.dump({"cleanlab": cleanlab.__version__, "cases": cases}, f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")
    path = os.path.join(OUT, "consensus.json")
    with open(path, "w") as f:
        json.dump(consensus(), f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")
    path = os.path.join(OUT, "calibration.json")
    with open(path, "w") as f:
        json.dump(calibration(), f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
