//! Probabilities and per-row uncertainty. Natural logarithm throughout.
//!
//! For one probability row `p` (sorted descending `p1 >= p2 >= …`):
//! - least confidence `1 - p1` (modAL's `classifier_uncertainty`);
//! - margin `p1 - p2` (modAL's `classifier_margin`; *small* means uncertain);
//! - ratio `p2 / p1` (in `[0, 1]`, large means uncertain);
//! - entropy `-Σ p ln p` (in `[0, ln K]`; `0 ln 0 = 0`).
//!
//! When an image has `T > 1` probability rows (ensemble members x test-time augmentations),
//! these four are computed on the mean row `p̄`, and three more come from the rows
//! themselves, with the definitions of [`crate::engine::triage::multi`]: expected entropy
//! `(1/T) Σ_t H(p_t)`, BALD `H(p̄) - (1/T) Σ_t H(p_t)` (mutual information) and variation
//! ratio `1 - votes(modal class) / T`. A single row is the case `T = 1` of those formulas:
//! when ranking by them, an item scored from one row counts as expected entropy = entropy,
//! BALD = 0 and variation ratio = 0.

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

/// Numerically stable softmax of one row of logits. Any non-finite logit is an error.
pub fn softmax(logits: &[f32]) -> Result<Vec<f32>> {
    if logits.iter().any(|v| !v.is_finite()) {
        return Err(err!(NonFiniteOutput, "logits contain NaN or infinity"));
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let sum: f64 = exps.iter().sum();
    Ok(exps.iter().map(|e| (e / sum) as f32).collect())
}

/// Uncertainty measures of one probability row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RowUncertainty {
    /// `1 - max p`.
    pub least_confidence: f64,
    /// `p1 - p2` (small = uncertain).
    pub margin: f64,
    /// `p2 / p1` (large = uncertain).
    pub ratio: f64,
    /// `-Σ p ln p`.
    pub entropy: f64,
    /// Mean entropy of the `T` rows, when there are `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_entropy: Option<f64>,
    /// Mutual information `H(p̄) - mean H(p_t)` (BALD), when there are `T > 1` rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bald: Option<f64>,
    /// `1 - votes(modal class) / T`, when there are `T > 1` rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation_ratio: Option<f64>,
}

impl RowUncertainty {
    /// Compute every measure for `p` (assumed a valid distribution).
    pub fn of(p: &[f32]) -> RowUncertainty {
        let (mut p1, mut p2) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut entropy = 0.0;
        for &v in p {
            let v = v as f64;
            if v > p1 {
                p2 = p1;
                p1 = v;
            } else if v > p2 {
                p2 = v;
            }
            if v > 0.0 {
                entropy -= v * v.ln();
            }
        }
        let p2 = p2.max(0.0);
        RowUncertainty {
            least_confidence: 1.0 - p1,
            margin: p1 - p2,
            ratio: if p1 > 0.0 { p2 / p1 } else { 1.0 },
            entropy: entropy.max(0.0),
            expected_entropy: None,
            bald: None,
            variation_ratio: None,
        }
    }

    /// The measures of an item with `T` rows, from [`crate::engine::triage::multi::item_measures`].
    pub fn of_multi(m: &crate::engine::triage::multi::MultiItem) -> RowUncertainty {
        RowUncertainty {
            least_confidence: m.least_confidence,
            margin: m.margin,
            ratio: m.ratio,
            entropy: m.entropy,
            expected_entropy: Some(m.expected_entropy),
            bald: Some(m.bald),
            variation_ratio: Some(m.variation_ratio),
        }
    }

    /// The measure named by `m`, oriented so that larger means more uncertain
    /// (margin is returned as `1 - margin`).
    pub fn uncertainty(&self, m: Measure) -> f64 {
        match m {
            Measure::LeastConfidence => self.least_confidence,
            Measure::Margin => 1.0 - self.margin,
            Measure::Ratio => self.ratio,
            Measure::Entropy => self.entropy,
            // one row (T = 1): expected entropy = entropy, BALD = 0, variation ratio = 0
            Measure::ExpectedEntropy => self.expected_entropy.unwrap_or(self.entropy),
            Measure::Bald => self.bald.unwrap_or(0.0),
            Measure::VariationRatio => self.variation_ratio.unwrap_or(0.0),
        }
    }
}

/// Which measure orders a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Measure {
    /// `1 - p1`.
    LeastConfidence,
    /// smallest `p1 - p2` first.
    Margin,
    /// largest `p2 / p1` first.
    Ratio,
    /// largest entropy first (default).
    #[default]
    Entropy,
    /// largest expected entropy first (one-row items: their entropy).
    ExpectedEntropy,
    /// largest BALD (mutual information) first (one-row items: 0).
    Bald,
    /// largest variation ratio first (one-row items: 0).
    VariationRatio,
}

/// Order item indices most uncertain first. Ties keep the lower index first (stable), and
/// NaN scores are never ranked: they are returned separately.
pub fn rank_desc(scores: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let (mut ok, nan): (Vec<usize>, Vec<usize>) =
        (0..scores.len()).partition(|&i| scores[i].is_finite());
    ok.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    (ok, nan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 999.0, -1000.0]).unwrap();
        let s: f32 = p.iter().sum();
        assert!((s - 1.0).abs() < 1e-6);
        assert!(p[0] > p[1] && p[2] == 0.0);
        assert_eq!(
            softmax(&[f32::NAN, 1.0]).unwrap_err().code(),
            "non_finite_output"
        );
    }

    #[test]
    fn measures() {
        let u = RowUncertainty::of(&[0.5, 0.3, 0.2]);
        assert!((u.least_confidence - 0.5).abs() < 1e-7);
        assert!((u.margin - 0.2).abs() < 1e-7);
        assert!((u.ratio - 0.6).abs() < 1e-6);
        let h = -(0.5f64 * 0.5f64.ln() + 0.3 * 0.3f64.ln() + 0.2 * 0.2f64.ln());
        assert!((u.entropy - h).abs() < 1e-6);
        // one row: the multi-row measures take their T = 1 values
        assert_eq!(u.bald, None);
        assert_eq!(u.uncertainty(Measure::Bald), 0.0);
        assert_eq!(u.uncertainty(Measure::VariationRatio), 0.0);
        assert_eq!(u.uncertainty(Measure::ExpectedEntropy), u.entropy);
        let j = serde_json::to_value(u).unwrap();
        assert!(j.get("bald").is_none());
        let one_hot = RowUncertainty::of(&[0.0, 1.0]);
        assert_eq!(one_hot.entropy, 0.0);
        assert_eq!(one_hot.margin, 1.0);
    }

    #[test]
    fn ranking_is_stable_and_skips_nan() {
        let (order, nan) = rank_desc(&[0.1, f64::NAN, 0.5, 0.1, 0.5]);
        assert_eq!(order, vec![2, 4, 0, 3]);
        assert_eq!(nan, vec![1]);
    }
}
