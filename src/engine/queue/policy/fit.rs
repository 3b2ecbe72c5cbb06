//! Input and option checks, and fitting the policy on the verified set (temperature,
//! auto-accept threshold, conformal thresholds, outlier cut, error model).

use crate::engine::probs::{argmax, check_labels, check_shape};
use crate::engine::triage::calibration::{
    apply_temperature, fit_temperature, ScoreKind, TemperatureRequest,
};
use crate::engine::triage::conformal::{conformal_calibrate, ConformalCalibrateRequest};
use crate::engine::triage::risk::{auto_accept_threshold, AutoAcceptRequest};
use crate::error::{err, Result};

use super::*;

pub(super) fn opt_label(v: i64, k: usize, what: &str, i: usize) -> Result<Option<usize>> {
    if v < 0 {
        Ok(None)
    } else if (v as u64) < k as u64 {
        Ok(Some(v as usize))
    } else {
        Err(err!(
            InvalidInput,
            "{what}: label {v} of item {i} is not < k = {k}"
        ))
    }
}

pub(super) fn given(
    v: &Option<Vec<i64>>,
    n: usize,
    k: usize,
    what: &str,
) -> Result<Vec<Option<usize>>> {
    match v {
        None => Ok(vec![None; n]),
        Some(g) => {
            if g.len() != n {
                return Err(err!(
                    InvalidInput,
                    "{what}: expected {n} labels, got {}",
                    g.len()
                ));
            }
            g.iter()
                .enumerate()
                .map(|(i, &l)| opt_label(l, k, what, i))
                .collect()
        }
    }
}

pub(in crate::engine::queue) fn check_len<T>(
    v: &Option<Vec<T>>,
    n: usize,
    what: &str,
) -> Result<()> {
    match v {
        Some(v) if v.len() != n => Err(err!(
            InvalidInput,
            "{what}: expected {n} values, got {}",
            v.len()
        )),
        _ => Ok(()),
    }
}

/// `Ok` when `ok`, else an `invalid_options` error: "`what` must be `expect`, got `got`".
pub(in crate::engine::queue) fn require(
    ok: bool,
    what: &str,
    expect: &str,
    got: impl std::fmt::Display,
) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(err!(InvalidOptions, "{what} must be {expect}, got {got}"))
    }
}

/// `x` in the open interval (0, 1).
pub(in crate::engine::queue) fn in_unit(x: f64, what: &str) -> Result<()> {
    require(x > 0.0 && x < 1.0, what, "in (0, 1)", x)
}

/// Validate the policy numbers.
pub fn check_policy(p: &PolicyConfig) -> Result<()> {
    in_unit(p.auto_accept.alpha, "autoAccept.alpha")?;
    in_unit(p.auto_accept.delta, "autoAccept.delta")?;
    in_unit(p.conformal.alpha, "conformal.alpha")?;
    let c = &p.conformal;
    require(
        c.expert_set_size >= 2,
        "conformal.expertSetSize",
        ">= 2",
        c.expert_set_size,
    )?;
    let t = p.temperature.value;
    require(
        t.is_finite() && t > 0.0,
        "temperature.value",
        "finite and > 0",
        t,
    )?;
    check_expert_outliers(p.expert.max_confidence, p.expert.min_agreement, &p.outliers)
}

/// The expert thresholds and the outlier cut, the same checks for the single- and the
/// multi-label policy.
pub(in crate::engine::queue) fn check_expert_outliers(
    max_confidence: f64,
    min_agreement: f64,
    outliers: &OutlierConfig,
) -> Result<()> {
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    require(
        unit(max_confidence),
        "expert.maxConfidence",
        "in [0, 1]",
        max_confidence,
    )?;
    require(
        unit(min_agreement),
        "expert.minAgreement",
        "in [0, 1]",
        min_agreement,
    )?;
    let q = outliers.quantile;
    require((0.0..1.0).contains(&q), "outliers.quantile", "in [0, 1)", q)?;
    if let Some(t) = outliers.threshold {
        require(t.is_finite(), "outliers.threshold", "finite", t)?;
    }
    Ok(())
}

/// Linear-interpolation quantile (NumPy's default) of finite values.
pub(in crate::engine::queue) fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Everything the policy fits on the verified set, reusable across pools.
#[derive(Debug, Clone)]
pub struct FittedPolicy {
    /// Public summary.
    pub fitted: Fitted,
    pub(super) conformal: Option<crate::engine::triage::conformal::ConformalCalibration>,
    pub(super) threshold: Option<f64>,
    pub(super) verified_labels: Vec<usize>,
    /// (priority, label wrong) of the verified items that came with a label.
    pub(super) verified_errors: Vec<(f64, bool)>,
}

/// `P(label wrong | priority)`: isotonic (non-decreasing) regression by pool-adjacent-violators,
/// a step function over the fitted blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorModel {
    /// Block lower edges (priorities), ascending.
    pub(super) starts: Vec<f64>,
    /// Block means.
    pub(super) means: Vec<f64>,
}

impl ErrorModel {
    /// Fit on (priority, wrong) pairs; `None` when empty.
    pub fn fit(pairs: &[(f64, bool)]) -> Option<ErrorModel> {
        let mut v: Vec<(f64, f64)> = pairs
            .iter()
            .filter(|p| p.0.is_finite())
            .map(|&(x, w)| (x, if w { 1.0 } else { 0.0 }))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // equal priorities form one unit (as scikit-learn's IsotonicRegression does)
        let mut units: Vec<(f64, f64, f64)> = Vec::new();
        for (x, y) in v {
            match units.last_mut() {
                Some(u) if u.0 == x => {
                    u.1 += y;
                    u.2 += 1.0;
                }
                _ => units.push((x, y, 1.0)),
            }
        }
        // pool adjacent violators: blocks of (start x, sum, count)
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for u in units {
            blocks.push(u);
            while blocks.len() > 1 {
                let l = blocks.len();
                let (a, b) = (blocks[l - 2], blocks[l - 1]);
                if a.1 / a.2 >= b.1 / b.2 {
                    blocks[l - 2] = (a.0, a.1 + b.1, a.2 + b.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        Some(ErrorModel {
            starts: blocks.iter().map(|b| b.0).collect(),
            means: blocks.iter().map(|b| b.1 / b.2).collect(),
        })
    }

    /// Estimated probability that a label with this priority is wrong.
    pub fn predict(&self, priority: f64) -> f64 {
        let i = self.starts.partition_point(|&s| s <= priority);
        self.means[i.saturating_sub(1)]
    }
}

impl FittedPolicy {
    /// The error model fitted on the verified items that came with a label (`None` without).
    pub fn error_model(&self) -> Option<ErrorModel> {
        ErrorModel::fit(&self.verified_errors)
    }
}

/// Fit temperature, auto-accept threshold, conformal thresholds and outlier threshold.
pub fn fit_policy(k: usize, v: &VerifiedSet, policy: &PolicyConfig) -> Result<FittedPolicy> {
    check_policy(policy)?;
    check_shape(&v.pred_probs, v.n, k, "verified.predProbs")?;
    check_labels(&v.labels, v.n, k, "verified.labels")?;
    let vgiven = given(&v.given_labels, v.n, k, "verified.givenLabels")?;
    check_len(&v.outlier_scores, v.n, "verified.outlierScores")?;
    let t = if policy.temperature.fit {
        fit_temperature(&TemperatureRequest {
            scores: v.pred_probs.clone(),
            n: v.n,
            k,
            labels: v.labels.clone(),
            kind: ScoreKind::Probabilities,
            options: policy.temperature.range,
        })?
        .temperature
    } else {
        policy.temperature.value
    };
    let cal = apply_temperature(&v.pred_probs, v.n, k, ScoreKind::Probabilities, t)?;

    // auto-accept: certify on the verified items the rule could accept
    let (mut auto_accept, mut refused, mut guarantee, mut certified_on) = (None, None, None, 0);
    let aa = &policy.auto_accept;
    if aa.enabled {
        let use_agreement = aa.require_label_agreement && vgiven.iter().any(|g| g.is_some());
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for (i, row) in cal.chunks_exact(k).enumerate() {
            if use_agreement && vgiven[i] != Some(argmax(row)) {
                continue;
            }
            probs.extend_from_slice(row);
            labels.push(v.labels[i]);
        }
        certified_on = labels.len();
        let r = if labels.is_empty() {
            Err(err!(
                InsufficientData,
                "no verified item's prediction agrees with the label it came with"
            ))
        } else {
            auto_accept_threshold(&AutoAcceptRequest {
                probs,
                n: labels.len(),
                k,
                labels,
                alpha: aa.alpha,
                delta: aa.delta,
                options: aa.options.clone(),
            })
        };
        match r {
            Ok(r) => {
                guarantee = Some(format!(
                    "With probability at least {:.3} over the verified set, at most {:.2}% of auto-accepted items have a wrong label (Learn-then-Test on {} verified items{}; threshold {:.6} on calibrated confidence; {} of those verified items would be accepted, {} of them wrong).",
                    1.0 - aa.delta,
                    aa.alpha * 100.0,
                    certified_on,
                    if use_agreement { " whose prediction agreed with their given label" } else { "" },
                    r.threshold,
                    r.accepted,
                    r.errors
                ));
                auto_accept = Some(r);
            }
            Err(e) if e.kind() == crate::error::ErrorKind::InsufficientData => {
                refused = Some(e.message().to_string());
            }
            Err(e) => return Err(e),
        }
    } else {
        refused = Some("auto-accept is disabled by the policy".into());
    }

    let conformal = if policy.conformal.enabled {
        Some(conformal_calibrate(&ConformalCalibrateRequest {
            probs: cal.clone(),
            n: v.n,
            k,
            labels: v.labels.clone(),
            alpha: policy.conformal.alpha,
            options: policy.conformal.options,
        })?)
    } else {
        None
    };
    let threshold = match (policy.outliers.threshold, &v.outlier_scores) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => quantile(s.clone(), policy.outliers.quantile),
        (None, None) => None,
    };
    Ok(FittedPolicy {
        fitted: Fitted {
            temperature: t,
            auto_accept,
            auto_accept_refused: refused,
            guarantee,
            conformal_thresholds: conformal.as_ref().map(|c| c.thresholds.clone()),
            outlier_threshold: threshold,
            certified_on,
        },
        conformal,
        threshold,
        verified_labels: v.labels.clone(),
        verified_errors: cal
            .chunks_exact(k)
            .zip(&vgiven)
            .zip(&v.labels)
            .filter_map(|((row, g), &y)| g.map(|g| (1.0 - row[g], g != y)))
            .collect(),
    })
}
