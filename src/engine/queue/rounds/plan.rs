//! Planning a round: stop when certified or nothing is left, continue or start an audit, or
//! name the next review batch.

use crate::engine::probs::SplitMix64;
use crate::engine::queue::audit::{self};
use crate::engine::queue::noise_model::{round_p_wrong, NoiseModel};
use crate::engine::queue::policy::{fit_policy, Tier, TierResponse};
use crate::error::Result;

use super::*;

/// What every plan carries, whatever it decides.
pub(super) struct Outcome {
    pub(super) estimate: PoolEstimate,
    pub(super) per_class: Vec<ClassEstimate>,
    pub(super) tiers: TierResponse,
    pub(super) noise_model: Option<NoiseModel>,
}

impl Outcome {
    pub(super) fn plan(
        self,
        batch: Vec<usize>,
        audit: Option<AuditPlan>,
        stop: bool,
        reason: String,
    ) -> RoundPlan {
        RoundPlan {
            batch,
            audit,
            stop,
            stop_reason: reason,
            estimate: self.estimate,
            per_class: self.per_class,
            tiers: self.tiers,
            noise_model: self.noise_model,
        }
    }
    pub(super) fn stop(self, reason: String) -> RoundPlan {
        self.plan(Vec::new(), None, true, reason)
    }
    pub(super) fn audit(self, (audit, reason): (AuditPlan, String)) -> RoundPlan {
        self.plan(Vec::new(), Some(audit), false, reason)
    }
}

/// The stop message when the certificate reaches the target.
pub(super) fn certified(req: &RoundRequest, cert: &Certificate) -> Option<String> {
    let s = &req.options.stopping;
    let c = cert.rate.filter(|&c| c <= s.target_error_rate)?;
    let last = req.audits.last();
    let (sampled, wrong) = match &cert.seq {
        Some((st, _)) => (st.sampled, st.wrong),
        None => (last.map_or(0, |a| a.sampled), last.map_or(0, |a| a.wrong)),
    };
    Some(format!(
        "Certified: with probability at least {:.3}, at most {:.3}% of the pool's labels are wrong (target {:.3}%), from an audit of {sampled} items with {wrong} wrong.",
        1.0 - cert.delta.unwrap_or(s.delta),
        c * 100.0,
        s.target_error_rate * 100.0,
    ))
}

/// The next step of an open sequential audit that has not certified the target yet.
pub(super) fn continue_audit(
    req: &RoundRequest,
    cert: &Certificate,
    remainder: &[usize],
) -> Option<(AuditPlan, String)> {
    let s = &req.options.stopping;
    let (Some((st, true)), Some(a)) = (&cert.seq, req.audits.last()) else {
        return None;
    };
    if !cert.rate.is_some_and(|c| c > s.target_error_rate) {
        return None;
    }
    let j = req.audits.len();
    let step = s.audit_step.min(s.max_audit - st.sampled);
    let indices = audit::draw_step(remainder, step, audit_seed(req.options.seed, j, st.sampled));
    let reason = format!(
        "Sequential audit {j}: {} items checked, {} wrong; the bound allows at most {} wrong labels left ({:.3}% of the pool, target {:.3}%): audit {} more.",
        st.sampled,
        st.wrong,
        st.upper_wrong_left,
        cert.rate.unwrap_or(1.0) * 100.0,
        s.target_error_rate * 100.0,
        indices.len()
    );
    let plan = AuditPlan {
        indices,
        remainder_size: a.remainder_size,
        estimated_rate: a.estimated_rate,
        delta: st.delta,
        sequential: true,
        number: j,
        status: Some(st.clone()),
    };
    Some((plan, reason))
}

/// A new audit of the remainder, when its size allows one: sequential (a first step drawn at
/// random) or one sample sized for twice the estimated rate, so that an audit is not failed
/// by the luck of the draw or a slightly optimistic estimate.
pub(super) fn start_audit(
    req: &RoundRequest,
    left: &Left,
    expected_errors: f64,
    expected_rate: f64,
) -> Option<(AuditPlan, String)> {
    let (o, n) = (&req.options, req.pool.n);
    let s = &o.stopping;
    let j = req.audits.len() + 1;
    let dj = audit_delta(s, j);
    let (remainder, failed) = (&left.remainder, left.failed as f64);
    let r_len = remainder.len();
    let allowed = ((s.target_error_rate * n as f64 - failed) / r_len as f64).max(0.0);
    let est_r = (expected_errors - failed).max(0.0) / r_len as f64;
    let m = if s.sequential {
        s.audit_step.min(s.max_audit).min(r_len)
    } else {
        audit_size(s.audit_margin * est_r, allowed, dj, s.max_audit.min(r_len))
    };
    if m == 0 || allowed <= 0.0 {
        return None;
    }
    let (indices, reason) = if s.sequential {
        let indices = audit::draw_step(remainder, m, audit_seed(o.seed, j, 0));
        let why = match s.audit_when {
            AuditWhen::Cost => format!(
                "At an estimated error rate of {:.3}% (target {:.3}%), certifying now is expected to cost fewer reviews than reviewing more batches first",
                expected_rate * 100.0,
                s.target_error_rate * 100.0
            ),
            AuditWhen::Rate => format!(
                "The estimated error rate {:.3}% is within {:.0}% of the target {:.3}%",
                expected_rate * 100.0,
                s.audit_at * 100.0,
                s.target_error_rate * 100.0
            ),
        };
        let reason = format!(
            "{why}: a sequential audit of the {r_len} unreviewed items starts with {m} drawn at random."
        );
        (indices, reason)
    } else {
        // partial Fisher-Yates, seeded per audit
        let mut rng = SplitMix64::new(o.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(j as u64)));
        let mut pool_idx = remainder.clone();
        for t in 0..m {
            let u = t + (rng.next_u64() % (r_len - t) as u64) as usize;
            pool_idx.swap(t, u);
        }
        pool_idx.truncate(m);
        let reason = format!(
            "The estimated error rate {:.3}% is within {:.0}% of the target {:.3}%: audit {m} items drawn at random from the {r_len} unreviewed ones to certify it.",
            expected_rate * 100.0,
            s.audit_at * 100.0,
            s.target_error_rate * 100.0
        );
        (pool_idx, reason)
    };
    let plan = AuditPlan {
        indices,
        remainder_size: r_len,
        estimated_rate: expected_rate,
        delta: dj,
        sequential: s.sequential,
        number: j,
        status: None,
    };
    Some((plan, reason))
}

/// The next review batch from `review_left` (the review order without failed items): by class
/// budget, by a diversity strategy, or the top of the order; each class's `budget` is set.
pub(super) fn next_batch(
    req: &RoundRequest,
    review_left: &[usize],
    pos: &[usize],
    expected: &[f64],
    out: &mut Outcome,
) -> Result<Vec<usize>> {
    let o = &req.options;
    let (tiers, per_class) = (&out.tiers, &mut out.per_class);
    let item_of = |i: usize| &tiers.items[pos[i]];
    let b = o.batch_size.min(review_left.len());
    if o.class_budget {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); req.k];
        for &i in review_left {
            let c = item_of(i).label.unwrap_or(0);
            by_class[c].push(i);
        }
        let avail: Vec<usize> = by_class.iter().map(|v| v.len()).collect();
        let budget = allocate(b, expected, &avail, o.min_per_class);
        for (c, pc) in per_class.iter_mut().enumerate() {
            pc.budget = budget[c];
        }
        if let Some(sel) = &o.selection {
            return select_round_batch(req, sel, review_left, tiers, pos, b, Some(budget));
        }
        let mut chosen: Vec<usize> = by_class
            .iter()
            .zip(&budget)
            .flat_map(|(v, &m)| v[..m].iter().copied())
            .collect();
        // keep the global priority order
        let rank: std::collections::HashMap<usize, usize> = review_left
            .iter()
            .enumerate()
            .map(|(r, &i)| (i, r))
            .collect();
        chosen.sort_by_key(|i| rank.get(i).copied().unwrap_or(usize::MAX));
        return Ok(chosen);
    }
    let batch = match &o.selection {
        Some(sel) => select_round_batch(req, sel, review_left, tiers, pos, b, None)?,
        None => review_left[..b].to_vec(),
    };
    for &i in &batch {
        if let Some(c) = item_of(i).label {
            per_class[c].budget += 1;
        }
    }
    Ok(batch)
}

/// Plan the next round (JS `planRound`, CLI `queue plan`): tier the unreviewed items, estimate
/// the errors left, then stop (certified, or nothing left), go on with or start an audit, or
/// name the next review batch.
pub fn plan_round(req: &RoundRequest) -> Result<RoundPlan> {
    let (k, n, o) = (req.k, req.pool.n, &req.options);
    let s = &o.stopping;
    check_options(o)?;
    check_pool(&req.pool, k)?;
    let (verified, reviewed) = with_reviewed(req)?;
    let fp = fit_policy(k, &verified, &req.policy)?;
    let (rest, pos) = unreviewed(&reviewed);
    let mut tiers = tier_rest(req, &fp, &rest, &pos, &reviewed)?;
    let noise = round_p_wrong(
        k,
        &verified,
        &req.pool,
        &tiers,
        fp.fitted.temperature,
        &o.noise_model,
    )?;
    let p_wrong = |i: usize| noise.as_ref().map(|m| m.1[i]).filter(|v| v.is_finite());
    if noise.is_some() {
        order_by_noise(&mut tiers, &pos, p_wrong);
    }
    let (n_rev, wrong_rev) = reviewed_per_class(req);
    let left = what_is_left(&tiers, &fp, (k, n), p_wrong);
    let expected_errors = left.expected.iter().sum::<f64>() + left.failed as f64;
    let expected_rate = expected_errors / n.max(1) as f64;
    let cert = certificate(req, &left)?;
    let mut out = Outcome {
        estimate: PoolEstimate {
            n,
            reviewed: n - rest.len(),
            unreviewed: rest.len(),
            failed: left.failed,
            auto_accepted: left.auto_accepted,
            expected_errors,
            expected_error_rate: expected_rate,
            certified_error_rate: cert.rate,
            certified_delta: cert.delta,
        },
        per_class: (0..k)
            .map(|c| ClassEstimate {
                class: c,
                unreviewed: left.unreviewed[c],
                expected_errors: left.expected[c],
                reviewed: n_rev[c],
                wrong_found: wrong_rev[c],
                budget: 0,
            })
            .collect(),
        tiers,
        noise_model: noise.as_ref().map(|m| m.0.clone()),
    };

    if let Some(msg) = certified(req, &cert) {
        return Ok(out.stop(msg));
    }
    if left.remainder.is_empty() {
        return Ok(out.stop(if left.failed > 0 {
            format!(
                "Every item is reviewed except {} failed item(s), which need manual handling.",
                left.failed
            )
        } else {
            "Every item is reviewed.".to_string()
        }));
    }
    let review_left: Vec<usize> = out
        .tiers
        .order
        .iter()
        .copied()
        .filter(|&i| out.tiers.items[pos[i]].tier != Tier::Failed)
        .collect();
    if let Some(step) = continue_audit(req, &cert, &left.remainder) {
        return Ok(out.audit(step));
    }
    let state = AuditState {
        rate: expected_rate,
        expected_errors,
        failed: left.failed as f64,
        n,
        remainder: left.remainder.len(),
        audits: req.audits.len(),
        last_estimate: req.audits.last().map(|a| a.estimated_rate),
    };
    let p_next = || review_left.iter().map(|&i| left.p[i]).collect();
    let trigger = audit_is_due(s, &state, p_next, o.batch_size);
    if trigger || review_left.is_empty() {
        if let Some(audit) = start_audit(req, &left, expected_errors, expected_rate) {
            return Ok(out.audit(audit));
        }
        if review_left.is_empty() {
            return Ok(out.stop(
                "Nothing left to review but the auto-accepted items, and the target cannot be certified by an audit."
                    .into(),
            ));
        }
    }
    let batch = next_batch(req, &review_left, &pos, &left.expected, &mut out)?;
    let reason = match cert.rate {
        Some(c) => format!(
            "Not yet: the latest audit certifies {:.3}%, above the target {:.3}%; estimated {:.3}% now.",
            c * 100.0,
            s.target_error_rate * 100.0,
            expected_rate * 100.0
        ),
        None => format!(
            "Not yet: an estimated {expected_errors:.0} wrong labels ({:.3}%) remain; the target is {:.3}%.",
            expected_rate * 100.0,
            s.target_error_rate * 100.0
        ),
    };
    Ok(out.plan(batch, None, false, reason))
}
