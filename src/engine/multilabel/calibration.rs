//! Calibration, conformal sets and certified auto-accept for multi-label findings.
//!
//! # Calibration per finding
//! Scores are logits `z` (a sigmoid gives the probability) or probabilities `p` (then
//! `z = ln(p / (1 - p))`, with `p` clipped to `[1e-12, 1 - 1e-12]` so that 0 and 1 stay
//! finite). Each finding `j` gets its own map `p' = sigmoid(a_j z + b_j)`:
//! - `temperature`: `a_j = 1 / T_j`, `b_j = 0`, `T_j` minimizing the mean binary NLL on the
//!   labeled set (the single-label temperature search of
//!   [`crate::engine::triage::calibration`] on the two logits `[0, z]`, whose softmax is
//!   `[1 - sigmoid(z / T), sigmoid(z / T)]`);
//! - `platt`: `(a_j, b_j)` minimizing the cross-entropy against Platt's smoothed targets
//!   (`(N+ + 1) / (N+ + 2)` for positives, `1 / (N- + 2)` for negatives), as scikit-learn's
//!   `_SigmoidCalibration` (which reports `A = -a`, `B = -b`); solved by Newton's method
//!   with step halving to a gradient below 1e-12 per item.
//!
//! # Metrics per finding (on the probabilities as given)
//! NLL `mean -[y ln p + (1-y) ln(1-p)]` (p clipped to `[eps, 1-eps]`, `eps = f64::EPSILON`),
//! Brier `mean (p - y)^2`, and the reliability of `p` itself: `M` equal-width bins over
//! `[0, 1]` (bin `b` holds `b/M <= p < (b+1)/M`, the last also `p = 1`, as `numpy.histogram`),
//! `ECE = Σ_b (n_b / n) |mean_b(y) - mean_b(p)|`, `MCE = max_b |…|` over non-empty bins.
//!
//! # Conformal per finding
//! Split conformal (LAC) on each finding's two-class problem `[1 - p, p]`: the set of finding
//! `j` is `{absent}`, `{present}`, both (undecided) or empty. With level `alpha_j` each
//! finding's set covers its truth with probability `>= 1 - alpha_j`; with `bonferroni`
//! (default) `alpha_j = alpha / k`, so all `k` sets of an image cover together with
//! probability `>= 1 - alpha` (union bound; no assumption on how findings depend on each
//! other).
//!
//! # Certified auto-accept for the image
//! The model's decision for finding `j` is "present" when `p_j >= 0.5`; its confidence is
//! `c_j = max(p_j, 1 - p_j)`. An image is *wrong* when any of its `k` decisions differs from
//! the verified truth. Two rules, both Learn-then-Test on a verified set
//! ([`crate::engine::triage::risk`]), with probability `>= 1 - delta` over that set:
//! - `joint` (default): accept an image when `min_j c_j >= lambda`; one family of thresholds
//!   tested on the image-level loss, so the findings need no multiplicity correction (the
//!   test is on the event "some finding wrong" itself). Guarantee (conditional mode):
//!   `P(some finding wrong | image auto-accepted) <= alpha`. In marginal mode:
//!   `P(auto-accepted and some finding wrong) <= alpha`.
//! - `bonferroni`: one threshold `lambda_j` per finding, each certified in marginal mode at
//!   `(alpha / k, delta / k)`; accept an image when `c_j >= lambda_j` for every `j`. By the
//!   union bound over findings, `P(auto-accepted and some finding wrong) <= Σ_j
//!   P(c_j >= lambda_j and finding j wrong) <= alpha`, all `k` thresholds holding together
//!   with probability `>= 1 - delta`. Thresholds adapt to each finding's difficulty; the
//!   price is a marginal (not conditional) guarantee and smaller per-finding levels.
//!
//! The guarantee assumes the verified images are exchangeable with the images the rule is
//! applied to (same distribution, e.g. a random sample of the pool). [`apply_auto_accept`]
//! reports the held-out error when truths are given, which is how the tests check it.

use serde::{Deserialize, Serialize};

use super::score::sigmoid;
use super::{onehot, MlProbs};
use crate::engine::triage::calibration::TemperatureRequest;
use crate::engine::triage::calibration::{fit_temperature, ScoreKind, TemperatureOptions};
use crate::engine::triage::conformal::{
    conformal_calibrate, ConformalCalibrateRequest, ConformalMethod, ConformalOptions,
};
use crate::engine::triage::risk::{
    auto_accept_threshold, AutoAcceptOptions, AutoAcceptRequest, PValue, Procedure, RiskMode,
};
use crate::error::{err, Result};

/// Probabilities are clipped to `[CLIP, 1 - CLIP]` before taking logits.
pub const CLIP: f64 = 1e-12;

/// Logits of a request's scores (validated).
pub fn to_logits(scores: &[f64], n: usize, k: usize, kind: ScoreKind) -> Result<Vec<f64>> {
    if n == 0 || k == 0 || n.checked_mul(k) != Some(scores.len()) {
        return Err(err!(
            InvalidInput,
            "scores have {} values, expected n x k = {n} x {k} (both >= 1)",
            scores.len()
        ));
    }
    match kind {
        ScoreKind::Logits => {
            if scores.iter().any(|v| !v.is_finite()) {
                return Err(err!(NonFiniteOutput, "logits contain NaN or infinity"));
            }
            Ok(scores.to_vec())
        }
        ScoreKind::Probabilities => {
            MlProbs::new(scores, n, k)?;
            Ok(scores
                .iter()
                .map(|&p| {
                    let p = p.clamp(CLIP, 1.0 - CLIP);
                    (p / (1.0 - p)).ln()
                })
                .collect())
        }
    }
}

/// The calibration map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum MlCalibrationMethod {
    /// One temperature per finding (default).
    #[default]
    Temperature,
    /// Platt scaling per finding (slope and intercept).
    Platt,
}

fn default_bins() -> usize {
    15
}

/// Options of [`fit_calibration`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlCalibrateOptions {
    /// Map (default temperature).
    #[serde(default)]
    pub method: MlCalibrationMethod,
    /// Reliability bins for the reported ECE (default 15).
    #[serde(default = "default_bins")]
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub bins: usize,
    /// Temperature search range (temperature only).
    #[serde(default)]
    pub temperature: TemperatureOptions,
}

impl Default for MlCalibrateOptions {
    fn default() -> Self {
        MlCalibrateOptions {
            method: MlCalibrationMethod::Temperature,
            bins: 15,
            temperature: TemperatureOptions::default(),
        }
    }
}

/// Fit a calibration on labeled images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlCalibrateRequest {
    /// Row-major `n x k` logits or probabilities.
    pub scores: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Logits (default) or probabilities.
    #[serde(default)]
    pub kind: ScoreKind,
    /// True findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: MlCalibrateOptions,
}

/// The fitted map of one finding, `p' = sigmoid(slope z + intercept)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindingMap {
    /// `a` (`1 / T` for temperature scaling).
    pub slope: f64,
    /// `b` (0 for temperature scaling).
    pub intercept: f64,
}

/// Metrics of one finding's probabilities against truths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingMetrics {
    /// Images where the finding is present.
    pub positives: usize,
    /// Mean binary NLL.
    pub nll: f64,
    /// Mean squared error of `p`.
    pub brier: f64,
    /// Expected calibration error of `p` (equal-width bins).
    pub ece: f64,
    /// Largest bin gap.
    pub mce: f64,
    /// Accuracy of the decision `p >= 0.5`.
    pub accuracy: f64,
}

/// One finding's calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingCalibration {
    /// Finding index.
    pub finding: usize,
    /// The map.
    pub map: FindingMap,
    /// Temperature (temperature scaling only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The temperature optimum is at an end of the search range.
    pub at_boundary: bool,
    /// Metrics on the fitting set before calibration.
    pub before: FindingMetrics,
    /// And after.
    pub after: FindingMetrics,
}

/// Result of [`fit_calibration`]: pass `maps` to [`apply_calibration`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlCalibration {
    /// Map used.
    pub method: MlCalibrationMethod,
    /// One map per finding.
    pub maps: Vec<FindingMap>,
    /// Details per finding.
    pub findings: Vec<FindingCalibration>,
}

/// Metrics of one finding (see the module docs).
pub fn finding_metrics(p: &[f64], y: &[u8], bins: usize) -> Result<FindingMetrics> {
    if bins == 0 || bins > 10_000 {
        return Err(err!(InvalidOptions, "bins must be in 1..=10000"));
    }
    let n = p.len();
    if n == 0 || y.len() != n {
        return Err(err!(
            InvalidInput,
            "metrics need as many truths as probabilities (>= 1)"
        ));
    }
    let eps = f64::EPSILON;
    let (mut nll, mut brier, mut correct) = (0.0, 0.0, 0usize);
    let mut cnt = vec![0usize; bins];
    let mut sp = vec![0.0; bins];
    let mut sy = vec![0.0; bins];
    for (&pi, &yi) in p.iter().zip(y) {
        let yf = yi as f64;
        let pc = pi.clamp(eps, 1.0 - eps);
        nll -= yf * pc.ln() + (1.0 - yf) * (1.0 - pc).ln();
        brier += (pi - yf) * (pi - yf);
        correct += ((pi >= 0.5) == (yi == 1)) as usize;
        let b = ((pi * bins as f64).floor() as usize).min(bins - 1);
        cnt[b] += 1;
        sp[b] += pi;
        sy[b] += yf;
    }
    let (mut ece, mut mce) = (0.0f64, 0.0f64);
    for b in 0..bins {
        if cnt[b] > 0 {
            let gap = (sy[b] / cnt[b] as f64 - sp[b] / cnt[b] as f64).abs();
            ece += cnt[b] as f64 / n as f64 * gap;
            mce = mce.max(gap);
        }
    }
    Ok(FindingMetrics {
        positives: y.iter().filter(|&&v| v == 1).count(),
        nll: nll / n as f64,
        brier: brier / n as f64,
        ece,
        mce,
        accuracy: correct as f64 / n as f64,
    })
}

/// Platt scaling of one finding: `(a, b)` with `p = sigmoid(a z + b)`.
pub fn platt(z: &[f64], y: &[u8]) -> Result<(f64, f64)> {
    let n = z.len();
    let pos = y.iter().filter(|&&v| v == 1).count() as f64;
    let neg = n as f64 - pos;
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let t: Vec<f64> = y.iter().map(|&v| if v == 1 { hi } else { lo }).collect();
    let loss = |a: f64, b: f64| -> f64 {
        z.iter()
            .zip(&t)
            .map(|(&zi, &ti)| {
                let s = a * zi + b;
                // -[t ln σ(s) + (1-t) ln(1-σ(s))] = softplus(s) - t s
                let sp = if s > 0.0 {
                    s + (-s).exp().ln_1p()
                } else {
                    s.exp().ln_1p()
                };
                sp - ti * s
            })
            .sum()
    };
    let (mut a, mut b) = (1.0, ((pos + 1.0) / (neg + 1.0)).ln());
    let mut f = loss(a, b);
    for _ in 0..200 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&zi, &ti) in z.iter().zip(&t) {
            let q = sigmoid(a * zi + b);
            let r = q - ti;
            let w = q * (1.0 - q);
            ga += r * zi;
            gb += r;
            haa += w * zi * zi;
            hab += w * zi;
            hbb += w;
        }
        if ga.abs().max(gb.abs()) <= 1e-12 * n as f64 {
            break;
        }
        let det = haa * hbb - hab * hab;
        let (da, db) = if det > 1e-300 && det.is_finite() {
            ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
        } else {
            (ga * 1e-3, gb * 1e-3)
        };
        let mut step = 1.0;
        let mut moved = false;
        for _ in 0..60 {
            let (na, nb) = (a - step * da, b - step * db);
            let nf = loss(na, nb);
            if nf <= f {
                a = na;
                b = nb;
                moved = nf < f;
                f = nf;
                break;
            }
            step *= 0.5;
        }
        if !moved {
            break;
        }
    }
    if !(a.is_finite() && b.is_finite()) {
        return Err(err!(InsufficientData, "Platt scaling did not converge"));
    }
    Ok((a, b))
}

fn column_f(v: &[f64], k: usize, j: usize) -> Vec<f64> {
    v.chunks_exact(k).map(|r| r[j]).collect()
}
fn column_u(v: &[u8], k: usize, j: usize) -> Vec<u8> {
    v.chunks_exact(k).map(|r| r[j]).collect()
}

/// Fit one map per finding (see the module docs).
pub fn fit_calibration(r: &MlCalibrateRequest) -> Result<MlCalibration> {
    let (n, k) = (r.n, r.k);
    let z = to_logits(&r.scores, n, k, r.kind)?;
    let y = onehot(&r.labels, n, k)?;
    let bins = r.options.bins;
    let mut maps = Vec::with_capacity(k);
    let mut findings = Vec::with_capacity(k);
    for j in 0..k {
        let zj = column_f(&z, k, j);
        let yj = column_u(&y, k, j);
        let (map, temperature, at_boundary) = match r.options.method {
            MlCalibrationMethod::Temperature => {
                let t = fit_temperature(&TemperatureRequest {
                    scores: zj.iter().flat_map(|&v| [0.0, v]).collect(),
                    n,
                    k: 2,
                    labels: yj.iter().map(|&v| v as usize).collect(),
                    kind: ScoreKind::Logits,
                    options: r.options.temperature,
                })?;
                (
                    FindingMap {
                        slope: 1.0 / t.temperature,
                        intercept: 0.0,
                    },
                    Some(t.temperature),
                    t.at_boundary,
                )
            }
            MlCalibrationMethod::Platt => {
                let (a, b) = platt(&zj, &yj)?;
                (
                    FindingMap {
                        slope: a,
                        intercept: b,
                    },
                    None,
                    false,
                )
            }
        };
        let before: Vec<f64> = zj.iter().map(|&v| sigmoid(v)).collect();
        let after: Vec<f64> = zj
            .iter()
            .map(|&v| sigmoid(map.slope * v + map.intercept))
            .collect();
        findings.push(FindingCalibration {
            finding: j,
            map,
            temperature,
            at_boundary,
            before: finding_metrics(&before, &yj, bins)?,
            after: finding_metrics(&after, &yj, bins)?,
        });
        maps.push(map);
    }
    Ok(MlCalibration {
        method: r.options.method,
        maps,
        findings,
    })
}

/// Apply per-finding maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlApplyCalibrationRequest {
    /// Row-major `n x k` logits or probabilities.
    pub scores: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Logits (default) or probabilities.
    #[serde(default)]
    pub kind: ScoreKind,
    /// One map per finding (`maps` of [`MlCalibration`]).
    pub maps: Vec<FindingMap>,
}

/// Calibrated probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlProbabilities {
    /// Row-major `n x k`.
    pub probabilities: Vec<f64>,
}

/// `sigmoid(slope_j z + intercept_j)` per finding.
pub fn apply_calibration(r: &MlApplyCalibrationRequest) -> Result<MlProbabilities> {
    let z = to_logits(&r.scores, r.n, r.k, r.kind)?;
    if r.maps.len() != r.k {
        return Err(err!(
            InvalidInput,
            "{} maps for {} findings",
            r.maps.len(),
            r.k
        ));
    }
    if r.maps
        .iter()
        .any(|m| !(m.slope.is_finite() && m.intercept.is_finite()))
    {
        return Err(err!(InvalidOptions, "maps must be finite"));
    }
    let probabilities = z
        .iter()
        .enumerate()
        .map(|(x, &v)| {
            let m = r.maps[x % r.k];
            sigmoid(m.slope * v + m.intercept)
        })
        .collect();
    Ok(MlProbabilities { probabilities })
}

/// Per-finding metrics of probabilities against truths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlCalibrationReportRequest {
    /// Row-major `n x k` probabilities.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Bins (default 15).
    #[serde(default = "default_bins")]
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub bins: usize,
}

/// Per-finding metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlCalibrationReport {
    /// One entry per finding.
    pub findings: Vec<FindingMetrics>,
    /// Mean ECE over findings.
    pub mean_ece: f64,
    /// Images whose every decision is right.
    pub exact_match: f64,
}

/// Per-finding NLL, Brier, ECE, MCE, accuracy.
pub fn calibration_report(r: &MlCalibrationReportRequest) -> Result<MlCalibrationReport> {
    let p = MlProbs::new(&r.probs, r.n, r.k)?;
    let y = onehot(&r.labels, r.n, r.k)?;
    let mut findings = Vec::with_capacity(r.k);
    for j in 0..r.k {
        findings.push(finding_metrics(
            &column_f(p.data(), r.k, j),
            &column_u(&y, r.k, j),
            r.bins,
        )?);
    }
    let exact = (0..r.n)
        .filter(|&i| (0..r.k).all(|j| (p.at(i, j) >= 0.5) == (y[i * r.k + j] == 1)))
        .count();
    Ok(MlCalibrationReport {
        mean_ece: findings.iter().map(|f| f.ece).sum::<f64>() / r.k as f64,
        findings,
        exact_match: exact as f64 / r.n as f64,
    })
}

// ---------------------------------------------------------------------------------------
// Conformal per finding

fn default_true() -> bool {
    true
}

/// Calibrate per-finding conformal sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformalRequest {
    /// Row-major `n x k` calibrated probabilities of labeled images.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Image-level miscoverage in `(0, 1)`.
    pub alpha: f64,
    /// Split `alpha` over the findings (`alpha / k` each, default true); false gives each
    /// finding level `alpha` (per-finding coverage only).
    #[serde(default = "default_true")]
    pub bonferroni: bool,
    /// Thresholds per (finding, present/absent) class (Mondrian), default false.
    #[serde(default)]
    pub class_conditional: bool,
}

/// Per-finding conformal thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformal {
    /// Image-level level asked for.
    pub alpha: f64,
    /// Level used per finding.
    pub finding_alpha: f64,
    /// Per finding: score thresholds (1 marginal, or 2 for absent/present).
    pub thresholds: Vec<Vec<f64>>,
}

/// Calibrate (see the module docs).
pub fn conformal_calibrate_ml(r: &MlConformalRequest) -> Result<MlConformal> {
    if !(r.alpha > 0.0 && r.alpha < 1.0) {
        return Err(err!(InvalidOptions, "alpha must be in (0, 1)"));
    }
    let p = MlProbs::new(&r.probs, r.n, r.k)?;
    let y = onehot(&r.labels, r.n, r.k)?;
    let fa = if r.bonferroni {
        r.alpha / r.k as f64
    } else {
        r.alpha
    };
    let mut thresholds = Vec::with_capacity(r.k);
    for j in 0..r.k {
        let c = conformal_calibrate(&ConformalCalibrateRequest {
            probs: p.binary(j),
            n: r.n,
            k: 2,
            labels: column_u(&y, r.k, j).iter().map(|&v| v as usize).collect(),
            alpha: fa,
            options: ConformalOptions {
                method: ConformalMethod::Lac,
                class_conditional: r.class_conditional,
                ..Default::default()
            },
        })
        .map_err(|e| err!(InsufficientData, "finding {j}: {}", e.message()))?;
        thresholds.push(c.thresholds);
    }
    Ok(MlConformal {
        alpha: r.alpha,
        finding_alpha: fa,
        thresholds,
    })
}

/// Per-finding sets for new images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformalSetsRequest {
    /// From [`conformal_calibrate_ml`].
    pub calibration: MlConformal,
    /// Row-major `n x k` calibrated probabilities.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Truths, when known (adds coverage).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<Vec<usize>>>,
}

/// One image's sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlImageSets {
    /// Findings whose set is `{present}`.
    pub present: Vec<usize>,
    /// Findings whose set holds both (not decided at this level).
    pub undecided: Vec<usize>,
    /// Findings whose set is empty.
    pub empty: Vec<usize>,
}

/// Sets and coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlConformalSets {
    /// One entry per image.
    pub images: Vec<MlImageSets>,
    /// Images with no undecided or empty finding.
    pub fully_decided: usize,
    /// With truths: fraction of images whose every finding set holds its truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_coverage: Option<f64>,
    /// With truths: per-finding coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_coverage: Option<Vec<f64>>,
}

/// Build the sets: class `c` of finding `j` is in the set when `1 - p_c <= q`.
pub fn conformal_sets_ml(r: &MlConformalSetsRequest) -> Result<MlConformalSets> {
    let p = MlProbs::new(&r.probs, r.n, r.k)?;
    let cal = &r.calibration;
    if cal.thresholds.len() != r.k
        || cal
            .thresholds
            .iter()
            .any(|t| !(t.len() == 1 || t.len() == 2) || t.iter().any(|v| !v.is_finite()))
    {
        return Err(err!(
            InvalidInput,
            "calibration has thresholds for {} findings, expected {}",
            cal.thresholds.len(),
            r.k
        ));
    }
    let y = match &r.labels {
        Some(l) => Some(onehot(l, r.n, r.k)?),
        None => None,
    };
    let mut images = Vec::with_capacity(r.n);
    let (mut decided, mut img_cov) = (0usize, 0usize);
    let mut fcov = vec![0usize; r.k];
    for i in 0..r.n {
        let mut s = MlImageSets {
            present: Vec::new(),
            undecided: Vec::new(),
            empty: Vec::new(),
        };
        let mut all_cov = true;
        for j in 0..r.k {
            let t = &cal.thresholds[j];
            let q = |c: usize| if t.len() == 2 { t[c] } else { t[0] };
            let pj = p.at(i, j);
            let has_abs = pj <= q(0); // 1 - (1 - p) <= q
            let has_pres = 1.0 - pj <= q(1);
            match (has_abs, has_pres) {
                (true, true) => s.undecided.push(j),
                (false, true) => s.present.push(j),
                (false, false) => s.empty.push(j),
                (true, false) => {}
            }
            if let Some(y) = &y {
                let covered = if y[i * r.k + j] == 1 {
                    has_pres
                } else {
                    has_abs
                };
                fcov[j] += covered as usize;
                all_cov &= covered;
            }
        }
        decided += (s.undecided.is_empty() && s.empty.is_empty()) as usize;
        img_cov += all_cov as usize;
        images.push(s);
    }
    let nf = r.n as f64;
    Ok(MlConformalSets {
        images,
        fully_decided: decided,
        image_coverage: y.as_ref().map(|_| img_cov as f64 / nf),
        finding_coverage: y
            .as_ref()
            .map(|_| fcov.iter().map(|&c| c as f64 / nf).collect()),
    })
}

// ---------------------------------------------------------------------------------------
// Certified auto-accept for the image

/// How the `k` findings of an image are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Multiplicity {
    /// One threshold on the image's least confident finding, tested on "some finding
    /// wrong" (default).
    #[default]
    Joint,
    /// One threshold per finding at `(alpha / k, delta / k)`, marginal risk.
    Bonferroni,
}

/// Options of [`auto_accept_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlAutoAcceptOptions {
    /// Thresholds tested per grid: the verified confidences (sorted from the highest) at
    /// ranks `ceil(t n / gridSize)`, `t = 1..gridSize` (default 20; 0 = every distinct
    /// confidence). A coarse grid keeps the fixed-sequence test from stopping at its first,
    /// smallest accepted sets.
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub grid_size: usize,
    /// Joint (default) or Bonferroni over findings.
    pub multiplicity: Multiplicity,
    /// Joint only: conditional (default) or marginal risk. Bonferroni is always marginal.
    pub mode: RiskMode,
    /// p-value (default binomial).
    pub p_value: PValue,
    /// Testing over each threshold grid (default fixed sequence).
    pub procedure: Procedure,
}

impl Default for MlAutoAcceptOptions {
    fn default() -> Self {
        MlAutoAcceptOptions {
            grid_size: 20,
            multiplicity: Multiplicity::Joint,
            mode: RiskMode::Conditional,
            p_value: PValue::Binomial,
            procedure: Procedure::FixedSequence,
        }
    }
}

fn quantile_grid(conf: &[f64], g: usize) -> Option<Vec<f64>> {
    if g == 0 {
        return None;
    }
    let mut c = conf.to_vec();
    c.sort_by(|a, b| b.total_cmp(a));
    let n = c.len();
    Some(
        (1..=g)
            .map(|t| c[((t * n).div_ceil(g)).clamp(1, n) - 1])
            .collect(),
    )
}

/// Certify an auto-accept rule on verified images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlAutoAcceptRequest {
    /// Row-major `n x k` calibrated probabilities of the verified images.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Verified findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Risk level in `(0, 1)`.
    pub alpha: f64,
    /// Failure probability in `(0, 1)`.
    pub delta: f64,
    /// Options.
    #[serde(default)]
    pub options: MlAutoAcceptOptions,
}

/// A certified rule: accept an image when `max(p_j, 1 - p_j) >= thresholds[j]` for all `j`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlAutoAcceptRule {
    /// Per-finding confidence thresholds (all equal in joint mode).
    pub thresholds: Vec<f64>,
    /// How the rule was certified.
    pub multiplicity: Multiplicity,
    /// Risk mode of the guarantee.
    pub mode: RiskMode,
    /// Risk level.
    pub alpha: f64,
    /// Failure probability.
    pub delta: f64,
    /// Verified images accepted.
    pub accepted: usize,
    /// `accepted / n`.
    pub accepted_fraction: f64,
    /// Accepted verified images with some finding wrong.
    pub errors: usize,
    /// The guarantee in words.
    pub guarantee: String,
}

fn decisions(p: &MlProbs<'_>, y: &[u8]) -> (Vec<f64>, Vec<bool>) {
    let (n, k) = (p.n(), p.k());
    let mut c = vec![0.0; n * k];
    let mut wrong = vec![false; n * k];
    for i in 0..n {
        for j in 0..k {
            let v = p.at(i, j);
            c[i * k + j] = v.max(1.0 - v);
            wrong[i * k + j] = (v >= 0.5) != (y[i * k + j] == 1);
        }
    }
    (c, wrong)
}

/// LTT on (confidence, wrong) pairs through the single-label engine: row `[c, 1 - c]`
/// (`c >= 0.5`, so the top class is 0 and the confidence `c`) with label 1 when wrong.
fn ltt(
    conf: &[f64],
    wrong: &[bool],
    alpha: f64,
    delta: f64,
    mode: RiskMode,
    o: &MlAutoAcceptOptions,
) -> Result<f64> {
    let r = auto_accept_threshold(&AutoAcceptRequest {
        probs: conf.iter().flat_map(|&c| [c, 1.0 - c]).collect(),
        n: conf.len(),
        k: 2,
        labels: wrong.iter().map(|&w| w as usize).collect(),
        alpha,
        delta,
        options: AutoAcceptOptions {
            mode,
            p_value: o.p_value,
            procedure: o.procedure,
            grid: quantile_grid(conf, o.grid_size),
            include_table: false,
        },
    })?;
    Ok(r.threshold)
}

/// Certify the rule (see the module docs).
pub fn auto_accept_ml(r: &MlAutoAcceptRequest) -> Result<MlAutoAcceptRule> {
    let (n, k, alpha, delta) = (r.n, r.k, r.alpha, r.delta);
    if !(alpha > 0.0 && alpha < 1.0 && delta > 0.0 && delta < 1.0) {
        return Err(err!(InvalidOptions, "alpha and delta must be in (0, 1)"));
    }
    let p = MlProbs::new(&r.probs, n, k)?;
    let y = onehot(&r.labels, n, k)?;
    let (c, wrong) = decisions(&p, &y);
    let o = &r.options;
    if o.grid_size > 100_000 {
        return Err(err!(InvalidOptions, "gridSize must be at most 100000"));
    }
    let (thresholds, mode) = match o.multiplicity {
        Multiplicity::Joint => {
            let ci: Vec<f64> = c
                .chunks_exact(k)
                .map(|r| r.iter().copied().fold(1.0, f64::min))
                .collect();
            let wi: Vec<bool> = wrong
                .chunks_exact(k)
                .map(|r| r.iter().any(|&w| w))
                .collect();
            let t = ltt(&ci, &wi, alpha, delta, o.mode, o)?;
            (vec![t; k], o.mode)
        }
        Multiplicity::Bonferroni => {
            let mut t = Vec::with_capacity(k);
            for j in 0..k {
                let cj = column_f(&c, k, j);
                let wj: Vec<bool> = wrong.chunks_exact(k).map(|r| r[j]).collect();
                t.push(
                    ltt(
                        &cj,
                        &wj,
                        alpha / k as f64,
                        delta / k as f64,
                        RiskMode::Marginal,
                        o,
                    )
                    .map_err(|e| err!(InsufficientData, "finding {j}: {}", e.message()))?,
                );
            }
            (t, RiskMode::Marginal)
        }
    };
    let (mut accepted, mut errors) = (0, 0);
    for i in 0..n {
        if (0..k).all(|j| c[i * k + j] >= thresholds[j]) {
            accepted += 1;
            errors += (0..k).any(|j| wrong[i * k + j]) as usize;
        }
    }
    let guarantee = match mode {
        RiskMode::Conditional => format!(
            "with probability >= {:.4} over the verified images, P(some finding of an auto-accepted image is wrong) <= {alpha}",
            1.0 - delta
        ),
        RiskMode::Marginal => format!(
            "with probability >= {:.4} over the verified images, P(an image is auto-accepted and some finding of it is wrong) <= {alpha}",
            1.0 - delta
        ),
    };
    Ok(MlAutoAcceptRule {
        thresholds,
        multiplicity: o.multiplicity,
        mode,
        alpha,
        delta,
        accepted,
        accepted_fraction: accepted as f64 / n as f64,
        errors,
        guarantee,
    })
}

/// Apply a certified rule to new images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlApplyAutoAcceptRequest {
    /// The rule from [`auto_accept_ml`].
    pub rule: MlAutoAcceptRule,
    /// Row-major `n x k` calibrated probabilities.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Truths, when known (held-out check).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<Vec<usize>>>,
}

/// Which images are auto-accepted (and, with truths, the held-out error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlAutoAcceptDecision {
    /// One flag per image.
    pub accepted: Vec<bool>,
    /// Accepted images.
    pub num_accepted: usize,
    /// With truths: accepted images with some finding wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<usize>,
    /// With truths: `errors / numAccepted` (conditional) .
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_among_accepted: Option<f64>,
    /// With truths: `errors / n` (marginal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_marginal: Option<f64>,
}

/// Apply the rule.
pub fn apply_auto_accept(r: &MlApplyAutoAcceptRequest) -> Result<MlAutoAcceptDecision> {
    let p = MlProbs::new(&r.probs, r.n, r.k)?;
    if r.rule.thresholds.len() != r.k {
        return Err(err!(
            InvalidInput,
            "rule has {} thresholds for {} findings",
            r.rule.thresholds.len(),
            r.k
        ));
    }
    let k = r.k;
    let accepted: Vec<bool> = (0..r.n)
        .map(|i| (0..k).all(|j| p.at(i, j).max(1.0 - p.at(i, j)) >= r.rule.thresholds[j]))
        .collect();
    let num_accepted = accepted.iter().filter(|&&a| a).count();
    let errors = match &r.labels {
        None => None,
        Some(l) => {
            let y = onehot(l, r.n, k)?;
            Some(
                (0..r.n)
                    .filter(|&i| {
                        accepted[i] && (0..k).any(|j| (p.at(i, j) >= 0.5) != (y[i * k + j] == 1))
                    })
                    .count(),
            )
        }
    };
    Ok(MlAutoAcceptDecision {
        num_accepted,
        error_among_accepted: errors.map(|e| {
            if num_accepted > 0 {
                e as f64 / num_accepted as f64
            } else {
                0.0
            }
        }),
        error_marginal: errors.map(|e| e as f64 / r.n as f64),
        errors,
        accepted,
    })
}
