//! Calibration of class probabilities: temperature scaling and calibration metrics
//! (NLL, Brier, ECE, MCE, reliability-diagram bins). Natural logarithm throughout.
//!
//! # Temperature scaling
//! Convention: calibrated probabilities are `softmax(z / T)` for logits `z` (Guo et al. 2017).
//! netcal's `TemperatureScaling` reports the reciprocal (`1 / T`, a factor on the logits).
//! When probabilities are given instead of logits, `z = ln p` (a zero probability becomes
//! `-inf` and stays zero after scaling).
//!
//! `T` minimizes the mean negative log-likelihood on the labeled set, searched on `ln T` within
//! `[minTemperature, maxTemperature]` (default `[0.05, 20]`): a golden-section bracket search
//! followed by a safeguarded Newton polish on `beta = 1 / T` (the NLL is convex in `beta`, so the
//! minimum is unique). `atBoundary` is true when the optimum lies at an end of the range.
//!
//! # Metrics (all on the probabilities as given)
//! - NLL: `mean_i -ln clip(p[i, y_i], eps, 1 - eps)`, `eps = f64::EPSILON` (as
//!   `sklearn.metrics.log_loss`).
//! - Brier: `mean_i Σ_k (p[i, k] - 1{y_i = k})²` (sum over classes, mean over items, range
//!   `[0, 2]`; sklearn's `brier_score_loss(..., scale_by_half=False)`, its default for 3+
//!   classes).
//! - ECE / MCE (top-label, Guo et al. 2017, as netcal 1.4 computes them): confidence
//!   `c_i = max_k p[i, k]`, prediction `argmax` (ties: lowest class index), correct when the
//!   prediction equals the label. `M` equal-width bins with edges `e_j = j * (1 / M)`
//!   (`e_M = 1`), bin `j` holding `e_j <= c < e_{j+1}`, the last bin also holding `c = 1`
//!   (numpy `histogramdd` / netcal: a confidence exactly on an inner edge goes to the bin
//!   above; Guo et al. write the bins right-closed, `((j-1)/M, j/M]`, which differs only for
//!   confidences exactly on an inner edge). Confidences are clipped to `[eps, 1 - eps]` before
//!   binning and averaging, as netcal does. `ECE = Σ_j (n_j / n) |acc_j - conf_j|`,
//!   `MCE = max_j |acc_j - conf_j|` over non-empty bins.
//!
//! Intentional differences from netcal: none in the numbers; netcal treats any label vector
//! with at most two distinct values as a *binary* problem (positive-class confidence), we
//! always use the top-label definition.

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_labels, check_prob_matrix, check_shape};
use crate::error::{err, Result};

/// What the `scores` of a [`TemperatureRequest`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ScoreKind {
    /// Unnormalized logits (default).
    #[default]
    Logits,
    /// Probabilities (rows summing to 1); logits are taken as `ln p`.
    Probabilities,
}

/// Fit a temperature on a labeled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemperatureRequest {
    /// Row-major `n x k` logits or probabilities.
    pub scores: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True labels, `n` of them, each `< k`.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Logits (default) or probabilities.
    #[serde(default)]
    pub kind: ScoreKind,
    /// Search range for `T`.
    #[serde(default)]
    pub options: TemperatureOptions,
}

/// Search range for the temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TemperatureOptions {
    /// Smallest `T` (default 0.05).
    pub min_temperature: f64,
    /// Largest `T` (default 20).
    pub max_temperature: f64,
}

impl Default for TemperatureOptions {
    fn default() -> Self {
        TemperatureOptions {
            min_temperature: 0.05,
            max_temperature: 20.0,
        }
    }
}

/// The fitted temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemperatureResponse {
    /// `T`: calibrated probabilities are `softmax(logits / T)`.
    pub temperature: f64,
    /// Mean NLL at `T = 1`.
    pub nll_before: f64,
    /// Mean NLL at the fitted `T`.
    pub nll_after: f64,
    /// The optimum is at an end of the search range.
    pub at_boundary: bool,
}

/// Input logits must be finite: a NaN there is bad input (`invalid_input`, with its row and
/// column), not a model's non-finite output.
fn check_finite_input(scores: &[f64], k: usize) -> Result<()> {
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        return Err(err!(
            InvalidInput,
            "logits: row {}, column {} is {} (input logits must be finite)",
            i / k.max(1),
            i % k.max(1),
            scores[i]
        ));
    }
    Ok(())
}

/// Row-major logits as `f64`, from logits or from probabilities (`ln p`).
fn to_logits(scores: &[f64], n: usize, k: usize, kind: ScoreKind) -> Result<Vec<f64>> {
    match kind {
        ScoreKind::Logits => {
            check_shape(scores, n, k, "logits")?;
            check_finite_input(scores, k)?;
            Ok(scores.to_vec())
        }
        ScoreKind::Probabilities => {
            check_prob_matrix(scores, n, k, "probabilities")?;
            Ok(scores.iter().map(|p| p.ln()).collect())
        }
    }
}

/// Sufficient pieces of the NLL in `beta = 1/T`: value, first and second derivative.
fn nll_beta(z: &[f64], labels: &[usize], k: usize, beta: f64) -> (f64, f64, f64) {
    let (mut f, mut d1, mut d2) = (0.0, 0.0, 0.0);
    for (row, &y) in z.chunks_exact(k).zip(labels) {
        let m = row
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut s, mut s1, mut s2) = (0.0, 0.0, 0.0);
        for &v in row {
            if v.is_finite() {
                let w = (beta * (v - m)).exp();
                s += w;
                s1 += w * v;
                s2 += w * v * v;
            }
        }
        let mean = s1 / s;
        f += beta * m + s.ln() - beta * row[y];
        d1 += mean - row[y];
        d2 += (s2 / s - mean * mean).max(0.0);
    }
    let n = labels.len() as f64;
    (f / n, d1 / n, d2 / n)
}

/// Fit the temperature `T` minimizing the mean NLL of `softmax(z / T)`.
pub fn fit_temperature(req: &TemperatureRequest) -> Result<TemperatureResponse> {
    let TemperatureOptions {
        min_temperature: lo_t,
        max_temperature: hi_t,
    } = req.options;
    if !(lo_t.is_finite() && hi_t.is_finite() && lo_t > 0.0 && lo_t < hi_t) {
        return Err(err!(
            InvalidOptions,
            "temperature range must satisfy 0 < minTemperature < maxTemperature, got [{lo_t}, {hi_t}]"
        ));
    }
    let z = to_logits(&req.scores, req.n, req.k, req.kind)?;
    check_labels(&req.labels, req.n, req.k, "labels")?;
    let k = req.k;
    if let Some(i) = (0..req.n).find(|&i| !z[i * k + req.labels[i]].is_finite()) {
        return Err(err!(
            InvalidProbabilities,
            "item {i}: its true label has probability 0, the NLL is infinite at every temperature"
        ));
    }
    let f = |log_t: f64| nll_beta(&z, &req.labels, k, (-log_t).exp()).0;
    // golden-section search on ln T down to a 1e-4 bracket; Newton below does the rest
    let (mut a, mut b) = (lo_t.ln(), hi_t.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-4 {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let mut log_t = (a + b) / 2.0;
    // Newton polish on beta, kept inside the range and only accepted when the NLL does not rise
    let (beta_lo, beta_hi) = (1.0 / hi_t, 1.0 / lo_t);
    let mut beta = (-log_t).exp();
    for _ in 0..20 {
        let (f0, d1, d2) = nll_beta(&z, &req.labels, k, beta);
        if d2 <= 0.0 || !d1.is_finite() {
            break;
        }
        let next = (beta - d1 / d2).clamp(beta_lo, beta_hi);
        let (f1, _, _) = nll_beta(&z, &req.labels, k, next);
        if f1.is_nan() || f1 > f0 {
            break;
        }
        let step = (next - beta).abs();
        beta = next;
        if step <= 1e-14 * beta {
            break;
        }
    }
    log_t = -beta.ln();
    let temperature = log_t.exp().clamp(lo_t, hi_t);
    let (nll_before, _, _) = nll_beta(&z, &req.labels, k, 1.0);
    let (nll_after, _, _) = nll_beta(&z, &req.labels, k, 1.0 / temperature);
    if !nll_after.is_finite() {
        return Err(err!(NonFiniteOutput, "the NLL is not finite"));
    }
    let at_boundary = (temperature / lo_t).ln() < 1e-6 || (hi_t / temperature).ln() < 1e-6;
    Ok(TemperatureResponse {
        temperature,
        nll_before,
        nll_after,
        at_boundary,
    })
}

/// Request to apply a fitted temperature (JS `applyTemperature`, CLI `calibrate apply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyTemperatureRequest {
    /// Row-major `n x k` logits or probabilities.
    pub scores: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Logits (default) or probabilities.
    #[serde(default)]
    pub kind: ScoreKind,
    /// The temperature `T`.
    pub temperature: f64,
}

/// [`apply_temperature`] on a request (JS `applyTemperature`).
pub fn apply_temperature_request(r: &ApplyTemperatureRequest) -> Result<Vec<f64>> {
    apply_temperature(&r.scores, r.n, r.k, r.kind, r.temperature)
}

/// Apply a temperature: `softmax(z / T)` per row, `z` logits or `ln p` (see [`ScoreKind`]).
pub fn apply_temperature(
    scores: &[f64],
    n: usize,
    k: usize,
    kind: ScoreKind,
    temperature: f64,
) -> Result<Vec<f64>> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(err!(
            InvalidOptions,
            "temperature must be finite and > 0, got {temperature}"
        ));
    }
    let z = to_logits(scores, n, k, kind)?;
    let mut out = Vec::with_capacity(z.len());
    for row in z.chunks_exact(k) {
        let m = row
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row
            .iter()
            .map(|&v| {
                if v.is_finite() {
                    ((v - m) / temperature).exp()
                } else {
                    0.0
                }
            })
            .collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    Ok(out)
}

/// Request for [`calibration_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalibrationReportRequest {
    /// Row-major `n x k` probabilities.
    pub probs: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Equal-width bins for ECE/MCE (default 15).
    #[serde(default = "default_bins")]
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub bins: usize,
}

fn default_bins() -> usize {
    15
}

/// One bin of the reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReliabilityBin {
    /// Lower edge (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, except the last bin).
    pub upper: f64,
    /// Items whose confidence falls in the bin.
    pub count: usize,
    /// Mean confidence in the bin (`null` when empty).
    pub mean_confidence: Option<f64>,
    /// Accuracy in the bin (`null` when empty).
    pub accuracy: Option<f64>,
}

/// Calibration metrics of a labeled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CalibrationReport {
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Top-label accuracy.
    pub accuracy: f64,
    /// Mean top-label confidence.
    pub mean_confidence: f64,
    /// Mean negative log-likelihood.
    pub nll: f64,
    /// Multiclass Brier score (sum over classes, mean over items).
    pub brier: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// Maximum calibration error.
    pub mce: f64,
    /// Reliability-diagram bins.
    pub bins: Vec<ReliabilityBin>,
}

/// NLL, Brier, ECE, MCE and reliability bins (conventions in the module docs).
pub fn calibration_report(req: &CalibrationReportRequest) -> Result<CalibrationReport> {
    let (n, k, m) = (req.n, req.k, req.bins);
    check_prob_matrix(&req.probs, n, k, "probabilities")?;
    check_labels(&req.labels, n, k, "labels")?;
    if m == 0 || m > 100_000 {
        return Err(err!(InvalidOptions, "bins must be in 1..=100000, got {m}"));
    }
    let eps = f64::EPSILON;
    let width = 1.0 / m as f64;
    let edges: Vec<f64> = (0..=m)
        .map(|j| if j == m { 1.0 } else { j as f64 * width })
        .collect();
    let mut count = vec![0usize; m];
    let mut conf_sum = vec![0.0; m];
    let mut correct = vec![0usize; m];
    let (mut nll, mut brier, mut acc, mut mean_conf) = (0.0, 0.0, 0usize, 0.0);
    for (row, &y) in req.probs.chunks_exact(k).zip(&req.labels) {
        nll -= row[y].clamp(eps, 1.0 - eps).ln();
        brier += row
            .iter()
            .enumerate()
            .map(|(j, &p)| {
                let t = if j == y { 1.0 } else { 0.0 };
                (p - t) * (p - t)
            })
            .sum::<f64>();
        let pred = argmax(row);
        let c = row[pred].clamp(eps, 1.0 - eps);
        mean_conf += row[pred];
        let ok = pred == y;
        acc += ok as usize;
        // bin j such that edges[j] <= c < edges[j+1] (numpy searchsorted side=right, minus 1)
        let j = edges
            .partition_point(|&e| e <= c)
            .saturating_sub(1)
            .min(m - 1);
        count[j] += 1;
        conf_sum[j] += c;
        correct[j] += ok as usize;
    }
    let nf = n as f64;
    let mut ece = 0.0;
    let mut mce: f64 = 0.0;
    let bins: Vec<ReliabilityBin> = (0..m)
        .map(|j| {
            let (mc, a) = if count[j] > 0 {
                let mc = conf_sum[j] / count[j] as f64;
                let a = correct[j] as f64 / count[j] as f64;
                let gap = (a - mc).abs();
                ece += gap * count[j] as f64 / nf;
                mce = mce.max(gap);
                (Some(mc), Some(a))
            } else {
                (None, None)
            };
            ReliabilityBin {
                lower: edges[j],
                upper: edges[j + 1],
                count: count[j],
                mean_confidence: mc,
                accuracy: a,
            }
        })
        .collect();
    Ok(CalibrationReport {
        n,
        k,
        accuracy: acc as f64 / nf,
        mean_confidence: mean_conf / nf,
        nll: nll / nf,
        brier: brier / nf,
        ece,
        mce,
        bins,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64) / (1u64 << 53) as f64
        }
    }

    #[test]
    fn report_basics_and_edges() {
        // a confidence exactly on an inner edge goes to the bin above: 0.4 = 2 * 0.2 lands in
        // bin 2; the edge 3 * 0.2 is 0.6000000000000001 in f64 (as numpy's linspace), so 0.6
        // stays in bin 2 as well
        let probs = vec![0.6, 0.4, 0.0, 0.4, 0.3, 0.3, 1.0, 0.0, 0.0];
        let r = calibration_report(&CalibrationReportRequest {
            probs,
            n: 3,
            k: 3,
            labels: vec![0, 1, 0],
            bins: 5,
        })
        .unwrap();
        assert_eq!(
            r.bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            vec![0, 0, 2, 0, 1]
        );
        assert!((r.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.bins[2].accuracy, Some(0.5));
        assert!(calibration_report(&CalibrationReportRequest {
            probs: vec![0.5, 0.6],
            n: 1,
            k: 2,
            labels: vec![0],
            bins: 15
        })
        .is_err());
    }

    #[test]
    fn zero_true_label_probability_is_refused() {
        let e = fit_temperature(&TemperatureRequest {
            scores: vec![1.0, 0.0, 0.5, 0.5],
            n: 2,
            k: 2,
            labels: vec![1, 0],
            kind: ScoreKind::Probabilities,
            options: TemperatureOptions::default(),
        })
        .unwrap_err();
        assert_eq!(e.code(), "invalid_probabilities");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn temperature_keeps_argmax(seed in 0u64..1000, t in 0.1f64..10.0) {
            let mut r = Lcg(seed);
            let (n, k) = (20, 4);
            let z: Vec<f64> = (0..n * k).map(|_| 6.0 * r.next() - 3.0).collect();
            let p = apply_temperature(&z, n, k, ScoreKind::Logits, t).unwrap();
            for (a, b) in z.chunks(k).zip(p.chunks(k)) {
                prop_assert_eq!(argmax(a), argmax(b));
            }
        }

        #[test]
        fn recovers_temperature(seed in 0u64..1000, t0 in 0.3f64..4.0) {
            let mut r = Lcg(seed);
            let (n, k) = (3000, 5);
            let z: Vec<f64> = (0..n * k).map(|_| 8.0 * r.next() - 4.0).collect();
            let p = apply_temperature(&z, n, k, ScoreKind::Logits, t0).unwrap();
            let labels: Vec<usize> = p
                .chunks(k)
                .map(|row| {
                    let u = r.next();
                    let mut acc = 0.0;
                    for (j, &v) in row.iter().enumerate() {
                        acc += v;
                        if u < acc {
                            return j;
                        }
                    }
                    k - 1
                })
                .collect();
            let fit = fit_temperature(&TemperatureRequest {
                scores: z, n, k, labels, kind: ScoreKind::Logits, options: TemperatureOptions::default(),
            }).unwrap();
            prop_assert!((fit.temperature / t0).ln().abs() < 0.15, "fit {} vs {}", fit.temperature, t0);
            prop_assert!(fit.nll_after <= fit.nll_before + 1e-12);
        }
    }
}
