"""Golden values for the review-queue maths (tests/suite/queue.rs), from scipy and scikit-learn.

Regenerate: .venv/bin/python scripts/golden_queue.py
- Clopper-Pearson one-sided upper bounds: scipy.stats.beta.ppf(1 - delta, x + 1, m - x).
- Isotonic error model: sklearn.isotonic.IsotonicRegression fitted values at the training
  points (non-decreasing in the priority, duplicates averaged).
"""
import json
import pathlib

import numpy as np
from scipy.stats import beta
from sklearn.isotonic import IsotonicRegression

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "queue"
out.mkdir(parents=True, exist_ok=True)

cp = []
for m in [1, 10, 100, 918, 3000]:
    for x in sorted({0, 1, m // 100, m // 10, m // 2, m - 1}):
        if x < 0 or x >= m:
            continue
        for delta in [0.05, 0.025, 0.001]:
            cp.append({"x": x, "m": m, "delta": delta, "upper": float(beta.ppf(1 - delta, x + 1, m - x))})

rng = np.random.default_rng(7)
n = 400
prio = np.round(rng.random(n), 2)  # rounded: many ties
wrong = rng.random(n) < prio ** 2
iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(prio, wrong.astype(float))
fitted = iso.predict(prio)

json.dump(
    {
        "clopperPearson": cp,
        "isotonic": {"priority": prio.tolist(), "wrong": wrong.tolist(), "fitted": fitted.tolist()},
    },
    open(out / "queue.json", "w"),
    indent=1,
)
print(f"wrote {out / 'queue.json'}: {len(cp)} bounds, isotonic on {n} points")
