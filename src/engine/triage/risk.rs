//! Risk-controlled auto-accept: Learn-then-Test (Angelopoulos, Bates, Candès, Jordan, Lei
//! 2021) on a verified set (probabilities + true labels).
//!
//! An item is *auto-accepted* at threshold `lambda` when its confidence `c = max_k p_k` is
//! `>= lambda`; it is *wrong* when `argmax p` (ties: lowest index) differs from its label.
//! For each `lambda` on a grid we test the null "the risk at `lambda` exceeds `alpha`" with a
//! p-value, and a multiple-testing procedure controlling the family-wise error rate at `delta`
//! picks the certified thresholds; we return the lowest certified threshold (most items
//! accepted).
//!
//! # Risk modes
//! - `marginal`: loss `1{accepted and wrong}`, risk `E[loss] = P(accepted and wrong)`, estimated
//!   on all `n` verified items. Guarantee (LTT): with probability `>= 1 - delta` over the
//!   verified set, `P(accepted and wrong) <= alpha` for a new item. Since
//!   `P(wrong | accepted) = P(accepted and wrong) / P(accepted)`, this bounds the error among
//!   accepted items by `alpha / P(accepted)` only.
//! - `conditional` (default): the error rate among accepted items, `P(wrong | c >= lambda)`,
//!   tested with the `n_lambda` accepted items (errors among them are Binomial(`n_lambda`,
//!   risk) given `n_lambda`: the p-value is valid conditionally on `n_lambda`, hence
//!   marginally). Guarantee: with probability `>= 1 - delta`, every certified threshold has
//!   `P(wrong | accepted) <= alpha`. With `fixedSequence`, thresholds whose accepted count
//!   cannot reach `delta` even at zero errors (`n_lambda < ln(delta) / ln(1 - alpha)`) are
//!   skipped instead of stopping the sequence; this ordering uses the counts, so that
//!   guarantee holds conditionally on the accepted counts (the usual practice in selective
//!   classification). Bonferroni and Holm need no skipping.
//!
//! # p-values (for `k` wrong out of `m` tested items, `r = k / m`)
//! - `binomial` (default): exact tail `P(Binomial(m, alpha) <= k)`;
//! - `hoeffdingBentkus`: `min(exp(-m h(min(r, alpha), alpha)), e * P(Binomial(m, alpha) <= k))`,
//!   `h(a, b) = a ln(a/b) + (1-a) ln((1-a)/(1-b))`, capped at 1 (Bates et al. 2021).
//!
//! `m` is `n` (marginal) or `n_lambda` (conditional); a threshold accepting nothing has
//! p-value 1 in conditional mode (nothing to certify) and is never chosen.
//!
//! # Grid and testing
//! Grid: the distinct confidences of the verified items (default) or a given list; ordered from
//! the most conservative (highest `lambda`) down. `fixedSequence` (default) rejects while
//! `p <= delta` and stops at the first non-rejection; `bonferroni` rejects `p <= delta / m`
//! (`m` grid points); `holm` is Holm's step-down. The chosen threshold is the lowest rejected.
//! When nothing can be certified: `InsufficientData`, saying how many (accepted) items would be
//! needed at zero observed errors: `ceil(ln(delta') / ln(1 - alpha))` with `delta' = delta`
//! (fixed sequence) or `delta / m` (Bonferroni, Holm).

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_labels, check_prob_matrix};
pub use crate::engine::probs::{binom_cdf, ln_binom_cdf};
use crate::error::{err, Result};

/// Which risk is controlled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum RiskMode {
    /// `P(accepted and wrong)`.
    Marginal,
    /// `P(wrong | accepted)` (default).
    #[default]
    Conditional,
}

/// p-value of one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum PValue {
    /// Exact binomial tail (default).
    #[default]
    Binomial,
    /// Hoeffding-Bentkus.
    HoeffdingBentkus,
}

/// Family-wise error control over the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Procedure {
    /// Fixed sequence from the highest threshold down (default).
    #[default]
    FixedSequence,
    /// Bonferroni.
    Bonferroni,
    /// Holm step-down.
    Holm,
}

/// Options of [`auto_accept_threshold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AutoAcceptOptions {
    /// Risk mode.
    pub mode: RiskMode,
    /// p-value.
    pub p_value: PValue,
    /// Multiple testing.
    pub procedure: Procedure,
    /// Thresholds to test (default: the distinct verified confidences).
    pub grid: Option<Vec<f64>>,
    /// Return the per-threshold table (default false).
    pub include_table: bool,
}

/// Request for [`auto_accept_threshold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoAcceptRequest {
    /// Row-major `n x k` probabilities of the verified items.
    pub probs: Vec<f64>,
    /// Verified items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Their true labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Risk level in `(0, 1)`.
    pub alpha: f64,
    /// Allowed failure probability in `(0, 1)`.
    pub delta: f64,
    /// Options.
    #[serde(default)]
    pub options: AutoAcceptOptions,
}

/// One tested threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThresholdTest {
    /// The threshold.
    pub lambda: f64,
    /// Verified items with confidence `>= lambda`.
    pub accepted: usize,
    /// Wrong among them.
    pub errors: usize,
    /// p-value.
    pub p_value: f64,
    /// Rejected (certified).
    pub certified: bool,
}

/// The chosen threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AutoAcceptResponse {
    /// Auto-accept items with confidence `>= threshold`.
    pub threshold: f64,
    /// Verified items it accepts.
    pub accepted: usize,
    /// `accepted / n` (expected auto-accept rate).
    pub accepted_fraction: f64,
    /// Wrong among the accepted verified items.
    pub errors: usize,
    /// `errors / accepted`.
    pub empirical_error: f64,
    /// p-value of the chosen threshold.
    pub p_value: f64,
    /// Thresholds tested.
    pub tested: usize,
    /// Echo: risk level, failure probability, mode.
    pub alpha: f64,
    /// Failure probability.
    pub delta: f64,
    /// Risk mode.
    pub mode: RiskMode,
    /// Per-threshold table (highest first), when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table: Option<Vec<ThresholdTest>>,
}

/// Hoeffding bound `exp(-n h(min(r, alpha), alpha))`.
pub fn hoeffding_p(errors: usize, n: usize, alpha: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let r = (errors as f64 / n as f64).min(alpha);
    let mut h = (1.0 - r) * ((1.0 - r) / (1.0 - alpha)).ln();
    if r > 0.0 {
        h += r * (r / alpha).ln();
    }
    (-(n as f64) * h).exp().min(1.0)
}

/// Hoeffding-Bentkus p-value, capped at 1.
pub fn hoeffding_bentkus_p(errors: usize, n: usize, alpha: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let bentkus = std::f64::consts::E * binom_cdf(errors, n, alpha);
    hoeffding_p(errors, n, alpha).min(bentkus).min(1.0)
}

/// Items needed at zero observed errors to reach `p <= delta`: `ceil(ln delta / ln(1-alpha))`.
pub fn needed_at_zero_errors(alpha: f64, delta: f64) -> usize {
    (delta.ln() / (-alpha).ln_1p()).ceil().max(1.0) as usize
}

/// Choose the auto-accept threshold (see the module docs).
pub fn auto_accept_threshold(req: &AutoAcceptRequest) -> Result<AutoAcceptResponse> {
    let (n, k, alpha, delta) = (req.n, req.k, req.alpha, req.delta);
    if !(alpha > 0.0 && alpha < 1.0 && delta > 0.0 && delta < 1.0) {
        return Err(err!(
            InvalidOptions,
            "alpha and delta must be in (0, 1), got {alpha}, {delta}"
        ));
    }
    check_prob_matrix(&req.probs, n, k, "verified probabilities")?;
    check_labels(&req.labels, n, k, "verified labels")?;
    let o = &req.options;
    let items = confidence_and_wrong(&req.probs, &req.labels, k);
    let grid = threshold_grid(o.grid.as_deref(), &items)?;
    let m = grid.len();
    let mut table = test_thresholds(&grid, &items, n, alpha, o);
    certify(&mut table, o.procedure, o.mode, alpha, delta);
    let Some(c) = table.iter().rposition(|t| t.certified) else {
        return Err(nothing_certified(o, alpha, delta, n, m));
    };
    let t = table[c].clone();
    Ok(AutoAcceptResponse {
        threshold: t.lambda,
        accepted: t.accepted,
        accepted_fraction: t.accepted as f64 / n as f64,
        errors: t.errors,
        empirical_error: if t.accepted > 0 {
            t.errors as f64 / t.accepted as f64
        } else {
            0.0
        },
        p_value: t.p_value,
        tested: m,
        alpha,
        delta,
        mode: o.mode,
        table: if o.include_table { Some(table) } else { None },
    })
}

/// `(confidence, wrong)` per verified item, sorted by decreasing confidence (confidence =
/// top probability, wrong = its class is not the label).
fn confidence_and_wrong(probs: &[f64], labels: &[usize], k: usize) -> Vec<(f64, bool)> {
    let mut items: Vec<(f64, bool)> = probs
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &y)| {
            let j = argmax(row);
            (row[j], j != y)
        })
        .collect();
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    items
}

/// The thresholds tested, highest first without repeats: the given grid, else every observed
/// confidence.
fn threshold_grid(grid: Option<&[f64]>, items: &[(f64, bool)]) -> Result<Vec<f64>> {
    let mut grid: Vec<f64> = match grid {
        Some(g) => {
            if g.is_empty() || g.iter().any(|v| !v.is_finite()) {
                return Err(err!(
                    InvalidOptions,
                    "grid must be a non-empty list of finite numbers"
                ));
            }
            g.to_vec()
        }
        None => items.iter().map(|x| x.0).collect(),
    };
    grid.sort_by(|a, b| b.total_cmp(a));
    grid.dedup();
    Ok(grid)
}

/// Accepted items, errors and the p-value of `H0: risk > alpha` at each grid point (highest
/// first), by one sweep down the sorted items; nothing certified yet.
fn test_thresholds(
    grid: &[f64],
    items: &[(f64, bool)],
    n: usize,
    alpha: f64,
    o: &AutoAcceptOptions,
) -> Vec<ThresholdTest> {
    let mut table = Vec::with_capacity(grid.len());
    let (mut idx, mut acc, mut err_) = (0usize, 0usize, 0usize);
    for &lambda in grid {
        while idx < items.len() && items[idx].0 >= lambda {
            acc += 1;
            err_ += items[idx].1 as usize;
            idx += 1;
        }
        let tested = match o.mode {
            RiskMode::Marginal => n,
            RiskMode::Conditional => acc,
        };
        let p = if tested == 0 {
            1.0
        } else {
            match o.p_value {
                PValue::Binomial => binom_cdf(err_, tested, alpha),
                PValue::HoeffdingBentkus => hoeffding_bentkus_p(err_, tested, alpha),
            }
        };
        table.push(ThresholdTest {
            lambda,
            accepted: acc,
            errors: err_,
            p_value: p,
            certified: false,
        });
    }
    table
}

/// Mark the thresholds the multiple-testing procedure certifies at level `delta`.
fn certify(
    table: &mut [ThresholdTest],
    procedure: Procedure,
    mode: RiskMode,
    alpha: f64,
    delta: f64,
) {
    let m = table.len();
    match procedure {
        Procedure::FixedSequence => {
            let need_fs = needed_at_zero_errors(alpha, delta);
            for t in table.iter_mut() {
                if t.accepted == 0 || (mode == RiskMode::Conditional && t.accepted < need_fs) {
                    continue; // untestable: skipped (see module docs)
                }
                if t.p_value <= delta {
                    t.certified = true;
                } else {
                    break;
                }
            }
        }
        Procedure::Bonferroni => {
            for t in table.iter_mut() {
                t.certified = t.accepted > 0 && t.p_value <= delta / m as f64;
            }
        }
        Procedure::Holm => {
            let mut idx: Vec<usize> = (0..m).collect();
            idx.sort_by(|&a, &b| {
                table[a]
                    .p_value
                    .total_cmp(&table[b].p_value)
                    .then(a.cmp(&b))
            });
            for (r, &i) in idx.iter().enumerate() {
                if table[i].p_value <= delta / (m - r) as f64 {
                    table[i].certified = table[i].accepted > 0;
                } else {
                    break;
                }
            }
        }
    }
}

/// The refusal when no threshold is certified: how many verified items it would take even
/// with zero observed errors.
fn nothing_certified(
    o: &AutoAcceptOptions,
    alpha: f64,
    delta: f64,
    n: usize,
    m: usize,
) -> crate::error::Error {
    let d = match o.procedure {
        Procedure::FixedSequence => delta,
        _ => delta / m as f64,
    };
    let need = needed_at_zero_errors(alpha, d);
    let what = match o.mode {
        RiskMode::Marginal => "verified items",
        RiskMode::Conditional => "accepted verified items at one threshold",
    };
    err!(
        InsufficientData,
        "no threshold can be certified at alpha = {alpha}, delta = {delta} with {n} verified items ({m} thresholds tested): even with zero observed errors it takes at least {need} {what}"
    )
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[test]
    fn refusal_says_how_many() {
        let probs: Vec<f64> = (0..50).flat_map(|_| [0.9, 0.1]).collect();
        let e = auto_accept_threshold(&AutoAcceptRequest {
            probs,
            n: 50,
            k: 2,
            labels: vec![0; 50],
            alpha: 0.01,
            delta: 0.05,
            options: AutoAcceptOptions::default(),
        })
        .unwrap_err();
        assert_eq!(e.code(), "insufficient_data");
        assert!(e.message().contains("299"), "{}", e.message());
    }

    #[test]
    fn certifies_clean_confident_items() {
        // 400 confident correct items, 100 unconfident ones with 50% errors
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for i in 0..500 {
            if i < 400 {
                let c = 0.95 + (i as f64) * 1e-4;
                probs.extend([c, 1.0 - c]);
                labels.push(0);
            } else {
                probs.extend([0.6, 0.4]);
                labels.push(i % 2);
            }
        }
        for procedure in [
            Procedure::FixedSequence,
            Procedure::Bonferroni,
            Procedure::Holm,
        ] {
            for mode in [RiskMode::Conditional, RiskMode::Marginal] {
                let r = auto_accept_threshold(&AutoAcceptRequest {
                    probs: probs.clone(),
                    n: 500,
                    k: 2,
                    labels: labels.clone(),
                    alpha: 0.05,
                    delta: 0.05,
                    options: AutoAcceptOptions {
                        mode,
                        procedure,
                        ..Default::default()
                    },
                })
                .unwrap();
                assert!(r.threshold >= 0.95, "{procedure:?} {mode:?} {r:?}");
                assert_eq!(r.errors, 0);
            }
        }
    }
}
