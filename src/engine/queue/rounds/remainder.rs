//! The unreviewed remainder: tiering and ordering it, what reviews found per class, what is
//! left and what the latest audit certifies.

use crate::engine::probs::argmax;
use crate::engine::queue::audit::{self, AuditStatus};
use crate::engine::queue::policy::{apply_policy, FittedPolicy, Tier, TierResponse};
use crate::error::{err, Result};

use super::*;

/// The unreviewed part of the pool: its items in pool order, and each pool item's position
/// among them (`usize::MAX` for a reviewed one).
pub(super) fn unreviewed(reviewed: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let rest: Vec<usize> = (0..reviewed.len()).filter(|&i| !reviewed[i]).collect();
    let mut pos = vec![usize::MAX; reviewed.len()];
    for (r, &i) in rest.iter().enumerate() {
        pos[i] = r;
    }
    (rest, pos)
}

/// The policy's tiers of the unreviewed items, with pool indices.
pub(super) fn tier_rest(
    req: &RoundRequest,
    fp: &FittedPolicy,
    rest: &[usize],
    pos: &[usize],
    reviewed: &[bool],
) -> Result<TierResponse> {
    let k = req.k;
    let mut tiers = if rest.is_empty() {
        TierResponse {
            items: Vec::new(),
            order: Vec::new(),
            counts: Default::default(),
            fitted: fp.fitted.clone(),
        }
    } else {
        let sub_pool = subset(&req.pool, k, rest, pos, reviewed);
        apply_policy(k, &sub_pool, &req.policy, fp)?
    };
    for it in tiers.items.iter_mut() {
        it.index = rest[it.index];
    }
    for i in tiers.order.iter_mut() {
        *i = rest[*i];
    }
    Ok(tiers)
}

/// The review order by the noise model's posterior P(label wrong) where it has a say (items
/// with a given label), highest first (stable: ties keep the policy's order), failed items
/// still last.
pub(super) fn order_by_noise(
    tiers: &mut TierResponse,
    pos: &[usize],
    p_wrong: impl Fn(usize) -> Option<f64>,
) {
    let key: Vec<f64> = tiers
        .order
        .iter()
        .map(|&i| {
            let it = &tiers.items[pos[i]];
            match (it.tier, p_wrong(i)) {
                (Tier::Failed, _) => f64::NEG_INFINITY,
                (_, Some(p)) => p,
                (_, None) => it.priority.unwrap_or(0.0),
            }
        })
        .collect();
    let mut perm: Vec<usize> = (0..key.len()).collect();
    perm.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
    tiers.order = perm.iter().map(|&r| tiers.order[r]).collect();
}

/// What reviews found, per class of the label the item came with (or its prediction): the
/// items reviewed and the wrong labels found.
pub(super) fn reviewed_per_class(req: &RoundRequest) -> (Vec<usize>, Vec<usize>) {
    let k = req.k;
    let mut wrong_rev = vec![0usize; k];
    let mut n_rev = vec![0usize; k];
    for r in &req.reviewed {
        let g = req
            .pool
            .given_labels
            .as_ref()
            .and_then(|g| usize::try_from(g[r.index]).ok())
            .filter(|&g| g < k);
        let cur = g.or_else(|| {
            let row = &req.pool.pred_probs[r.index * k..(r.index + 1) * k];
            row.iter().all(|v| v.is_finite()).then(|| argmax(row))
        });
        if let Some(c) = cur {
            n_rev[c] += 1;
            if r.label != c {
                wrong_rev[c] += 1;
            }
        }
    }
    (n_rev, wrong_rev)
}

/// The unreviewed items as the stopping rule sees them.
pub(super) struct Left {
    /// Expected wrong labels per class among the unreviewed items that did not fail.
    pub(super) expected: Vec<f64>,
    /// Unreviewed items with a label, per class.
    pub(super) unreviewed: Vec<usize>,
    /// Failed items (they count as wrong).
    pub(super) failed: usize,
    /// Auto-accepted items.
    pub(super) auto_accepted: usize,
    /// The unreviewed items that did not fail (the audit's remainder), in item order.
    pub(super) remainder: Vec<usize>,
    /// Each pool item's expected chance that its label is wrong (0 for reviewed, failed and
    /// unlabelled items): what reviewing it is expected to fix.
    pub(super) p: Vec<f64>,
}

/// Count what is left; the expected errors come from the noise model where it has a say,
/// else from the error model `P(label wrong | priority)` (isotonic on the verified and
/// reviewed items), else from the priority itself.
pub(super) fn what_is_left(
    tiers: &TierResponse,
    fp: &FittedPolicy,
    (k, n): (usize, usize),
    p_wrong: impl Fn(usize) -> Option<f64>,
) -> Left {
    let model = fp.error_model();
    let mut left = Left {
        expected: vec![0.0; k],
        unreviewed: vec![0; k],
        failed: 0,
        auto_accepted: 0,
        remainder: Vec::new(),
        p: vec![0.0; n],
    };
    for it in &tiers.items {
        if it.tier == Tier::Failed {
            left.failed += 1;
            continue;
        }
        left.remainder.push(it.index);
        if it.tier == Tier::AutoAccept {
            left.auto_accepted += 1;
        }
        if let (Some(c), Some(p)) = (it.label, it.priority) {
            left.unreviewed[c] += 1;
            let e = p_wrong(it.index).unwrap_or_else(|| model.as_ref().map_or(p, |m| m.predict(p)));
            left.expected[c] += e;
            left.p[it.index] = e;
        }
    }
    left
}

/// What the latest audit certifies.
#[derive(Default)]
pub(super) struct Certificate {
    /// Upper bound on the pool's error rate.
    pub(super) rate: Option<f64>,
    /// With probability at least `1 - delta`.
    pub(super) delta: Option<f64>,
    /// A sequential audit's status, and whether it goes on: nothing else was reviewed since
    /// it began, it may still certify, and it has not reached its cap.
    pub(super) seq: Option<(AuditStatus, bool)>,
}

/// The certificate of the latest audit (none before the first one).
pub(super) fn certificate(req: &RoundRequest, left: &Left) -> Result<Certificate> {
    let (s, n) = (&req.options.stopping, req.pool.n);
    let failed = left.failed as f64;
    let Some(a) = req.audits.last() else {
        return Ok(Certificate::default());
    };
    let j = req.audits.len();
    let dj = audit_delta(s, j);
    let delta = Some(spent_delta(s, j));
    if let Some(ix) = a.indices.as_deref() {
        let outcomes = audit_outcomes(req, ix, a.remainder_size)?;
        let target = seq_target(s, n, a.remainder_size);
        let st = audit::status(
            &outcomes,
            a.remainder_size,
            dj,
            target,
            a.estimated_rate * n as f64 / a.remainder_size.max(1) as f64,
        )?;
        let open = left.remainder.len() + ix.len() == a.remainder_size
            && !audit::futile(&outcomes, target)
            && st.sampled < s.max_audit.min(a.remainder_size);
        return Ok(Certificate {
            rate: Some((st.upper_wrong_left as f64 + failed) / n.max(1) as f64),
            delta,
            seq: Some((st, open)),
        });
    }
    if a.sampled == 0 || a.wrong > a.sampled || a.sampled > a.remainder_size {
        return Err(err!(
            InvalidInput,
            "audit record {{sampled: {}, wrong: {}, remainderSize: {}}} is inconsistent",
            a.sampled,
            a.wrong,
            a.remainder_size
        ));
    }
    let u = clopper_pearson_upper(a.wrong, a.sampled, dj);
    Ok(Certificate {
        rate: Some(((u * a.remainder_size as f64) + failed) / n.max(1) as f64),
        delta,
        seq: None,
    })
}
