//! Multi-label policy inputs and outputs: verified images, pool, configuration, reasons,
//! tiered images and the tier response.

#[cfg(doc)]
use super::tier_items_ml;

use serde::{Deserialize, Serialize};

use crate::engine::multilabel::calibration::{
    FindingMap, MlAutoAcceptOptions, MlAutoAcceptRule, MlCalibrateOptions, MlConformal,
};
use crate::engine::multilabel::label_issues::MlFindOptions;
use crate::engine::queue::policy::{Signal, Tier, TierCounts};

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
    pub outliers: crate::engine::queue::policy::OutlierConfig,
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
