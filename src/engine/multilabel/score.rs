//! Scoring multi-label findings: from a model's outputs to one probability per finding, the
//! uncertainty of each finding, and an image-level summary. A leaf module (it imports only
//! the error type), used by [`crate::engine::score`] for manifests with
//! `output.kind: "multiLabel"`.
//!
//! With `T` probability rows per image (ensemble members x test-time augmentations; `T = 1`
//! for one model without `tta`), for finding `j` with rows `p_tj` and mean `p̄_j`, natural
//! logarithm, `0 ln 0 = 0`, `H(p) = -p ln p - (1 - p) ln(1 - p)` the binary entropy:
//! - `probability = p̄_j`; `present = p̄_j >= 0.5` (the model's decision);
//! - `confidence = max(p̄_j, 1 - p̄_j)`, the probability of that decision;
//! - `entropy = H(p̄_j)`, in `[0, ln 2]`;
//! - `margin = |2 p̄_j - 1| = 2 |p̄_j - 0.5|`: the two-class margin `p1 - p2` of
//!   `[1 - p̄_j, p̄_j]`, the distance from 0.5 scaled to `[0, 1]` (small = uncertain);
//! - with `T > 1`: `expectedEntropy = (1/T) Σ_t H(p_tj)`, `bald = H(p̄_j) - expectedEntropy`
//!   (the mutual information between the finding and the sample, BALD per finding, clamped
//!   at 0 against rounding), `variationRatio = 1 - max(votes present, votes absent) / T`,
//!   each row voting present when `p_tj >= 0.5`.
//!
//! The image-level summary: the present findings; `pAnyWrong = 1 - Π_j confidence_j`, the
//! probability that at least one decision is wrong if the findings are independent given the
//! image; the least confident finding and its confidence `min_j confidence_j` (the quantity
//! the certified auto-accept of [`super::calibration`] thresholds); `entropy = Σ_j H(p̄_j)`
//! (the entropy of the joint decision under independence); with `T > 1` the sums of the
//! per-finding expected entropies and BALDs and the largest BALD.

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

/// Sigmoid in f64, stable for large `|z|`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Binary entropy `-p ln p - (1 - p) ln(1 - p)` in nats (`0 ln 0 = 0`).
pub fn binary_entropy(p: f64) -> f64 {
    let term = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
    (term(p) + term(1.0 - p)).max(0.0)
}

/// One row of model outputs -> per-finding probabilities: the sigmoid of logits when
/// `logits`, else the values checked to be probabilities. Non-finite values are
/// `non_finite_output`, values outside `[0, 1]` `invalid_probabilities`.
pub fn row_probabilities(scores: &[f32], logits: bool) -> Result<Vec<f64>> {
    if let Some(j) = scores.iter().position(|v| !v.is_finite()) {
        return Err(err!(
            NonFiniteOutput,
            "the output of finding {j} is NaN or infinite"
        ));
    }
    if logits {
        return Ok(scores.iter().map(|&z| sigmoid(f64::from(z))).collect());
    }
    if let Some(j) = scores.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(err!(
            InvalidProbabilities,
            "the probability of finding {j} is {}, outside [0, 1] (is output.activation \"sigmoid\"?)",
            scores[j]
        ));
    }
    Ok(scores.iter().map(|&p| f64::from(p)).collect())
}

/// The measures of one finding (definitions in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingMeasures {
    /// `p̄_j`.
    pub probability: f64,
    /// `p̄_j >= 0.5`.
    pub present: bool,
    /// `max(p̄_j, 1 - p̄_j)`.
    pub confidence: f64,
    /// `H(p̄_j)`.
    pub entropy: f64,
    /// `|2 p̄_j - 1|`.
    pub margin: f64,
    /// Mean row entropy, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_entropy: Option<f64>,
    /// BALD of the finding, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bald: Option<f64>,
    /// `1 - max(votes present, votes absent) / T`, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation_ratio: Option<f64>,
}

/// The image-level summary (definitions in the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MultiLabelSummary {
    /// Findings decided present, in finding order.
    pub present: Vec<usize>,
    /// `1 - Π_j confidence_j`.
    pub p_any_wrong: f64,
    /// The finding with the smallest confidence (ties: the lower index).
    pub least_confident: usize,
    /// Its confidence, `min_j confidence_j`.
    pub min_confidence: f64,
    /// `Σ_j H(p̄_j)`.
    pub entropy: f64,
    /// `Σ_j` expected entropy, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_entropy: Option<f64>,
    /// `Σ_j` BALD, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bald: Option<f64>,
    /// `max_j` BALD, when `T > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bald: Option<f64>,
}

fn finding(rows: &[f64], t: usize, k: usize, j: usize) -> FindingMeasures {
    let col = || rows.iter().skip(j).step_by(k).copied();
    let p = col().sum::<f64>() / t as f64;
    let entropy = binary_entropy(p);
    let multi = (t > 1).then(|| {
        let eh = col().map(binary_entropy).sum::<f64>() / t as f64;
        let yes = col().filter(|&v| v >= 0.5).count();
        let vr = 1.0 - yes.max(t - yes) as f64 / t as f64;
        (eh, (entropy - eh).max(0.0), vr)
    });
    FindingMeasures {
        probability: p,
        present: p >= 0.5,
        confidence: p.max(1.0 - p),
        entropy,
        margin: (2.0 * p - 1.0).abs(),
        expected_entropy: multi.map(|m| m.0),
        bald: multi.map(|m| m.1),
        variation_ratio: multi.map(|m| m.2),
    }
}

/// The summary of an image's per-finding measures.
pub fn summarize(f: &[FindingMeasures]) -> MultiLabelSummary {
    let mut least = 0;
    for (j, m) in f.iter().enumerate() {
        if m.confidence < f[least].confidence {
            least = j;
        }
    }
    let sum = |g: fn(&FindingMeasures) -> Option<f64>| f.iter().map(g).sum::<Option<f64>>();
    MultiLabelSummary {
        present: (0..f.len()).filter(|&j| f[j].present).collect(),
        p_any_wrong: 1.0 - f.iter().map(|m| m.confidence).product::<f64>(),
        least_confident: least,
        min_confidence: f.get(least).map_or(1.0, |m| m.confidence),
        entropy: f.iter().map(|m| m.entropy).sum(),
        expected_entropy: sum(|m| m.expected_entropy),
        bald: sum(|m| m.bald),
        max_bald: f.iter().filter_map(|m| m.bald).reduce(f64::max),
    }
}

/// The per-finding measures of one image from its `t` rows of `k` probabilities
/// (row-major, `rows.len() == t * k`, every value in `[0, 1]`).
pub fn measures(rows: &[f64], t: usize, k: usize) -> Result<Vec<FindingMeasures>> {
    if t == 0 || k == 0 || t.checked_mul(k) != Some(rows.len()) {
        return Err(err!(
            InvalidInput,
            "{} probabilities for {t} rows x {k} findings",
            rows.len()
        ));
    }
    Ok((0..k).map(|j| finding(rows, t, k, j)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_and_several() {
        let f = measures(&[0.9, 0.5, 0.0], 1, 3).unwrap();
        assert!((f[0].entropy - binary_entropy(0.9)).abs() < 1e-15);
        assert!((f[0].margin - 0.8).abs() < 1e-12);
        assert!(f[1].present && f[1].margin == 0.0 && !f[2].present);
        assert_eq!(f[2].entropy, 0.0);
        assert!(f[0].bald.is_none());
        let s = summarize(&f);
        assert_eq!(s.present, vec![0, 1]);
        assert_eq!(s.least_confident, 1);
        assert!((s.p_any_wrong - (1.0 - 0.9 * 0.5)).abs() < 1e-12);
        // two rows that disagree on finding 0, agree on finding 1
        let f = measures(&[0.9, 0.2, 0.1, 0.2], 2, 2).unwrap();
        assert!((f[0].probability - 0.5).abs() < 1e-15);
        let want = binary_entropy(0.5) - binary_entropy(0.9);
        assert!((f[0].bald.unwrap() - want).abs() < 1e-12);
        assert_eq!(f[0].variation_ratio, Some(0.5));
        assert_eq!(f[1].bald, Some(0.0));
        assert_eq!(f[1].variation_ratio, Some(0.0));
        let s = summarize(&f);
        assert_eq!(s.max_bald, f[0].bald);
        assert!(measures(&[0.5], 2, 1).is_err());
    }

    #[test]
    fn activations() {
        let p = row_probabilities(&[0.0, 100.0, -100.0], true).unwrap();
        assert_eq!(p[0], 0.5);
        assert!(p[1] == 1.0 && p[2] > 0.0 && p[2] < 1e-40);
        assert_eq!(
            row_probabilities(&[1.5], false).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            row_probabilities(&[f32::NAN], true).unwrap_err().code(),
            "non_finite_output"
        );
    }
}
