#!/usr/bin/env python3
"""Golden files for the `calib` area: multi-row uncertainty, temperature
scaling and calibration metrics, split conformal prediction, risk-controlled auto-accept.

Regenerate:  .venv/bin/python scripts/golden_calib.py
Writes tests/golden/calib/{multi,temperature,report,conformal,risk}.json.

References (pinned in scripts/requirements-calib.txt):
- scipy.stats.entropy (multi-row entropies), scipy.optimize.minimize_scalar (temperature),
  sklearn.metrics.log_loss / brier_score_loss, scipy.stats.binom.cdf;
- netcal 1.4.0 ECE/MCE (its metric code is numpy/scipy; netcal imports torch only for type
  checks, so when torch is absent a minimal stand-in module is installed before importing
  netcal.metrics) cross-checked against an independent numpy implementation of Guo et al.;
- MAPIE 1.6.0 SplitConformalClassifier (prefit, fixed probabilities through a tiny estimator)
  for LAC and deterministic APS thresholds and sets; randomized APS/RAPS, deterministic RAPS
  and class-conditional variants follow our documented rule in numpy (MAPIE draws its own
  random numbers, see src/engine/triage/conformal.rs).
"""
import importlib.util
import json
import math
import os
import sys
import types

import numpy as np
import scipy
import scipy.optimize
import scipy.special
import scipy.stats
import sklearn
from sklearn.metrics import brier_score_loss, log_loss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "calib")


def dump(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def fl(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


# ---------------------------------------------------------------- 1. multi-row uncertainty
def multi_case(rng, n, t, k, conc):
    probs = rng.dirichlet(np.full(k, conc), size=(n, t))
    # a few exact zeros and one-hot rows
    probs[0, 0] = np.eye(k)[0]
    if t > 1:
        probs[1, :] = np.eye(k)[np.arange(t) % k]
    probs[2, 0, -1] = 0.0
    probs[2, 0] /= probs[2, 0].sum()
    mean = probs.mean(axis=1)
    srt = -np.sort(-mean, axis=1)
    pe = scipy.stats.entropy(mean, axis=1)
    ee = scipy.stats.entropy(probs, axis=2).mean(axis=1)
    votes = np.zeros((n, k), dtype=int)
    am = probs.argmax(axis=2)  # ties: first index
    for i in range(n):
        for j in am[i]:
            votes[i, j] += 1
    modal = votes.argmax(axis=1)
    return {
        "n": n,
        "t": t,
        "k": k,
        "probs": fl(probs),
        "predicted": [int(x) for x in mean.argmax(axis=1)],
        "leastConfidence": fl(1 - srt[:, 0]),
        "margin": fl(srt[:, 0] - srt[:, 1]),
        "ratio": fl(srt[:, 1] / srt[:, 0]),
        "entropy": fl(pe),
        "expectedEntropy": fl(ee),
        "bald": fl(np.maximum(pe - ee, 0.0)),
        "modalClass": [int(x) for x in modal],
        "variationRatio": fl(1 - votes.max(axis=1) / t),
    }


def golden_multi():
    rng = np.random.default_rng(20261128)
    cases = [multi_case(rng, 40, 5, 4, 0.7), multi_case(rng, 30, 8, 10, 0.3), multi_case(rng, 20, 1, 3, 1.0)]
    dump("multi.json", {"reference": f"scipy {scipy.__version__} stats.entropy (natural log)", "cases": cases})


# ---------------------------------------------------------------- 2. temperature + metrics
def nll_at(z, y, t):
    ls = scipy.special.log_softmax(z / t, axis=1)
    return -np.mean(ls[np.arange(len(y)), y])


def fit_t(z, y, lo=0.05, hi=20.0):
    r = scipy.optimize.minimize_scalar(
        lambda lt: nll_at(z, y, math.exp(lt)), bounds=(math.log(lo), math.log(hi)), method="bounded",
        options={"xatol": 1e-12, "maxiter": 10_000},
    )
    return math.exp(r.x)


def temperature_case(rng, n, k, t0, scale, kind):
    z = rng.normal(size=(n, k)) * scale
    p0 = scipy.special.softmax(z / t0, axis=1)
    y = np.array([rng.choice(k, p=row) for row in p0])
    if kind == "probabilities":
        scores = scipy.special.softmax(z, axis=1)
        zz = np.log(scores)
    else:
        scores = z
        zz = z
    t = fit_t(zz, y)
    p_after = scipy.special.softmax(zz / t, axis=1)
    p_before = scipy.special.softmax(zz, axis=1)
    return {
        "n": n,
        "k": k,
        "kind": kind,
        "scores": fl(scores),
        "labels": [int(v) for v in y],
        "temperature": t,
        "generatingTemperature": t0,
        "nllBefore": float(log_loss(y, p_before, labels=np.arange(k))),
        "nllAfter": float(log_loss(y, p_after, labels=np.arange(k))),
    }


def golden_temperature():
    rng = np.random.default_rng(7)
    cases = [
        temperature_case(rng, 600, 5, 2.5, 3.0, "logits"),
        temperature_case(rng, 600, 10, 0.6, 2.0, "logits"),
        temperature_case(rng, 400, 4, 1.5, 4.0, "probabilities"),
    ]
    dump("temperature.json", {
        "reference": f"scipy {scipy.__version__} optimize.minimize_scalar(bounded, xatol 1e-12) on ln T; "
                     f"sklearn {sklearn.__version__} log_loss",
        "cases": cases,
    })


def load_netcal_metrics():
    """netcal's ECE/MCE code is numpy/scipy; netcal imports torch only for isinstance checks
    and type hints. When torch is missing, register a minimal stand-in so that the real netcal
    metric code can be imported without netcal/__init__ (which pulls in torch models)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        t = types.ModuleType("torch")

        class Tensor:  # noqa: D401 - placeholder type for isinstance checks
            pass

        t.Tensor = Tensor
        d = types.ModuleType("torch.distributions")
        d.MultivariateNormal = object
        t.distributions = d
        sys.modules["torch"] = t
        sys.modules["torch.distributions"] = d
    spec = importlib.util.find_spec("netcal")
    if spec is None:
        return None
    pkg = types.ModuleType("netcal")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["netcal"] = pkg
    import netcal.Decorator as D
    import netcal.Helper as H
    import netcal.Stats as S

    for m in (D, S, H):
        for k, v in vars(m).items():
            if not k.startswith("_"):
                setattr(pkg, k, v)
    from netcal.metrics.confidence.ECE import ECE
    from netcal.metrics.confidence.MCE import MCE
    from importlib.metadata import version

    return ECE, MCE, version("netcal")


def guo_bins(p, y, m):
    """Independent numpy implementation: top-label, equal-width bins [e_j, e_{j+1}),
    last closed, confidences clipped to [eps, 1-eps] (netcal's convention)."""
    eps = np.finfo(np.float64).eps
    pred = p.argmax(axis=1)
    conf = np.clip(p.max(axis=1), eps, 1 - eps)
    ok = (pred == y).astype(float)
    edges = np.linspace(0.0, 1.0, m + 1)
    j = np.searchsorted(edges, conf, side="right") - 1
    j = np.minimum(j, m - 1)
    count = np.bincount(j, minlength=m)
    csum = np.bincount(j, weights=conf, minlength=m)
    asum = np.bincount(j, weights=ok, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mc = csum / count
        acc = asum / count
    gap = np.abs(acc - mc)
    ne = count > 0
    ece = float(np.sum(gap[ne] * count[ne] / len(y)))
    mce = float(np.max(gap[ne]))
    return ece, mce, edges, count, mc, acc


def report_case(rng, n, k, conc, bins, netcal):
    p = rng.dirichlet(np.full(k, conc), size=n)
    # confidences exactly on bin edges (0.4, 0.6, 0.8 as floats) and a one-hot row
    for i, c in enumerate([0.4, 0.6, 0.8, 1.0, 0.2 + 0.2]):
        row = np.full(k, (1 - c) / (k - 1))
        row[i % k] = c
        p[3 + i] = row
    # labels: mostly the argmax with some noise, never only two distinct values
    y = np.where(rng.random(n) < 0.7, p.argmax(axis=1), rng.integers(0, k, n))
    ece, mce, edges, count, mc, acc = guo_bins(p, y, bins)
    out = {
        "n": n,
        "k": k,
        "bins": bins,
        "probs": fl(p),
        "labels": [int(v) for v in y],
        "nll": float(log_loss(y, p, labels=np.arange(k))),
        "brier": float(brier_score_loss(y, p, labels=np.arange(k), scale_by_half=False)),
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "eceNumpy": ece,
        "mceNumpy": mce,
        "binCount": [int(c) for c in count],
        "binMeanConfidence": [None if c == 0 else float(v) for c, v in zip(count, mc)],
        "binAccuracy": [None if c == 0 else float(v) for c, v in zip(count, acc)],
        "binLower": fl(edges[:-1]),
    }
    if netcal is not None:
        ECE, MCE, _ = netcal
        out["eceNetcal"] = float(ECE(bins).measure(p, y))
        out["mceNetcal"] = float(MCE(bins).measure(p, y))
        assert abs(out["eceNetcal"] - ece) < 1e-12 and abs(out["mceNetcal"] - mce) < 1e-12, (out["eceNetcal"], ece)
    return out


def golden_report():
    netcal = load_netcal_metrics()
    rng = np.random.default_rng(11)
    cases = [report_case(rng, 500, 5, 0.5, 15, netcal), report_case(rng, 300, 10, 0.2, 10, netcal),
             report_case(rng, 200, 3, 1.0, 7, netcal)]
    ref = f"sklearn {sklearn.__version__} log_loss, brier_score_loss(scale_by_half=False); "
    ref += f"netcal {netcal[2]} ECE/MCE" if netcal else "netcal absent: numpy Guo et al. only"
    dump("report.json", {"reference": ref, "cases": cases})


# ---------------------------------------------------------------- 3. conformal
M64 = (1 << 64) - 1
TEST_STREAM_XOR = 0xD1B54A32D192ED03


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


def ours_scores(row, method, u, lam, kreg):
    k = len(row)
    if method == "lac":
        return 1.0 - row
    order = sorted(range(k), key=lambda c: (-row[c], c))
    s = np.zeros(k)
    before = 0.0
    for r, c in enumerate(order):
        pen = (lam if method == "raps" else 0.0) * max(0, r + 1 - kreg)
        s[c] = before + u * row[c] + pen
        before += row[c]
    return s, order


def scores_of(row, method, u, lam, kreg):
    r = ours_scores(row, method, u, lam, kreg)
    return (r, None) if method == "lac" else r


def ours_calibrate(p, y, alpha, o):
    rand = o["randomized"] and o["method"] != "lac"
    rng = SplitMix64(o["seed"])
    sc = []
    for row, yy in zip(p, y):
        u = rng.next_f64() if rand else 1.0
        s, _ = scores_of(row, o["method"], u, o["lambda"], o["kReg"])
        sc.append(s[yy])
    sc = np.array(sc)

    def q(v):
        n = len(v)
        kk = math.ceil((n + 1) * (1 - alpha))
        assert kk <= n
        return float(np.sort(v)[kk - 1]), kk

    if o["classConditional"]:
        res = [q(sc[y == c]) for c in range(p.shape[1])]
        return [r[0] for r in res], [r[1] for r in res]
    t, kk = q(sc)
    return [t], [kk]


def ours_sets(p, thr, o):
    k = p.shape[1]
    rand = o["randomized"] and o["method"] != "lac"
    last = (not rand) and (not o["classConditional"]) and o["method"] != "lac"
    rng = SplitMix64(o["seed"] ^ TEST_STREAM_XOR)
    sets = []
    for row in p:
        u = rng.next_f64() if rand else 1.0
        s, order = scores_of(row, o["method"], u, o["lambda"], o["kReg"])
        qs = thr if o["classConditional"] else [thr[0]] * k
        if last:
            st, prev = [], -math.inf
            for c in order:
                if prev < qs[c] or s[c] <= qs[c]:
                    st.append(c)
                else:
                    break
                prev = s[c]
        else:
            st = [c for c in range(k) if s[c] <= qs[c]]
        if not st and not o["allowEmpty"]:
            st = [int(np.argmax(row))]
        sets.append(sorted(int(c) for c in st))
    return sets


class FixedProbs:
    """A prefit sklearn-style classifier: X holds row indices into a fixed probability table."""

    _estimator_type = "classifier"

    def __init__(self, table):
        self.table = table
        self.classes_ = np.arange(table.shape[1])

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        return self.table[np.asarray(X, dtype=int)[:, 0]]

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)

    def get_params(self, deep=True):
        return {"table": self.table}

    def set_params(self, **kw):
        self.table = kw.get("table", self.table)
        return self

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, ClassifierTags, InputTags, TargetTags
        return Tags(estimator_type="classifier", classifier_tags=ClassifierTags(), target_tags=TargetTags(required=True),
                    input_tags=InputTags())


def mapie_sets(pcal, ycal, ptest, alpha, method):
    from mapie.classification import SplitConformalClassifier
    from mapie.conformity_scores import APSConformityScore

    table = np.vstack([pcal, ptest])
    est = FixedProbs(table)
    Xc = np.arange(len(pcal))[:, None]
    Xt = (len(pcal) + np.arange(len(ptest)))[:, None]
    m = SplitConformalClassifier(estimator=est, confidence_level=1 - alpha, conformity_score=method, prefit=True,
                                 random_state=0)
    m.conformalize(Xc, ycal)
    if method == "aps":
        # MAPIE's APS calibration scores are always randomized (cumsum - u * p_true); use its own
        # deterministic score (cumsum through the true label) for deterministic APS.
        det, _ = APSConformityScore.get_true_label_cumsum_proba(ycal, pcal, np.arange(pcal.shape[1]))
        m._mapie_classifier.conformity_scores_ = det
    _, sets = m.predict_set(Xt, conformity_score_params={"include_last_label": True})
    q = float(np.ravel(m._mapie_classifier.quantiles_)[0])
    return q, [sorted(int(c) for c in np.flatnonzero(s[:, 0])) for s in sets]


def golden_conformal():
    import mapie
    from importlib.metadata import version

    rng = np.random.default_rng(99)
    k = 5
    ncal, ntest = 400, 250
    logits = rng.normal(size=(ncal + ntest, k)) * 2.0
    p = scipy.special.softmax(logits, axis=1)
    y = np.array([rng.choice(k, p=row) for row in p])
    pcal, ycal, ptest, ytest = p[:ncal], y[:ncal], p[ncal:], y[ncal:]
    cases = []
    for alpha in [0.05, 0.1, 0.2]:
        for method in ["lac", "aps", "raps"]:
            for randomized in [False, True]:
                if method == "lac" and randomized:
                    continue
                for cc in [False, True]:
                    o = {"method": method, "randomized": randomized, "lambda": 0.05, "kReg": 2,
                         "classConditional": cc, "seed": 12345, "allowEmpty": not (method == "raps" and randomized)}
                    thr, ranks = ours_calibrate(pcal, ycal, alpha, o)
                    sets = ours_sets(ptest, thr, o)
                    case = {"alpha": alpha, "options": o, "thresholds": thr, "quantileRanks": ranks, "sets": sets,
                            "coverage": float(np.mean([yy in s for s, yy in zip(sets, ytest)])),
                            "meanSize": float(np.mean([len(s) for s in sets]))}
                    if method in ("lac", "aps") and not randomized and not cc:
                        mq, msets = mapie_sets(pcal, ycal, ptest, alpha, method)
                        case["mapieThreshold"] = mq
                        case["mapieSets"] = msets
                        assert abs(mq - thr[0]) < 1e-12, (method, alpha, mq, thr)
                        assert msets == sets, (method, alpha)
                    cases.append(case)
    rng0 = SplitMix64(0)
    dump("conformal.json", {
        "reference": f"MAPIE {version('mapie')} SplitConformalClassifier (LAC, deterministic APS); numpy rule otherwise",
        "k": k, "nCal": ncal, "nTest": ntest,
        "calProbs": fl(pcal), "calLabels": [int(v) for v in ycal],
        "testProbs": fl(ptest), "testLabels": [int(v) for v in ytest],
        "splitmix0": [str(rng0.next_u64()) for _ in range(3)],
        "cases": cases,
    })


# ---------------------------------------------------------------- 4. risk control
def hoeffding(k, n, a):
    r = min(k / n, a)
    h = (1 - r) * math.log((1 - r) / (1 - a)) + (r * math.log(r / a) if r > 0 else 0.0)
    return min(math.exp(-n * h), 1.0)


def hb(k, n, a):
    return min(hoeffding(k, n, a), math.e * scipy.stats.binom.cdf(k, n, a), 1.0)


def ltt(conf, wrong, alpha, delta, mode, pv, proc):
    n = len(conf)
    order = np.argsort(-conf, kind="stable")
    grid = np.unique(conf)[::-1]
    cs, ws = conf[order], wrong[order]
    rows = []
    for lam in grid:
        acc = int(np.sum(cs >= lam))
        err = int(np.sum(ws[:acc]))
        m = n if mode == "marginal" else acc
        if m == 0:
            p = 1.0
        elif pv == "binomial":
            p = float(scipy.stats.binom.cdf(err, m, alpha))
        else:
            p = hb(err, m, alpha)
        rows.append([float(lam), acc, err, p])
    need = math.ceil(math.log(delta) / math.log1p(-alpha))
    cert = [False] * len(rows)
    if proc == "fixedSequence":
        for i, (_, acc, _, p) in enumerate(rows):
            if acc == 0 or (mode == "conditional" and acc < need):
                continue
            if p <= delta:
                cert[i] = True
            else:
                break
    elif proc == "bonferroni":
        cert = [acc > 0 and p <= delta / len(rows) for _, acc, _, p in rows]
    else:
        idx = sorted(range(len(rows)), key=lambda i: (rows[i][3], i))
        for r, i in enumerate(idx):
            if rows[i][3] <= delta / (len(rows) - r):
                cert[i] = rows[i][1] > 0
            else:
                break
    chosen = max([i for i, c in enumerate(cert) if c], default=None)
    if chosen is None:
        return None
    lam, acc, err, p = rows[chosen]
    return {"threshold": lam, "accepted": acc, "errors": err, "pValue": p, "tested": len(rows)}


def golden_risk():
    # p-values on a grid of (errors, n, alpha)
    pv = []
    for n in [1, 10, 57, 300, 2000, 45000]:
        for a in [0.001, 0.01, 0.05, 0.2]:
            for frac in [0.0, 0.5, 1.0, 1.5, 3.0]:
                kk = min(n, int(round(frac * a * n)))
                pv.append({"errors": kk, "n": n, "alpha": a, "binomial": float(scipy.stats.binom.cdf(kk, n, a)),
                           "hoeffding": hoeffding(kk, n, a), "hoeffdingBentkus": hb(kk, n, a)})
    rng = np.random.default_rng(5)
    n, k = 3000, 10
    logits = rng.normal(size=(n, k)) * 2.5
    logits[:, 0] += rng.normal(size=n) * 3  # a confident subset
    p = scipy.special.softmax(logits, axis=1)
    # 4-decimal values: ties in confidence, and short decimals that every JSON parser reads
    # exactly (serde_json without `float_roundtrip` may be 1 ulp off on long decimals, which
    # would merge or split near-equal confidences). Rows then sum to 1 within 5e-4 (allowed).
    p = np.round(p, 4)
    top = p.argmax(axis=1)
    p[np.arange(n), top] = np.round(p[np.arange(n), top] + 1.0 - p.sum(axis=1), 4)
    assert np.all(np.abs(p.sum(axis=1) - 1) < 1e-3) and np.all(p >= 0)
    y = np.array([rng.choice(k, p=row) for row in p])
    conf = p.max(axis=1)
    wrong = (p.argmax(axis=1) != y).astype(int)
    cases = []
    for alpha, delta in [(0.02, 0.05), (0.05, 0.1), (0.1, 0.05), (0.002, 0.05)]:
        for mode in ["conditional", "marginal"]:
            for pvn in ["binomial", "hoeffdingBentkus"]:
                for proc in ["fixedSequence", "bonferroni", "holm"]:
                    r = ltt(conf, wrong, alpha, delta, mode, pvn, proc)
                    cases.append({"alpha": alpha, "delta": delta, "mode": mode, "pValue": pvn, "procedure": proc,
                                  "result": r})
    dump("risk.json", {
        "reference": f"scipy {scipy.__version__} stats.binom.cdf; Hoeffding / Hoeffding-Bentkus in numpy; LTT selection in numpy",
        "pValues": pv, "n": n, "k": k, "probs": fl(p), "labels": [int(v) for v in y], "cases": cases,
    })


if __name__ == "__main__":
    golden_multi()
    golden_temperature()
    golden_report()
    golden_conformal()
    golden_risk()
    print("wrote", OUT)
