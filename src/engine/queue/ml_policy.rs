//! Tiered verification of multi-label images: every pool image gets one tier and the reasons
//! behind it, each reason naming the finding it is about.
//!
//! The single-label policy of [`super::policy`], finding by finding. From a **verified set**
//! (per-finding probabilities + the true findings, optionally the findings the images came
//! with and their outlier scores) it fits, with [`crate::engine::multilabel::calibration`]:
//! 1. a **calibration per finding** (temperature, or Platt); every probability below is the
//!    calibrated one;
//! 2. the **certified auto-accept rule** (Learn-then-Test on "some finding of the image is
//!    wrong"): `joint` (default) accepts an image when its least confident finding reaches
//!    one threshold, with probability `>= 1 - delta` over the verified set
//!    `P(some finding of an auto-accepted image is wrong) <= alpha`; `bonferroni` uses one
//!    threshold per finding at `(alpha / k, delta / k)` and bounds
//!    `P(auto-accepted and some finding wrong) <= alpha`. With `requireLabelAgreement`
//!    (default) an image is accepted only when the model's decisions equal the findings it
//!    came with, and the rule is certified on the verified images meeting the same condition;
//! 3. **conformal sets per finding** (at `conformal.alpha` for the image, split over the
//!    findings by Bonferroni): an empty set sends the image to an expert, an undecided finding
//!    (both answers plausible) blocks auto-accept;
//! 4. the **outlier threshold** (a quantile of the verified outlier scores, or fixed);
//!
//! and on the pool it runs cleanlab's multi-label `find_label_issues` on the findings the
//! images came with. A finding is *decided present* when its calibrated probability is at
//! least 0.5; its confidence is `max(p, 1 - p)`. Signals and tiers, in the order of
//! [`super::policy`]: `failed`, `outlier`, `suspectedLabelError` (a flagged finding, or a
//! finding the model contradicts with at least the auto-accept confidence), `expertReview`
//! (a finding below `expert.maxConfidence`, an empty conformal set, low annotator agreement),
//! `autoAccept` (only when nothing else fired), `lightReview`.
//!
//! The **priority** of an image is the probability that its current findings are not all
//! right, `1 - Π_j P(label_j right)` over the findings it would end with (the given ones,
//! else the model's decisions), with the findings independent given the image;
//! `findingPriority[j]` is the probability that finding `j`'s current label is wrong.
//! `order` lists the images to review, highest priority first (ties by tier, then index).

use serde::{Deserialize, Serialize};

use super::policy::{
    check_expert_outliers, check_len, in_unit, quantile, Signal, Tier, TierCounts,
};
use crate::engine::multilabel::calibration::{
    apply_auto_accept, apply_calibration, auto_accept_ml, conformal_calibrate_ml,
    conformal_sets_ml, fit_calibration, FindingMap, MlApplyAutoAcceptRequest,
    MlApplyCalibrationRequest, MlAutoAcceptOptions, MlAutoAcceptRequest, MlAutoAcceptRule,
    MlCalibrateOptions, MlCalibrateRequest, MlConformal, MlConformalRequest,
    MlConformalSetsRequest, MlImageSets,
};
use crate::engine::multilabel::label_issues::{find_label_issues, MlFindOptions};
use crate::engine::multilabel::{onehot, MlProbs};
use crate::engine::triage::calibration::ScoreKind;
use crate::error::{err, ErrorKind, Result};

/// Verified images: their true findings are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlVerifiedSet {
    /// Row-major `n x k` per-finding probabilities (uncalibrated).
    pub pred_probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// True findings per image (`[]`: no finding).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// The findings each image came with before verification (`null`: none given).
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub given_labels: Option<Vec<Option<Vec<usize>>>>,
    /// Outlier scores (lower = more unusual).
    #[serde(default)]
    pub outlier_scores: Option<Vec<f64>>,
}

/// Pool images to triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlPoolSet {
    /// Row-major `n x k` per-finding probabilities (uncalibrated); rows of failed images may
    /// hold anything.
    pub pred_probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// The findings each image came with (`null`: none given).
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub given_labels: Option<Vec<Option<Vec<usize>>>>,
    /// Outlier scores (lower = more unusual).
    #[serde(default)]
    pub outlier_scores: Option<Vec<f64>>,
    /// Annotator agreement in `[0, 1]` per image (NaN: no annotations), e.g. the mean
    /// per-finding agreement of `multiLabelConsensus`.
    #[serde(default)]
    pub agreement: Option<Vec<f64>>,
    /// Images that failed upstream (decoding, scoring): tier `failed`.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub failed: Vec<usize>,
}

/// Calibration settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlCalibrationConfig {
    /// Fit a map per finding on the verified set (default true); false: probabilities as
    /// given.
    pub enabled: bool,
    /// Temperature (default) or Platt, and the search range.
    pub options: MlCalibrateOptions,
}

impl Default for MlCalibrationConfig {
    fn default() -> Self {
        MlCalibrationConfig {
            enabled: true,
            options: MlCalibrateOptions::default(),
        }
    }
}

/// Auto-accept settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlAutoAcceptConfig {
    /// Auto-accept at all (default true).
    pub enabled: bool,
    /// Promised risk that some finding of an accepted image is wrong (default 0.05).
    pub alpha: f64,
    /// Probability that the promise fails (default 0.05).
    pub delta: f64,
    /// Only accept images whose decisions equal the findings they came with (default true).
    pub require_label_agreement: bool,
    /// Multiplicity (joint or Bonferroni), risk mode, p-value, grid.
    pub options: MlAutoAcceptOptions,
}

impl Default for MlAutoAcceptConfig {
    fn default() -> Self {
        MlAutoAcceptConfig {
            enabled: true,
            alpha: 0.05,
            delta: 0.05,
            require_label_agreement: true,
            options: MlAutoAcceptOptions::default(),
        }
    }
}

/// Conformal settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlConformalConfig {
    /// Use conformal sets per finding (default true).
    pub enabled: bool,
    /// Image-level miscoverage (default 0.1).
    pub alpha: f64,
    /// Split `alpha` over the findings (default true).
    pub bonferroni: bool,
}

impl Default for MlConformalConfig {
    fn default() -> Self {
        MlConformalConfig {
            enabled: true,
            alpha: 0.1,
            bonferroni: true,
        }
    }
}

/// Label-issue settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlLabelIssueConfig {
    /// Run cleanlab's multi-label `find_label_issues` on the given findings (default true).
    pub enabled: bool,
    /// Its options.
    pub options: MlFindOptions,
}

impl Default for MlLabelIssueConfig {
    fn default() -> Self {
        MlLabelIssueConfig {
            enabled: true,
            options: MlFindOptions::default(),
        }
    }
}

/// Expert triggers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlExpertConfig {
    /// A finding whose calibrated confidence is below this sends the image to an expert
    /// (default 0.6: a probability between 0.4 and 0.6).
    pub max_confidence: f64,
    /// Annotator agreement below this sends the image to an expert (default 0.5).
    pub min_agreement: f64,
}

impl Default for MlExpertConfig {
    fn default() -> Self {
        MlExpertConfig {
            max_confidence: 0.6,
            min_agreement: 0.5,
        }
    }
}

/// The multi-label policy (one JSON object; unknown fields rejected at every level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlPolicyConfig {
    /// Calibration per finding.
    pub calibration: MlCalibrationConfig,
    /// Certified auto-accept.
    pub auto_accept: MlAutoAcceptConfig,
    /// Conformal sets per finding.
    pub conformal: MlConformalConfig,
    /// Label issues on the given findings.
    pub label_issues: MlLabelIssueConfig,
    /// Expert triggers.
    pub expert: MlExpertConfig,
    /// Outliers.
    pub outliers: super::policy::OutlierConfig,
}

/// Request of [`tier_items_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlTierRequest {
    /// Findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Finding names for the reasons (default: the finding index).
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// Verified images.
    pub verified: MlVerifiedSet,
    /// Images to triage.
    pub pool: MlPoolSet,
    /// The policy.
    #[serde(default)]
    pub policy: MlPolicyConfig,
}

/// Why an image is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlReason {
    /// The signal.
    pub signal: Signal,
    /// The finding it is about (absent: the whole image).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub finding: Option<usize>,
    /// Its value for this image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold it was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The comparison that held (`"<"`, `">="`, `"!="`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    /// A sentence for the reviewer, naming the finding.
    pub message: String,
}

/// One triaged image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlTieredItem {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Its tier.
    pub tier: Tier,
    /// Calibrated per-finding probabilities (absent when failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f64>>,
    /// Findings the model decides present.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: Option<Vec<usize>>,
    /// The confidence of the least confident finding, `min_j max(p_j, 1 - p_j)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The findings the image came with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub given_labels: Option<Vec<usize>>,
    /// Findings whose conformal set holds both answers (when computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub undecided: Option<Vec<usize>>,
    /// Probability that the current findings are not all right (review priority).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// Per finding: probability that its current label is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_priority: Option<Vec<f64>>,
    /// The findings the image ends with if nobody reviews it (given, else predicted).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
    /// Every signal that fired (for auto-accepted images: the ones that certify it).
    pub reasons: Vec<MlReason>,
}

/// What was fitted on the verified set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlFitted {
    /// Calibration maps per finding (absent when disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<Vec<FindingMap>>,
    /// The certified rule (absent when disabled or refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<MlAutoAcceptRule>,
    /// Why there is no auto-accept tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept_refused: Option<String>,
    /// The guarantee, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<String>,
    /// Conformal thresholds per finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformal: Option<MlConformal>,
    /// Outlier threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_threshold: Option<f64>,
    /// Verified images the rule was certified on.
    pub certified_on: usize,
}

/// Response of [`tier_items_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlTierResponse {
    /// Finding names (the request's, else the index as text).
    pub findings: Vec<String>,
    /// One entry per pool image, in input order.
    pub items: Vec<MlTieredItem>,
    /// Images to review, highest priority first (every tier but auto-accept; failed last).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub order: Vec<usize>,
    /// Images per tier.
    pub counts: TierCounts,
    /// Fitted parameters.
    pub fitted: MlFitted,
}

/// Validate the policy numbers.
pub fn check_ml_policy(p: &MlPolicyConfig) -> Result<()> {
    in_unit(p.auto_accept.alpha, "autoAccept.alpha")?;
    in_unit(p.auto_accept.delta, "autoAccept.delta")?;
    in_unit(p.conformal.alpha, "conformal.alpha")?;
    check_expert_outliers(p.expert.max_confidence, p.expert.min_agreement, &p.outliers)
}

/// Finding names: the given ones (exactly `k`), else the index as text.
pub fn finding_names(names: &Option<Vec<String>>, k: usize) -> Result<Vec<String>> {
    match names {
        Some(v) if v.len() != k => Err(err!(
            InvalidInput,
            "findings: {} names for k = {k} findings",
            v.len()
        )),
        Some(v) => Ok(v.clone()),
        None => Ok((0..k).map(|j| j.to_string()).collect()),
    }
}

/// Given findings per image, checked (`None`: the set came without any).
pub fn given_ml(
    v: &Option<Vec<Option<Vec<usize>>>>,
    n: usize,
    k: usize,
    what: &str,
) -> Result<Vec<Option<Vec<usize>>>> {
    let Some(g) = v else {
        return Ok(vec![None; n]);
    };
    if g.len() != n {
        return Err(err!(
            InvalidInput,
            "{what}: expected {n} entries, got {}",
            g.len()
        ));
    }
    let present: Vec<Vec<usize>> = g.iter().map(|x| x.clone().unwrap_or_default()).collect();
    onehot(&present, n, k).map_err(|e| e.context(what))?;
    Ok(g.iter()
        .map(|x| x.as_ref().map(|l| normalized(l)))
        .collect())
}

/// Sorted, without repeats.
fn normalized(l: &[usize]) -> Vec<usize> {
    let mut v = l.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The findings decided present in a row of probabilities.
pub fn decided(row: &[f64]) -> Vec<usize> {
    (0..row.len()).filter(|&j| row[j] >= 0.5).collect()
}

fn row_ok(row: &[f64]) -> bool {
    row.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v))
}

fn calibrate(
    probs: &[f64],
    n: usize,
    k: usize,
    maps: &Option<Vec<FindingMap>>,
) -> Result<Vec<f64>> {
    match maps {
        Some(m) if n > 0 => Ok(apply_calibration(&MlApplyCalibrationRequest {
            scores: probs.to_vec(),
            n,
            k,
            kind: ScoreKind::Probabilities,
            maps: m.clone(),
        })?
        .probabilities),
        _ => Ok(probs.to_vec()),
    }
}

/// Everything the policy fits on the verified set, reusable across pools.
#[derive(Debug, Clone)]
pub struct MlFittedPolicy {
    /// Public summary.
    pub fitted: MlFitted,
}

fn fit_rule(
    k: usize,
    cal: &[f64],
    v: &MlVerifiedSet,
    vgiven: &[Option<Vec<usize>>],
    aa: &MlAutoAcceptConfig,
) -> Result<(Option<MlAutoAcceptRule>, Option<String>, usize)> {
    if !aa.enabled {
        return Ok((
            None,
            Some("auto-accept is disabled by the policy".into()),
            0,
        ));
    }
    let agree = aa.require_label_agreement && vgiven.iter().any(Option::is_some);
    let (mut probs, mut labels) = (Vec::new(), Vec::new());
    for (i, row) in cal.chunks_exact(k).enumerate() {
        if agree && vgiven[i].as_deref() != Some(&decided(row)[..]) {
            continue;
        }
        probs.extend_from_slice(row);
        labels.push(v.labels[i].clone());
    }
    let on = labels.len();
    if on == 0 {
        let why = "no verified image's decisions agree with the findings it came with";
        return Ok((None, Some(why.into()), 0));
    }
    let r = auto_accept_ml(&MlAutoAcceptRequest {
        probs,
        n: on,
        k,
        labels,
        alpha: aa.alpha,
        delta: aa.delta,
        options: aa.options.clone(),
    });
    match r {
        Ok(r) => Ok((Some(r), None, on)),
        Err(e) if e.kind() == ErrorKind::InsufficientData => {
            Ok((None, Some(e.message().to_string()), on))
        }
        Err(e) => Err(e),
    }
}

fn guarantee(r: &MlAutoAcceptRule, on: usize, agree: bool) -> String {
    let mut c = r.guarantee.chars();
    let first: String = c
        .next()
        .map(|x| x.to_uppercase().collect())
        .unwrap_or_default();
    format!(
        "{first}{} (Learn-then-Test on {on} verified images{}; {} of them would be accepted, {} with some finding wrong).",
        c.as_str(),
        if agree { " whose decisions agreed with their given findings" } else { "" },
        r.accepted,
        r.errors
    )
}

/// Fit calibration, the auto-accept rule, conformal thresholds and the outlier threshold.
pub fn fit_ml_policy(
    k: usize,
    v: &MlVerifiedSet,
    policy: &MlPolicyConfig,
) -> Result<MlFittedPolicy> {
    check_ml_policy(policy)?;
    MlProbs::new(&v.pred_probs, v.n, k).map_err(|e| e.context("verified.predProbs"))?;
    onehot(&v.labels, v.n, k).map_err(|e| e.context("verified.labels"))?;
    let vgiven = given_ml(&v.given_labels, v.n, k, "verified.givenLabels")?;
    check_len(&v.outlier_scores, v.n, "verified.outlierScores")?;
    let maps = match policy.calibration.enabled {
        true => Some(
            fit_calibration(&MlCalibrateRequest {
                scores: v.pred_probs.clone(),
                n: v.n,
                k,
                kind: ScoreKind::Probabilities,
                labels: v.labels.clone(),
                options: policy.calibration.options,
            })?
            .maps,
        ),
        false => None,
    };
    let cal = calibrate(&v.pred_probs, v.n, k, &maps)?;
    let (rule, refused, on) = fit_rule(k, &cal, v, &vgiven, &policy.auto_accept)?;
    let agree = policy.auto_accept.require_label_agreement && vgiven.iter().any(Option::is_some);
    let conformal = match policy.conformal.enabled {
        true => Some(conformal_calibrate_ml(&MlConformalRequest {
            probs: cal,
            n: v.n,
            k,
            labels: v.labels.clone(),
            alpha: policy.conformal.alpha,
            bonferroni: policy.conformal.bonferroni,
            class_conditional: false,
        })?),
        false => None,
    };
    let outlier_threshold = match (policy.outliers.threshold, &v.outlier_scores) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => quantile(s.clone(), policy.outliers.quantile),
        (None, None) => None,
    };
    Ok(MlFittedPolicy {
        fitted: MlFitted {
            maps,
            guarantee: rule.as_ref().map(|r| guarantee(r, on, agree)),
            auto_accept: rule,
            auto_accept_refused: refused,
            conformal,
            outlier_threshold,
            certified_on: on,
        },
    })
}

/// The pool's rows checked: which images failed, and why.
fn failures(pool: &MlPoolSet, k: usize) -> Result<Vec<Option<String>>> {
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
struct PoolSignals {
    cal: Vec<f64>,
    row_of: Vec<usize>,
    sets: Option<Vec<MlImageSets>>,
    /// Per image: the findings cleanlab flags (empty: none).
    issues: Vec<Vec<usize>>,
    accepted: Vec<bool>,
}

fn pool_signals(
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
fn label_issues(
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

fn reason(
    signal: Signal,
    finding: Option<usize>,
    value: Option<f64>,
    threshold: Option<f64>,
    cmp: &str,
    message: String,
) -> MlReason {
    MlReason {
        signal,
        finding,
        value,
        threshold,
        comparison: (!cmp.is_empty()).then(|| cmp.to_string()),
        message,
    }
}

/// The reasons of one image, by the tier they point to.
#[derive(Default)]
struct Reasons {
    outlier: Vec<MlReason>,
    label_err: Vec<MlReason>,
    expert: Vec<MlReason>,
    light: Vec<MlReason>,
    accept: Vec<MlReason>,
}

/// One valid image as the reasons see it.
struct View<'a> {
    i: usize,
    row: &'a [f64],
    given: Option<&'a [usize]>,
    names: &'a [String],
}

impl View<'_> {
    fn name(&self, j: usize) -> &str {
        &self.names[j]
    }
    fn word(&self, j: usize) -> &'static str {
        if self.row[j] >= 0.5 {
            "present"
        } else {
            "absent"
        }
    }
}

fn outlier_reasons(
    v: &View<'_>,
    pool: &MlPoolSet,
    policy: &MlPolicyConfig,
    th: Option<f64>,
    r: &mut Reasons,
) {
    if let (Some(th), Some(s)) = (th, &pool.outlier_scores) {
        let x = s[v.i];
        if x.is_finite() && x < th {
            r.outlier.push(reason(
                Signal::OutlierScore,
                None,
                Some(x),
                Some(th),
                "<",
                format!("Outlier score {x:.4} is below {th:.4}, the {:.1}% quantile of the verified images: unlike the data the model was checked on.", policy.outliers.quantile * 100.0),
            ));
        }
    }
}

fn issue_reasons(v: &View<'_>, flagged: &[usize], r: &mut Reasons) {
    for &j in flagged {
        let was = match v.given {
            Some(g) if g.contains(&j) => "given as present",
            _ => "not given",
        };
        r.label_err.push(reason(
            Signal::LabelIssue,
            Some(j),
            Some(v.row[j]),
            None,
            "",
            format!(
                "Confident learning flags finding {}: {was}, the model gives it {:.3}.",
                v.name(j),
                v.row[j]
            ),
        ));
    }
}

fn confidence_reasons(v: &View<'_>, policy: &MlPolicyConfig, r: &mut Reasons) {
    let th = policy.expert.max_confidence;
    for (j, &p) in v.row.iter().enumerate() {
        let c = p.max(1.0 - p);
        if c < th {
            r.expert.push(reason(
                Signal::Confidence,
                Some(j),
                Some(c),
                Some(th),
                "<",
                format!(
                    "Finding {}: calibrated probability {p:.3}, confidence {c:.3} is below {th:.3}.",
                    v.name(j)
                ),
            ));
        }
    }
}

fn conformal_reasons(v: &View<'_>, set: &MlImageSets, policy: &MlPolicyConfig, r: &mut Reasons) {
    let level = (1.0 - policy.conformal.alpha) * 100.0;
    for &j in &set.empty {
        r.expert.push(reason(
            Signal::ConformalSetSize,
            Some(j),
            Some(0.0),
            Some(1.0),
            "<",
            format!(
                "Finding {}: the {level:.0}% conformal set is empty (neither present nor absent is plausible enough).",
                v.name(j)
            ),
        ));
    }
    for &j in &set.undecided {
        r.light.push(reason(
            Signal::ConformalSetSize,
            Some(j),
            Some(2.0),
            Some(2.0),
            ">=",
            format!(
                "Finding {}: the {level:.0}% conformal set holds both present and absent (probability {:.3}).",
                v.name(j),
                v.row[j]
            ),
        ));
    }
}

fn agreement_reasons(v: &View<'_>, pool: &MlPoolSet, policy: &MlPolicyConfig, r: &mut Reasons) {
    if let Some(a) = &pool.agreement {
        let x = a[v.i];
        let th = policy.expert.min_agreement;
        if x.is_finite() && x < th {
            r.expert.push(reason(
                Signal::AnnotatorAgreement,
                None,
                Some(x),
                Some(th),
                "<",
                format!("Annotator agreement {x:.3} is below {th:.3}."),
            ));
        }
    }
}

/// Auto-accept eligibility and confident disagreements with the given findings.
fn accept_reasons(
    v: &View<'_>,
    accepted: bool,
    fp: &MlFittedPolicy,
    policy: &MlPolicyConfig,
    r: &mut Reasons,
) {
    let Some(rule) = &fp.fitted.auto_accept else {
        let why = fp
            .fitted
            .auto_accept_refused
            .clone()
            .unwrap_or_else(|| "not certified".into());
        r.light.push(reason(
            Signal::AutoAcceptUnavailable,
            None,
            None,
            None,
            "",
            format!("No auto-accept rule: {why}"),
        ));
        return;
    };
    let (alpha, delta) = (policy.auto_accept.alpha, policy.auto_accept.delta);
    for (j, &p) in v.row.iter().enumerate() {
        let (c, th) = (p.max(1.0 - p), rule.thresholds[j]);
        if c < th {
            r.light.push(reason(
                Signal::Confidence,
                Some(j),
                Some(c),
                Some(th),
                "<",
                format!(
                    "Finding {}: confidence {c:.4} is below the auto-accept threshold {th:.4}.",
                    v.name(j)
                ),
            ));
        }
    }
    if accepted {
        let (j, c) = least_confident(v.row);
        r.accept.push(reason(Signal::Confidence, Some(j), Some(c), Some(rule.thresholds[j]), ">=",
            format!("Every finding reaches the certified threshold (the least confident, {}, at {c:.4}): P(some finding wrong) at most {:.2}% with probability {:.3}.", v.name(j), alpha * 100.0, 1.0 - delta)));
    }
    let Some(g) = v
        .given
        .filter(|_| policy.auto_accept.require_label_agreement)
    else {
        return;
    };
    for j in 0..v.row.len() {
        let (p, c, th) = (v.row[j], v.row[j].max(1.0 - v.row[j]), rule.thresholds[j]);
        if (p >= 0.5) == g.contains(&j) {
            continue;
        }
        let given = if g.contains(&j) {
            "given as present"
        } else {
            "not given"
        };
        let msg = format!(
            "Finding {}: the model finds it {} ({p:.3}), but it is {given}.",
            v.name(j),
            v.word(j)
        );
        if c >= th {
            r.label_err.push(reason(Signal::LabelAgreement, Some(j), Some(c), Some(th), ">=",
                format!("{msg} The model is at least as confident as the auto-accept threshold {th:.4}.")));
        } else {
            r.light.push(reason(
                Signal::LabelAgreement,
                Some(j),
                Some(p),
                None,
                "!=",
                msg,
            ));
        }
    }
    if accepted && (0..v.row.len()).all(|j| (v.row[j] >= 0.5) == g.contains(&j)) {
        r.accept.push(reason(
            Signal::LabelAgreement,
            None,
            None,
            None,
            "==",
            "The model's decisions agree with every given finding.".into(),
        ));
    }
}

fn least_confident(row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, &p) in row.iter().enumerate() {
        let c = p.max(1.0 - p);
        if c < best.1 {
            best = (j, c);
        }
    }
    best
}

fn tier_of(r: &Reasons, accepted: bool) -> Tier {
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

fn failed_item(i: usize, given: Option<Vec<usize>>, why: &str) -> MlTieredItem {
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

fn valid_item(
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
    super::policy::review_positions(items, |t| t.tier, |t| t.priority)
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
