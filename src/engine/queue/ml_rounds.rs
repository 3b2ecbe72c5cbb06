//! Progressive rounds for multi-label images: plan the next review batch from what the
//! previous rounds taught, with an anytime-valid stopping rule on the image error rate.
//!
//! The multi-label counterpart of [`super::rounds`]. A round request carries the verified
//! set, the pool, every review so far (pool index and the findings the reviewer confirmed or
//! gave) and the audits so far. The planner
//! 1. moves the reviewed images into the verified set (they refit the calibration per
//!    finding, the certified auto-accept rule and the conformal thresholds);
//! 2. triages the unreviewed rest with the multi-label policy ([`super::ml_policy`]);
//! 3. estimates the wrong images left as the sum of their priorities (the calibrated
//!    probability that some finding of the image is wrong, failed images counted as wrong),
//!    and per finding the sum of the per-finding priorities;
//! 4. picks the next batch: the `batchSize` review images of highest priority;
//! 5. applies the **stopping rule**: an image is *wrong* when the findings a reviewer gives
//!    differ from the ones it would end with unreviewed (the given findings, else the model's
//!    decisions on the uncalibrated probabilities). When an audit is due (`auditWhen`: by
//!    expected cost, each image's priority being its expected chance of a wrong finding, or
//!    once the estimated image error rate is at most `auditAt x targetErrorRate`; as in
//!    [`super::rounds`]), the planner asks for a **sequential audit** of the
//!    unreviewed, unfailed images, `auditStep` at a time, drawn uniformly without replacement
//!    and read by the betting confidence sequence of [`super::audit`]: with probability at
//!    least `1 - delta_j` the wrong images left are at most `U` at every step at once, so the
//!    rounds stop as soon as `(U - wrong found + failed) / N <= targetErrorRate`. Audit `j` is
//!    tested at `delta_j` (`firstAuditShare x delta` for the first, then halving), so all
//!    audits together fail with probability at most `delta`. An audit stays open while
//!    nothing else is reviewed, it may still certify, and
//!    it is below `maxAudit`; it gives up after 3 wrong images at more than twice the rate it
//!    must certify.

use serde::{Deserialize, Serialize};

use super::audit::{self, AuditStatus};
use super::ml_policy::{
    apply_ml_policy, decided, finding_names, fit_ml_policy, given_ml, MlPolicyConfig, MlPoolSet,
    MlTierResponse, MlVerifiedSet,
};
use super::policy::{require, Tier};
use super::rounds::{
    audit_delta, audit_is_due, audit_seed, check_audit_schedule, check_batch_and_risk, spent_delta,
    AuditPlan, AuditRecord, AuditState, AuditWhen, PoolEstimate, StoppingRule,
};
use crate::error::{err, Result};

/// One review of a multi-label image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlReviewOutcome {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The findings the reviewer confirmed or gave (`[]`: no finding).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub findings: Vec<usize>,
}

/// Planning options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlPlanOptions {
    /// Images per batch (default 100).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch_size: usize,
    /// Seed of the audit draws (default 0).
    pub seed: u64,
    /// Stopping rule (sequential audits only: `sequential` must stay true).
    pub stopping: StoppingRule,
}

impl Default for MlPlanOptions {
    fn default() -> Self {
        MlPlanOptions {
            batch_size: 100,
            seed: 0,
            stopping: StoppingRule::default(),
        }
    }
}

/// Request of [`plan_round_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlRoundRequest {
    /// Findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Finding names (default: the index).
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// The verified set before any round.
    pub verified: MlVerifiedSet,
    /// The whole pool (reviewed images included; they are skipped).
    pub pool: MlPoolSet,
    /// Reviews so far (batches and audits).
    #[serde(default)]
    pub reviewed: Vec<MlReviewOutcome>,
    /// Audits so far, oldest first (each with its `indices`).
    #[serde(default)]
    pub audits: Vec<AuditRecord>,
    /// The policy.
    #[serde(default)]
    pub policy: MlPolicyConfig,
    /// Planning options.
    #[serde(default)]
    pub options: MlPlanOptions,
}

/// Where one finding stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingEstimate {
    /// Finding index.
    pub finding: usize,
    /// Finding name.
    pub name: String,
    /// Expected wrong labels of this finding among the unreviewed, unfailed images.
    pub expected_errors: f64,
    /// Reviewed images whose label of this finding was wrong.
    pub wrong_found: usize,
}

/// The plan of the next round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlRoundPlan {
    /// Pool indices to review next (empty when an audit is asked for or when stopping).
    pub batch: Vec<usize>,
    /// An audit step to run instead of a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditPlan>,
    /// Stop: the target is certified (or nothing is left to review).
    pub stop: bool,
    /// Why (or why not) stop.
    pub stop_reason: String,
    /// Pool estimate (images).
    pub estimate: PoolEstimate,
    /// Per-finding estimates.
    pub per_finding: Vec<FindingEstimate>,
    /// Reviewed images with some finding wrong.
    pub wrong_images_found: usize,
    /// The triage of the unreviewed images (indices are pool indices).
    pub tiers: MlTierResponse,
}

fn check_options(o: &MlPlanOptions) -> Result<()> {
    let s = &o.stopping;
    check_batch_and_risk(o.batch_size, s)?;
    check_audit_schedule(s)?;
    require(
        s.sequential,
        "stopping.sequential",
        "true for multi-label rounds",
        s.sequential,
    )
}

/// The findings pool image `i` ends with unreviewed: given, else the decisions on its
/// uncalibrated probabilities (`None`: no usable row).
fn current(req: &MlRoundRequest, given: &[Option<Vec<usize>>], i: usize) -> Option<Vec<usize>> {
    let k = req.k;
    let row = &req.pool.pred_probs[i * k..(i + 1) * k];
    given[i]
        .clone()
        .or_else(|| row.iter().all(|v| v.is_finite()).then(|| decided(row)))
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.dedup();
    s
}

/// The verified set with the reviewed images appended, and which pool images are reviewed.
fn with_reviewed(req: &MlRoundRequest) -> Result<(MlVerifiedSet, Vec<bool>)> {
    let (k, n, p) = (req.k, req.pool.n, &req.pool);
    let mut v = req.verified.clone();
    let mut reviewed = vec![false; n];
    let pgiven = given_ml(&p.given_labels, n, k, "pool.givenLabels")?;
    for r in &req.reviewed {
        if r.index >= n || reviewed[r.index] {
            return Err(err!(
                InvalidInput,
                "reviewed: index {} is out of the pool or listed twice",
                r.index
            ));
        }
        if let Some(&j) = r.findings.iter().find(|&&j| j >= k) {
            return Err(err!(
                InvalidInput,
                "reviewed: finding {j} of image {} is not < k = {k}",
                r.index
            ));
        }
        reviewed[r.index] = true;
        v.pred_probs
            .extend_from_slice(&p.pred_probs[r.index * k..(r.index + 1) * k]);
        v.labels.push(sorted(&r.findings));
        if let Some(g) = v.given_labels.as_mut() {
            g.push(pgiven[r.index].clone());
        }
        v.outlier_scores = match (v.outlier_scores.take(), &p.outlier_scores) {
            (Some(mut s), Some(ps)) => {
                s.push(ps[r.index]);
                Some(s)
            }
            _ => None,
        };
        v.n += 1;
    }
    Ok((v, reviewed))
}

/// The unreviewed part of the pool, re-indexed.
fn subset(p: &MlPoolSet, k: usize, rest: &[usize]) -> MlPoolSet {
    let pick_f = |v: &Option<Vec<f64>>| v.as_ref().map(|v| rest.iter().map(|&i| v[i]).collect());
    let pos: std::collections::HashMap<usize, usize> =
        rest.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    MlPoolSet {
        pred_probs: rest
            .iter()
            .flat_map(|&i| p.pred_probs[i * k..(i + 1) * k].iter().copied())
            .collect(),
        n: rest.len(),
        given_labels: p
            .given_labels
            .as_ref()
            .map(|g| rest.iter().map(|&i| g[i].clone()).collect()),
        outlier_scores: pick_f(&p.outlier_scores),
        agreement: pick_f(&p.agreement),
        failed: p
            .failed
            .iter()
            .filter_map(|i| pos.get(i).copied())
            .collect(),
    }
}

/// Image-wrong outcomes of an audit's images, in draw order.
fn audit_outcomes(
    req: &MlRoundRequest,
    given: &[Option<Vec<usize>>],
    ix: &[usize],
    remainder: usize,
) -> Result<Vec<bool>> {
    if ix.is_empty() || ix.len() > remainder {
        return Err(err!(
            InvalidInput,
            "audit record: {} indices for a remainder of {remainder} images",
            ix.len()
        ));
    }
    let by: std::collections::HashMap<usize, &[usize]> = req
        .reviewed
        .iter()
        .map(|r| (r.index, r.findings.as_slice()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    ix.iter()
        .map(|&i| {
            let f = by.get(&i).filter(|_| seen.insert(i)).ok_or_else(|| {
                err!(
                    InvalidInput,
                    "audit record: image {i} is listed twice or has no review"
                )
            })?;
            Ok(current(req, given, i) != Some(sorted(f)))
        })
        .collect()
}

/// What the reviews found: wrong images, and per finding the wrong labels.
fn found(req: &MlRoundRequest, given: &[Option<Vec<usize>>]) -> (usize, Vec<usize>) {
    let mut per = vec![0usize; req.k];
    let mut images = 0;
    for r in &req.reviewed {
        let Some(cur) = current(req, given, r.index) else {
            continue;
        };
        let truth = sorted(&r.findings);
        images += (cur != truth) as usize;
        for (j, w) in per.iter_mut().enumerate() {
            *w += (cur.contains(&j) != truth.contains(&j)) as usize;
        }
    }
    (images, per)
}

/// The state of the latest audit: its status, whether it is still open, its certified rate.
struct OpenAudit {
    status: AuditStatus,
    open: bool,
    rate: f64,
    number: usize,
}

fn latest_audit(
    req: &MlRoundRequest,
    given: &[Option<Vec<usize>>],
    left: usize,
    failed: usize,
) -> Result<Option<OpenAudit>> {
    let Some(a) = req.audits.last() else {
        return Ok(None);
    };
    let s = &req.options.stopping;
    let n = req.pool.n.max(1) as f64;
    let ix = a.indices.as_deref().ok_or_else(|| {
        err!(
            InvalidInput,
            "audit record: multi-label audits are sequential and need their indices"
        )
    })?;
    let j = req.audits.len();
    let target = (s.target_error_rate * n / a.remainder_size.max(1) as f64).min(1.0);
    let outcomes = audit_outcomes(req, given, ix, a.remainder_size)?;
    let status = audit::status(
        &outcomes,
        a.remainder_size,
        audit_delta(s, j),
        target,
        a.estimated_rate * n / a.remainder_size.max(1) as f64,
    )?;
    let open = left + ix.len() == a.remainder_size
        && !audit::futile(&outcomes, target)
        && status.sampled < s.max_audit.min(a.remainder_size);
    Ok(Some(OpenAudit {
        rate: (status.upper_wrong_left + failed) as f64 / n,
        status,
        open,
        number: j,
    }))
}

/// The unreviewed, unfailed images and the estimate over them.
fn estimate(tiers: &MlTierResponse, n: usize, reviewed: usize) -> (Vec<usize>, PoolEstimate) {
    let (mut failed, mut auto, mut exp, mut remainder) = (0usize, 0usize, 0.0, Vec::new());
    for it in &tiers.items {
        match it.tier {
            Tier::Failed => failed += 1,
            t => {
                remainder.push(it.index);
                auto += (t == Tier::AutoAccept) as usize;
                exp += it.priority.unwrap_or(0.0);
            }
        }
    }
    let expected_errors = exp + failed as f64;
    let e = PoolEstimate {
        n,
        reviewed,
        unreviewed: n - reviewed,
        failed,
        auto_accepted: auto,
        expected_errors,
        expected_error_rate: expected_errors / n.max(1) as f64,
        certified_error_rate: None,
        certified_delta: None,
    };
    (remainder, e)
}

fn per_finding(tiers: &MlTierResponse, wrong: &[usize]) -> Vec<FindingEstimate> {
    (0..wrong.len())
        .map(|j| FindingEstimate {
            finding: j,
            name: tiers.findings[j].clone(),
            expected_errors: tiers
                .items
                .iter()
                .filter_map(|it| it.finding_priority.as_ref().map(|f| f[j]))
                .sum(),
            wrong_found: wrong[j],
        })
        .collect()
}

/// The triage of the unreviewed images, indices mapped back to the pool.
fn triage_rest(
    req: &MlRoundRequest,
    names: &[String],
    verified: &MlVerifiedSet,
    reviewed: &[bool],
) -> Result<MlTierResponse> {
    let fp = fit_ml_policy(req.k, verified, &req.policy)?;
    let rest: Vec<usize> = (0..req.pool.n).filter(|&i| !reviewed[i]).collect();
    let mut tiers = apply_ml_policy(
        req.k,
        names,
        &subset(&req.pool, req.k, &rest),
        &req.policy,
        &fp,
    )?;
    for it in tiers.items.iter_mut() {
        it.index = rest[it.index];
    }
    for i in tiers.order.iter_mut() {
        *i = rest[*i];
    }
    Ok(tiers)
}

/// Plan the next round (JS `planRoundMultiLabel`, CLI `queue plan --multi-label`).
pub fn plan_round_ml(req: &MlRoundRequest) -> Result<MlRoundPlan> {
    check_options(&req.options)?;
    let (n, k) = (req.pool.n, req.k);
    if k == 0 || n.checked_mul(k) != Some(req.pool.pred_probs.len()) {
        return Err(err!(
            InvalidInput,
            "pool.predProbs: {} values, expected n x k = {n} x {k} (k >= 1)",
            req.pool.pred_probs.len()
        ));
    }
    let names = finding_names(&req.findings, req.k)?;
    let (verified, reviewed) = with_reviewed(req)?;
    let given = given_ml(
        &req.pool.given_labels,
        req.pool.n,
        req.k,
        "pool.givenLabels",
    )?;
    let tiers = triage_rest(req, &names, &verified, &reviewed)?;
    let n_rev = reviewed.iter().filter(|&&r| r).count();
    let (remainder, mut est) = estimate(&tiers, req.pool.n, n_rev);
    let (wrong_images, wrong) = found(req, &given);
    let audit = latest_audit(req, &given, remainder.len(), est.failed)?;
    if let Some(a) = &audit {
        est.certified_error_rate = Some(a.rate);
        est.certified_delta = Some(spent_delta(&req.options.stopping, a.number));
    }
    let plan = MlRoundPlan {
        batch: Vec::new(),
        audit: None,
        stop: false,
        stop_reason: String::new(),
        per_finding: per_finding(&tiers, &wrong),
        wrong_images_found: wrong_images,
        estimate: est,
        tiers,
    };
    Ok(decide(req, plan, audit, remainder))
}

/// Stop, audit or batch (module docs, step 5).
fn decide(
    req: &MlRoundRequest,
    mut plan: MlRoundPlan,
    audit: Option<OpenAudit>,
    remainder: Vec<usize>,
) -> MlRoundPlan {
    let s = &req.options.stopping;
    if let Some(a) = audit.as_ref().filter(|a| a.rate <= s.target_error_rate) {
        plan.stop = true;
        plan.stop_reason = format!(
            "Certified: with probability at least {:.3}, at most {:.3}% of the pool's images have some finding wrong (target {:.3}%), from a sequential audit of {} images with {} wrong.",
            1.0 - plan.estimate.certified_delta.unwrap_or(s.delta),
            a.rate * 100.0,
            s.target_error_rate * 100.0,
            a.status.sampled,
            a.status.wrong
        );
        return plan;
    }
    if remainder.is_empty() {
        plan.stop = true;
        plan.stop_reason = match plan.estimate.failed {
            0 => "Every image is reviewed.".into(),
            f => format!(
                "Every image is reviewed except {f} failed image(s), which need manual handling."
            ),
        };
        return plan;
    }
    if let (Some(a), Some(rec)) = (audit.as_ref().filter(|a| a.open), req.audits.last()) {
        continue_audit(req, &mut plan, a, rec, &remainder);
        return plan;
    }
    let review_left = review_left(&plan.tiers);
    let (rate, failed) = (plan.estimate.expected_error_rate, plan.estimate.failed);
    let state = AuditState {
        rate,
        expected_errors: plan.estimate.expected_errors,
        failed: failed as f64,
        n: req.pool.n,
        remainder: remainder.len(),
        audits: req.audits.len(),
        last_estimate: req.audits.last().map(|a| a.estimated_rate),
    };
    // each image's expected chance that some finding is wrong is its priority
    let p_next = || {
        let mut p = vec![0.0; req.pool.n];
        for it in plan.tiers.items.iter().filter(|it| it.tier != Tier::Failed) {
            p[it.index] = it.priority.unwrap_or(0.0);
        }
        review_left.iter().map(|&i| p[i]).collect()
    };
    let trigger = audit_is_due(s, &state, p_next, req.options.batch_size);
    let allowed = s.target_error_rate * req.pool.n as f64 > failed as f64;
    if (trigger || review_left.is_empty()) && allowed {
        start_audit(req, &mut plan, &remainder, trigger);
    } else if review_left.is_empty() {
        plan.stop = true;
        plan.stop_reason = "Nothing is left to review, and the failed images alone exceed the target: they need manual handling.".into();
    } else {
        plan.batch = review_left
            .into_iter()
            .take(req.options.batch_size)
            .collect();
        plan.stop_reason = format!(
            "Estimated image error rate {:.3}% (target {:.3}%): review {} more images, highest priority first.",
            rate * 100.0,
            s.target_error_rate * 100.0,
            plan.batch.len()
        );
    }
    plan
}

/// The review order without the failed images.
fn review_left(t: &MlTierResponse) -> Vec<usize> {
    let failed: std::collections::HashSet<usize> = t
        .items
        .iter()
        .filter(|it| it.tier == Tier::Failed)
        .map(|it| it.index)
        .collect();
    t.order
        .iter()
        .copied()
        .filter(|i| !failed.contains(i))
        .collect()
}

/// The next step of the open sequential audit.
fn continue_audit(
    req: &MlRoundRequest,
    plan: &mut MlRoundPlan,
    a: &OpenAudit,
    rec: &AuditRecord,
    remainder: &[usize],
) {
    let s = &req.options.stopping;
    let step = s.audit_step.min(s.max_audit - a.status.sampled);
    let seed = audit_seed(req.options.seed, a.number, a.status.sampled);
    let indices = audit::draw_step(remainder, step, seed);
    plan.stop_reason = format!(
        "Sequential audit {}: {} images checked, {} wrong; the bound allows at most {} wrong images left ({:.3}% of the pool, target {:.3}%): audit {} more.",
        a.number, a.status.sampled, a.status.wrong, a.status.upper_wrong_left, a.rate * 100.0, s.target_error_rate * 100.0, indices.len()
    );
    plan.audit = Some(AuditPlan {
        indices,
        remainder_size: rec.remainder_size,
        estimated_rate: rec.estimated_rate,
        delta: a.status.delta,
        sequential: true,
        number: a.number,
        status: Some(a.status.clone()),
    });
}

/// The first step of a new sequential audit of the unreviewed, unfailed images.
fn start_audit(req: &MlRoundRequest, plan: &mut MlRoundPlan, remainder: &[usize], near: bool) {
    let s = &req.options.stopping;
    let rate = plan.estimate.expected_error_rate;
    let j = req.audits.len() + 1;
    let m = s.audit_step.min(s.max_audit).min(remainder.len());
    let why = match (near, s.audit_when) {
        (true, AuditWhen::Cost) => format!(
            "At an estimated image error rate of {:.3}% (target {:.3}%), certifying now is expected to cost fewer reviews than reviewing more batches first",
            rate * 100.0,
            s.target_error_rate * 100.0
        ),
        (true, AuditWhen::Rate) => format!(
            "The estimated image error rate {:.3}% is within {:.0}% of the target {:.3}%",
            rate * 100.0,
            s.audit_at * 100.0,
            s.target_error_rate * 100.0
        ),
        (false, _) => "Only auto-accepted images are left to review".to_string(),
    };
    plan.stop_reason = format!(
        "{why}: a sequential audit of the {} unreviewed images starts with {m} drawn at random.",
        remainder.len()
    );
    plan.audit = Some(AuditPlan {
        indices: audit::draw_step(remainder, m, audit_seed(req.options.seed, j, 0)),
        remainder_size: remainder.len(),
        estimated_rate: rate,
        delta: audit_delta(s, j),
        sequential: true,
        number: j,
        status: None,
    });
}
