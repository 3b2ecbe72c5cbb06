//! Calibration maps per finding (temperature, Platt), their metrics (NLL, Brier, ECE, MCE)
//! and the requests that fit, apply and report them.

use serde::{Deserialize, Serialize};

use super::{column_of, to_logits};
use crate::engine::multilabel::score::sigmoid;
use crate::engine::multilabel::{onehot, probs_and_onehot};
use crate::engine::triage::calibration::{
    fit_temperature, ScoreKind, TemperatureOptions, TemperatureRequest,
};
use crate::error::{err, Result};

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

/// Fit one map per finding (see the module docs).
pub fn fit_calibration(r: &MlCalibrateRequest) -> Result<MlCalibration> {
    let (n, k) = (r.n, r.k);
    let z = to_logits(&r.scores, n, k, r.kind)?;
    let y = onehot(&r.labels, n, k)?;
    let bins = r.options.bins;
    let mut maps = Vec::with_capacity(k);
    let mut findings = Vec::with_capacity(k);
    for j in 0..k {
        let zj = column_of(&z, k, j);
        let yj = column_of(&y, k, j);
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
    let (p, y) = probs_and_onehot(&r.probs, &r.labels, r.n, r.k)?;
    let mut findings = Vec::with_capacity(r.k);
    for j in 0..r.k {
        findings.push(finding_metrics(
            &column_of(p.data(), r.k, j),
            &column_of(&y, r.k, j),
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
