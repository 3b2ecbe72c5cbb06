//! The policy's inputs and outputs: verified set, pool, configuration, tiers, reasons and the
//! tier response.

#[cfg(doc)]
use super::tier_items;

use serde::{Deserialize, Serialize};

use crate::engine::triage::calibration::TemperatureOptions;
use crate::engine::triage::conformal::ConformalOptions;
use crate::engine::triage::label_issues::FindOptions;
use crate::engine::triage::risk::{AutoAcceptOptions, AutoAcceptResponse};

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
