//! Progressive rounds: plan the next review batch from what the previous rounds taught, with a
//! stopping rule that comes with a bound.
//!
//! A round request carries the verified set, the pool, every review outcome so far (pool index
//! and the label the reviewer gave) and the audits so far. The planner
//! 1. moves the reviewed items into the verified set (they refit the temperature, the
//!    auto-accept threshold, the conformal sets: more verified data, tighter thresholds);
//! 2. triages the unreviewed rest with the policy ([`super::policy`]);
//! 3. fits the label-noise model `P(given | true, confidence)` by EM on the verified items,
//!    every reviewed item and the unreviewed ones ([`super::noise_model`]) and ranks the items
//!    to review by its posterior probability that the current label is wrong; the expected
//!    wrong labels per class (the budgets, the audit trigger) are the sums of that posterior
//!    (`options.noiseModel.enabled = false`: the order is the policy's priority and the
//!    estimate the isotonic model below). Where the noise model has no say (items without a
//!    given label) the planner
//!    re-estimates how often a label is wrong at a given priority: an isotonic (monotone)
//!    regression of "given label wrong" on the priority, fitted on every verified item that
//!    came with a label and every reviewed item ([`super::policy::ErrorModel`]); the expected
//!    number of wrong labels left in class `c` is the sum of that estimate over the unreviewed
//!    items whose current label is `c` (without any item to fit it on, the raw priorities);
//! 4. picks the next batch: the highest-priority review items, or with `classBudget` a
//!    per-class budget proportional to the expected errors left in each class (largest
//!    remainder, at least `minPerClass` where available), highest priority first within a
//!    class;
//! 5. applies the **stopping rule**.
//!
//! # Sequential audit (default)
//! With `stopping.sequential` the audit is drawn `auditStep` items at a time, uniformly without
//! replacement from the unreviewed, unfailed items at its start, and read after every step by
//! the anytime-valid betting confidence sequence of [`super::audit`]: with probability
//! `>= 1 - delta_j` the number of wrong labels `D` in that remainder is at most `U` at every
//! step at once, so the audit stops as soon as `(U - wrong found + failed) / N` is at most the
//! target (the audited wrong labels are fixed), or gives up when it finds 3 or more wrong at
//! more than twice the rate it must certify (the rounds then go on; the next audit is tested
//! at `delta_{j+1}`). Audited items count as reviews. The caller appends each step's indices
//! to the audit's record (`AuditPlan.number` says which); nothing else may be reviewed while
//! an audit is open (the planner then closes it).
//!
//! # Stopping rule and its bound (fixed-size audit, `sequential: false`)
//! The model's estimate of the errors left (step 3) is not a guarantee. When it falls to
//! `auditAt x targetErrorRate` of the pool, the planner asks for an **audit** instead of a
//! batch: a uniform random sample (seeded) of the unreviewed, unfailed items, of the size at
//! which an observed error rate of `auditMargin x` the estimate would still certify the
//! target. The reviewer labels them like any
//! batch and the caller returns the count of wrong labels in an [`AuditRecord`]. With `x`
//! wrong out of `m` audited from a remainder of `R` items, the Clopper-Pearson upper bound
//! `u` on the remainder's error rate gives, with probability `>= 1 - delta_j`, at most `u R`
//! wrong labels left, a number reviews only lower; adding the failed items (counted as
//! wrong), the bound on the pool's error rate is `(u R + failed) / N`. The planner stops when
//! that is `<= targetErrorRate`. Audit `j` (1-based) is tested at `delta_j = delta / 2^j`, so
//! the chance that any audit certifies falsely is at most `delta`. After a failed audit the
//! next one waits until the estimate has halved.

use serde::{Deserialize, Serialize};

use super::audit::{self, AuditStatus};
use super::noise_model::{round_p_wrong, NoiseModel, NoiseModelConfig};
use super::policy::{
    apply_policy, fit_policy, in_unit, require, FittedPolicy, PolicyConfig, PoolSet, Tier,
    TierResponse, VerifiedSet,
};
use super::select::{select_batch, ClassBudget, SelectOptions, SelectRequest, Strategy};
use crate::engine::probs::{argmax, ln_binom_cdf, SplitMix64};
use crate::error::{err, Result};

/// One review outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewOutcome {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The label the reviewer confirmed or gave.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// An audit done: echo of the planner's [`AuditPlan`] with the count of wrong labels found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditRecord {
    /// Unreviewed, unfailed items when the audit was drawn.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub remainder_size: usize,
    /// Items audited (a fixed-size audit; derived from `indices` in a sequential one).
    #[serde(default)]
    pub sampled: usize,
    /// Audited items whose label (given, or predicted when none) was wrong (fixed-size audit).
    #[serde(default)]
    pub wrong: usize,
    /// The planner's estimated error rate of the pool when it asked for the audit.
    pub estimated_rate: f64,
    /// A sequential audit: the pool indices audited so far, in the order drawn (each one's
    /// outcome is read from `reviewed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub indices: Option<Vec<usize>>,
}

/// Stopping rule settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StoppingRule {
    /// Stop when the pool's error rate is certified below this (default 0.01).
    pub target_error_rate: f64,
    /// Total failure probability of the certificate (default 0.05).
    pub delta: f64,
    /// Ask for an audit once the estimated rate is below `auditAt x target` (default 0.5: a
    /// sequential audit that finds the rate too high gives up after 3 wrong labels, so an early
    /// one costs little).
    pub audit_at: f64,
    /// Largest audit (default 3000).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_audit: usize,
    /// The audit is sized to certify the target if the observed error rate is up to this
    /// multiple of the estimate (default 2; fixed-size audits).
    pub audit_margin: f64,
    /// Audit sequentially (default true): `auditStep` items at a time, read by an
    /// anytime-valid betting confidence sequence ([`super::audit`]), stopping as soon as the
    /// target is certified; false draws one audit sized in advance (Clopper-Pearson).
    pub sequential: bool,
    /// Items per step of a sequential audit (default 25).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub audit_step: usize,
}

impl Default for StoppingRule {
    fn default() -> Self {
        StoppingRule {
            target_error_rate: 0.01,
            delta: 0.05,
            audit_at: 0.5,
            max_audit: 3000,
            audit_margin: 2.0,
            sequential: true,
            audit_step: 25,
        }
    }
}

/// A diverse-batch strategy for the round's batch ([`super::select`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selection {
    /// `topK`, `rankedBatch`, `kCenterGreedy` or `badge` (all but `topK` need `embeddings`).
    pub strategy: Strategy,
    /// Its options (metric, seed, …). With the round's `classBudget`, the per-class counts
    /// are the round's.
    #[serde(default)]
    pub options: SelectOptions,
}

/// Planning options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PlanOptions {
    /// Items per batch (default 500).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch_size: usize,
    /// Per-class budget proportional to expected errors left (default true).
    pub class_budget: bool,
    /// Floor per class under `classBudget` (default 0).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub min_per_class: usize,
    /// Seed of the audit draws (default 0).
    pub seed: u64,
    /// Stopping rule.
    pub stopping: StoppingRule,
    /// Pick the batch with a diversity strategy over the review candidates, scored by their
    /// priority (default: none, the highest priorities).
    pub selection: Option<Selection>,
    /// The label-noise model behind the review order and the per-class budgets
    /// ([`super::noise_model`]; default on).
    pub noise_model: NoiseModelConfig,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            batch_size: 500,
            class_budget: true,
            min_per_class: 0,
            seed: 0,
            stopping: StoppingRule::default(),
            selection: None,
            noise_model: NoiseModelConfig::default(),
        }
    }
}

/// Request for [`plan_round`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoundRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// The verified set before any round.
    pub verified: VerifiedSet,
    /// The whole pool (reviewed items included; they are skipped).
    pub pool: PoolSet,
    /// Review outcomes so far (batches and audits).
    #[serde(default)]
    pub reviewed: Vec<ReviewOutcome>,
    /// Audits so far, oldest first.
    #[serde(default)]
    pub audits: Vec<AuditRecord>,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Planning options.
    #[serde(default)]
    pub options: PlanOptions,
    /// Pool embeddings, `n x d` row-major (for `options.selection`).
    #[serde(default)]
    pub embeddings: Option<Vec<f64>>,
    /// Embedding dimension.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: Option<usize>,
    /// Verified items' embeddings, `verified.n x d` (the initial labelled set of the
    /// diversity strategies; reviewed pool items join it).
    #[serde(default)]
    pub verified_embeddings: Option<Vec<f64>>,
}

/// An audit to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPlan {
    /// Pool indices to review (uniform sample of the unreviewed, unfailed items).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub indices: Vec<usize>,
    /// Size of the remainder it was drawn from (echo it in the [`AuditRecord`]).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub remainder_size: usize,
    /// Estimated error rate of the pool now (echo it too).
    pub estimated_rate: f64,
    /// Failure probability this audit is tested at.
    pub delta: f64,
    /// Sequential audit: review `indices` and append them to the record's `indices`.
    pub sequential: bool,
    /// 1-based audit number: when it equals the number of audit records, the step continues
    /// the last record (append to it); otherwise push a new record.
    pub number: usize,
    /// Where the sequential audit stands before this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AuditStatus>,
}

/// Expected errors left in one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassEstimate {
    /// Class (of the item's current label).
    pub class: usize,
    /// Unreviewed items with this current label.
    pub unreviewed: usize,
    /// Expected wrong labels among them.
    pub expected_errors: f64,
    /// Reviewed items of this class so far.
    pub reviewed: usize,
    /// Wrong labels found.
    pub wrong_found: usize,
    /// Items of the next batch from this class.
    pub budget: usize,
}

/// Where the pool stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolEstimate {
    /// Pool size.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Reviewed so far.
    pub reviewed: usize,
    /// Unreviewed.
    pub unreviewed: usize,
    /// Failed items (unreviewed, no usable probabilities).
    pub failed: usize,
    /// Auto-accepted now.
    pub auto_accepted: usize,
    /// Expected wrong labels left (model estimate, corrected per class; failed count as wrong).
    pub expected_errors: f64,
    /// `expectedErrors / n`.
    pub expected_error_rate: f64,
    /// Certified upper bound on the pool's error rate from the latest audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_error_rate: Option<f64>,
    /// Probability that the certificate fails (sum over audits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_delta: Option<f64>,
}

/// The plan of the next round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoundPlan {
    /// Pool indices to review next, in order (empty when an audit is asked for or when
    /// stopping).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch: Vec<usize>,
    /// An audit to run instead of a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditPlan>,
    /// Stop: the target is certified (or nothing is left to review).
    pub stop: bool,
    /// Why (or why not) stop.
    pub stop_reason: String,
    /// Pool estimate.
    pub estimate: PoolEstimate,
    /// Per-class estimates and budgets.
    pub per_class: Vec<ClassEstimate>,
    /// The triage of the unreviewed items (indices are pool indices).
    pub tiers: TierResponse,
    /// The fitted label-noise model (when enabled and the pool came with labels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_model: Option<NoiseModel>,
}

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
fn seq_target(s: &StoppingRule, n: usize, remainder: usize) -> f64 {
    (s.target_error_rate * n as f64 / remainder.max(1) as f64).min(1.0)
}

/// Seed of step `sampled` of audit `j`.
fn audit_seed(seed: u64, j: usize, sampled: usize) -> u64 {
    seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(j as u64)
        ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(sampled as u64 + 1)
}

/// The outcomes (label wrong?) of a sequential audit's items, in draw order: the reviewed
/// label against the label the item came with (its prediction when none).
fn audit_outcomes(req: &RoundRequest, ix: &[usize], remainder: usize) -> Result<Vec<bool>> {
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

/// Smallest audit size at which an observed rate `rate` would certify `target` (capped).
fn audit_size(rate: f64, target: f64, delta: f64, cap: usize) -> usize {
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

fn check_options(o: &PlanOptions) -> Result<()> {
    let s = &o.stopping;
    require(o.batch_size >= 1, "batchSize", ">= 1", o.batch_size)?;
    in_unit(s.target_error_rate, "stopping.targetErrorRate")?;
    in_unit(s.delta, "stopping.delta")?;
    let m = s.audit_margin;
    require(m.is_finite() && m >= 1.0, "stopping.auditMargin", ">= 1", m)?;
    let a = s.audit_at;
    require(a > 0.0 && a <= 1.0, "stopping.auditAt", "in (0, 1]", a)?;
    require(
        s.audit_step >= 1,
        "stopping.auditStep",
        ">= 1",
        s.audit_step,
    )?;
    o.noise_model.check()
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

/// The unreviewed part of the pool: its items in pool order, and each pool item's position
/// among them (`usize::MAX` for a reviewed one).
fn unreviewed(reviewed: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let rest: Vec<usize> = (0..reviewed.len()).filter(|&i| !reviewed[i]).collect();
    let mut pos = vec![usize::MAX; reviewed.len()];
    for (r, &i) in rest.iter().enumerate() {
        pos[i] = r;
    }
    (rest, pos)
}

/// The policy's tiers of the unreviewed items, with pool indices.
fn tier_rest(
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
fn order_by_noise(tiers: &mut TierResponse, pos: &[usize], p_wrong: impl Fn(usize) -> Option<f64>) {
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
fn reviewed_per_class(req: &RoundRequest) -> (Vec<usize>, Vec<usize>) {
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
struct Left {
    /// Expected wrong labels per class among the unreviewed items that did not fail.
    expected: Vec<f64>,
    /// Unreviewed items with a label, per class.
    unreviewed: Vec<usize>,
    /// Failed items (they count as wrong).
    failed: usize,
    /// Auto-accepted items.
    auto_accepted: usize,
    /// The unreviewed items that did not fail (the audit's remainder), in item order.
    remainder: Vec<usize>,
}

/// Count what is left; the expected errors come from the noise model where it has a say,
/// else from the error model `P(label wrong | priority)` (isotonic on the verified and
/// reviewed items), else from the priority itself.
fn what_is_left(
    tiers: &TierResponse,
    fp: &FittedPolicy,
    k: usize,
    p_wrong: impl Fn(usize) -> Option<f64>,
) -> Left {
    let model = fp.error_model();
    let mut left = Left {
        expected: vec![0.0; k],
        unreviewed: vec![0; k],
        failed: 0,
        auto_accepted: 0,
        remainder: Vec::new(),
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
            left.expected[c] +=
                p_wrong(it.index).unwrap_or_else(|| model.as_ref().map_or(p, |m| m.predict(p)));
        }
    }
    left
}

/// What the latest audit certifies.
#[derive(Default)]
struct Certificate {
    /// Upper bound on the pool's error rate.
    rate: Option<f64>,
    /// With probability at least `1 - delta`.
    delta: Option<f64>,
    /// A sequential audit's status, and whether it goes on: nothing else was reviewed since
    /// it began, it may still certify, and it has not reached its cap.
    seq: Option<(AuditStatus, bool)>,
}

/// The certificate of the latest audit (none before the first one).
fn certificate(req: &RoundRequest, left: &Left) -> Result<Certificate> {
    let (s, n) = (&req.options.stopping, req.pool.n);
    let failed = left.failed as f64;
    let Some(a) = req.audits.last() else {
        return Ok(Certificate::default());
    };
    let j = req.audits.len() as i32;
    let dj = s.delta / 2f64.powi(j);
    let delta = Some(s.delta * (1.0 - 0.5f64.powi(j)));
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

/// What every plan carries, whatever it decides.
struct Outcome {
    estimate: PoolEstimate,
    per_class: Vec<ClassEstimate>,
    tiers: TierResponse,
    noise_model: Option<NoiseModel>,
}

impl Outcome {
    fn plan(
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
    fn stop(self, reason: String) -> RoundPlan {
        self.plan(Vec::new(), None, true, reason)
    }
    fn audit(self, (audit, reason): (AuditPlan, String)) -> RoundPlan {
        self.plan(Vec::new(), Some(audit), false, reason)
    }
}

/// The stop message when the certificate reaches the target.
fn certified(req: &RoundRequest, cert: &Certificate) -> Option<String> {
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
fn continue_audit(
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
fn start_audit(
    req: &RoundRequest,
    left: &Left,
    expected_errors: f64,
    expected_rate: f64,
) -> Option<(AuditPlan, String)> {
    let (o, n) = (&req.options, req.pool.n);
    let s = &o.stopping;
    let j = req.audits.len() as i32 + 1;
    let dj = s.delta / 2f64.powi(j);
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
        let indices = audit::draw_step(remainder, m, audit_seed(o.seed, j as usize, 0));
        let reason = format!(
            "The estimated error rate {:.3}% is within {:.0}% of the target {:.3}%: a sequential audit of the {r_len} unreviewed items starts with {m} drawn at random.",
            expected_rate * 100.0,
            s.audit_at * 100.0,
            s.target_error_rate * 100.0
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
        number: j as usize,
        status: None,
    };
    Some((plan, reason))
}

/// The next review batch from `review_left` (the review order without failed items): by class
/// budget, by a diversity strategy, or the top of the order; each class's `budget` is set.
fn next_batch(
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
    let left = what_is_left(&tiers, &fp, k, p_wrong);
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
    let last_est = req.audits.last().map(|a| a.estimated_rate);
    let trigger = expected_rate <= s.audit_at * s.target_error_rate
        && last_est.is_none_or(|e| expected_rate <= 0.5 * e);
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

/// The round's batch by a diversity strategy: candidates are the review items, scored by
/// priority; the labelled set is the verified embeddings plus the reviewed items'.
fn select_round_batch(
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
fn check_pool(pool: &PoolSet, k: usize) -> Result<()> {
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
fn with_reviewed(req: &RoundRequest) -> Result<(VerifiedSet, Vec<bool>)> {
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
fn subset(pool: &PoolSet, k: usize, rest: &[usize], pos: &[usize], reviewed: &[bool]) -> PoolSet {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-class request: `nv` verified items and a pool of `n`, every label right and
    /// confident except pool items `wrong` (given the other class).
    fn request(nv: usize, n: usize, wrong: &[usize]) -> RoundRequest {
        let row = |i: usize| {
            if i.is_multiple_of(2) {
                [0.9, 0.1]
            } else {
                [0.1, 0.9]
            }
        };
        let json = serde_json::json!({
            "k": 2,
            "verified": {
                "predProbs": (0..nv).flat_map(row).collect::<Vec<f64>>(),
                "n": nv,
                "labels": (0..nv).map(|i| i % 2).collect::<Vec<usize>>(),
            },
            "pool": {
                "predProbs": (0..n).flat_map(row).collect::<Vec<f64>>(),
                "n": n,
                "givenLabels": (0..n)
                    .map(|i| ((i % 2) ^ usize::from(wrong.contains(&i))) as i64)
                    .collect::<Vec<i64>>(),
            },
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn clopper_pearson_bounds() {
        // no error in m draws: 1 - delta^(1/m)
        let u = clopper_pearson_upper(0, 10, 0.05);
        assert!((u - (1.0 - 0.05f64.powf(0.1))).abs() < 1e-9, "{u}");
        assert_eq!(clopper_pearson_upper(3, 3, 0.05), 1.0);
        assert_eq!(clopper_pearson_upper(0, 0, 0.05), 1.0);
        // more errors, or more confidence, give a higher bound
        assert!(clopper_pearson_upper(2, 50, 0.05) > clopper_pearson_upper(1, 50, 0.05));
        assert!(clopper_pearson_upper(1, 50, 0.01) > clopper_pearson_upper(1, 50, 0.05));
    }

    #[test]
    fn audit_sizes() {
        assert_eq!(audit_size(0.0, 0.05, 0.05, 0), 0);
        // zero errors: the smallest m with 1 - delta^(1/m) <= target
        let m = audit_size(0.0, 0.05, 0.05, 10_000);
        assert!(clopper_pearson_upper(0, m, 0.05) <= 0.05);
        assert!(clopper_pearson_upper(0, m - 1, 0.05) > 0.05);
        // a rate at the target can never certify it: the cap
        assert_eq!(audit_size(0.05, 0.05, 0.05, 300), 300);
    }

    #[test]
    fn allocation_is_proportional_capped_and_floored() {
        let a = allocate(10, &[3.0, 1.0], &[100, 100], 0);
        assert_eq!(a.iter().sum::<usize>(), 10);
        assert!(a[0] > a[1]);
        assert_eq!(allocate(10, &[3.0, 1.0], &[2, 100], 0), vec![2, 8]);
        assert_eq!(allocate(10, &[1.0, 0.0], &[100, 100], 3)[1], 3);
        // never more than there is
        assert_eq!(allocate(10, &[1.0, 1.0], &[2, 3], 0), vec![2, 3]);
    }

    #[test]
    fn unreviewed_positions() {
        let (rest, pos) = unreviewed(&[false, true, false]);
        assert_eq!(rest, vec![0, 2]);
        assert_eq!(pos, vec![0, usize::MAX, 1]);
    }

    #[test]
    fn a_round_reviews_the_most_likely_wrong_first() {
        let mut req = request(200, 40, &[7, 12]);
        req.options.batch_size = 2;
        let p = plan_round(&req).unwrap();
        assert!(!p.stop);
        assert!(p.audit.is_none());
        let mut b = p.batch.clone();
        b.sort_unstable();
        assert_eq!(b, vec![7, 12], "{}", p.stop_reason);
        assert_eq!(p.estimate.n, 40);
        assert_eq!(p.estimate.unreviewed, 40);
        assert_eq!(p.per_class.iter().map(|c| c.budget).sum::<usize>(), 2);
    }

    #[test]
    fn everything_reviewed_stops() {
        let mut req = request(200, 4, &[]);
        req.reviewed = (0..4)
            .map(|i| ReviewOutcome {
                index: i,
                label: i % 2,
            })
            .collect();
        let p = plan_round(&req).unwrap();
        assert!(p.stop);
        assert_eq!(p.stop_reason, "Every item is reviewed.");
        assert!(p.batch.is_empty());
        assert_eq!(p.estimate.reviewed, 4);
    }

    #[test]
    fn bad_audit_records_and_reviews_are_refused() {
        let mut req = request(200, 40, &[]);
        req.audits = vec![AuditRecord {
            remainder_size: 10,
            sampled: 11,
            wrong: 0,
            estimated_rate: 0.01,
            indices: None,
        }];
        assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_input");
        let mut req = request(200, 40, &[]);
        req.reviewed = vec![ReviewOutcome {
            index: 40,
            label: 0,
        }];
        assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_input");
        let mut req = request(200, 40, &[]);
        req.options.batch_size = 0;
        assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_options");
    }
}
