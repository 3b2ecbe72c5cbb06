//! Triaging a pool of images with a fitted policy: failures, pool-wide signals, each image's
//! tier and priorities, and the review order.

use crate::engine::multilabel::calibration::{
    apply_auto_accept, conformal_sets_ml, MlApplyAutoAcceptRequest, MlConformalSetsRequest,
    MlImageSets,
};
use crate::engine::multilabel::label_issues::find_label_issues;
use crate::engine::multilabel::{onehot, MlProbs};
use crate::engine::queue::policy::{check_len, Signal, Tier, TierCounts};
use crate::error::{err, Result};

use super::*;

/// The pool's rows checked: which images failed, and why.
pub(super) fn failures(pool: &MlPoolSet, k: usize) -> Result<Vec<Option<String>>> {
    let n = pool.n;
    let mut fail: Vec<Option<String>> = vec![None; n];
    for &i in &pool.failed {
        let slot = fail
            .get_mut(i)
            .ok_or_else(|| err!(InvalidInput, "pool.failed: index {i} is not < n = {n}"))?;
        *slot = Some("the image failed upstream (decoding or scoring)".into());
    }
    for (i, row) in pool.pred_probs.chunks_exact(k).enumerate() {
        if fail[i].is_none() && !row_ok(row) {
            fail[i] =
                Some("its probabilities are not valid (NaN, infinity, or outside [0, 1])".into());
        }
    }
    Ok(fail)
}

/// What the pool-wide steps give each valid image.
pub(super) struct PoolSignals {
    pub(super) cal: Vec<f64>,
    pub(super) row_of: Vec<usize>,
    pub(super) sets: Option<Vec<MlImageSets>>,
    /// Per image: the findings cleanlab flags (empty: none).
    pub(super) issues: Vec<Vec<usize>>,
    pub(super) accepted: Vec<bool>,
}

pub(super) fn pool_signals(
    k: usize,
    pool: &MlPoolSet,
    given: &[Option<Vec<usize>>],
    fail: &[Option<String>],
    policy: &MlPolicyConfig,
    fp: &MlFittedPolicy,
) -> Result<PoolSignals> {
    let valid: Vec<usize> = (0..pool.n).filter(|&i| fail[i].is_none()).collect();
    let raw: Vec<f64> = valid
        .iter()
        .flat_map(|&i| pool.pred_probs[i * k..(i + 1) * k].iter().copied())
        .collect();
    let m = valid.len();
    let cal = calibrate(&raw, m, k, &fp.fitted.maps)?;
    let mut row_of = vec![usize::MAX; pool.n];
    for (r, &i) in valid.iter().enumerate() {
        row_of[i] = r;
    }
    let sets = match (&fp.fitted.conformal, m > 0) {
        (Some(c), true) => Some(
            conformal_sets_ml(&MlConformalSetsRequest {
                calibration: c.clone(),
                probs: cal.clone(),
                n: m,
                k,
                labels: None,
            })?
            .images,
        ),
        _ => None,
    };
    let accepted = match (&fp.fitted.auto_accept, m > 0) {
        (Some(rule), true) => {
            apply_auto_accept(&MlApplyAutoAcceptRequest {
                rule: rule.clone(),
                probs: cal.clone(),
                n: m,
                k,
                labels: None,
            })?
            .accepted
        }
        _ => vec![false; m],
    };
    let issues = label_issues(k, &cal, &valid, given, policy)?;
    Ok(PoolSignals {
        cal,
        row_of,
        sets,
        issues,
        accepted,
    })
}

/// cleanlab's multi-label issues over the valid images that came with findings.
pub(super) fn label_issues(
    k: usize,
    cal: &[f64],
    valid: &[usize],
    given: &[Option<Vec<usize>>],
    policy: &MlPolicyConfig,
) -> Result<Vec<Vec<usize>>> {
    let mut out = vec![Vec::new(); given.len()];
    if !policy.label_issues.enabled {
        return Ok(out);
    }
    let (mut lp, mut ll, mut li) = (Vec::new(), Vec::new(), Vec::new());
    for (r, &i) in valid.iter().enumerate() {
        if let Some(g) = &given[i] {
            lp.extend_from_slice(&cal[r * k..(r + 1) * k]);
            ll.push(g.clone());
            li.push(i);
        }
    }
    // one-vs-rest confident learning needs each finding seen present and absent
    if ll.len() <= 2 * k {
        return Ok(out);
    }
    let p = MlProbs::new(&lp, ll.len(), k)?;
    let y = onehot(&ll, ll.len(), k)?;
    let r = find_label_issues(&p, &y, &policy.label_issues.options)?;
    for (row, &i) in li.iter().enumerate() {
        if r.is_label_issue[row] {
            let flagged = r.per_finding.get(row * k..(row + 1) * k);
            out[i] = match flagged {
                Some(f) => (0..k).filter(|&j| f[j]).collect(),
                None => Vec::new(),
            };
            if out[i].is_empty() {
                out[i] = (0..k).collect();
            }
        }
    }
    Ok(out)
}

pub(super) fn least_confident(row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, &p) in row.iter().enumerate() {
        let c = p.max(1.0 - p);
        if c < best.1 {
            best = (j, c);
        }
    }
    best
}

pub(super) fn tier_of(r: &Reasons, accepted: bool) -> Tier {
    if !r.outlier.is_empty() {
        Tier::Outlier
    } else if !r.label_err.is_empty() {
        Tier::SuspectedLabelError
    } else if !r.expert.is_empty() {
        Tier::ExpertReview
    } else if r.light.is_empty() && accepted {
        Tier::AutoAccept
    } else {
        Tier::LightReview
    }
}

/// `(priority, per-finding priority)` of the labels an image ends with.
pub fn priorities(row: &[f64], labels: &[usize]) -> (f64, Vec<f64>) {
    let fp: Vec<f64> = (0..row.len())
        .map(|j| {
            if labels.contains(&j) {
                1.0 - row[j]
            } else {
                row[j]
            }
        })
        .collect();
    let right: f64 = fp.iter().map(|w| 1.0 - w).product();
    (1.0 - right, fp)
}

pub(super) fn failed_item(i: usize, given: Option<Vec<usize>>, why: &str) -> MlTieredItem {
    MlTieredItem {
        index: i,
        tier: Tier::Failed,
        probabilities: None,
        predicted: None,
        confidence: None,
        labels: given.clone(),
        given_labels: given,
        undecided: None,
        priority: None,
        finding_priority: None,
        reasons: vec![reason(
            Signal::Failure,
            None,
            None,
            None,
            "",
            format!("Not scored: {why}."),
        )],
    }
}

pub(super) fn valid_item(
    v: &View<'_>,
    s: &PoolSignals,
    pool: &MlPoolSet,
    policy: &MlPolicyConfig,
    fp: &MlFittedPolicy,
) -> MlTieredItem {
    let r_ix = s.row_of[v.i];
    let set = s.sets.as_ref().map(|x| &x[r_ix]);
    let accepted = s.accepted[r_ix];
    let mut r = Reasons::default();
    outlier_reasons(v, pool, policy, fp.fitted.outlier_threshold, &mut r);
    issue_reasons(v, &s.issues[v.i], &mut r);
    confidence_reasons(v, policy, &mut r);
    if let Some(set) = set {
        conformal_reasons(v, set, policy, &mut r);
    }
    agreement_reasons(v, pool, policy, &mut r);
    accept_reasons(v, accepted, fp, policy, &mut r);
    let tier = tier_of(&r, accepted);
    let predicted = decided(v.row);
    let labels = v
        .given
        .map(<[usize]>::to_vec)
        .unwrap_or_else(|| predicted.clone());
    let (priority, finding_priority) = priorities(v.row, &labels);
    let mut reasons = Vec::new();
    reasons.extend(r.outlier);
    reasons.extend(r.label_err);
    reasons.extend(r.expert);
    reasons.extend(if tier == Tier::AutoAccept {
        r.accept
    } else {
        r.light
    });
    MlTieredItem {
        index: v.i,
        tier,
        probabilities: Some(v.row.to_vec()),
        confidence: Some(least_confident(v.row).1),
        predicted: Some(predicted),
        given_labels: v.given.map(<[usize]>::to_vec),
        undecided: set.map(|x| x.undecided.clone()),
        priority: Some(priority),
        finding_priority: Some(finding_priority),
        labels: Some(labels),
        reasons,
    }
}

/// The review order: every tier but auto-accept, highest priority first, ties by tier then
/// index; failed images last.
pub fn review_order(items: &[MlTieredItem]) -> Vec<usize> {
    crate::engine::queue::policy::review_positions(items, |t| t.tier, |t| t.priority)
        .into_iter()
        .map(|p| items[p].index)
        .collect()
}

/// Triage the pool with a fitted policy.
pub fn apply_ml_policy(
    k: usize,
    names: &[String],
    pool: &MlPoolSet,
    policy: &MlPolicyConfig,
    fp: &MlFittedPolicy,
) -> Result<MlTierResponse> {
    if k == 0 || pool.n.checked_mul(k) != Some(pool.pred_probs.len()) {
        return Err(err!(
            InvalidInput,
            "pool.predProbs: {} values, expected n x k = {} x {k} (k >= 1)",
            pool.pred_probs.len(),
            pool.n
        ));
    }
    let given = given_ml(&pool.given_labels, pool.n, k, "pool.givenLabels")?;
    check_len(&pool.outlier_scores, pool.n, "pool.outlierScores")?;
    check_len(&pool.agreement, pool.n, "pool.agreement")?;
    let fail = failures(pool, k)?;
    let s = pool_signals(k, pool, &given, &fail, policy, fp)?;
    let mut counts = TierCounts::default();
    let items: Vec<MlTieredItem> = (0..pool.n)
        .map(|i| {
            let it = match &fail[i] {
                Some(why) => failed_item(i, given[i].clone(), why),
                None => {
                    let r = s.row_of[i];
                    let v = View {
                        i,
                        row: &s.cal[r * k..(r + 1) * k],
                        given: given[i].as_deref(),
                        names,
                    };
                    valid_item(&v, &s, pool, policy, fp)
                }
            };
            counts.add(it.tier);
            it
        })
        .collect();
    Ok(MlTierResponse {
        findings: names.to_vec(),
        order: review_order(&items),
        items,
        counts,
        fitted: fp.fitted.clone(),
    })
}

/// Fit the policy on the verified set and triage the pool (JS `tierItemsMultiLabel`, CLI
/// `queue tiers --multi-label`).
pub fn tier_items_ml(req: &MlTierRequest) -> Result<MlTierResponse> {
    let names = finding_names(&req.findings, req.k)?;
    let fp = fit_ml_policy(req.k, &req.verified, &req.policy)?;
    apply_ml_policy(req.k, &names, &req.pool, &req.policy, &fp)
}
