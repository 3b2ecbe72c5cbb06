"""Golden values for the reviewer statistics (tests/reviewers.rs), from statsmodels.

Regenerate: .venv/bin/python scripts/golden_reviewers.py
- Two-sided Clopper-Pearson and Wilson intervals:
  statsmodels.stats.proportion.proportion_confint(x, n, alpha, method="beta" / "wilson").
- Standard normal quantiles: scipy.stats.norm.ppf.
"""
import json
import pathlib

from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "reviewers"
out.mkdir(parents=True, exist_ok=True)

rows = []
for n in [1, 2, 7, 20, 50, 137, 400, 1000, 5000]:
    for x in sorted({0, 1, n // 10, n // 2, (9 * n) // 10, n - 1, n}):
        if x < 0 or x > n:
            continue
        for alpha in [0.05, 0.1, 0.01]:
            cp = proportion_confint(x, n, alpha=alpha, method="beta")
            wi = proportion_confint(x, n, alpha=alpha, method="wilson")
            rows.append({"x": x, "n": n, "alpha": alpha,
                         "beta": [float(cp[0]), float(cp[1])],
                         "wilson": [float(wi[0]), float(wi[1])]})
quant = [{"p": p, "z": float(norm.ppf(p))}
         for p in [1e-12, 1e-6, 0.001, 0.0125, 0.025, 0.05, 0.3, 0.5, 0.8, 0.975, 0.995, 1 - 1e-9]]
json.dump({"intervals": rows, "normalQuantiles": quant},
          open(out / "intervals.json", "w"), indent=1)
print(f"{len(rows)} intervals, {len(quant)} quantiles")
