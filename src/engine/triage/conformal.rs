//! Split conformal prediction sets for classification: LAC, APS, RAPS (deterministic or
//! randomized), marginal or class-conditional (Mondrian).
//!
//! # Scores
//! For a probability row `p`, classes are ranked by decreasing `p` (ties: lower class index
//! first); `o(y)` is the 1-based rank of class `y` and `before(y)` the sum of the probabilities
//! ranked above `y`. With `u` a uniform number (randomized) or `u = 1` (deterministic):
//! - LAC (Sadinle et al. 2019): `s = 1 - p_y` (`randomized` is ignored);
//! - APS (Romano et al. 2020): `s = before(y) + u * p_y`;
//! - RAPS (Angelopoulos et al. 2021): `s = before(y) + u * p_y + lambda * max(0, o(y) - kReg)`.
//!
//! # Threshold
//! With `n` calibration scores and `k = ceil((n + 1) * (1 - alpha))` (computed in f64 exactly as
//! written), the threshold `q` is the `k`-th smallest score: the empirical quantile at level
//! `k / n` taking the *higher* order statistic when the level falls between two (the inverse
//! empirical CDF; numpy `method="inverted_cdf"`, equivalently MAPIE 1.x's
//! `np.quantile(s, k / n, method="lower")`). Note that numpy's `method="higher"` at level
//! `k / n` would pick the `(k+1)`-th score for `k < n`, which we do not do. When `k > n` (alpha
//! too small for `n`, i.e. `n < 1/alpha - 1`) we refuse with `InsufficientData`.
//! Class-conditional (Mondrian): the same rule per class, on the calibration items of that
//! class (each class needs enough items).
//!
//! # Sets
//! - LAC and randomized APS/RAPS, and every class-conditional variant: `{y : s(y) <= q_y}`
//!   (`u = 1` when deterministic).
//! - Deterministic APS/RAPS (marginal): classes are added in rank order up to and including the
//!   first whose score reaches `q` (MAPIE's `include_last_label=True`), plus any further class
//!   whose score is `<= q`. The top class is therefore always in the set. With the `u = 1`
//!   score this is conservative (on CIFAR-10 at alpha 0.1: coverage 0.999, mean size ~5); the
//!   randomized variants reach `1 - alpha` closely with much smaller sets.
//! - `allowEmpty = false` puts the top class into sets that would be empty (coverage can only
//!   rise). Default `true` (the sets of the papers and of MAPIE).
//!
//! Comparisons are exact; MAPIE adds a `1e-8` slack (`EPSILON`) to its comparisons, so it may
//! include a label whose score exceeds `q` by less than `1e-8`.
//!
//! # Randomization (reproducible on native and wasm)
//! Uniform numbers come from SplitMix64 (Steele et al. 2014): state `+= 0x9E3779B97F4A7C15`,
//! output mixed with the constants `0xBF58476D1CE4E5B9`, `0x94D049BB133111EB` (shifts 30, 27,
//! 31), `u = (x >> 11) * 2^-53`. Calibration item `i` (input order) uses the `i`-th draw of the
//! stream seeded with `seed`; test item `i` the `i`-th draw of the stream seeded with
//! `seed ^ 0xD1B54A32D192ED03`. One draw per item, shared by all its classes. MAPIE draws from
//! numpy's `RandomState` and uses `s = before(y) + (1 - u) p_y` (same distribution), so its
//! randomized thresholds and sets differ from ours draw by draw, not in distribution.
//! (Items are therefore not exchangeable with respect to their position in randomized mode:
//! reordering the input changes which draw an item gets.)

use serde::{Deserialize, Serialize};

pub use crate::engine::probs::SplitMix64;
use crate::engine::probs::{check_labels, check_prob_matrix};
use crate::error::{err, Result};

/// The score function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ConformalMethod {
    /// Least ambiguous set-valued classifier, `1 - p_y`.
    Lac,
    /// Adaptive prediction sets (default).
    #[default]
    Aps,
    /// Regularized APS.
    Raps,
}

/// Options of the conformal calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ConformalOptions {
    /// Score function (default APS).
    pub method: ConformalMethod,
    /// Randomized APS/RAPS scores (default false).
    pub randomized: bool,
    /// RAPS penalty per rank beyond `kReg` (default 0.01).
    pub lambda: f64,
    /// RAPS: ranks `<= kReg` are not penalized (default 2).
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k_reg: usize,
    /// Class-conditional (Mondrian) thresholds (default false).
    pub class_conditional: bool,
    /// Seed of the uniform draws (randomized only; default 0). Keep below 2^53 from JS.
    pub seed: u64,
    /// Allow empty sets (default true); false adds the top class to empty sets.
    pub allow_empty: bool,
}

impl Default for ConformalOptions {
    fn default() -> Self {
        ConformalOptions {
            method: ConformalMethod::Aps,
            randomized: false,
            lambda: 0.01,
            k_reg: 2,
            class_conditional: false,
            seed: 0,
            allow_empty: true,
        }
    }
}

/// Request for [`conformal_calibrate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConformalCalibrateRequest {
    /// Row-major `n x k` calibration probabilities.
    pub probs: Vec<f64>,
    /// Calibration items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True labels of the calibration items.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Miscoverage level in `(0, 1)`: sets cover the true label with probability `>= 1 - alpha`.
    pub alpha: f64,
    /// Options.
    #[serde(default)]
    pub options: ConformalOptions,
}

/// A calibrated conformal predictor: pass it back to [`conformal_sets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConformalCalibration {
    /// Miscoverage level.
    pub alpha: f64,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Options used.
    pub options: ConformalOptions,
    /// Score thresholds: one (marginal) or `k` (class-conditional, indexed by class).
    pub thresholds: Vec<f64>,
    /// Calibration items behind each threshold.
    pub calibration_counts: Vec<usize>,
    /// The order statistic used, `ceil((n + 1)(1 - alpha))`, per threshold.
    pub quantile_ranks: Vec<usize>,
}

/// Request for [`conformal_sets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConformalSetsRequest {
    /// The calibration from [`conformal_calibrate`].
    pub calibration: ConformalCalibration,
    /// Row-major `n x k` test probabilities.
    pub probs: Vec<f64>,
    /// Test items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True labels, when known: adds a coverage report.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
}

/// Coverage of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassCoverage {
    /// Test items of this true class.
    pub count: usize,
    /// Fraction whose set holds the class (`null` when `count = 0`).
    pub coverage: Option<f64>,
    /// Mean set size among them (`null` when `count = 0`).
    pub mean_size: Option<f64>,
}

/// Coverage and set sizes on labeled test items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CoverageReport {
    /// Fraction of items whose set holds the true label.
    pub coverage: f64,
    /// Per true class.
    pub per_class: Vec<ClassCoverage>,
}

/// Prediction sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConformalSetsResponse {
    /// One set per item: class indices, ascending.
    pub sets: Vec<Vec<usize>>,
    /// Mean set size.
    pub mean_size: f64,
    /// `sizeHistogram[s]` = items with a set of size `s`, `s = 0..=k`.
    pub size_histogram: Vec<usize>,
    /// Present when labels were given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub report: Option<CoverageReport>,
}

/// Seed mix of the test-item stream.
pub const TEST_STREAM_XOR: u64 = 0xD1B5_4A32_D192_ED03;

/// Class indices of `row` by decreasing probability (ties: lower index first).
fn rank_order(row: &[f64], order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..row.len());
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
}

/// Scores of every class of `row` (indexed by class), with uniform `u`.
fn class_scores(
    row: &[f64],
    opts: &ConformalOptions,
    u: f64,
    order: &mut Vec<usize>,
    out: &mut [f64],
) {
    if opts.method == ConformalMethod::Lac {
        for (o, &p) in out.iter_mut().zip(row) {
            *o = 1.0 - p;
        }
        return;
    }
    rank_order(row, order);
    let lambda = if opts.method == ConformalMethod::Raps {
        opts.lambda
    } else {
        0.0
    };
    let mut before = 0.0;
    for (r, &c) in order.iter().enumerate() {
        let pen = lambda * (r + 1).saturating_sub(opts.k_reg) as f64;
        out[c] = before + u * row[c] + pen;
        before += row[c];
    }
}

fn quantile_rank(n: usize, alpha: f64) -> usize {
    ((n as f64 + 1.0) * (1.0 - alpha)).ceil() as usize
}

/// Smallest `n` for which `ceil((n + 1)(1 - alpha)) <= n`.
pub fn min_calibration_size(alpha: f64) -> usize {
    let mut n = ((1.0 - alpha) / alpha).floor().max(1.0) as usize;
    while quantile_rank(n, alpha) > n {
        n += 1;
    }
    while n > 1 && quantile_rank(n - 1, alpha) < n {
        n -= 1;
    }
    n
}

/// The `k`-th smallest of `scores` (1-based), refusing when `k > n`.
fn order_statistic(scores: &mut [f64], alpha: f64, what: &str) -> Result<(f64, usize)> {
    let n = scores.len();
    let k = quantile_rank(n, alpha);
    if n == 0 || k > n {
        return Err(err!(
            InsufficientData,
            "{what}: {n} calibration item(s) are too few for alpha = {alpha}: need ceil((n+1)(1-alpha)) <= n, i.e. n >= {}",
            min_calibration_size(alpha)
        ));
    }
    let k = k.max(1);
    let (_, v, _) = scores.select_nth_unstable_by(k - 1, f64::total_cmp);
    Ok((*v, k))
}

fn check_options(o: &ConformalOptions) -> Result<()> {
    if !(o.lambda.is_finite() && o.lambda >= 0.0) {
        return Err(err!(
            InvalidOptions,
            "lambda must be finite and >= 0, got {}",
            o.lambda
        ));
    }
    Ok(())
}

/// Conformity scores of labeled items under `opts` (uniform draws from the calibration stream).
pub fn calibration_scores(
    probs: &[f64],
    n: usize,
    k: usize,
    labels: &[usize],
    opts: &ConformalOptions,
) -> Result<Vec<f64>> {
    check_prob_matrix(probs, n, k, "calibration probabilities")?;
    check_labels(labels, n, k, "calibration labels")?;
    check_options(opts)?;
    let randomized = opts.randomized && opts.method != ConformalMethod::Lac;
    let mut rng = SplitMix64::new(opts.seed);
    let mut order = Vec::with_capacity(k);
    let mut s = vec![0.0; k];
    Ok(probs
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &y)| {
            let u = if randomized { rng.next_f64() } else { 1.0 };
            class_scores(row, opts, u, &mut order, &mut s);
            s[y]
        })
        .collect())
}

/// Calibrate thresholds on a labeled calibration set.
pub fn conformal_calibrate(req: &ConformalCalibrateRequest) -> Result<ConformalCalibration> {
    let alpha = req.alpha;
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(err!(InvalidOptions, "alpha must be in (0, 1), got {alpha}"));
    }
    let scores = calibration_scores(&req.probs, req.n, req.k, &req.labels, &req.options)?;
    let (mut thresholds, mut counts, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
    if req.options.class_conditional {
        let mut per: Vec<Vec<f64>> = vec![Vec::new(); req.k];
        for (&s, &y) in scores.iter().zip(&req.labels) {
            per[y].push(s);
        }
        let mut short = Vec::new();
        for (c, mut v) in per.into_iter().enumerate() {
            counts.push(v.len());
            match order_statistic(&mut v, alpha, "class") {
                Ok((q, r)) => {
                    thresholds.push(q);
                    ranks.push(r);
                }
                Err(_) => short.push(format!("class {c}: {}", counts[c])),
            }
        }
        if !short.is_empty() {
            return Err(err!(
                InsufficientData,
                "class-conditional conformal at alpha = {alpha} needs >= {} calibration items per class; too few in {}",
                min_calibration_size(alpha),
                short.join(", ")
            ));
        }
    } else {
        let mut v = scores;
        let (q, r) = order_statistic(&mut v, alpha, "conformal calibration")?;
        thresholds.push(q);
        counts.push(req.n);
        ranks.push(r);
    }
    Ok(ConformalCalibration {
        alpha,
        k: req.k,
        options: req.options,
        thresholds,
        calibration_counts: counts,
        quantile_ranks: ranks,
    })
}

/// Prediction sets (and coverage when labels are given) for new items.
pub fn conformal_sets(req: &ConformalSetsRequest) -> Result<ConformalSetsResponse> {
    let cal = &req.calibration;
    let (n, k) = (req.n, req.k);
    if cal.k != k {
        return Err(err!(
            InvalidInput,
            "calibration has {} classes, test probabilities {k}",
            cal.k
        ));
    }
    let want = if cal.options.class_conditional { k } else { 1 };
    if cal.thresholds.len() != want || cal.thresholds.iter().any(|t| t.is_nan()) {
        return Err(err!(
            InvalidInput,
            "calibration must hold {want} threshold(s), not NaN"
        ));
    }
    check_options(&cal.options)?;
    check_prob_matrix(&req.probs, n, k, "test probabilities")?;
    if let Some(l) = &req.labels {
        check_labels(l, n, k, "test labels")?;
    }
    let opts = &cal.options;
    let randomized = opts.randomized && opts.method != ConformalMethod::Lac;
    let last_label = !randomized && !opts.class_conditional && opts.method != ConformalMethod::Lac;
    let mut rng = SplitMix64::new(opts.seed ^ TEST_STREAM_XOR);
    let mut order = Vec::with_capacity(k);
    let mut s = vec![0.0; k];
    let mut sets = Vec::with_capacity(n);
    for row in req.probs.chunks_exact(k) {
        let u = if randomized { rng.next_f64() } else { 1.0 };
        class_scores(row, opts, u, &mut order, &mut s);
        let q = |c: usize| {
            if opts.class_conditional {
                cal.thresholds[c]
            } else {
                cal.thresholds[0]
            }
        };
        let mut set: Vec<usize> = if last_label {
            // `order` is the rank order here (APS/RAPS)
            let mut v = Vec::new();
            let mut prev = f64::NEG_INFINITY;
            for &c in order.iter() {
                if prev < q(c) || s[c] <= q(c) {
                    v.push(c);
                } else {
                    break;
                }
                prev = s[c];
            }
            v
        } else {
            (0..k).filter(|&c| s[c] <= q(c)).collect()
        };
        if set.is_empty() && !opts.allow_empty {
            rank_order(row, &mut order);
            set.push(order[0]);
        }
        set.sort_unstable();
        sets.push(set);
    }
    let mut hist = vec![0usize; k + 1];
    for st in &sets {
        hist[st.len()] += 1;
    }
    let mean_size = sets.iter().map(Vec::len).sum::<usize>() as f64 / n as f64;
    let report = req.labels.as_ref().map(|labels| {
        let mut count = vec![0usize; k];
        let mut cov = vec![0usize; k];
        let mut size = vec![0usize; k];
        for (st, &y) in sets.iter().zip(labels) {
            count[y] += 1;
            size[y] += st.len();
            cov[y] += st.binary_search(&y).is_ok() as usize;
        }
        CoverageReport {
            coverage: cov.iter().sum::<usize>() as f64 / n as f64,
            per_class: (0..k)
                .map(|c| ClassCoverage {
                    count: count[c],
                    coverage: (count[c] > 0).then(|| cov[c] as f64 / count[c] as f64),
                    mean_size: (count[c] > 0).then(|| size[c] as f64 / count[c] as f64),
                })
                .collect(),
        }
    });
    Ok(ConformalSetsResponse {
        sets,
        mean_size,
        size_histogram: hist,
        report,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Exchangeable synthetic data: p = softmax(3 * gaussian-ish logits), y ~ p.
    fn data(seed: u64, n: usize, k: usize) -> (Vec<f64>, Vec<usize>) {
        let mut r = SplitMix64::new(seed);
        let mut probs = Vec::with_capacity(n * k);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let z: Vec<f64> = (0..k)
                .map(|_| 3.0 * (r.next_f64() + r.next_f64() - 1.0))
                .collect();
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let p: Vec<f64> = e.iter().map(|v| v / s).collect();
            let u = r.next_f64();
            let mut acc = 0.0;
            let mut y = k - 1;
            for (j, &v) in p.iter().enumerate() {
                acc += v;
                if u < acc {
                    y = j;
                    break;
                }
            }
            probs.extend(p);
            labels.push(y);
        }
        (probs, labels)
    }

    fn all_options() -> Vec<ConformalOptions> {
        let mut v = Vec::new();
        for method in [
            ConformalMethod::Lac,
            ConformalMethod::Aps,
            ConformalMethod::Raps,
        ] {
            for randomized in [false, true] {
                for class_conditional in [false, true] {
                    v.push(ConformalOptions {
                        method,
                        randomized,
                        class_conditional,
                        seed: 7,
                        ..ConformalOptions::default()
                    });
                }
            }
        }
        v
    }

    #[test]
    fn quantile_rule_and_refusal() {
        assert_eq!(min_calibration_size(0.1), 9);
        let probs: Vec<f64> = (0..9)
            .flat_map(|i| [0.5 + i as f64 * 0.05, 0.5 - i as f64 * 0.05])
            .collect();
        let labels = [1usize; 9];
        let mk = |n: usize, alpha: f64| ConformalCalibrateRequest {
            probs: probs[..2 * n].to_vec(),
            n,
            k: 2,
            labels: labels[..n].to_vec(),
            alpha,
            options: ConformalOptions {
                method: ConformalMethod::Lac,
                ..Default::default()
            },
        };
        assert_eq!(
            conformal_calibrate(&mk(8, 0.1)).unwrap_err().code(),
            "insufficient_data"
        );
        let c = conformal_calibrate(&mk(9, 0.1)).unwrap();
        // k = ceil(10 * 0.9) = 9: the largest score, 1 - 0.1
        assert_eq!(c.quantile_ranks, vec![9]);
        assert!((c.thresholds[0] - 0.9).abs() < 1e-12);
        // alpha 0.5, n 9: k = 5, 5th smallest of 1 - p1 = 0.5, 0.55, ... -> 0.7
        let c = conformal_calibrate(&mk(9, 0.5)).unwrap();
        assert_eq!(c.quantile_ranks, vec![5]);
        assert!((c.thresholds[0] - 0.7).abs() < 1e-12);
    }

    #[test]
    fn deterministic_aps_includes_last_label() {
        let cal = ConformalCalibration {
            alpha: 0.1,
            k: 3,
            options: ConformalOptions::default(),
            thresholds: vec![0.75],
            calibration_counts: vec![100],
            quantile_ranks: vec![91],
        };
        let r = conformal_sets(&ConformalSetsRequest {
            calibration: cal,
            probs: vec![0.5, 0.3, 0.2, 0.8, 0.1, 0.1],
            n: 2,
            k: 3,
            labels: Some(vec![1, 2]),
        })
        .unwrap();
        assert_eq!(r.sets, vec![vec![0, 1], vec![0]]);
        assert_eq!(r.size_histogram, vec![0, 1, 1, 0]);
        assert_eq!(r.report.unwrap().coverage, 0.5);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn sets_grow_as_alpha_falls(seed in 0u64..1000, k in 3usize..6) {
            let (p, y) = data(seed, 400, k);
            let (tp, _) = data(seed + 10_000, 100, k);
            for o in all_options() {
                let mut prev: Option<Vec<Vec<usize>>> = None;
                for alpha in [0.4, 0.2, 0.1, 0.05] {
                    let c = conformal_calibrate(&ConformalCalibrateRequest {
                        probs: p.clone(), n: 400, k, labels: y.clone(), alpha, options: o,
                    });
                    let Ok(c) = c else { continue };
                    let s = conformal_sets(&ConformalSetsRequest {
                        calibration: c, probs: tp.clone(), n: 100, k, labels: None,
                    }).unwrap();
                    if let Some(prev) = &prev {
                        for (a, b) in prev.iter().zip(&s.sets) {
                            prop_assert!(a.iter().all(|c| b.contains(c)), "{:?}: {:?} not in {:?}", o, a, b);
                        }
                    }
                    prev = Some(s.sets);
                }
            }
        }
    }

    #[test]
    fn coverage_on_exchangeable_data() {
        // average over repetitions of split conformal: >= 1 - alpha up to Monte Carlo noise
        for o in all_options() {
            let k = 4;
            let alpha = 0.1;
            let reps = 30;
            let mut total = 0.0;
            for rep in 0..reps {
                let (p, y) = data(1000 + rep, 500, k);
                let (tp, ty) = data(50_000 + rep, 500, k);
                let c = conformal_calibrate(&ConformalCalibrateRequest {
                    probs: p,
                    n: 500,
                    k,
                    labels: y,
                    alpha,
                    options: o,
                })
                .unwrap();
                let s = conformal_sets(&ConformalSetsRequest {
                    calibration: c,
                    probs: tp,
                    n: 500,
                    k,
                    labels: Some(ty),
                })
                .unwrap();
                total += s.report.unwrap().coverage;
            }
            let mean = total / reps as f64;
            // sd of the mean ~ sqrt(0.09 / 500 / 30) + calibration spread ~ 0.004
            assert!(mean >= 1.0 - alpha - 0.012, "{o:?}: coverage {mean}");
        }
    }
}
