//! The round's batch by a diversity strategy, the pool's shape checks and the reviewed
//! subsets of the pool.

use crate::engine::queue::policy::{PoolSet, TierResponse, VerifiedSet};
use crate::engine::queue::select::{select_batch, ClassBudget, SelectRequest, Strategy};
use crate::error::{err, Result};

use super::*;

/// The round's batch by a diversity strategy: candidates are the review items, scored by
/// priority; the labelled set is the verified embeddings plus the reviewed items'.
pub(super) fn select_round_batch(
    req: &RoundRequest,
    sel: &Selection,
    review_left: &[usize],
    tiers: &TierResponse,
    pos: &[usize],
    batch: usize,
    budget: Option<Vec<usize>>,
) -> Result<Vec<usize>> {
    let n = req.pool.n;
    let mut scores = vec![f64::NAN; n];
    let mut predicted = vec![0usize; n];
    for it in &tiers.items {
        predicted[it.index] = it.label.unwrap_or(0);
    }
    for &i in review_left {
        scores[i] = tiers.items[pos[i]].priority.unwrap_or(f64::NAN);
    }
    let mut labeled = None;
    if let (Some(e), Some(d)) = (&req.embeddings, req.d) {
        if d == 0 || e.len() != n.saturating_mul(d) {
            return Err(err!(
                InvalidInput,
                "embeddings: expected n x d = {n} x {d} values, got {}",
                e.len()
            ));
        }
        let mut l = req.verified_embeddings.clone().unwrap_or_default();
        if !l.len().is_multiple_of(d) {
            return Err(err!(
                InvalidInput,
                "verifiedEmbeddings: length {} is not a multiple of d = {d}",
                l.len()
            ));
        }
        for r in &req.reviewed {
            l.extend_from_slice(&e[r.index * d..(r.index + 1) * d]);
        }
        if !l.is_empty() {
            labeled = Some(l);
        }
    }
    let mut options = sel.options.clone();
    if let Some(b) = budget {
        options.class_budget = ClassBudget::Counts(b);
    }
    let badge = sel.strategy == Strategy::Badge;
    let r = select_batch(&SelectRequest {
        scores,
        batch_size: batch,
        strategy: sel.strategy,
        embeddings: req.embeddings.clone(),
        d: req.d,
        labeled_embeddings: if badge { None } else { labeled },
        pred_probs: badge.then(|| req.pool.pred_probs.clone()),
        k: Some(req.k),
        predicted: Some(predicted),
        options,
    })?;
    Ok(r.selected)
}

/// Validate the pool's shapes before anything indexes into it.
pub(super) fn check_pool(pool: &PoolSet, k: usize) -> Result<()> {
    let n = pool.n;
    if pool.pred_probs.len() != n.saturating_mul(k) {
        return Err(err!(
            InvalidInput,
            "pool.predProbs: expected n x k = {n} x {k} values, got {}",
            pool.pred_probs.len()
        ));
    }
    let lens = [
        ("outlierScores", pool.outlier_scores.as_ref().map(Vec::len)),
        ("agreement", pool.agreement.as_ref().map(Vec::len)),
        ("givenLabels", pool.given_labels.as_ref().map(Vec::len)),
        (
            "duplicateOfVerified",
            pool.duplicate_of_verified.as_ref().map(Vec::len),
        ),
    ];
    for (what, len) in lens {
        if let Some(len) = len.filter(|&l| l != n) {
            return Err(err!(
                InvalidInput,
                "pool.{what}: expected {n} values, got {len}"
            ));
        }
    }
    if let Some(&f) = pool.failed.iter().find(|&&f| f >= n) {
        return Err(err!(
            InvalidInput,
            "pool.failed: index {f} is not < n = {n}"
        ));
    }
    Ok(())
}

/// The verified set grown by the reviewed items (those with usable probabilities), and the
/// mask of reviewed pool items.
pub(super) fn with_reviewed(req: &RoundRequest) -> Result<(VerifiedSet, Vec<bool>)> {
    let (k, n, pool) = (req.k, req.pool.n, &req.pool);
    let mut reviewed = vec![false; n];
    let mut verified = req.verified.clone();
    let mut vgiven = verified
        .given_labels
        .clone()
        .unwrap_or_else(|| vec![-1; verified.n]);
    for r in &req.reviewed {
        if r.index >= n {
            return Err(err!(
                InvalidInput,
                "reviewed: index {} is not < pool size {n}",
                r.index
            ));
        }
        if r.label >= k {
            return Err(err!(
                InvalidInput,
                "reviewed: label {} of item {} is not < k = {k}",
                r.label,
                r.index
            ));
        }
        if reviewed[r.index] {
            return Err(err!(
                InvalidInput,
                "reviewed: item {} is listed twice",
                r.index
            ));
        }
        reviewed[r.index] = true;
        let row = &pool.pred_probs[r.index * k..(r.index + 1) * k];
        // a reviewed item with unusable probabilities cannot teach the calibration
        if row.iter().all(|v| v.is_finite()) && !pool.failed.contains(&r.index) {
            verified.pred_probs.extend_from_slice(row);
            verified.labels.push(r.label);
            vgiven.push(pool.given_labels.as_ref().map_or(-1, |g| g[r.index]));
            if let Some(s) = verified.outlier_scores.as_mut() {
                s.push(
                    pool.outlier_scores
                        .as_ref()
                        .map_or(f64::NAN, |p| p[r.index]),
                );
            }
            verified.n += 1;
        }
    }
    if verified.given_labels.is_some() || pool.given_labels.is_some() {
        verified.given_labels = Some(vgiven);
    }
    Ok((verified, reviewed))
}

/// The pool restricted to `rest` (pool indices), with failed indices renumbered by `pos`.
pub(super) fn subset(
    pool: &PoolSet,
    k: usize,
    rest: &[usize],
    pos: &[usize],
    reviewed: &[bool],
) -> PoolSet {
    fn pick<T: Copy>(v: &Option<Vec<T>>, rest: &[usize]) -> Option<Vec<T>> {
        v.as_ref().map(|v| rest.iter().map(|&i| v[i]).collect())
    }
    let mut probs = Vec::with_capacity(rest.len() * k);
    for &i in rest {
        probs.extend_from_slice(&pool.pred_probs[i * k..(i + 1) * k]);
    }
    PoolSet {
        pred_probs: probs,
        n: rest.len(),
        given_labels: pick(&pool.given_labels, rest),
        outlier_scores: pick(&pool.outlier_scores, rest),
        agreement: pick(&pool.agreement, rest),
        duplicate_of_verified: pick(&pool.duplicate_of_verified, rest),
        failed: pool
            .failed
            .iter()
            .filter(|&&i| !reviewed[i])
            .map(|&i| pos[i])
            .collect(),
    }
}
