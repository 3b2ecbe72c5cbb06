#!/usr/bin/env python3
"""Consensus on real radiologists, printed beside the reference packages in the same run.

LIDC-IDRI malignancy ratings (tests/fixtures/lidc/ratings.csv, CC BY 3.0) of the 897 nodules
rated by 4 readers go through the medtriage CLI (`consensus majority / dawid-skene /
agreement`) and through crowd-kit, statsmodels and krippendorff; the script prints both and
their differences, the nodules that most need another read (least sure Dawid-Skene
consensus), and the deviation of each reading slot (r1..r4 are reading sessions of a scan,
not the same person across scans: see tests/fixtures/lidc/README.md).

    cargo build --release && .venv/bin/python scripts/lidc_report.py
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import krippendorff
from crowdkit.aggregation import DawidSkene, MajorityVote
from statsmodels.stats.inter_rater import fleiss_kappa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATINGS = os.path.join(ROOT, "tests", "fixtures", "lidc", "ratings.csv")
READERS = ["r1", "r2", "r3", "r4"]
K = 5


def cli():
    for b in ("release", "debug"):
        p = os.path.join(ROOT, "target", b, "medtriage")
        if os.path.exists(p):
            return p
    sys.exit("build the CLI first: cargo build --release")


def run(args):
    return json.loads(subprocess.run([cli()] + args, check=True, capture_output=True, text=True).stdout)


def main():
    rows = [r for r in csv.DictReader(open(RATINGS)) if r["readers"] == "4"]
    nodules = list(dict.fromkeys(r["nodule"] for r in rows))
    w = np.zeros((len(nodules), 4), dtype=int)
    idx = {n: i for i, n in enumerate(nodules)}
    for r in rows:
        w[idx[r["nodule"]], READERS.index(r["reader"])] = int(r["malignancy"])
    print(f"LIDC-IDRI: {len(nodules)} nodules x 4 readers, malignancy 1-5 "
          f"(distribution {np.bincount(w.ravel(), minlength=6)[1:].tolist()})")
    with tempfile.TemporaryDirectory() as tmp:
        ann = os.path.join(tmp, "ann.csv")
        with open(ann, "w", newline="") as f:
            cw = csv.writer(f)
            cw.writerow(["item", "annotator", "label"])
            for r in rows:
                cw.writerow([r["nodule"], r["reader"], r["malignancy"]])
        common = ["--annotations", ann, "--classes", "1,2,3,4,5"]
        mv = run(["consensus", "majority"] + common)
        ds = run(["consensus", "dawid-skene"] + common + ["--options", '{"nIter":100,"tol":1e-5}'])
        ag = run(["consensus", "agreement"] + common + ["--options", '{"listDisagreements":false}'])
    df = pd.DataFrame([(nodules[i], READERS[j], int(w[i, j]) - 1) for i in range(len(nodules))
                       for j in range(4)], columns=["task", "worker", "label"])
    ck_mv = MajorityVote().fit(df)
    ck_ds = DawidSkene(n_iter=100, tol=1e-5).fit(df)
    post_ref = ck_ds.probas_.reindex(index=ds["items"], columns=range(K), fill_value=0.0).to_numpy()
    post = np.array(ds["posteriors"]).reshape(-1, K)
    counts = np.stack([np.bincount(r - 1, minlength=K) for r in w])
    ref_alpha = {lvl: krippendorff.alpha(reliability_data=w.T.astype(float), level_of_measurement=lvl,
                                         value_domain=[1, 2, 3, 4, 5])
                 for lvl in ("nominal", "ordinal", "interval")}
    tied = np.array(mv["tied"])
    mv_ref = ck_mv.labels_.reindex(mv["items"]).to_numpy()
    same_mv = int((np.array(mv["consensusLabel"])[~tied] == mv_ref[~tied]).sum())
    print("\n                          medtriage     reference      |difference|")
    line = "{:<26}{:>10.6f}  {:>12.6f}   {:.1e}   ({})"
    print(line.format("Fleiss' kappa", ag["fleissKappa"], fleiss_kappa(counts, method="fleiss"),
                      abs(ag["fleissKappa"] - fleiss_kappa(counts, method="fleiss")), "statsmodels"))
    for lvl, key in (("nominal", "krippendorffAlpha"), ("ordinal", "krippendorffAlphaOrdinal"),
                     ("interval", "krippendorffAlphaInterval")):
        print(line.format(f"Krippendorff alpha {lvl}", ag[key], ref_alpha[lvl],
                          abs(ag[key] - ref_alpha[lvl]), "krippendorff"))
    print(f"{'Dawid-Skene posteriors':<26}max |difference| {np.abs(post - post_ref).max():.1e} "
          f"(crowd-kit), iterations {ds['iterations']} vs {len(ck_ds.loss_history_)}, labels equal "
          f"{int((np.array(ds['consensusLabel']) == ck_ds.labels_.reindex(ds['items']).to_numpy()).sum())}"
          f"/{len(nodules)}")
    print(f"{'majority vote':<26}equal on {same_mv}/{int((~tied).sum())} untied nodules; "
          f"{int(tied.sum())} ties (ours go to the lower rating and are flagged; crowd-kit's pick "
          f"follows pandas order)")
    print(f"observed agreement (all 4 equal): {np.mean((w == w[:, :1]).all(axis=1)):.3f}; "
          f"exact pairwise agreement {ag['observedAgreement']:.3f}; pairwise Cohen kappa "
          + ", ".join(f"{p['annotatorA']}-{p['annotatorB']} {p['cohenKappa']:.3f}" for p in ag["pairs"]))
    ds_lab = np.array(ds["consensusLabel"]) + 1
    print("\nDawid-Skene consensus distribution (malignancy 1-5):",
          np.bincount(ds_lab, minlength=6)[1:].tolist(), "priors",
          [round(p, 3) for p in ds["priors"]])
    unsure = np.argsort(post.max(axis=1), kind="stable")[:10]
    print("\nnodules that most need another read (least sure Dawid-Skene consensus):")
    for i in unsure:
        print(f"  {ds['items'][i]:<26} ratings {w[i].tolist()}  posterior max {post[i].max():.3f}"
              f"  (consensus {ds_lab[i]}, crowd-kit {post_ref[i].max():.3f})")
    print("\nper reading slot (r1..r4 = the scan's reading sessions in order):")
    conf = np.array(ds["confusion"]).reshape(4, K, K)  # [annotator][observed][true]
    for j, r in enumerate(READERS):
        others = np.median(np.delete(w, j, axis=1), axis=1)
        dev = w[:, j] - others
        acc = float(np.sum(ds["priors"] * np.diag(conf[j])))
        print(f"  {r}: mean rating {w[:, j].mean():.2f}; vs the other three's median: mean signed "
              f"{dev.mean():+.3f}, mean |dev| {np.abs(dev).mean():.3f}; equal to the DS consensus "
              f"{np.mean(w[:, j] == ds_lab):.3f}; DS accuracy (prior-weighted diagonal) {acc:.3f}")


if __name__ == "__main__":
    main()
