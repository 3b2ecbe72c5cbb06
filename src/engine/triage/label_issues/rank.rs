//! Label-quality scores and the ordering of flagged rows by them (cleanlab's `rank` module).

use serde::{Deserialize, Serialize};

use super::joint::confident_thresholds;
use super::numpy::np_sum;
use super::CLIPPING_LOWER_BOUND;
use crate::engine::probs::{check_labels, Probs};
use crate::error::{err, Result};

/// A label-quality score (cleanlab's `rank` methods). Low = likely mislabelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ScoreMethod {
    /// `p[i][s_i]` (default).
    #[default]
    #[serde(alias = "self_confidence")]
    SelfConfidence,
    /// `(p[i][s_i] - max_{j != s_i} p[i][j] + 1) / 2`.
    #[serde(alias = "normalized_margin")]
    NormalizedMargin,
    /// `ln(h/sc + 1) / max(h/sc, 1e-6)` with `h` the entropy over `ln k` and `sc` the
    /// self-confidence clipped below at 1e-6.
    #[serde(alias = "confidence_weighted_entropy")]
    ConfidenceWeightedEntropy,
}

/// Options of [`label_quality_scores`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualityOptions {
    /// Score method (default self-confidence).
    #[serde(default)]
    pub method: ScoreMethod,
    /// Subtract the per-class thresholds from the probabilities (then shift by the largest
    /// threshold and renormalize) before scoring. Not with confidence-weighted entropy.
    #[serde(default)]
    pub adjust_pred_probs: bool,
}

/// cleanlab's `_subtract_confident_thresholds`: `(p - t + max t)` renormalized per row.
pub fn subtract_confident_thresholds(p: &Probs<'_>, thresholds: &[f64]) -> Vec<f64> {
    let k = p.k();
    let tmax = thresholds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = Vec::with_capacity(p.n() * k);
    let mut row = vec![0.0; k];
    for i in 0..p.n() {
        for j in 0..k {
            row[j] = p.at(i, j) - thresholds[j] + tmax;
        }
        let s = np_sum(&row);
        out.extend(row.iter().map(|v| v / s));
    }
    out
}

/// Normalized entropy of one row, `-Σ xlogy(p, p) / ln k` (cleanlab's
/// `get_normalized_entropy`).
pub fn normalized_entropy(row: &[f64]) -> f64 {
    let terms: Vec<f64> = row
        .iter()
        .map(|&v| if v == 0.0 { 0.0 } else { v * v.ln() })
        .collect();
    -np_sum(&terms) / (row.len() as f64).ln()
}

pub(super) fn score_rows(
    data: &[f64],
    n: usize,
    k: usize,
    labels: &[usize],
    method: ScoreMethod,
) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let row = &data[i * k..(i + 1) * k];
            let sc = row[labels[i]];
            match method {
                ScoreMethod::SelfConfidence => sc,
                ScoreMethod::NormalizedMargin => {
                    let mo = row
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != labels[i])
                        .map(|(_, &v)| v)
                        .fold(f64::NEG_INFINITY, f64::max);
                    (sc - mo + 1.0) / 2.0
                }
                ScoreMethod::ConfidenceWeightedEntropy => {
                    let sc = sc.max(CLIPPING_LOWER_BOUND);
                    let s = normalized_entropy(row) / sc;
                    (s + 1.0).ln() / s.max(CLIPPING_LOWER_BOUND)
                }
            }
        })
        .collect()
}

/// cleanlab's `rank.get_label_quality_scores`.
pub fn label_quality_scores(
    p: &Probs<'_>,
    labels: &[usize],
    o: &QualityOptions,
) -> Result<Vec<f64>> {
    check_labels(labels, p.n(), p.k(), "labels")?;
    if o.adjust_pred_probs {
        if o.method == ScoreMethod::ConfidenceWeightedEntropy {
            return Err(err!(
                InvalidOptions,
                "adjustPredProbs is not supported with confidenceWeightedEntropy (as in cleanlab)"
            ));
        }
        let t = confident_thresholds(p, labels)?;
        let adj = subtract_confident_thresholds(p, &t);
        return Ok(score_rows(&adj, p.n(), p.k(), labels, o.method));
    }
    Ok(score_rows(p.data(), p.n(), p.k(), labels, o.method))
}

/// cleanlab's `rank.order_label_issues`: flagged rows ordered by ascending quality score,
/// ties by lower index.
pub fn order_label_issues(
    mask: &[bool],
    p: &Probs<'_>,
    labels: &[usize],
    o: &QualityOptions,
) -> Result<Vec<usize>> {
    if mask.len() != p.n() {
        return Err(err!(
            InvalidInput,
            "mask has {} rows, expected {}",
            mask.len(),
            p.n()
        ));
    }
    let scores = label_quality_scores(p, labels, o)?;
    let mut idx: Vec<usize> = (0..p.n()).filter(|&i| mask[i]).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    Ok(idx)
}
