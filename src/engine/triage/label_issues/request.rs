//! Requests and responses shared by the JS API and the CLI.

use serde::{Deserialize, Serialize};

use super::filter::{find_label_issues, FindOptions, LabelIssues};
use super::joint::{
    calibrate_confident_joint, compute_confident_joint, confident_thresholds, estimate_joint,
    label_counts, num_label_issues, EstimationMethod,
};
use super::latent::{estimate_latent, Latent, PyMethod};
use super::rank::{label_quality_scores, QualityOptions};
use crate::engine::probs::{check_labels, Probs};
use crate::error::Result;

/// Probabilities plus labels: the common part of the label requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindLabelIssuesRequest {
    /// Row-major predicted probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given labels, `n` values in `0..k`.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Options (cleanlab's defaults when absent).
    #[serde(default)]
    pub options: FindOptions,
}

/// Run [`find_label_issues`] on a request.
pub fn find_label_issues_request(r: &FindLabelIssuesRequest) -> Result<LabelIssues> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    find_label_issues(&p, &r.labels, &r.options)
}

/// Request of [`label_quality_scores`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualityScoresRequest {
    /// Row-major predicted probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Options.
    #[serde(default)]
    pub options: QualityOptions,
}

/// Response of [`quality_scores_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct QualityScoresResponse {
    /// One score per row in `[0, 1]`; low = likely mislabelled.
    pub scores: Vec<f64>,
}

/// Run [`label_quality_scores`] on a request.
pub fn quality_scores_request(r: &QualityScoresRequest) -> Result<QualityScoresResponse> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    Ok(QualityScoresResponse {
        scores: label_quality_scores(&p, &r.labels, &r.options)?,
    })
}

fn default_true() -> bool {
    true
}

/// Options of [`confident_joint_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfidentJointOptions {
    /// Calibrate the returned confident joint (default true).
    #[serde(default = "default_true")]
    pub calibrate: bool,
    /// Per-class thresholds (default: mean self-confidence per class).
    #[serde(default)]
    pub thresholds: Option<Vec<f64>>,
    /// Prior estimate method for the latent estimates (default `cnt`).
    #[serde(default)]
    pub py_method: PyMethod,
    /// Make the latent estimates agree algebraically (default true, as in cleanlab's
    /// `estimate_py_and_noise_matrices_from_probabilities`).
    #[serde(default = "default_true")]
    pub converge_latent_estimates: bool,
}

impl Default for ConfidentJointOptions {
    fn default() -> Self {
        ConfidentJointOptions {
            calibrate: true,
            thresholds: None,
            py_method: PyMethod::Cnt,
            converge_latent_estimates: true,
        }
    }
}

/// Request of [`confident_joint_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfidentJointRequest {
    /// Row-major predicted probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Options.
    #[serde(default)]
    pub options: ConfidentJointOptions,
}

/// Everything confident learning estimates about the label noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfidentJointResponse {
    /// Per-class thresholds used.
    pub thresholds: Vec<f64>,
    /// `C[given][true]` (calibrated unless `calibrate: false`).
    pub confident_joint: Vec<Vec<i64>>,
    /// Rows counted off the diagonal (ascending).
    pub off_diagonal_indices: Vec<usize>,
    /// `estimate_joint`: calibrated joint normalized to sum 1.
    pub joint: Vec<Vec<f64>>,
    /// Prior, noise matrix and inverse noise matrix (from the returned confident joint).
    #[serde(flatten)]
    pub latent: Latent,
    /// Given-label counts per class.
    pub label_counts: Vec<usize>,
}

/// Confident joint, joint, latent estimates (cleanlab's
/// `estimate_py_and_noise_matrices_from_probabilities` plus `estimate_joint`).
pub fn confident_joint_request(r: &ConfidentJointRequest) -> Result<ConfidentJointResponse> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    check_labels(&r.labels, r.n, r.k, "labels")?;
    let o = &r.options;
    let thresholds = match &o.thresholds {
        Some(t) => t.clone(),
        None => confident_thresholds(&p, &r.labels)?,
    };
    let raw = compute_confident_joint(&p, &r.labels, Some(&thresholds), false)?;
    let lc = label_counts(&r.labels, r.k);
    let cj = if o.calibrate {
        calibrate_confident_joint(&raw.joint, &lc)
    } else {
        raw.joint.clone()
    };
    let joint = estimate_joint(&raw.joint, &lc);
    let latent = estimate_latent(&cj, &r.labels, o.py_method, o.converge_latent_estimates)?;
    Ok(ConfidentJointResponse {
        thresholds,
        confident_joint: cj.rows(),
        off_diagonal_indices: raw.off_diagonal,
        joint: joint.rows(),
        latent,
        label_counts: lc,
    })
}

/// Options of [`num_label_issues_request`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NumIssuesOptions {
    /// Counting method (default off-diagonal).
    #[serde(default)]
    pub estimation_method: EstimationMethod,
}

/// Request of [`num_label_issues_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NumIssuesRequest {
    /// Row-major predicted probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Options.
    #[serde(default)]
    pub options: NumIssuesOptions,
}

/// Response of [`num_label_issues_request`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NumIssuesResponse {
    /// Estimated number of label issues.
    pub num_label_issues: usize,
}

/// Run [`num_label_issues`] on a request.
pub fn num_label_issues_request(r: &NumIssuesRequest) -> Result<NumIssuesResponse> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    Ok(NumIssuesResponse {
        num_label_issues: num_label_issues(&p, &r.labels, r.options.estimation_method)?,
    })
}
