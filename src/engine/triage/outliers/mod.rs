//! Outliers and near-duplicates, replicating cleanlab 2.9's `OutOfDistribution`.
//!
//! **From probabilities** ([`ood_pred_probs`], cleanlab's `pred_probs` mode). With
//! `adjustPredProbs` (default true), each row is first adjusted by the per-class confident
//! thresholds `t` (mean self-confidence per labelled class, so labels are needed unless
//! thresholds are given): `q = (p - t + max t) / Σ (p - t + max t)`. Then, higher = more
//! in-distribution:
//! - `entropy` (default): `1 - H(q) / ln k`, `H(q) = -Σ q ln q`;
//! - `leastConfidence`: `max_j q_j`;
//! - `gen`: `1 - Σ_{top M} r^γ (1 - r)^γ / M` with `r = softmax(q)` (M = 100, γ = 0.1).
//!
//! **From embeddings** ([`knn_outliers`], cleanlab's `features` mode): the mean distance
//! `a_i` to the `k` nearest other rows (default `k = min(10, n - 1)`), with cosine distance
//! `1 - x·y / (|x||y|)` when `d > 3` and Euclidean distance otherwise (cleanlab's default
//! metric rule); exact duplicate rows are at distance 0. Score `exp(-t a_i / s)` with
//! `s = max(median a, 100 eps)` (and at least 1e-6), set to 1 when `a_i` is below cleanlab's
//! precision tolerance. Computed exactly by a blocked brute-force scan: `O(n² d)` time,
//! `O(n k)` memory.
//!
//! **Near-duplicates** ([`near_duplicates`]): every pair with cosine distance `<= threshold`,
//! exact (recall 1 by construction). A blocked `f32` scan screens pairs with a safety margin
//! on the rounding error, then each candidate is verified in `f64`. The scan first computes
//! the dot product over the `d/4` highest-energy dimensions and skips a tile when, for every
//! pair in it, that partial product plus the Cauchy-Schwarz bound on the remaining
//! dimensions (`|tail a| |tail b|`) cannot reach `1 - threshold`: pruning never drops a
//! qualifying pair. Worst case `O(n² d)` time, memory `O(n d + pairs)`.

mod duplicates;
mod from_probs;
mod knn;
mod scan;
#[cfg(test)]
mod tests;

pub use duplicates::{
    near_duplicates, near_duplicates_request, DuplicatePair, DuplicatesOptions, DuplicatesRequest,
    DuplicatesResponse,
};
pub use from_probs::{
    ood_pred_probs, ood_pred_probs_request, OodMethod, OodProbsOptions, OodProbsRequest,
    OodProbsResponse,
};
pub use knn::{
    knn, knn_outliers, knn_outliers_request, KnnMetric, KnnOutlierOptions, KnnOutlierRequest,
    KnnOutlierResponse,
};

use crate::error::{err, Result};

fn check_embeddings(x: &[f64], n: usize, d: usize) -> Result<()> {
    if n == 0 || d == 0 {
        return Err(err!(InsufficientData, "embeddings are empty"));
    }
    if n.checked_mul(d) != Some(x.len()) {
        return Err(err!(
            InvalidInput,
            "embeddings have {} values, expected n x d = {n} x {d}",
            x.len()
        ));
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        return Err(err!(
            InvalidInput,
            "embedding at row {}, column {} is not finite",
            pos / d,
            pos % d
        ));
    }
    Ok(())
}

/// Unit rows (zero rows stay zero, as scikit-learn's `normalize`).
fn unit_rows(x: &[f64], d: usize) -> Vec<f64> {
    let mut out = x.to_vec();
    for r in out.chunks_mut(d) {
        let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            r.iter_mut().for_each(|v| *v /= norm);
        }
    }
    out
}
