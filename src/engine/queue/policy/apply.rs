//! Triaging a pool with a fitted policy: failures, confident learning on the pool, per-item
//! reasons and tier, and the review order.

use crate::engine::probs::{argmax, check_shape, is_distribution, Probs};
use crate::engine::triage::calibration::{apply_temperature, ScoreKind};
use crate::engine::triage::conformal::{conformal_sets, ConformalSetsRequest};
use crate::engine::triage::label_issues::find_label_issues;
use crate::error::{err, Result};

use super::*;

/// Which pool items failed and why: listed in `pool.failed` (upstream), or probabilities
/// that are not a distribution.
pub(super) fn pool_failures(pool: &PoolSet, k: usize) -> Result<Vec<Option<String>>> {
    let n = pool.n;
    let mut failed = vec![false; n];
    for &i in &pool.failed {
        if i >= n {
            return Err(err!(
                InvalidInput,
                "pool.failed: index {i} is not < n = {n}"
            ));
        }
        failed[i] = true;
    }
    Ok(pool
        .pred_probs
        .chunks_exact(k)
        .enumerate()
        .map(|(i, row)| {
            if failed[i] {
                Some("the item failed upstream (decoding or scoring)".into())
            } else if !is_distribution(row) {
                Some(
                    "its probabilities are not a valid distribution (NaN, infinity, outside [0, 1], or not summing to 1)"
                        .into(),
                )
            } else {
                None
            }
        })
        .collect())
}

/// Confident learning over the valid items that came with a label (`cal`: their calibrated
/// rows, in the order of `valid`): which pool items it flags.
pub(super) fn pool_label_issues(
    policy: &PolicyConfig,
    k: usize,
    n: usize,
    valid: &[usize],
    pgiven: &[Option<usize>],
    cal: &[f64],
) -> Result<Vec<bool>> {
    let mut issue = vec![false; n];
    if !policy.label_issues.enabled {
        return Ok(issue);
    }
    let (mut lp, mut ll, mut li) = (Vec::new(), Vec::new(), Vec::new());
    for (r, &i) in valid.iter().enumerate() {
        if let Some(g) = pgiven[i] {
            lp.extend_from_slice(&cal[r * k..(r + 1) * k]);
            ll.push(g);
            li.push(i);
        }
    }
    if ll.len() > k {
        let p = Probs::new_unchecked_sums(&lp, ll.len(), k)?;
        let r = find_label_issues(&p, &ll, &policy.label_issues.options)?;
        for (j, &flag) in r.is_label_issue.iter().enumerate() {
            issue[li[j]] = flag;
        }
    }
    Ok(issue)
}

/// A failed item: no probabilities, its given label kept.
pub(super) fn failed_item(i: usize, given: Option<usize>, why: &str) -> TieredItem {
    TieredItem {
        index: i,
        tier: Tier::Failed,
        predicted: None,
        confidence: None,
        given_label: given,
        conformal_set: None,
        priority: None,
        label: given,
        reasons: vec![reason(
            Signal::Failure,
            None,
            None,
            "",
            format!("Not scored: {why}."),
        )],
    }
}

/// The review order: every item but the auto-accepted, highest priority first, then by tier
/// rank, then by index (failed items, with no priority, last).
pub(super) fn review_order(items: &[TieredItem]) -> Vec<usize> {
    review_positions(items, |t| t.tier, |t| t.priority)
}

/// The review order of any tiered items (single- or multi-label), as positions in `items`:
/// every item but the auto-accepted, highest priority first, then by tier rank, then by
/// position (items with no priority, the failed ones, last).
pub(in crate::engine::queue) fn review_positions<T>(
    items: &[T],
    tier: impl Fn(&T) -> Tier,
    priority: impl Fn(&T) -> Option<f64>,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len())
        .filter(|&i| tier(&items[i]) != Tier::AutoAccept)
        .collect();
    order.sort_by(|&a, &b| {
        let pa = priority(&items[a]).unwrap_or(f64::NEG_INFINITY);
        let pb = priority(&items[b]).unwrap_or(f64::NEG_INFINITY);
        pb.total_cmp(&pa)
            .then(tier(&items[a]).rank().cmp(&tier(&items[b]).rank()))
            .then(a.cmp(&b))
    });
    order
}

/// Triage the pool with a fitted policy: check it, calibrate the valid rows, take their
/// conformal sets and confident-learning flags, then give each item its reasons and tier.
pub fn apply_policy(
    k: usize,
    pool: &PoolSet,
    policy: &PolicyConfig,
    fp: &FittedPolicy,
) -> Result<TierResponse> {
    let n = pool.n;
    check_shape(&pool.pred_probs, n, k, "pool.predProbs")?;
    let pgiven = given(&pool.given_labels, n, k, "pool.givenLabels")?;
    check_len(&pool.outlier_scores, n, "pool.outlierScores")?;
    check_len(&pool.agreement, n, "pool.agreement")?;
    check_len(&pool.duplicate_of_verified, n, "pool.duplicateOfVerified")?;
    let fail_msg = pool_failures(pool, k)?;
    let valid: Vec<usize> = (0..n).filter(|&i| fail_msg[i].is_none()).collect();
    let mut raw = Vec::with_capacity(valid.len() * k);
    for &i in &valid {
        raw.extend_from_slice(&pool.pred_probs[i * k..(i + 1) * k]);
    }
    let m = valid.len();
    let cal = if m > 0 {
        apply_temperature(&raw, m, k, ScoreKind::Probabilities, fp.fitted.temperature)?
    } else {
        Vec::new()
    };
    let sets = match (&fp.conformal, m > 0) {
        (Some(c), true) => Some(
            conformal_sets(&ConformalSetsRequest {
                calibration: c.clone(),
                probs: cal.clone(),
                n: m,
                k,
                labels: None,
            })?
            .sets,
        ),
        _ => None,
    };
    let issue = pool_label_issues(policy, k, n, &valid, &pgiven, &cal)?;
    let mut items = Vec::with_capacity(n);
    let mut counts = TierCounts::default();
    let mut rows = 0..;
    for i in 0..n {
        if let Some(why) = &fail_msg[i] {
            let it = failed_item(i, pgiven[i], why);
            counts.add(it.tier);
            items.push(it);
            continue;
        }
        let r = rows.next().unwrap_or_default();
        let row = &cal[r * k..(r + 1) * k];
        let pred = argmax(row);
        let v = ItemView {
            i,
            row,
            pred,
            conf: row[pred],
            given: pgiven[i],
            set: sets.as_ref().map(|s| s[r].as_slice()),
        };
        let mut reasons = Reasons::default();
        data_reasons(&v, pool, policy, fp, issue[i], &mut reasons);
        expert_reasons(&v, pool, policy, &mut reasons);
        accept_reasons(&v, policy, fp, &mut reasons);
        let tier = reasons.tier();
        let it = TieredItem {
            index: i,
            tier,
            predicted: Some(pred),
            confidence: Some(v.conf),
            given_label: v.given,
            conformal_set: v.set.map(<[usize]>::to_vec),
            priority: Some(match v.given {
                Some(g) => 1.0 - row[g],
                None => 1.0 - v.conf,
            }),
            label: Some(v.given.unwrap_or(pred)),
            reasons: reasons.into_list(tier),
        };
        counts.add(tier);
        items.push(it);
    }
    Ok(TierResponse {
        order: review_order(&items),
        items,
        counts,
        fitted: fp.fitted.clone(),
    })
}
