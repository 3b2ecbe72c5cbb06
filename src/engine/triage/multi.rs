//! Uncertainty over `T` stochastic probability rows per item (ensemble members, MC dropout,
//! test-time augmentations). Natural logarithm throughout; `0 ln 0 = 0`.
//!
//! Input: row-major `n x T x K` probabilities (item-major, then row, then class). With
//! `p̄ = (1/T) Σ_t p_t` the mean row and `H(p) = -Σ_k p_k ln p_k`:
//! - `leastConfidence = 1 - max p̄`, `margin = p̄(1) - p̄(2)`, `ratio = p̄(2) / p̄(1)`
//!   (the single-row measures of [`crate::engine::uncertainty`] on `p̄`, computed in f64);
//! - `entropy = H(p̄)` (predictive entropy), in `[0, ln K]`;
//! - `expectedEntropy = (1/T) Σ_t H(p_t)`;
//! - `bald = H(p̄) - (1/T) Σ_t H(p_t)` (mutual information), clamped at 0 against rounding
//!   (it is `>= 0` by concavity of `H`), in `[0, ln K]`;
//! - `variationRatio = 1 - (rows voting for the modal class) / T`, each row voting for its
//!   argmax (ties: lowest class index), the modal class being the most voted (ties: lowest
//!   class index).
//!
//! Rows are validated (finite, in `[0, 1]`, summing to 1 within
//! [`crate::engine::probs::SUM_TOLERANCE`]) but not renormalized (scipy's `entropy`
//! renormalizes; the difference is of the order of the row-sum error).

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_prob_matrix};
use crate::error::{err, Result};

/// Request for [`multi_uncertainty`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultiUncertaintyRequest {
    /// Row-major `n x t x k` probabilities.
    pub probs: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Stochastic rows per item.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub t: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Also return the mean probabilities (`n x k`, default false).
    #[serde(default)]
    pub include_mean_probs: bool,
}

/// Measures of one item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MultiItem {
    /// Argmax of the mean row (ties: lowest index).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: usize,
    /// Its mean probability.
    pub confidence: f64,
    /// `1 - max p̄`.
    pub least_confidence: f64,
    /// `p̄(1) - p̄(2)` (small = uncertain).
    pub margin: f64,
    /// `p̄(2) / p̄(1)` (large = uncertain).
    pub ratio: f64,
    /// Predictive entropy `H(p̄)`.
    pub entropy: f64,
    /// Mean of the per-row entropies.
    pub expected_entropy: f64,
    /// Mutual information `H(p̄) - mean H(p_t)` (BALD), `>= 0`.
    pub bald: f64,
    /// Class most rows vote for (ties: lowest index).
    pub modal_class: usize,
    /// `1 - votes(modal) / T`.
    pub variation_ratio: f64,
}

/// Response of [`multi_uncertainty`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MultiUncertaintyResponse {
    /// One entry per item, in input order.
    pub items: Vec<MultiItem>,
    /// Mean probabilities, row-major `n x k`, when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_probs: Option<Vec<f64>>,
}

/// Entropy `-Σ p ln p` (natural log, `0 ln 0 = 0`).
pub fn entropy(p: &[f64]) -> f64 {
    let h: f64 = p.iter().filter(|&&v| v > 0.0).map(|&v| -v * v.ln()).sum();
    h.max(0.0)
}

/// The measures of one item from its `t` rows (`rows.len() == t * k`).
pub fn item_measures(
    rows: &[f64],
    t: usize,
    k: usize,
    mean: &mut [f64],
    votes: &mut [usize],
) -> MultiItem {
    mean.iter_mut().for_each(|v| *v = 0.0);
    votes.iter_mut().for_each(|v| *v = 0);
    let mut expected = 0.0;
    for row in rows.chunks_exact(k) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v;
        }
        expected += entropy(row);
        votes[argmax(row)] += 1;
    }
    let tf = t as f64;
    mean.iter_mut().for_each(|v| *v /= tf);
    expected /= tf;
    let predicted = argmax(mean);
    let p1 = mean[predicted];
    let p2 = mean
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != predicted)
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.0);
    let h = entropy(mean);
    let mut modal = 0;
    for (j, &v) in votes.iter().enumerate() {
        if v > votes[modal] {
            modal = j;
        }
    }
    MultiItem {
        predicted,
        confidence: p1,
        least_confidence: 1.0 - p1,
        margin: p1 - p2,
        ratio: if p1 > 0.0 { p2 / p1 } else { 1.0 },
        entropy: h,
        expected_entropy: expected,
        bald: (h - expected).max(0.0),
        modal_class: modal,
        variation_ratio: 1.0 - votes[modal] as f64 / tf,
    }
}

/// Uncertainty measures over `T` stochastic rows per item (definitions in the module docs).
pub fn multi_uncertainty(req: &MultiUncertaintyRequest) -> Result<MultiUncertaintyResponse> {
    let (n, t, k) = (req.n, req.t, req.k);
    if t == 0 {
        return Err(err!(InvalidInput, "need at least one row per item (t = 0)"));
    }
    let rows = n
        .checked_mul(t)
        .ok_or_else(|| err!(InvalidInput, "n x t overflows"))?;
    check_prob_matrix(&req.probs, rows, k, "probabilities (n*t rows)")?;
    let mut mean = vec![0.0; k];
    let mut votes = vec![0usize; k];
    let mut items = Vec::with_capacity(n);
    let mut means = if req.include_mean_probs {
        Some(Vec::with_capacity(n * k))
    } else {
        None
    };
    for chunk in req.probs.chunks_exact(t * k) {
        items.push(item_measures(chunk, t, k, &mut mean, &mut votes));
        if let Some(m) = means.as_mut() {
            m.extend_from_slice(&mean);
        }
    }
    Ok(MultiUncertaintyResponse {
        items,
        mean_probs: means,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rows(seed: u64, n: usize, t: usize, k: usize) -> Vec<f64> {
        let mut s = seed.wrapping_add(1);
        let mut out = Vec::with_capacity(n * t * k);
        for _ in 0..n * t {
            let raw: Vec<f64> = (0..k)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = ((s >> 11) as f64) / (1u64 << 53) as f64;
                    // sharp rows now and then, exact zeros too
                    if u < 0.1 {
                        0.0
                    } else {
                        u.powi(3)
                    }
                })
                .collect();
            let sum: f64 = raw.iter().sum();
            if sum == 0.0 {
                out.extend((0..k).map(|j| if j == 0 { 1.0 } else { 0.0 }));
            } else {
                out.extend(raw.iter().map(|v| v / sum));
            }
        }
        out
    }

    #[test]
    fn small_example() {
        // two rows disagreeing completely: H(mean) = ln 2, each row entropy 0, BALD = ln 2
        let r = multi_uncertainty(&MultiUncertaintyRequest {
            probs: vec![1.0, 0.0, 0.0, 1.0],
            n: 1,
            t: 2,
            k: 2,
            include_mean_probs: true,
        })
        .unwrap();
        let it = r.items[0];
        assert!((it.bald - 2f64.ln()).abs() < 1e-15);
        assert_eq!(it.expected_entropy, 0.0);
        assert_eq!(it.modal_class, 0); // tie 1-1: lowest index
        assert_eq!(it.variation_ratio, 0.5);
        assert_eq!(r.mean_probs.unwrap(), vec![0.5, 0.5]);
        assert!(multi_uncertainty(&MultiUncertaintyRequest {
            probs: vec![0.5, 0.5],
            n: 1,
            t: 2,
            k: 2,
            include_mean_probs: false
        })
        .is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bounds_and_shuffle(seed in 0u64..10_000, n in 1usize..12, t in 1usize..6, k in 2usize..7, rot in 0usize..12) {
            let p = rows(seed, n, t, k);
            let r = multi_uncertainty(&MultiUncertaintyRequest { probs: p.clone(), n, t, k, include_mean_probs: false }).unwrap();
            let lnk = (k as f64).ln();
            for it in &r.items {
                prop_assert!(it.entropy >= 0.0 && it.entropy <= lnk + 1e-12);
                prop_assert!(it.bald >= 0.0 && it.bald <= lnk + 1e-12);
                prop_assert!(it.expected_entropy >= 0.0 && it.expected_entropy <= lnk + 1e-12);
                prop_assert!((0.0..=1.0).contains(&it.variation_ratio));
            }
            // rotate the items: every item's result is unchanged
            let rot = rot % n;
            let block = t * k;
            let mut q = p[rot * block..].to_vec();
            q.extend_from_slice(&p[..rot * block]);
            let r2 = multi_uncertainty(&MultiUncertaintyRequest { probs: q, n, t, k, include_mean_probs: false }).unwrap();
            for i in 0..n {
                prop_assert_eq!(r.items[(i + rot) % n], r2.items[i]);
            }
        }
    }
}
