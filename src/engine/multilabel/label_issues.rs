//! Multi-label label issues and label quality (cleanlab 2.9 `multilabel_classification`:
//! `filter.find_label_issues`, `filter.find_multilabel_issues_per_class`,
//! `rank.get_label_quality_scores`, `rank.get_label_quality_scores_per_class`, and
//! `count.compute_confident_joint(multi_label=True)`).
//!
//! Every finding is its own one-vs-rest problem: column `j` becomes the two-class
//! probabilities `[1 - p_j, p_j]` with the given label "finding j present" (1) or not (0),
//! and the single-label confident-learning code in [`crate::engine::triage::label_issues`]
//! runs on it unchanged. An image has a label issue when any of its findings has one.
//!
//! Per-image quality scores aggregate the `k` per-finding scores: by default the exponential
//! moving average of the scores sorted from largest to smallest, `ema_1 = s_(1)`,
//! `ema_t = alpha s_(t) + (1 - alpha) ema_(t-1)`, alpha 0.8 (so the worst findings weigh
//! most); or the softmin `Σ s_j softmax((1 - s)/T)_j`.
//!
//! Deliberate differences from cleanlab (each checked in the golden tests):
//! - `lowSelfConfidence` / `lowNormalizedMargin` with `returnIndicesRankedBy`: cleanlab
//!   orders the flagged indices (taken in score order) by the scores of the flagged rows
//!   taken in index order, which mixes two orders; medtriage returns the flagged rows
//!   ordered by their score, lowest first (the documented meaning). The flagged set is the
//!   same. cleanlab also refits the class thresholds on the flagged rows alone when
//!   `rankByAdjustPredProbs` is set in that mode; medtriage uses all rows.
//! - A finding given on every image is a one-class problem that cleanlab refuses (the whole
//!   call fails); medtriage flags nothing for that finding and lists it in
//!   `skippedFindings`. A finding given on no image is run as cleanlab runs it (it allows
//!   that case), except that `predictedNeqGiven`, which cleanlab then refuses, simply flags
//!   the images where the model says present.
//! - Remaining exact ties are broken by the lower row index (NumPy's default sort is not
//!   stable).
//! - `numToRemovePerClass` takes one count per finding, passed on as cleanlab 2.9 does
//!   (`[count, 0]`: removed among the images where the finding is not given).

use serde::{Deserialize, Serialize};

use super::{column, probs_and_onehot, MlProbs};
use crate::engine::triage::label_issues as sl;
use crate::engine::triage::label_issues::{FilterBy, Probs, ScoreMethod};
use crate::error::{err, Result};

fn default_alpha() -> Option<f64> {
    Some(0.8)
}
fn default_temperature() -> f64 {
    0.1
}
fn default_one_f64() -> f64 {
    1.0
}
fn default_one_usize() -> usize {
    1
}

/// How per-finding scores become one score per image (cleanlab's `aggregator_kwargs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(tag = "method", rename_all = "camelCase", deny_unknown_fields)]
pub enum Aggregator {
    /// Exponential moving average over the scores sorted in descending order (default,
    /// alpha 0.8; `null` alpha = `2 / (k + 1)`).
    #[serde(alias = "exponential_moving_average")]
    ExponentialMovingAverage {
        /// Weight of each newer (smaller) score, in `[0, 1]`.
        #[serde(default = "default_alpha")]
        alpha: Option<f64>,
    },
    /// `Σ s_j softmax((1 - s) / temperature)_j` (default temperature 0.1).
    Softmin {
        /// Softmax temperature, > 0.
        #[serde(default = "default_temperature")]
        temperature: f64,
    },
}

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator::ExponentialMovingAverage { alpha: Some(0.8) }
    }
}

/// Options of [`per_finding_quality_scores`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerFindingQualityOptions {
    /// Score method (default self-confidence).
    #[serde(default)]
    pub method: ScoreMethod,
    /// Subtract each finding's one-vs-rest class thresholds before scoring.
    #[serde(default)]
    pub adjust_pred_probs: bool,
}

/// Options of [`label_quality_scores`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlQualityOptions {
    /// Per-finding score method (default self-confidence).
    #[serde(default)]
    pub method: ScoreMethod,
    /// Subtract each finding's one-vs-rest class thresholds before scoring.
    #[serde(default)]
    pub adjust_pred_probs: bool,
    /// Aggregation across findings (default EMA, alpha 0.8).
    #[serde(default)]
    pub aggregator: Aggregator,
}

/// Options of [`find_label_issues`] (cleanlab's keyword arguments, same defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlFindOptions {
    /// The flagging rule, applied per finding (default prune by noise rate).
    #[serde(default)]
    pub filter_by: FilterBy,
    /// Fraction of the estimated noise to flag, in `(0, 1]` (default 1).
    #[serde(default = "default_one_f64")]
    pub frac_noise: f64,
    /// Leave at least this many images of each (finding, present/absent) class unflagged.
    #[serde(default = "default_one_usize")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub min_examples_per_class: usize,
    /// One count per finding (prune modes only), cleanlab 2.9's `num_to_remove_per_class`.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub num_to_remove_per_class: Option<Vec<usize>>,
    /// A precomputed one-vs-rest confident joint, `k x 2 x 2` counts (finding, given,
    /// true), row-major; ignored by `confidentLearning`.
    #[serde(default)]
    pub confident_joint: Option<Vec<i64>>,
    /// Also return the flagged images ordered by this multi-label score, lowest first.
    #[serde(default)]
    pub return_indices_ranked_by: Option<ScoreMethod>,
    /// Adjust probabilities by the class thresholds for that ranking.
    #[serde(default)]
    pub rank_by_adjust_pred_probs: bool,
}

impl Default for MlFindOptions {
    fn default() -> Self {
        MlFindOptions {
            filter_by: FilterBy::default(),
            frac_noise: 1.0,
            min_examples_per_class: 1,
            num_to_remove_per_class: None,
            confident_joint: None,
            return_indices_ranked_by: None,
            rank_by_adjust_pred_probs: false,
        }
    }
}

/// Result of [`find_label_issues`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlLabelIssues {
    /// One flag per image: some finding of it is likely mislabelled.
    pub is_label_issue: Vec<bool>,
    /// Number of flagged images.
    pub num_issues: usize,
    /// Flagged images, lowest multi-label quality first (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked_indices: Option<Vec<usize>>,
    /// `n x k` row-major: finding `j` of image `i` is flagged (empty for the
    /// `lowSelfConfidence` / `lowNormalizedMargin` modes, which rank whole images).
    pub per_finding: Vec<bool>,
    /// Per finding: flagged images where the finding was given (possibly a false positive
    /// annotation) and where it was not given (possibly missed).
    pub finding_summary: Vec<FindingIssueCount>,
    /// Findings given on every image (nothing flagged there).
    pub skipped_findings: Vec<usize>,
    /// `1 - numIssues / n` (cleanlab's `overall_multilabel_health_score`).
    pub health_score: f64,
}

/// Issues of one finding (cleanlab's `common_multilabel_issues` and
/// `rank_classes_by_multilabel_quality`, in finding order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingIssueCount {
    /// Finding index.
    pub finding: usize,
    /// Flagged where the finding is in the given label.
    pub in_given_label: usize,
    /// Flagged where the finding is not in the given label.
    pub not_in_given_label: usize,
    /// `inGivenLabel / n` (cleanlab's "Label Noise").
    pub label_noise: f64,
    /// `notInGivenLabel / n` (cleanlab's "Inverse Label Noise").
    pub inverse_label_noise: f64,
    /// `1 - labelNoise` (cleanlab's per-class "Label Quality Score").
    pub label_quality_score: f64,
}

fn binary_probs(col: &[f64]) -> Result<Probs<'_>> {
    Probs::new(col, col.len() / 2, 2)
}

fn all_present(labels: &[usize]) -> bool {
    labels.iter().all(|&l| l == 1)
}

/// Per-finding label quality, `n x k` row-major (cleanlab's
/// `get_label_quality_scores_per_class`): finding `j` scored as its own two-class problem.
pub fn per_finding_quality_scores(
    p: &MlProbs<'_>,
    y: &[u8],
    o: &PerFindingQualityOptions,
) -> Result<Vec<f64>> {
    let (n, k) = (p.n(), p.k());
    if y.len() != n * k {
        return Err(err!(InvalidInput, "labels are not n x k"));
    }
    let mut out = vec![0.0; n * k];
    let qo = sl::QualityOptions {
        method: o.method,
        adjust_pred_probs: o.adjust_pred_probs,
    };
    for j in 0..k {
        let b = p.binary(j);
        let bp = binary_probs(&b)?;
        let s = sl::label_quality_scores(&bp, &column(y, k, j), &qo)?;
        for i in 0..n {
            out[i * k + j] = s[i];
        }
    }
    Ok(out)
}

/// Aggregate `n x k` per-finding scores into one score per image.
pub fn aggregate(scores: &[f64], n: usize, k: usize, a: &Aggregator) -> Result<Vec<f64>> {
    if scores.len() != n * k || k == 0 {
        return Err(err!(InvalidInput, "scores are not n x k"));
    }
    match *a {
        Aggregator::ExponentialMovingAverage { alpha } => {
            let alpha = alpha.unwrap_or(2.0 / (k as f64 + 1.0));
            if !(0.0..=1.0).contains(&alpha) {
                return Err(err!(InvalidOptions, "aggregator alpha must be in [0, 1]"));
            }
            let mut row = vec![0.0; k];
            Ok(scores
                .chunks_exact(k)
                .map(|r| {
                    row.copy_from_slice(r);
                    row.sort_by(|a, b| b.total_cmp(a));
                    let mut ema = row[0];
                    for &s in &row[1..] {
                        ema = alpha * s + (1.0 - alpha) * ema;
                    }
                    ema
                })
                .collect())
        }
        Aggregator::Softmin { temperature } => {
            if !(temperature.is_finite() && temperature > 0.0) {
                return Err(err!(InvalidOptions, "aggregator temperature must be > 0"));
            }
            Ok(scores
                .chunks_exact(k)
                .map(|r| {
                    let x: Vec<f64> = r.iter().map(|s| (1.0 - s) / temperature).collect();
                    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
                    let z = sl::np_sum(&e);
                    r.iter().zip(&e).map(|(s, w)| s * w / z).sum()
                })
                .collect())
        }
    }
}

/// One quality score per image (cleanlab's multi-label `get_label_quality_scores`).
pub fn label_quality_scores(p: &MlProbs<'_>, y: &[u8], o: &MlQualityOptions) -> Result<Vec<f64>> {
    let per = per_finding_quality_scores(
        p,
        y,
        &PerFindingQualityOptions {
            method: o.method,
            adjust_pred_probs: o.adjust_pred_probs,
        },
    )?;
    aggregate(&per, p.n(), p.k(), &o.aggregator)
}

/// The one-vs-rest confident joint, `k x 2 x 2` (cleanlab's
/// `compute_confident_joint(multi_label=True)`): entry `[j][s][t]` counts images whose given
/// label for finding `j` is `s` and whose confidently estimated true label is `t`.
pub fn confident_joint(p: &MlProbs<'_>, y: &[u8], calibrate: bool) -> Result<Vec<i64>> {
    let (n, k) = (p.n(), p.k());
    if y.len() != n * k {
        return Err(err!(InvalidInput, "labels are not n x k"));
    }
    let mut out = Vec::with_capacity(4 * k);
    for j in 0..k {
        let b = p.binary(j);
        let bp = binary_probs(&b)?;
        let cj = sl::compute_confident_joint(&bp, &column(y, k, j), None, calibrate)?;
        out.extend_from_slice(&cj.joint.data);
    }
    Ok(out)
}

/// Per-finding result of [`find_label_issues_per_finding`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PerFindingIssues {
    /// `n x k` row-major flags.
    pub is_label_issue: Vec<bool>,
    /// Per finding, its flagged images ordered by that finding's two-class score (when
    /// asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked_indices: Option<Vec<Vec<usize>>>,
    /// Findings given on every image (nothing flagged).
    pub skipped_findings: Vec<usize>,
}

fn check_find(o: &MlFindOptions, k: usize) -> Result<()> {
    sl::check_frac_noise(o.frac_noise)?;
    sl::check_num_to_remove(o.num_to_remove_per_class.as_deref(), k)?;
    if let Some(cj) = &o.confident_joint {
        if cj.len() != 4 * k || cj.iter().any(|&v| v < 0) {
            return Err(err!(
                InvalidOptions,
                "confidentJoint must be {k} x 2 x 2 non-negative counts"
            ));
        }
    }
    Ok(())
}

/// cleanlab's `find_multilabel_issues_per_class`: the single-label rule on each finding's
/// one-vs-rest problem.
pub fn find_label_issues_per_finding(
    p: &MlProbs<'_>,
    y: &[u8],
    o: &MlFindOptions,
) -> Result<PerFindingIssues> {
    let (n, k) = (p.n(), p.k());
    if y.len() != n * k {
        return Err(err!(InvalidInput, "labels are not n x k"));
    }
    check_find(o, k)?;
    let mut mask = vec![false; n * k];
    let mut ranked = o.return_indices_ranked_by.map(|_| Vec::with_capacity(k));
    let mut skipped = Vec::new();
    for j in 0..k {
        let labels = column(y, k, j);
        if all_present(&labels) {
            skipped.push(j);
            if let Some(r) = ranked.as_mut() {
                r.push(Vec::new());
            }
            continue;
        }
        let b = p.binary(j);
        let bp = binary_probs(&b)?;
        let fo = sl::FindOptions {
            filter_by: o.filter_by,
            frac_noise: o.frac_noise,
            num_to_remove_per_class: o.num_to_remove_per_class.as_ref().map(|v| vec![v[j], 0]),
            min_examples_per_class: o.min_examples_per_class,
            confident_joint: o
                .confident_joint
                .as_ref()
                .map(|cj| cj[4 * j..4 * j + 4].to_vec()),
            return_indices_ranked_by: o.return_indices_ranked_by,
            rank_by_adjust_pred_probs: o.rank_by_adjust_pred_probs,
        };
        let r = sl::find_label_issues_all_zero_ok(&bp, &labels, &fo)?;
        for i in 0..n {
            mask[i * k + j] = r.is_label_issue[i];
        }
        if let (Some(all), Some(ri)) = (ranked.as_mut(), r.ranked_indices) {
            all.push(ri);
        }
    }
    Ok(PerFindingIssues {
        is_label_issue: mask,
        ranked_indices: ranked,
        skipped_findings: skipped,
    })
}

fn order_by(scores: &[f64], idx: &mut [usize]) {
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
}

/// cleanlab's multi-label `find_label_issues`: images with a label issue in any finding (or,
/// for `lowSelfConfidence` / `lowNormalizedMargin`, the images of lowest multi-label
/// self-confidence score, as many as confident learning flags).
pub fn find_label_issues(p: &MlProbs<'_>, y: &[u8], o: &MlFindOptions) -> Result<MlLabelIssues> {
    let (n, k) = (p.n(), p.k());
    if y.len() != n * k {
        return Err(err!(InvalidInput, "labels are not n x k"));
    }
    check_find(o, k)?;
    let rank_scores = |m: ScoreMethod| {
        label_quality_scores(
            p,
            y,
            &MlQualityOptions {
                method: m,
                adjust_pred_probs: o.rank_by_adjust_pred_probs,
                aggregator: Aggregator::default(),
            },
        )
    };
    let (mask, per_finding, skipped) = match o.filter_by {
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin => {
            let cl = find_label_issues_per_finding(
                p,
                y,
                &MlFindOptions {
                    filter_by: FilterBy::ConfidentLearning,
                    return_indices_ranked_by: None,
                    ..o.clone()
                },
            )?;
            let num = cl
                .is_label_issue
                .chunks_exact(k)
                .filter(|r| r.iter().any(|&b| b))
                .count();
            // cleanlab scores with the default self-confidence + EMA in both modes
            let s = label_quality_scores(p, y, &MlQualityOptions::default())?;
            let mut idx: Vec<usize> = (0..n).collect();
            order_by(&s, &mut idx);
            let mut mask = vec![false; n];
            for &i in &idx[..num.min(n)] {
                mask[i] = true;
            }
            (mask, Vec::new(), cl.skipped_findings)
        }
        _ => {
            let per = find_label_issues_per_finding(
                p,
                y,
                &MlFindOptions {
                    return_indices_ranked_by: None,
                    ..o.clone()
                },
            )?;
            let mask: Vec<bool> = per
                .is_label_issue
                .chunks_exact(k)
                .map(|r| r.iter().any(|&b| b))
                .collect();
            (mask, per.is_label_issue, per.skipped_findings)
        }
    };
    let ranked_indices = match o.return_indices_ranked_by {
        None => None,
        Some(m) => {
            let s = rank_scores(m)?;
            let mut idx: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
            order_by(&s, &mut idx);
            Some(idx)
        }
    };
    let mut finding_summary = Vec::with_capacity(k);
    for j in 0..k {
        let (mut given, mut not_given) = (0, 0);
        for i in 0..n {
            let flagged = if per_finding.is_empty() {
                false
            } else {
                per_finding[i * k + j]
            };
            if flagged {
                if y[i * k + j] == 1 {
                    given += 1;
                } else {
                    not_given += 1;
                }
            }
        }
        finding_summary.push(FindingIssueCount {
            finding: j,
            in_given_label: given,
            not_in_given_label: not_given,
            label_noise: given as f64 / n as f64,
            inverse_label_noise: not_given as f64 / n as f64,
            label_quality_score: 1.0 - given as f64 / n as f64,
        });
    }
    let num_issues = mask.iter().filter(|&&b| b).count();
    Ok(MlLabelIssues {
        num_issues,
        health_score: 1.0 - num_issues as f64 / n as f64,
        is_label_issue: mask,
        ranked_indices,
        per_finding,
        finding_summary,
        skipped_findings: skipped,
    })
}

// ---------------------------------------------------------------------------------------
// Requests and responses shared by the JS API and the CLI.

/// Multi-label probabilities plus given labels: the common part of the requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlLabeledProbs {
    /// Row-major probabilities, `n x k`, each in `[0, 1]`.
    pub pred_probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given findings per image (lists of indices in `0..k`).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
}

/// Request of [`find_label_issues_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlFindRequest {
    /// Row-major probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: MlFindOptions,
}

/// Run [`find_label_issues`] on a request.
pub fn find_label_issues_request(r: &MlFindRequest) -> Result<MlLabelIssues> {
    let (p, y) = probs_and_onehot(&r.pred_probs, &r.labels, r.n, r.k)?;
    find_label_issues(&p, &y, &r.options)
}

/// Request of [`quality_scores_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlQualityRequest {
    /// Row-major probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Given findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: MlQualityOptions,
}

/// Response of [`quality_scores_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlQualityResponse {
    /// One score per image in `[0, 1]`; low = some finding likely mislabelled.
    pub scores: Vec<f64>,
    /// `n x k` row-major per-finding scores.
    pub per_finding: Vec<f64>,
    /// Per finding, the mean of its per-image scores (low = a noisy finding).
    pub finding_mean: Vec<f64>,
}

/// Run [`label_quality_scores`] on a request (with the per-finding scores).
pub fn quality_scores_request(r: &MlQualityRequest) -> Result<MlQualityResponse> {
    let (p, y) = probs_and_onehot(&r.pred_probs, &r.labels, r.n, r.k)?;
    let per = per_finding_quality_scores(
        &p,
        &y,
        &PerFindingQualityOptions {
            method: r.options.method,
            adjust_pred_probs: r.options.adjust_pred_probs,
        },
    )?;
    let scores = aggregate(&per, r.n, r.k, &r.options.aggregator)?;
    let finding_mean = (0..r.k)
        .map(|j| (0..r.n).map(|i| per[i * r.k + j]).sum::<f64>() / r.n as f64)
        .collect();
    Ok(MlQualityResponse {
        scores,
        per_finding: per,
        finding_mean,
    })
}

/// Response of [`confident_joint_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlConfidentJointResponse {
    /// `k x 2 x 2` counts, row-major (finding, given, true).
    pub confident_joint: Vec<i64>,
}

/// The calibrated one-vs-rest confident joint of a request.
pub fn confident_joint_request(r: &MlLabeledProbs) -> Result<MlConfidentJointResponse> {
    let (p, y) = probs_and_onehot(&r.pred_probs, &r.labels, r.n, r.k)?;
    Ok(MlConfidentJointResponse {
        confident_joint: confident_joint(&p, &y, true)?,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::onehot;
    use super::*;

    #[test]
    fn ema_matches_cleanlab_docstring() {
        // cleanlab's examples: [[0.9,0.9,0.3],[0.4,0.9,0.6]] -> [0.42, 0.452]
        let s = [0.9, 0.9, 0.3, 0.4, 0.9, 0.6];
        let a = aggregate(&s, 2, 3, &Aggregator::default()).unwrap();
        assert!((a[0] - 0.42).abs() < 1e-12 && (a[1] - 0.452).abs() < 1e-12);
        let b = aggregate(
            &s,
            2,
            3,
            &Aggregator::ExponentialMovingAverage { alpha: Some(0.5) },
        )
        .unwrap();
        assert!((b[0] - 0.6).abs() < 1e-12 && (b[1] - 0.575).abs() < 1e-12);
    }

    #[test]
    fn quality_example_and_bad_input() {
        let p = [0.1, 0.9, 0.1, 0.4, 0.1, 0.9];
        let mp = MlProbs::new(&p, 2, 3).unwrap();
        let y = onehot(&[vec![1], vec![0, 2]], 2, 3).unwrap();
        let s = label_quality_scores(&mp, &y, &MlQualityOptions::default()).unwrap();
        assert!((s[0] - 0.9).abs() < 1e-12 && (s[1] - 0.5).abs() < 1e-12);
        assert_eq!(
            onehot(&[vec![3]], 1, 3).unwrap_err().kind().code(),
            "invalid_input"
        );
        assert_eq!(
            MlProbs::new(&[0.5, f64::NAN], 1, 2)
                .unwrap_err()
                .kind()
                .code(),
            "invalid_probabilities"
        );
        assert_eq!(
            MlProbs::new(&[0.5, 1.5], 1, 2).unwrap_err().kind().code(),
            "invalid_probabilities"
        );
        let r: std::result::Result<MlFindOptions, _> =
            serde_json::from_str(r#"{"filterBy":"both","fracNoize":0.5}"#);
        assert!(r.is_err());
    }

    #[test]
    fn one_class_finding_is_skipped_not_an_error() {
        // finding 0 is given on every image: nothing to prune there
        let p = [0.9, 0.2, 0.8, 0.7, 0.1, 0.3, 0.2, 0.9];
        let mp = MlProbs::new(&p, 4, 2).unwrap();
        let y = onehot(&[vec![0], vec![0, 1], vec![0], vec![0]], 4, 2).unwrap();
        let r = find_label_issues(&mp, &y, &MlFindOptions::default()).unwrap();
        assert_eq!(r.skipped_findings, vec![0]);
        assert_eq!(r.is_label_issue.len(), 4);
        assert!((0..4).all(|i| !r.per_finding[i * 2]));
    }
}
