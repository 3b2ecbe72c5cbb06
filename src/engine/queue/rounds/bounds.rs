//! Binomial bounds and sizes: the Clopper-Pearson upper bound, sequential-audit targets and
//! outcomes, audit sizes, option checks and the proportional allocation.

use crate::engine::probs::{argmax, ln_binom_cdf};
use crate::engine::queue::policy::{in_unit, require};
use crate::error::{err, Result};

use super::*;

/// One-sided Clopper-Pearson upper bound on a binomial proportion: the largest `p` with
/// `P(Binomial(m, p) <= x) >= delta` (1 when `x = m`).
pub fn clopper_pearson_upper(x: usize, m: usize, delta: f64) -> f64 {
    if m == 0 || x >= m {
        return 1.0;
    }
    let ld = delta.ln();
    let (mut lo, mut hi) = (x as f64 / m as f64, 1.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if ln_binom_cdf(x, m, mid) >= ld {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// The remainder's error rate a sequential audit bets towards: the target as a share of the
/// audited population (from the record alone, so the bets stay fixed across steps).
pub(super) fn seq_target(s: &StoppingRule, n: usize, remainder: usize) -> f64 {
    (s.target_error_rate * n as f64 / remainder.max(1) as f64).min(1.0)
}

/// Seed of step `sampled` of audit `j` (single- and multi-label rounds alike).
pub(in crate::engine::queue) fn audit_seed(seed: u64, j: usize, sampled: usize) -> u64 {
    seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(j as u64)
        ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(sampled as u64 + 1)
}

/// The outcomes (label wrong?) of a sequential audit's items, in draw order: the reviewed
/// label against the label the item came with (its prediction when none).
pub(super) fn audit_outcomes(
    req: &RoundRequest,
    ix: &[usize],
    remainder: usize,
) -> Result<Vec<bool>> {
    let k = req.k;
    if ix.is_empty() || ix.len() > remainder {
        return Err(err!(
            InvalidInput,
            "audit record: {} indices for a remainder of {remainder} items",
            ix.len()
        ));
    }
    let by_index: std::collections::HashMap<usize, usize> =
        req.reviewed.iter().map(|r| (r.index, r.label)).collect();
    let mut seen = std::collections::HashSet::new();
    ix.iter()
        .map(|&i| {
            if !seen.insert(i) {
                return Err(err!(InvalidInput, "audit record: item {i} is listed twice"));
            }
            let Some(&label) = by_index.get(&i) else {
                return Err(err!(
                    InvalidInput,
                    "audit record: item {i} has no review in `reviewed`"
                ));
            };
            let g = req
                .pool
                .given_labels
                .as_ref()
                .and_then(|g| usize::try_from(g[i]).ok())
                .filter(|&g| g < k);
            let cur = g.unwrap_or_else(|| argmax(&req.pool.pred_probs[i * k..(i + 1) * k]));
            Ok(label != cur)
        })
        .collect()
}

/// The failure probability audit `j` (1-based) is tested at: `share x delta` for the first,
/// `(1 - share) delta / 2^(j-1)` after it, so that every audit together spends at most `delta`.
pub(in crate::engine::queue) fn audit_delta(s: &StoppingRule, j: usize) -> f64 {
    let f = s.first_audit_share;
    match j {
        0 | 1 => f * s.delta,
        _ => (1.0 - f) * s.delta / 2f64.powi(j as i32 - 1),
    }
}

/// What audits `1..=j` spend together (the certificate holds with at least `1 -` this).
pub(in crate::engine::queue) fn spent_delta(s: &StoppingRule, j: usize) -> f64 {
    let f = s.first_audit_share;
    match j {
        0 => 0.0,
        _ => s.delta * (f + (1.0 - f) * (1.0 - 0.5f64.powi(j as i32 - 1))),
    }
}

/// Bernoulli Kullback-Leibler divergence `KL(p ‖ q)` (`0 ln 0 = 0`).
fn kl_bernoulli(p: f64, q: f64) -> f64 {
    let term = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    term(p, q) + term(1.0 - p, 1.0 - q)
}

/// Expected draws of a sequential audit that must show at most `allowed` wrong labels in a
/// remainder of `r` items expected to hold `d`: `ln(1/delta) / KL(d/r ‖ allowed/r)`, the
/// inverse growth rate of the best bet; `r` (everything reviewed) when that is no cheaper.
pub(in crate::engine::queue) fn expected_audit_draws(
    d: f64,
    r: usize,
    allowed: f64,
    delta: f64,
) -> f64 {
    let rf = r as f64;
    if r == 0 {
        return 0.0;
    }
    let (p, mu) = ((d / rf).clamp(0.0, 1.0), (allowed / rf).min(1.0));
    if mu <= p {
        return rf;
    }
    ((1.0 / delta).ln() / kl_bernoulli(p, mu)).min(rf)
}

/// Whether starting an audit now is expected to cost fewer reviews than reviewing one or more
/// further batches of `batch` items first. `p_next` are the posteriors P(label wrong) of the
/// review candidates in review order; `d` the expected wrong labels in the remainder of `r`
/// items; `allowed` the wrong labels the target allows there. A batch removes the errors its
/// items are expected to hold and the items themselves from the remainder.
pub(in crate::engine::queue) fn audit_now_pays(
    p_next: &[f64],
    d: f64,
    r: usize,
    allowed: f64,
    delta: f64,
    batch: usize,
) -> bool {
    let now = expected_audit_draws(d, r, allowed, delta);
    if now >= r as f64 {
        return false;
    }
    let (mut b, mut found) = (0usize, 0.0f64);
    for chunk in p_next.chunks(batch.max(1)) {
        b += chunk.len();
        found += chunk.iter().sum::<f64>();
        let later =
            b as f64 + expected_audit_draws((d - found).max(0.0), r - b.min(r), allowed, delta);
        if later < now {
            return false;
        }
    }
    true
}

/// The state of a pool the audit decision reads: the estimated error rate and wrong labels
/// (failed items included), the failed items, the pool and remainder sizes, the audits so far
/// and the estimate the latest one started at.
pub(in crate::engine::queue) struct AuditState {
    pub rate: f64,
    pub expected_errors: f64,
    pub failed: f64,
    pub n: usize,
    pub remainder: usize,
    pub audits: usize,
    pub last_estimate: Option<f64>,
}

/// Whether to ask for an audit now ([`AuditWhen`]), single- and multi-label rounds alike: by
/// expected cost for a sequential audit (`p_next`: the review candidates' chances of a wrong
/// label, in review order), by the estimated rate otherwise. After an audit that did not
/// certify, the estimate must have fallen since it (by half, under `rate`).
pub(in crate::engine::queue) fn audit_is_due(
    s: &StoppingRule,
    st: &AuditState,
    p_next: impl FnOnce() -> Vec<f64>,
    batch: usize,
) -> bool {
    if !(s.sequential && s.audit_when == AuditWhen::Cost) {
        return st.rate <= s.audit_at * s.target_error_rate
            && st.last_estimate.is_none_or(|e| st.rate <= 0.5 * e);
    }
    st.last_estimate.is_none_or(|e| st.rate < e)
        && audit_now_pays(
            &p_next(),
            (st.expected_errors - st.failed).max(0.0),
            st.remainder,
            s.target_error_rate * st.n as f64 - st.failed,
            audit_delta(s, st.audits + 1),
            batch,
        )
}

/// Smallest audit size at which an observed rate `rate` would certify `target` (capped).
pub(super) fn audit_size(rate: f64, target: f64, delta: f64, cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    let ok = |m: usize| {
        let x = (m as f64 * rate).ceil() as usize;
        clopper_pearson_upper(x, m, delta) <= target
    };
    if rate >= target || !ok(cap) {
        return cap;
    }
    let (mut lo, mut hi) = (1usize, cap);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

pub(super) fn check_options(o: &PlanOptions) -> Result<()> {
    let s = &o.stopping;
    check_batch_and_risk(o.batch_size, s)?;
    let m = s.audit_margin;
    require(m.is_finite() && m >= 1.0, "stopping.auditMargin", ">= 1", m)?;
    check_audit_schedule(s)?;
    o.noise_model.check()
}

/// The round checks single- and multi-label plans share: a batch of at least one, and the
/// target error rate and `delta` in (0, 1).
pub(in crate::engine::queue) fn check_batch_and_risk(
    batch_size: usize,
    s: &StoppingRule,
) -> Result<()> {
    require(batch_size >= 1, "batchSize", ">= 1", batch_size)?;
    in_unit(s.target_error_rate, "stopping.targetErrorRate")?;
    in_unit(s.delta, "stopping.delta")
}

/// When audits start (`auditAt` in (0, 1]) and how many items an audit step draws (>= 1).
pub(in crate::engine::queue) fn check_audit_schedule(s: &StoppingRule) -> Result<()> {
    let a = s.audit_at;
    require(a > 0.0 && a <= 1.0, "stopping.auditAt", "in (0, 1]", a)?;
    let f = s.first_audit_share;
    require(
        f > 0.0 && f < 1.0,
        "stopping.firstAuditShare",
        "in (0, 1)",
        f,
    )?;
    require(
        s.audit_step >= 1,
        "stopping.auditStep",
        ">= 1",
        s.audit_step,
    )
}

/// Largest-remainder allocation of `total` proportional to `weights`, capped by `avail`,
/// with a floor; leftovers go to classes that still have items (highest weight first).
pub fn allocate(total: usize, weights: &[f64], avail: &[usize], floor: usize) -> Vec<usize> {
    let k = weights.len();
    let mut out = vec![0usize; k];
    let total = total.min(avail.iter().sum());
    let mut left = total;
    for c in 0..k {
        let f = floor.min(avail[c]).min(left);
        out[c] = f;
        left -= f;
    }
    // proportional share of the rest among classes with room
    let wsum: f64 = (0..k)
        .filter(|&c| out[c] < avail[c])
        .map(|c| weights[c].max(0.0))
        .sum();
    if left > 0 && wsum > 0.0 {
        let quota: Vec<f64> = (0..k)
            .map(|c| {
                if out[c] < avail[c] {
                    left as f64 * weights[c].max(0.0) / wsum
                } else {
                    0.0
                }
            })
            .collect();
        let mut given = 0;
        for c in 0..k {
            let q = (quota[c].floor() as usize).min(avail[c] - out[c]);
            out[c] += q;
            given += q;
        }
        left -= given.min(left);
        let mut idx: Vec<usize> = (0..k).collect();
        idx.sort_by(|&a, &b| {
            (quota[b] - quota[b].floor())
                .total_cmp(&(quota[a] - quota[a].floor()))
                .then(a.cmp(&b))
        });
        for &c in &idx {
            if left == 0 {
                break;
            }
            if out[c] < avail[c] && quota[c] > 0.0 {
                out[c] += 1;
                left -= 1;
            }
        }
    }
    // anything still left: one at a time, round-robin over the classes with room, by weight
    // then index
    if left > 0 {
        let mut idx: Vec<usize> = (0..k).collect();
        idx.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
        while left > 0 {
            let mut moved = false;
            for &c in &idx {
                if left > 0 && out[c] < avail[c] {
                    out[c] += 1;
                    left -= 1;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    out
}
