//! Checks of the multi-label inputs and fitting the policy on the verified images
//! (calibration, per-finding auto-accept rules, conformal thresholds, outlier cut).

use crate::engine::multilabel::calibration::{
    apply_calibration, auto_accept_ml, conformal_calibrate_ml, fit_calibration, FindingMap,
    MlApplyCalibrationRequest, MlAutoAcceptRequest, MlAutoAcceptRule, MlCalibrateRequest,
    MlConformalRequest,
};
use crate::engine::multilabel::{onehot, MlProbs};
use crate::engine::queue::policy::{check_expert_outliers, check_len, in_unit, quantile};
use crate::engine::triage::calibration::ScoreKind;
use crate::error::{err, ErrorKind, Result};

use super::*;

/// Validate the policy numbers.
pub fn check_ml_policy(p: &MlPolicyConfig) -> Result<()> {
    in_unit(p.auto_accept.alpha, "autoAccept.alpha")?;
    in_unit(p.auto_accept.delta, "autoAccept.delta")?;
    in_unit(p.conformal.alpha, "conformal.alpha")?;
    check_expert_outliers(p.expert.max_confidence, p.expert.min_agreement, &p.outliers)
}

/// Finding names: the given ones (exactly `k`), else the index as text.
pub fn finding_names(names: &Option<Vec<String>>, k: usize) -> Result<Vec<String>> {
    match names {
        Some(v) if v.len() != k => Err(err!(
            InvalidInput,
            "findings: {} names for k = {k} findings",
            v.len()
        )),
        Some(v) => Ok(v.clone()),
        None => Ok((0..k).map(|j| j.to_string()).collect()),
    }
}

/// Given findings per image, checked (`None`: the set came without any).
pub fn given_ml(
    v: &Option<Vec<Option<Vec<usize>>>>,
    n: usize,
    k: usize,
    what: &str,
) -> Result<Vec<Option<Vec<usize>>>> {
    let Some(g) = v else {
        return Ok(vec![None; n]);
    };
    if g.len() != n {
        return Err(err!(
            InvalidInput,
            "{what}: expected {n} entries, got {}",
            g.len()
        ));
    }
    let present: Vec<Vec<usize>> = g.iter().map(|x| x.clone().unwrap_or_default()).collect();
    onehot(&present, n, k).map_err(|e| e.context(what))?;
    Ok(g.iter()
        .map(|x| x.as_ref().map(|l| normalized(l)))
        .collect())
}

/// Sorted, without repeats.
pub(super) fn normalized(l: &[usize]) -> Vec<usize> {
    let mut v = l.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The findings decided present in a row of probabilities.
pub fn decided(row: &[f64]) -> Vec<usize> {
    (0..row.len()).filter(|&j| row[j] >= 0.5).collect()
}

pub(super) fn row_ok(row: &[f64]) -> bool {
    row.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v))
}

pub(super) fn calibrate(
    probs: &[f64],
    n: usize,
    k: usize,
    maps: &Option<Vec<FindingMap>>,
) -> Result<Vec<f64>> {
    match maps {
        Some(m) if n > 0 => Ok(apply_calibration(&MlApplyCalibrationRequest {
            scores: probs.to_vec(),
            n,
            k,
            kind: ScoreKind::Probabilities,
            maps: m.clone(),
        })?
        .probabilities),
        _ => Ok(probs.to_vec()),
    }
}

/// Everything the policy fits on the verified set, reusable across pools.
#[derive(Debug, Clone)]
pub struct MlFittedPolicy {
    /// Public summary.
    pub fitted: MlFitted,
}

pub(super) fn fit_rule(
    k: usize,
    cal: &[f64],
    v: &MlVerifiedSet,
    vgiven: &[Option<Vec<usize>>],
    aa: &MlAutoAcceptConfig,
) -> Result<(Option<MlAutoAcceptRule>, Option<String>, usize)> {
    if !aa.enabled {
        return Ok((
            None,
            Some("auto-accept is disabled by the policy".into()),
            0,
        ));
    }
    let agree = aa.require_label_agreement && vgiven.iter().any(Option::is_some);
    let (mut probs, mut labels) = (Vec::new(), Vec::new());
    for (i, row) in cal.chunks_exact(k).enumerate() {
        if agree && vgiven[i].as_deref() != Some(&decided(row)[..]) {
            continue;
        }
        probs.extend_from_slice(row);
        labels.push(v.labels[i].clone());
    }
    let on = labels.len();
    if on == 0 {
        let why = "no verified image's decisions agree with the findings it came with";
        return Ok((None, Some(why.into()), 0));
    }
    let r = auto_accept_ml(&MlAutoAcceptRequest {
        probs,
        n: on,
        k,
        labels,
        alpha: aa.alpha,
        delta: aa.delta,
        options: aa.options.clone(),
    });
    match r {
        Ok(r) => Ok((Some(r), None, on)),
        Err(e) if e.kind() == ErrorKind::InsufficientData => {
            Ok((None, Some(e.message().to_string()), on))
        }
        Err(e) => Err(e),
    }
}

pub(super) fn guarantee(r: &MlAutoAcceptRule, on: usize, agree: bool) -> String {
    let mut c = r.guarantee.chars();
    let first: String = c
        .next()
        .map(|x| x.to_uppercase().collect())
        .unwrap_or_default();
    format!(
        "{first}{} (Learn-then-Test on {on} verified images{}; {} of them would be accepted, {} with some finding wrong).",
        c.as_str(),
        if agree { " whose decisions agreed with their given findings" } else { "" },
        r.accepted,
        r.errors
    )
}

/// Fit calibration, the auto-accept rule, conformal thresholds and the outlier threshold.
pub fn fit_ml_policy(
    k: usize,
    v: &MlVerifiedSet,
    policy: &MlPolicyConfig,
) -> Result<MlFittedPolicy> {
    check_ml_policy(policy)?;
    MlProbs::new(&v.pred_probs, v.n, k).map_err(|e| e.context("verified.predProbs"))?;
    onehot(&v.labels, v.n, k).map_err(|e| e.context("verified.labels"))?;
    let vgiven = given_ml(&v.given_labels, v.n, k, "verified.givenLabels")?;
    check_len(&v.outlier_scores, v.n, "verified.outlierScores")?;
    let maps = match policy.calibration.enabled {
        true => Some(
            fit_calibration(&MlCalibrateRequest {
                scores: v.pred_probs.clone(),
                n: v.n,
                k,
                kind: ScoreKind::Probabilities,
                labels: v.labels.clone(),
                options: policy.calibration.options,
            })?
            .maps,
        ),
        false => None,
    };
    let cal = calibrate(&v.pred_probs, v.n, k, &maps)?;
    let (rule, refused, on) = fit_rule(k, &cal, v, &vgiven, &policy.auto_accept)?;
    let agree = policy.auto_accept.require_label_agreement && vgiven.iter().any(Option::is_some);
    let conformal = match policy.conformal.enabled {
        true => Some(conformal_calibrate_ml(&MlConformalRequest {
            probs: cal,
            n: v.n,
            k,
            labels: v.labels.clone(),
            alpha: policy.conformal.alpha,
            bonferroni: policy.conformal.bonferroni,
            class_conditional: false,
        })?),
        false => None,
    };
    let outlier_threshold = match (policy.outliers.threshold, &v.outlier_scores) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => quantile(s.clone(), policy.outliers.quantile),
        (None, None) => None,
    };
    Ok(MlFittedPolicy {
        fitted: MlFitted {
            maps,
            guarantee: rule.as_ref().map(|r| guarantee(r, on, agree)),
            auto_accept: rule,
            auto_accept_refused: refused,
            conformal,
            outlier_threshold,
            certified_on: on,
        },
    })
}
