//! Certified auto-accept for the image: one joint threshold on the least confident finding,
//! or one Bonferroni-corrected threshold per finding (Learn-then-Test).

use serde::{Deserialize, Serialize};

use super::column_of;
use crate::engine::multilabel::{onehot, probs_and_onehot, MlProbs};
use crate::engine::triage::risk::{
    auto_accept_threshold, AutoAcceptOptions, AutoAcceptRequest, PValue, Procedure, RiskMode,
};
use crate::error::{err, Result};

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
    let (p, y) = probs_and_onehot(&r.probs, &r.labels, n, k)?;
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
                let cj = column_of(&c, k, j);
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
