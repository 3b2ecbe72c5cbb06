//! Tiered verification: every pool item gets one tier and the reasons behind it.
//!
//! From a **verified set** (probabilities + true labels, optionally the labels the items came
//! with and their outlier scores) the policy fits, in this order:
//! 1. a **temperature** (NLL on the verified set, [`crate::engine::triage::calibration`]);
//!    all probabilities below are the calibrated ones;
//! 2. the **auto-accept threshold** `lambda` by Learn-then-Test
//!    ([`crate::engine::triage::risk`]): with probability `>= 1 - delta` over the verified
//!    set, at most `alpha` of the auto-accepted items carry a wrong label. With
//!    `requireLabelAgreement` (default) an item is auto-accepted only when the model's
//!    prediction equals the label it came with, and `lambda` is certified on the verified
//!    items that satisfy the same condition (so the guarantee is about exactly that rule);
//! 3. a **conformal predictor** (split conformal at `conformal.alpha`); a set of
//!    `expertSetSize` classes or more, or an empty set, sends the item to an expert;
//! 4. the **outlier threshold**: the `outliers.quantile` quantile of the verified items'
//!    outlier scores (lower = more unusual, cleanlab's convention), or a fixed threshold;
//!
//! and on the pool it runs confident learning ([`crate::engine::triage::label_issues`]) on
//! the labels the items came with. Each signal that fires adds a [`Reason`] (signal, value,
//! threshold, comparison, text); the tier is the first that applies of: `failed` (no usable
//! probabilities), `outlier`, `suspectedLabelError`, `expertReview`, `autoAccept` (only when
//! no other signal fired), `lightReview` (everything else).
//!
//! The review **priority** of an item is the calibrated probability that its current label is
//! wrong: `1 - p[given]` when it came with a label, else `1 - max p` (the label it would get
//! is the prediction). `order` lists the items to review (every tier but `autoAccept`),
//! highest priority first, ties by tier (as listed above) then lower index; failed items come
//! last (they have no priority).
//!
//! A row with NaN, infinity, values outside `[0, 1]` or a sum off 1 by more than `1e-3` fails
//! that item only (tier `failed`, never ranked); items listed in `failed` likewise.

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_labels, check_shape, is_distribution, Probs};
use crate::engine::triage::calibration::{
    apply_temperature, fit_temperature, ScoreKind, TemperatureOptions, TemperatureRequest,
};
use crate::engine::triage::conformal::{
    conformal_calibrate, conformal_sets, ConformalCalibrateRequest, ConformalOptions,
    ConformalSetsRequest,
};
use crate::engine::triage::label_issues::{find_label_issues, FindOptions};
use crate::engine::triage::risk::{
    auto_accept_threshold, AutoAcceptOptions, AutoAcceptRequest, AutoAcceptResponse,
};
use crate::error::{err, Result};

/// The verified set: items whose true label is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifiedSet {
    /// Row-major `n x k` probabilities (uncalibrated: the policy fits the temperature).
    pub pred_probs: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// True labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// The labels the items came with before verification (`-1`: none), for certifying the
    /// agreement rule.
    #[serde(default)]
    pub given_labels: Option<Vec<i64>>,
    /// Outlier scores (lower = more unusual), for the outlier threshold.
    #[serde(default)]
    pub outlier_scores: Option<Vec<f64>>,
}

/// The pool: items to triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSet {
    /// Row-major `n x k` probabilities (uncalibrated). Rows of failed items may hold anything.
    pub pred_probs: Vec<f64>,
    /// Items.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// The labels the items came with (`-1`: none).
    #[serde(default)]
    pub given_labels: Option<Vec<i64>>,
    /// Outlier scores (lower = more unusual), e.g. from `outlierScores`.
    #[serde(default)]
    pub outlier_scores: Option<Vec<f64>>,
    /// Annotator agreement in `[0, 1]` per item (NaN: no annotations), e.g. CROWDLAB's
    /// consensus quality or the share of annotators agreeing with the consensus.
    #[serde(default)]
    pub agreement: Option<Vec<f64>>,
    /// Index of a verified item this one nearly duplicates (`-1`: none), e.g. from
    /// `nearDuplicates` run on pool and verified embeddings together.
    #[serde(default)]
    pub duplicate_of_verified: Option<Vec<i64>>,
    /// Items that failed upstream (decoding, scoring): tier `failed`.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub failed: Vec<usize>,
}

/// Temperature scaling settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TemperatureConfig {
    /// Fit `T` on the verified set (default true); false uses `value`.
    pub fit: bool,
    /// The temperature when not fitted (default 1 = probabilities as given).
    pub value: f64,
    /// Search range when fitting.
    pub range: TemperatureOptions,
}

impl Default for TemperatureConfig {
    fn default() -> Self {
        TemperatureConfig {
            fit: true,
            value: 1.0,
            range: TemperatureOptions::default(),
        }
    }
}

/// Auto-accept settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AutoAcceptConfig {
    /// Auto-accept at all (default true).
    pub enabled: bool,
    /// Promised error rate among auto-accepted items (default 0.01).
    pub alpha: f64,
    /// Probability that the promise fails (default 0.05).
    pub delta: f64,
    /// Only accept items whose prediction equals the label they came with (default true).
    pub require_label_agreement: bool,
    /// Learn-then-Test options (mode, p-value, procedure, grid).
    pub options: AutoAcceptOptions,
}

impl Default for AutoAcceptConfig {
    fn default() -> Self {
        AutoAcceptConfig {
            enabled: true,
            alpha: 0.01,
            delta: 0.05,
            require_label_agreement: true,
            options: AutoAcceptOptions::default(),
        }
    }
}

/// Conformal settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ConformalConfig {
    /// Use conformal sets (default true).
    pub enabled: bool,
    /// Miscoverage level (default 0.05).
    pub alpha: f64,
    /// Sets of at least this many classes go to an expert (default 3); sets of two classes
    /// block auto-accept (light review).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub expert_set_size: usize,
    /// Score function and variants.
    pub options: ConformalOptions,
}

impl Default for ConformalConfig {
    fn default() -> Self {
        ConformalConfig {
            enabled: true,
            alpha: 0.05,
            expert_set_size: 3,
            options: ConformalOptions {
                method: crate::engine::triage::conformal::ConformalMethod::Lac,
                ..ConformalOptions::default()
            },
        }
    }
}

/// Label-issue settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LabelIssueConfig {
    /// Run confident learning on the pool's given labels (default true).
    pub enabled: bool,
    /// cleanlab's options.
    pub options: FindOptions,
}

impl Default for LabelIssueConfig {
    fn default() -> Self {
        LabelIssueConfig {
            enabled: true,
            options: FindOptions::default(),
        }
    }
}

/// Expert-review triggers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExpertConfig {
    /// Calibrated confidence below this goes to an expert (default 0.5).
    pub max_confidence: f64,
    /// Annotator agreement below this goes to an expert (default 0.5).
    pub min_agreement: f64,
}

impl Default for ExpertConfig {
    fn default() -> Self {
        ExpertConfig {
            max_confidence: 0.5,
            min_agreement: 0.5,
        }
    }
}

/// Outlier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OutlierConfig {
    /// Quantile of the verified items' outlier scores below which a pool item is an outlier
    /// (default 0.01).
    pub quantile: f64,
    /// A fixed threshold instead (used when set, or when the verified set has no scores).
    pub threshold: Option<f64>,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            quantile: 0.01,
            threshold: None,
        }
    }
}

/// The whole policy (one JSON object; unknown fields rejected at every level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Temperature scaling.
    pub temperature: TemperatureConfig,
    /// Risk-controlled auto-accept.
    pub auto_accept: AutoAcceptConfig,
    /// Conformal sets.
    pub conformal: ConformalConfig,
    /// Confident learning on given labels.
    pub label_issues: LabelIssueConfig,
    /// Expert triggers.
    pub expert: ExpertConfig,
    /// Outliers.
    pub outliers: OutlierConfig,
}

/// Request for [`tier_items`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Verified items.
    pub verified: VerifiedSet,
    /// Items to triage.
    pub pool: PoolSet,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
}

/// Tiers, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Tier {
    /// No usable probabilities.
    Failed,
    /// Unlike the verified data.
    Outlier,
    /// The label it came with is likely wrong.
    SuspectedLabelError,
    /// Hard case: an expert should look.
    ExpertReview,
    /// Safe to skip, with the stated error bound.
    AutoAccept,
    /// A quick look suffices.
    LightReview,
}

impl Tier {
    /// The tier's name as the exports write it (its serde name).
    pub fn name(self) -> &'static str {
        match self {
            Tier::Failed => "failed",
            Tier::Outlier => "outlier",
            Tier::SuspectedLabelError => "suspectedLabelError",
            Tier::ExpertReview => "expertReview",
            Tier::AutoAccept => "autoAccept",
            Tier::LightReview => "lightReview",
        }
    }
    /// Review-order rank among equal priorities (failed last).
    pub(crate) fn rank(self) -> u8 {
        match self {
            Tier::Outlier => 1,
            Tier::SuspectedLabelError => 0,
            Tier::ExpertReview => 2,
            Tier::LightReview => 3,
            Tier::AutoAccept => 4,
            Tier::Failed => 5,
        }
    }
}

/// Which signal a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Signal {
    /// Calibrated confidence (max probability).
    Confidence,
    /// Prediction vs the label the item came with.
    LabelAgreement,
    /// Confident learning flagged the given label.
    LabelIssue,
    /// Conformal set size.
    ConformalSetSize,
    /// Outlier score.
    OutlierScore,
    /// Annotator agreement.
    AnnotatorAgreement,
    /// Near-duplicate of a verified item with another label.
    DuplicateConflict,
    /// No certified auto-accept threshold.
    AutoAcceptUnavailable,
    /// Invalid probabilities or upstream failure.
    Failure,
}

/// Why an item is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// The signal.
    pub signal: Signal,
    /// Its value for this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold it was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The comparison that held (`"<"`, `">="`, `"!="`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    /// A sentence for the reviewer.
    pub message: String,
}

/// One triaged item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TieredItem {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Its tier.
    pub tier: Tier,
    /// Calibrated arg-max class (absent when failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: Option<usize>,
    /// Calibrated max probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The label the item came with.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub given_label: Option<usize>,
    /// Conformal set (when computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub conformal_set: Option<Vec<usize>>,
    /// Probability that the current label is wrong (review priority).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// The label the item ends with if nobody reviews it (given label, else prediction).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub label: Option<usize>,
    /// Every signal that fired (for auto-accepted items: the ones that certify it).
    pub reasons: Vec<Reason>,
}

/// What was fitted on the verified set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Fitted {
    /// Temperature applied.
    pub temperature: f64,
    /// The auto-accept threshold and its certificate (absent when disabled or refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<AutoAcceptResponse>,
    /// Why there is no auto-accept tier (disabled, or too few verified items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept_refused: Option<String>,
    /// The guarantee, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<String>,
    /// Conformal threshold(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformal_thresholds: Option<Vec<f64>>,
    /// Outlier threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_threshold: Option<f64>,
    /// Verified items used for certifying auto-accept.
    pub certified_on: usize,
}

/// Items per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TierCounts {
    /// Auto-accepted.
    pub auto_accept: usize,
    /// Light review.
    pub light_review: usize,
    /// Expert review.
    pub expert_review: usize,
    /// Suspected label errors.
    pub suspected_label_error: usize,
    /// Outliers.
    pub outlier: usize,
    /// Failed.
    pub failed: usize,
}

impl TierCounts {
    /// Count one item of tier `t`.
    pub(crate) fn add(&mut self, t: Tier) {
        match t {
            Tier::AutoAccept => self.auto_accept += 1,
            Tier::LightReview => self.light_review += 1,
            Tier::ExpertReview => self.expert_review += 1,
            Tier::SuspectedLabelError => self.suspected_label_error += 1,
            Tier::Outlier => self.outlier += 1,
            Tier::Failed => self.failed += 1,
        }
    }
}

/// Response of [`tier_items`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TierResponse {
    /// One entry per pool item, in input order.
    pub items: Vec<TieredItem>,
    /// Items to review, highest priority first (every tier but auto-accept; failed last).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub order: Vec<usize>,
    /// Items per tier.
    pub counts: TierCounts,
    /// Fitted parameters.
    pub fitted: Fitted,
}

fn opt_label(v: i64, k: usize, what: &str, i: usize) -> Result<Option<usize>> {
    if v < 0 {
        Ok(None)
    } else if (v as u64) < k as u64 {
        Ok(Some(v as usize))
    } else {
        Err(err!(
            InvalidInput,
            "{what}: label {v} of item {i} is not < k = {k}"
        ))
    }
}

fn given(v: &Option<Vec<i64>>, n: usize, k: usize, what: &str) -> Result<Vec<Option<usize>>> {
    match v {
        None => Ok(vec![None; n]),
        Some(g) => {
            if g.len() != n {
                return Err(err!(
                    InvalidInput,
                    "{what}: expected {n} labels, got {}",
                    g.len()
                ));
            }
            g.iter()
                .enumerate()
                .map(|(i, &l)| opt_label(l, k, what, i))
                .collect()
        }
    }
}

pub(super) fn check_len<T>(v: &Option<Vec<T>>, n: usize, what: &str) -> Result<()> {
    match v {
        Some(v) if v.len() != n => Err(err!(
            InvalidInput,
            "{what}: expected {n} values, got {}",
            v.len()
        )),
        _ => Ok(()),
    }
}

/// `Ok` when `ok`, else an `invalid_options` error: "`what` must be `expect`, got `got`".
pub(super) fn require(
    ok: bool,
    what: &str,
    expect: &str,
    got: impl std::fmt::Display,
) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(err!(InvalidOptions, "{what} must be {expect}, got {got}"))
    }
}

/// `x` in the open interval (0, 1).
pub(super) fn in_unit(x: f64, what: &str) -> Result<()> {
    require(x > 0.0 && x < 1.0, what, "in (0, 1)", x)
}

/// Validate the policy numbers.
pub fn check_policy(p: &PolicyConfig) -> Result<()> {
    in_unit(p.auto_accept.alpha, "autoAccept.alpha")?;
    in_unit(p.auto_accept.delta, "autoAccept.delta")?;
    in_unit(p.conformal.alpha, "conformal.alpha")?;
    let c = &p.conformal;
    require(
        c.expert_set_size >= 2,
        "conformal.expertSetSize",
        ">= 2",
        c.expert_set_size,
    )?;
    let t = p.temperature.value;
    require(
        t.is_finite() && t > 0.0,
        "temperature.value",
        "finite and > 0",
        t,
    )?;
    check_expert_outliers(p.expert.max_confidence, p.expert.min_agreement, &p.outliers)
}

/// The expert thresholds and the outlier cut, the same checks for the single- and the
/// multi-label policy.
pub(super) fn check_expert_outliers(
    max_confidence: f64,
    min_agreement: f64,
    outliers: &OutlierConfig,
) -> Result<()> {
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    require(
        unit(max_confidence),
        "expert.maxConfidence",
        "in [0, 1]",
        max_confidence,
    )?;
    require(
        unit(min_agreement),
        "expert.minAgreement",
        "in [0, 1]",
        min_agreement,
    )?;
    let q = outliers.quantile;
    require((0.0..1.0).contains(&q), "outliers.quantile", "in [0, 1)", q)?;
    if let Some(t) = outliers.threshold {
        require(t.is_finite(), "outliers.threshold", "finite", t)?;
    }
    Ok(())
}

/// Linear-interpolation quantile (NumPy's default) of finite values.
pub(super) fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Everything the policy fits on the verified set, reusable across pools.
#[derive(Debug, Clone)]
pub struct FittedPolicy {
    /// Public summary.
    pub fitted: Fitted,
    conformal: Option<crate::engine::triage::conformal::ConformalCalibration>,
    threshold: Option<f64>,
    verified_labels: Vec<usize>,
    /// (priority, label wrong) of the verified items that came with a label.
    verified_errors: Vec<(f64, bool)>,
}

/// `P(label wrong | priority)`: isotonic (non-decreasing) regression by pool-adjacent-violators,
/// a step function over the fitted blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorModel {
    /// Block lower edges (priorities), ascending.
    starts: Vec<f64>,
    /// Block means.
    means: Vec<f64>,
}

impl ErrorModel {
    /// Fit on (priority, wrong) pairs; `None` when empty.
    pub fn fit(pairs: &[(f64, bool)]) -> Option<ErrorModel> {
        let mut v: Vec<(f64, f64)> = pairs
            .iter()
            .filter(|p| p.0.is_finite())
            .map(|&(x, w)| (x, if w { 1.0 } else { 0.0 }))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // equal priorities form one unit (as scikit-learn's IsotonicRegression does)
        let mut units: Vec<(f64, f64, f64)> = Vec::new();
        for (x, y) in v {
            match units.last_mut() {
                Some(u) if u.0 == x => {
                    u.1 += y;
                    u.2 += 1.0;
                }
                _ => units.push((x, y, 1.0)),
            }
        }
        // pool adjacent violators: blocks of (start x, sum, count)
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for u in units {
            blocks.push(u);
            while blocks.len() > 1 {
                let l = blocks.len();
                let (a, b) = (blocks[l - 2], blocks[l - 1]);
                if a.1 / a.2 >= b.1 / b.2 {
                    blocks[l - 2] = (a.0, a.1 + b.1, a.2 + b.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        Some(ErrorModel {
            starts: blocks.iter().map(|b| b.0).collect(),
            means: blocks.iter().map(|b| b.1 / b.2).collect(),
        })
    }

    /// Estimated probability that a label with this priority is wrong.
    pub fn predict(&self, priority: f64) -> f64 {
        let i = self.starts.partition_point(|&s| s <= priority);
        self.means[i.saturating_sub(1)]
    }
}

impl FittedPolicy {
    /// The error model fitted on the verified items that came with a label (`None` without).
    pub fn error_model(&self) -> Option<ErrorModel> {
        ErrorModel::fit(&self.verified_errors)
    }
}

/// Fit temperature, auto-accept threshold, conformal thresholds and outlier threshold.
pub fn fit_policy(k: usize, v: &VerifiedSet, policy: &PolicyConfig) -> Result<FittedPolicy> {
    check_policy(policy)?;
    check_shape(&v.pred_probs, v.n, k, "verified.predProbs")?;
    check_labels(&v.labels, v.n, k, "verified.labels")?;
    let vgiven = given(&v.given_labels, v.n, k, "verified.givenLabels")?;
    check_len(&v.outlier_scores, v.n, "verified.outlierScores")?;
    let t = if policy.temperature.fit {
        fit_temperature(&TemperatureRequest {
            scores: v.pred_probs.clone(),
            n: v.n,
            k,
            labels: v.labels.clone(),
            kind: ScoreKind::Probabilities,
            options: policy.temperature.range,
        })?
        .temperature
    } else {
        policy.temperature.value
    };
    let cal = apply_temperature(&v.pred_probs, v.n, k, ScoreKind::Probabilities, t)?;

    // auto-accept: certify on the verified items the rule could accept
    let (mut auto_accept, mut refused, mut guarantee, mut certified_on) = (None, None, None, 0);
    let aa = &policy.auto_accept;
    if aa.enabled {
        let use_agreement = aa.require_label_agreement && vgiven.iter().any(|g| g.is_some());
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for (i, row) in cal.chunks_exact(k).enumerate() {
            if use_agreement && vgiven[i] != Some(argmax(row)) {
                continue;
            }
            probs.extend_from_slice(row);
            labels.push(v.labels[i]);
        }
        certified_on = labels.len();
        let r = if labels.is_empty() {
            Err(err!(
                InsufficientData,
                "no verified item's prediction agrees with the label it came with"
            ))
        } else {
            auto_accept_threshold(&AutoAcceptRequest {
                probs,
                n: labels.len(),
                k,
                labels,
                alpha: aa.alpha,
                delta: aa.delta,
                options: aa.options.clone(),
            })
        };
        match r {
            Ok(r) => {
                guarantee = Some(format!(
                    "With probability at least {:.3} over the verified set, at most {:.2}% of auto-accepted items have a wrong label (Learn-then-Test on {} verified items{}; threshold {:.6} on calibrated confidence; {} of those verified items would be accepted, {} of them wrong).",
                    1.0 - aa.delta,
                    aa.alpha * 100.0,
                    certified_on,
                    if use_agreement { " whose prediction agreed with their given label" } else { "" },
                    r.threshold,
                    r.accepted,
                    r.errors
                ));
                auto_accept = Some(r);
            }
            Err(e) if e.kind() == crate::error::ErrorKind::InsufficientData => {
                refused = Some(e.message().to_string());
            }
            Err(e) => return Err(e),
        }
    } else {
        refused = Some("auto-accept is disabled by the policy".into());
    }

    let conformal = if policy.conformal.enabled {
        Some(conformal_calibrate(&ConformalCalibrateRequest {
            probs: cal.clone(),
            n: v.n,
            k,
            labels: v.labels.clone(),
            alpha: policy.conformal.alpha,
            options: policy.conformal.options,
        })?)
    } else {
        None
    };
    let threshold = match (policy.outliers.threshold, &v.outlier_scores) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => quantile(s.clone(), policy.outliers.quantile),
        (None, None) => None,
    };
    Ok(FittedPolicy {
        fitted: Fitted {
            temperature: t,
            auto_accept,
            auto_accept_refused: refused,
            guarantee,
            conformal_thresholds: conformal.as_ref().map(|c| c.thresholds.clone()),
            outlier_threshold: threshold,
            certified_on,
        },
        conformal,
        threshold,
        verified_labels: v.labels.clone(),
        verified_errors: cal
            .chunks_exact(k)
            .zip(&vgiven)
            .zip(&v.labels)
            .filter_map(|((row, g), &y)| g.map(|g| (1.0 - row[g], g != y)))
            .collect(),
    })
}

fn reason(
    signal: Signal,
    value: Option<f64>,
    threshold: Option<f64>,
    cmp: &str,
    message: String,
) -> Reason {
    Reason {
        signal,
        value,
        threshold,
        comparison: if cmp.is_empty() {
            None
        } else {
            Some(cmp.into())
        },
        message,
    }
}

/// Which pool items failed and why: listed in `pool.failed` (upstream), or probabilities
/// that are not a distribution.
fn pool_failures(pool: &PoolSet, k: usize) -> Result<Vec<Option<String>>> {
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
fn pool_label_issues(
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
fn failed_item(i: usize, given: Option<usize>, why: &str) -> TieredItem {
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

/// The reasons of one item, by the tier they point to.
#[derive(Default)]
struct Reasons {
    outlier: Vec<Reason>,
    label_err: Vec<Reason>,
    expert: Vec<Reason>,
    light: Vec<Reason>,
    accept: Vec<Reason>,
}

impl Reasons {
    /// The highest tier any reason points to; auto-accept when none asks for a look.
    fn tier(&self) -> Tier {
        if !self.outlier.is_empty() {
            Tier::Outlier
        } else if !self.label_err.is_empty() {
            Tier::SuspectedLabelError
        } else if !self.expert.is_empty() {
            Tier::ExpertReview
        } else if self.light.is_empty() {
            Tier::AutoAccept
        } else {
            Tier::LightReview
        }
    }

    /// The reasons an item in `tier` shows: those of the higher tiers, then the light ones
    /// (or, when auto-accepted, the ones that certify it).
    fn into_list(self, tier: Tier) -> Vec<Reason> {
        let mut reasons = Vec::new();
        reasons.extend(self.outlier);
        reasons.extend(self.label_err);
        reasons.extend(self.expert);
        if tier == Tier::AutoAccept {
            reasons.extend(self.accept);
        } else {
            // a confident disagreement already said "model predicts X, label is Y"
            let said = reasons.iter().any(|r| r.signal == Signal::LabelAgreement);
            reasons.extend(
                self.light
                    .into_iter()
                    .filter(|r| !(said && r.signal == Signal::LabelAgreement)),
            );
        }
        reasons
    }
}

/// One valid pool item as the reasons see it.
struct ItemView<'a> {
    i: usize,
    /// Its calibrated probabilities.
    row: &'a [f64],
    pred: usize,
    conf: f64,
    given: Option<usize>,
    set: Option<&'a [usize]>,
}

/// Outlier score, confident-learning flag and near-duplicate conflict.
fn data_reasons(
    v: &ItemView<'_>,
    pool: &PoolSet,
    policy: &PolicyConfig,
    fp: &FittedPolicy,
    issue: bool,
    r: &mut Reasons,
) {
    let (i, row, pred, conf, g) = (v.i, v.row, v.pred, v.conf, v.given);
    if let (Some(th), Some(s)) = (fp.threshold, &pool.outlier_scores) {
        let x = s[i];
        if x.is_finite() && x < th {
            r.outlier.push(reason(
                Signal::OutlierScore,
                Some(x),
                Some(th),
                "<",
                format!("Outlier score {x:.4} is below {th:.4}, the {:.1}% quantile of the verified items: unlike the data the model was checked on.", policy.outliers.quantile * 100.0),
            ));
        }
    }
    if issue {
        r.label_err.push(reason(
            Signal::LabelIssue,
            g.map(|g| row[g]),
            None,
            "",
            format!(
                "Confident learning flags the given label {}: the model gives it {:.3} and predicts {pred} ({conf:.3}).",
                g.unwrap_or(pred),
                g.map(|g| row[g]).unwrap_or(conf)
            ),
        ));
    }
    if let Some(d) = &pool.duplicate_of_verified {
        let j = d[i];
        if j >= 0 {
            let j = j as usize;
            let vl = fp.verified_labels.get(j).copied();
            if let (Some(vl), Some(g)) = (vl, g) {
                if vl != g {
                    r.label_err.push(reason(
                        Signal::DuplicateConflict,
                        Some(j as f64),
                        None,
                        "!=",
                        format!(
                            "Near-duplicate of verified item {j}, whose label is {vl}, not {g}."
                        ),
                    ));
                }
            }
        }
    }
}

/// Low confidence, the conformal set's size and low annotator agreement.
fn expert_reasons(v: &ItemView<'_>, pool: &PoolSet, policy: &PolicyConfig, r: &mut Reasons) {
    let conf = v.conf;
    let e = &policy.expert;
    if conf < e.max_confidence {
        r.expert.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(e.max_confidence),
            "<",
            format!(
                "Calibrated confidence {conf:.3} is below {:.3}.",
                e.max_confidence
            ),
        ));
    }
    if let Some(set) = v.set {
        let sz = set.len();
        let level = (1.0 - policy.conformal.alpha) * 100.0;
        let expert_size = policy.conformal.expert_set_size;
        if sz == 0 || sz >= expert_size {
            r.expert.push(reason(
                Signal::ConformalSetSize,
                Some(sz as f64),
                Some(expert_size as f64),
                if sz == 0 { "==" } else { ">=" },
                if sz == 0 {
                    format!("The {level:.0}% conformal set is empty: no class is plausible enough.")
                } else {
                    format!("The {level:.0}% conformal set holds {sz} classes {set:?}.")
                },
            ));
        } else if sz >= 2 {
            r.light.push(reason(
                Signal::ConformalSetSize,
                Some(sz as f64),
                Some(2.0),
                ">=",
                format!("The {level:.0}% conformal set holds {sz} classes {set:?}."),
            ));
        }
    }
    if let Some(a) = &pool.agreement {
        let x = a[v.i];
        if x.is_finite() && x < e.min_agreement {
            r.expert.push(reason(
                Signal::AnnotatorAgreement,
                Some(x),
                Some(e.min_agreement),
                "<",
                format!(
                    "Annotator agreement {x:.3} is below {:.3}.",
                    e.min_agreement
                ),
            ));
        }
    }
}

/// Auto-accept eligibility (the certified threshold, agreement with the given label), and a
/// confident disagreement with the given label as a suspected label error.
fn accept_reasons(v: &ItemView<'_>, policy: &PolicyConfig, fp: &FittedPolicy, r: &mut Reasons) {
    let (pred, conf, g) = (v.pred, v.conf, v.given);
    let Some(th) = fp.fitted.auto_accept.as_ref().map(|a| a.threshold) else {
        r.light.push(reason(
            Signal::AutoAcceptUnavailable,
            None,
            None,
            "",
            format!(
                "No auto-accept threshold: {}",
                fp.fitted
                    .auto_accept_refused
                    .clone()
                    .unwrap_or_else(|| "not certified".into())
            ),
        ));
        return;
    };
    if conf < th {
        r.light.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(th),
            "<",
            format!("Calibrated confidence {conf:.4} is below the auto-accept threshold {th:.4}."),
        ));
    } else {
        r.accept.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(th),
            ">=",
            format!(
                "Calibrated confidence {conf:.4} reaches the certified threshold {th:.4} (at most {:.2}% wrong, with probability {:.3}).",
                policy.auto_accept.alpha * 100.0,
                1.0 - policy.auto_accept.delta
            ),
        ));
    }
    let Some(g) = g else {
        return;
    };
    if policy.auto_accept.require_label_agreement {
        if g != pred {
            r.light.push(reason(
                Signal::LabelAgreement,
                Some(pred as f64),
                Some(g as f64),
                "!=",
                format!("The model predicts {pred}, the given label is {g}."),
            ));
        } else {
            r.accept.push(reason(
                Signal::LabelAgreement,
                Some(pred as f64),
                Some(g as f64),
                "==",
                format!("The model's prediction agrees with the given label {g}."),
            ));
        }
    }
    if g != pred && conf >= th && r.label_err.is_empty() {
        r.label_err.push(reason(
            Signal::LabelAgreement,
            Some(conf),
            Some(th),
            ">=",
            format!("The model predicts {pred} with confidence {conf:.4} (at least the auto-accept threshold {th:.4}), but the given label is {g}."),
        ));
    }
}

/// The review order: every item but the auto-accepted, highest priority first, then by tier
/// rank, then by index (failed items, with no priority, last).
fn review_order(items: &[TieredItem]) -> Vec<usize> {
    review_positions(items, |t| t.tier, |t| t.priority)
}

/// The review order of any tiered items (single- or multi-label), as positions in `items`:
/// every item but the auto-accepted, highest priority first, then by tier rank, then by
/// position (items with no priority, the failed ones, last).
pub(super) fn review_positions<T>(
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

/// Fit the policy on the verified set and triage the pool (JS `tierItems`, CLI `queue tiers`).
pub fn tier_items(req: &TierRequest) -> Result<TierResponse> {
    let fp = fit_policy(req.k, &req.verified, &req.policy)?;
    apply_policy(req.k, &req.pool, &req.policy, &fp)
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Rows from seeds: a peaked row for "good" items, a flat one otherwise.
    fn rows(seeds: &[(u8, u8, bool)], k: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for &(c, s, good) in seeds {
            let peak = if good {
                5.0 + s as f64 / 4.0
            } else {
                s as f64 / 100.0
            };
            let mut r: Vec<f64> = (0..k)
                .map(|j| if j == c as usize % k { peak } else { 0.0 } + 1.0 + j as f64 * 0.01)
                .collect();
            let sum: f64 = r.iter().sum();
            r.iter_mut().for_each(|v| *v /= sum);
            out.extend(r);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn tiers_partition_the_pool_and_shuffling_permutes_them(
            vseeds in proptest::collection::vec((0u8..3, 0u8..=255, proptest::bool::weighted(0.9)), 400),
            pseeds in proptest::collection::vec((0u8..3, 0u8..=255, proptest::bool::weighted(0.8)), 40),
            flips in proptest::collection::vec(proptest::bool::weighted(0.1), 440),
            rot in 1usize..39,
        ) {
            let k = 3;
            let vl: Vec<usize> = vseeds.iter().map(|s| s.0 as usize).collect();
            let vg: Vec<i64> = vl.iter().zip(&flips).map(|(&l, &f)| if f { ((l + 1) % k) as i64 } else { l as i64 }).collect();
            let pg: Vec<i64> = pseeds.iter().zip(&flips[400..]).map(|(s, &f)| {
                let l = s.0 as usize; if f { ((l + 2) % k) as i64 } else { l as i64 }
            }).collect();
            let verified = VerifiedSet { pred_probs: rows(&vseeds, k), n: 400, labels: vl, given_labels: Some(vg), outlier_scores: None };
            let pool = PoolSet { pred_probs: rows(&pseeds, k), n: 40, given_labels: Some(pg.clone()), outlier_scores: None, agreement: None, duplicate_of_verified: None, failed: vec![] };
            let policy = PolicyConfig::default();
            let a = tier_items(&TierRequest { k, verified: verified.clone(), pool: pool.clone(), policy: policy.clone() }).unwrap();
            let c = a.counts;
            prop_assert_eq!(c.auto_accept + c.light_review + c.expert_review + c.suspected_label_error + c.outlier + c.failed, 40);
            prop_assert_eq!(a.order.len(), 40 - c.auto_accept);
            for it in &a.items {
                prop_assert!(!it.reasons.is_empty());
                if it.tier == Tier::AutoAccept {
                    let th = a.fitted.auto_accept.as_ref().unwrap().threshold;
                    prop_assert!(it.confidence.unwrap() >= th);
                    prop_assert_eq!(it.predicted, it.given_label);
                }
            }
            // rotate the pool: every item keeps its tier and priority
            let perm: Vec<usize> = (0..40).map(|i| (i + rot) % 40).collect();
            let mut p2 = pool.clone();
            p2.pred_probs = perm.iter().flat_map(|&i| pool.pred_probs[i * k..(i + 1) * k].to_vec()).collect();
            p2.given_labels = Some(perm.iter().map(|&i| pg[i]).collect());
            let b = tier_items(&TierRequest { k, verified, pool: p2, policy }).unwrap();
            for (j, &i) in perm.iter().enumerate() {
                prop_assert_eq!(b.items[j].tier, a.items[i].tier, "item {}", i);
                prop_assert_eq!(b.items[j].priority, a.items[i].priority);
            }
        }
    }
}
