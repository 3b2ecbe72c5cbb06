//! Out-of-distribution scores from predicted probabilities (cleanlab's `pred_probs` mode).

use serde::{Deserialize, Serialize};

use crate::engine::probs::check_labels;
use crate::engine::triage::label_issues::{
    confident_thresholds, normalized_entropy, np_sum, subtract_confident_thresholds, Probs,
};
use crate::error::{err, Result};

/// The score computed from probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum OodMethod {
    /// `1 - normalized entropy` (default).
    #[default]
    Entropy,
    /// Largest (adjusted) probability.
    #[serde(alias = "least_confidence")]
    LeastConfidence,
    /// Generalized entropy (GEN).
    Gen,
}

fn default_true() -> bool {
    true
}
fn default_m() -> usize {
    100
}
fn default_gamma() -> f64 {
    0.1
}

/// Options of [`ood_pred_probs`] (cleanlab's `OutOfDistribution` params).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OodProbsOptions {
    /// Score (default entropy).
    #[serde(default)]
    pub method: OodMethod,
    /// Adjust by the per-class confident thresholds (default true; needs labels or
    /// `confidentThresholds`).
    #[serde(default = "default_true")]
    pub adjust_pred_probs: bool,
    /// Precomputed thresholds (one per class).
    #[serde(default)]
    pub confident_thresholds: Option<Vec<f64>>,
    /// GEN: number of top probabilities (default 100, capped at k).
    #[serde(default = "default_m")]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub m: usize,
    /// GEN: exponent (default 0.1).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

impl Default for OodProbsOptions {
    fn default() -> Self {
        OodProbsOptions {
            method: OodMethod::Entropy,
            adjust_pred_probs: true,
            confident_thresholds: None,
            m: 100,
            gamma: 0.1,
        }
    }
}

/// Request of [`ood_pred_probs_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OodProbsRequest {
    /// Row-major probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub k: usize,
    /// Given labels (needed to fit the thresholds when adjusting).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: OodProbsOptions,
}

/// Outlier scores: one per row, in `[0, 1]`, low = outlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OodProbsResponse {
    /// Scores (low = more likely out of distribution).
    pub scores: Vec<f64>,
    /// Thresholds used for the adjustment (reuse them to score new data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confident_thresholds: Option<Vec<f64>>,
}

/// Outlier scores from probabilities (cleanlab `OutOfDistribution().fit_score(pred_probs=…)`).
pub fn ood_pred_probs(
    p: &Probs<'_>,
    labels: Option<&[usize]>,
    o: &OodProbsOptions,
) -> Result<OodProbsResponse> {
    let (n, k) = (p.n(), p.k());
    let mut thresholds = None;
    let adjusted;
    let data: &[f64] = if o.adjust_pred_probs {
        let t = match (&o.confident_thresholds, labels) {
            (Some(t), _) => {
                if t.len() != k || t.iter().any(|v| !v.is_finite()) {
                    return Err(err!(
                        InvalidOptions,
                        "confidentThresholds must be {k} finite numbers"
                    ));
                }
                t.clone()
            }
            (None, Some(l)) => {
                check_labels(l, n, k, "labels")?;
                confident_thresholds(p, l)?
            }
            (None, None) => {
                return Err(err!(
                    InvalidInput,
                    "adjustPredProbs needs labels or confidentThresholds"
                ))
            }
        };
        adjusted = subtract_confident_thresholds(p, &t);
        thresholds = Some(t);
        &adjusted
    } else {
        p.data()
    };
    if o.method == OodMethod::Gen && !(o.gamma.is_finite() && o.gamma > 0.0) {
        return Err(err!(InvalidOptions, "gamma must be positive"));
    }
    let m = o.m.clamp(1, k);
    let mut buf = vec![0.0; k];
    let scores = data
        .chunks(k)
        .map(|row| match o.method {
            OodMethod::Entropy => 1.0 - normalized_entropy(row),
            OodMethod::LeastConfidence => row.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            OodMethod::Gen => {
                for (b, &v) in buf.iter_mut().zip(row) {
                    *b = v.exp();
                }
                let s = np_sum(&buf);
                buf.iter_mut().for_each(|b| *b /= s);
                buf.sort_by(f64::total_cmp);
                let terms: Vec<f64> = buf[k - m..]
                    .iter()
                    .map(|&r| r.powf(o.gamma) * (1.0 - r).powf(o.gamma))
                    .collect();
                1.0 - np_sum(&terms) / m as f64
            }
        })
        .collect();
    Ok(OodProbsResponse {
        scores,
        confident_thresholds: thresholds,
    })
}

/// Run [`ood_pred_probs`] on a request.
pub fn ood_pred_probs_request(r: &OodProbsRequest) -> Result<OodProbsResponse> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    ood_pred_probs(&p, r.labels.as_deref(), &r.options)
}
