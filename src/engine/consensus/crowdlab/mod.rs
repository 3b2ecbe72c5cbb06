//! CROWDLAB and ActiveLab, as cleanlab 2.9's `cleanlab.multiannotator`
//! (`get_label_quality_multiannotator` with its defaults: `consensus_method="best_quality"`,
//! `quality_method="crowdlab"`, `calibrate_probs=False`; and `get_active_learning_scores`).
//!
//! CROWDLAB, step by step (cleanlab's equations):
//! 1. Majority vote with cleanlab's tie chain: most votes; then the highest model
//!    probability among the tied classes; then the class least frequent over all annotations;
//!    then the highest mean agreement (with the consensus on untied items) of the annotators
//!    who chose it. **Difference**: cleanlab breaks what is still tied *at random*; here the
//!    lowest class index wins, and such items are listed in `unresolvedTies`.
//! 2. Consensus statistics for a consensus label `y`: per-item agreement `a_i` (share of
//!    item `i`'s annotators who chose `y_i`); over items with more than one annotation, the
//!    consensus likelihood `CL = mean a_i`, `NCL = (1-CL)/(K-1)`, the most-likely-class error
//!    `MLCE = max(share of y != most frequent y, 1e-6)`; per annotator `j` the agreement with
//!    other annotators `A_j` (weighted by `n_i - 1`; an annotator with no overlap gets the mean
//!    of the others), weight `w_j = max(1 - (1-A_j)/MLCE, 1e-6)`; model weight
//!    `w_M = max(1 - model_error/MLCE, 1e-6) · sqrt(mean n_i)` (model error = share of
//!    argmax p != y on the same items). Posterior
//!    `P_i[c] = (w_M p_i[c] + Σ_{j on i} w_j (CL if label_ij = c else NCL)) / (w_M + Σ w_j)`;
//!    consensus quality = `P_i[y_i]`.
//! 3. "best_quality": `y_i = argmax P_i` from the majority-vote pass (if the maximum is
//!    tied, the majority vote); step 2 is run again with these labels: that is the output.
//! 4. Per annotation quality = `P_i[label_ij]`; per annotator quality
//!    `q_j = w · mean_i P_i[label_ij] + (1-w) · agreement_j` with
//!    `w = w_M / (w_M + Σ_j w_j · mean n_i / m)` and `agreement_j` = share of `j`'s labels
//!    equal to the consensus on items with several annotations (null when there is none).
//!
//! With `calibrateProbs` (cleanlab's `calibrate_probs=True`, off by default) the model
//! probabilities are first temperature-scaled: the temperature minimizing the soft cross
//! entropy between the annotators' empirical label distribution and the scaled
//! probabilities, searched on `[0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8]` then on a finer grid
//! around the best (cleanlab's `find_best_temp_scaler`). Faithful to cleanlab 2.9, the
//! "empirical label distribution" of an item lists the counts of the classes present in
//! ascending class order *from position 0* (its `value_counts` on float labels does not
//! place them at their class index), so when an item's labels miss a class the distribution
//! is shifted; this quirk is reproduced on purpose so the chosen temperature matches.
//!
//! ActiveLab (`get_active_learning_scores`): if some item has more than one annotation, the
//! probabilities are temperature-scaled as above and CROWDLAB is run on them; the score of
//! labeled item `i` is the weighted mean of its consensus quality (weight `w_M + Σ_{j on i}
//! w_j`) and `1/K` (weight `mean_j w_j`). If every item has exactly one annotation, the
//! consensus is that label, its quality `p_i[label]`, all weights 1 and no scaling. An
//! unlabeled item scores the weighted mean of `max_c p_c` (scaled with the same temperature)
//! and `1/K`. Low score = most needs another annotation: `next` is the argmin over labeled
//! then unlabeled items, ties to the labeled set first, then the lowest index.
//!
//! Other differences: the per-annotator table follows the annotator order (cleanlab sorts it
//! by quality); the softmax of the temperature search is max-shifted (same values up to
//! rounding; cleanlab's unshifted form can underflow).

mod active;
mod quality;
mod temperature;
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests;

pub use active::active_lab;
pub use temperature::{find_best_temperature, temperature_scale};

use serde::{Deserialize, Serialize};

use super::data::{check_probs, ConsensusRequest, Dataset};
use crate::error::{err, Result};
use quality::crowdlab_core;

/// cleanlab's `CLIPPING_LOWER_BOUND`.
pub const CLIPPING_LOWER_BOUND: f64 = 1e-6;
/// cleanlab's `SMALL_CONST` (probability floor of the temperature search).
pub const SMALL_CONST: f64 = 1e-30;
/// cleanlab's coarse temperature grid.
pub const COARSE_TEMPERATURES: [f64; 9] = [0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 3.0, 5.0, 8.0];

/// CROWDLAB options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CrowdlabOptions {
    /// Temperature-scale the model probabilities first (cleanlab `calibrate_probs`, default
    /// false).
    pub calibrate_probs: bool,
}

/// ActiveLab options (none yet; unknown fields are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActiveLabOptions {}

/// Per-annotator CROWDLAB statistics (cleanlab's `annotator_stats`, in annotator order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnnotatorStats {
    /// Annotator id.
    pub annotator: String,
    /// Overall quality (null if the annotator only labeled singly-annotated items).
    pub annotator_quality: Option<f64>,
    /// Share of the annotator's labels equal to the consensus.
    pub agreement_with_consensus: f64,
    /// The class this annotator labels worst (cleanlab's `worst_class`).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub worst_class: usize,
    /// Items labeled.
    pub num_examples_labeled: usize,
}

/// CROWDLAB result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CrowdlabResponse {
    /// Item ids (row order).
    pub items: Vec<String>,
    /// Annotator ids.
    pub annotators: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Consensus class per item.
    pub consensus_label: Vec<usize>,
    /// Consensus quality score per item.
    pub consensus_quality_score: Vec<f64>,
    /// Share of the item's annotators agreeing with the consensus.
    pub annotator_agreement: Vec<f64>,
    /// Annotations per item.
    pub num_annotations: Vec<usize>,
    /// Quality of each annotation, aligned with the request's `annotations`.
    pub annotation_quality: Vec<f64>,
    /// Per-annotator statistics, annotator order.
    pub annotator_stats: Vec<AnnotatorStats>,
    /// The model's weight.
    pub model_weight: f64,
    /// Each annotator's weight.
    pub annotator_weight: Vec<f64>,
    /// Posterior probabilities `n x K` (cleanlab's post_pred_probs).
    pub post_pred_probs: Vec<f64>,
    /// The (cleanlab) majority vote the method started from.
    pub majority_vote_label: Vec<usize>,
    /// Items whose majority-vote tie survived every cleanlab rule (cleanlab: random choice;
    /// here: lowest class index).
    pub unresolved_ties: Vec<usize>,
    /// Temperature applied to the model probabilities (1 when not calibrating).
    pub temperature: f64,
}

/// The next item to annotate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NextItem {
    /// `"labeled"` or `"unlabeled"`.
    pub set: String,
    /// Index within that set.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Its id.
    pub item: String,
    /// Its score.
    pub score: f64,
}

/// ActiveLab result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActiveLabResponse {
    /// Labeled item ids.
    pub items: Vec<String>,
    /// Unlabeled item ids.
    pub unlabeled_items: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Scores of labeled items (low = needs another annotation).
    pub scores: Vec<f64>,
    /// Scores of unlabeled items.
    pub scores_unlabeled: Vec<f64>,
    /// Argmin score (labeled first on ties, then lowest index); null with no item at all.
    pub next: Option<NextItem>,
    /// Temperature applied to the model probabilities.
    pub temperature: f64,
    /// Model weight.
    pub model_weight: f64,
    /// Annotator weights (empty without labeled items).
    pub annotator_weight: Vec<f64>,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, c) = v.fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
    s / c as f64
}

fn num_annotations(d: &Dataset) -> Vec<usize> {
    (0..d.n()).map(|i| d.item(i).len()).collect()
}

fn check_multi(d: &Dataset, num: &[usize], what: &str) -> Result<()> {
    if d.m() < 2 {
        return Err(err!(
            InsufficientData,
            "{what} needs at least 2 annotators (got 1); with one annotator use a single-label quality score"
        ));
    }
    if num.iter().all(|&c| c == 1) {
        return Err(err!(
            InsufficientData,
            "{what} needs at least one item with more than one annotation (every item has exactly one)"
        ));
    }
    Ok(())
}

/// CROWDLAB for a request (`predProbs` required, `n x K` in item order).
pub fn crowdlab(req: &ConsensusRequest<CrowdlabOptions>) -> Result<CrowdlabResponse> {
    if req.pred_probs_unlabeled.is_some() || req.unlabeled_items.is_some() {
        return Err(err!(
            InvalidOptions,
            "CROWDLAB does not use unlabeled items (predProbsUnlabeled belongs to ActiveLab)"
        ));
    }
    let d = Dataset::build(req)?;
    let probs = req.pred_probs.as_deref().ok_or_else(|| {
        err!(
            InvalidInput,
            "CROWDLAB needs model probabilities (predProbs, n x K)"
        )
    })?;
    check_probs(probs, d.n(), d.k(), "predProbs")?;
    let num = num_annotations(&d);
    check_multi(&d, &num, "CROWDLAB")?;
    if req.options.calibrate_probs {
        let t = find_best_temperature(&d, probs);
        let scaled = temperature_scale(probs, d.k(), t);
        Ok(crowdlab_core(&d, &scaled, t))
    } else {
        Ok(crowdlab_core(&d, probs, 1.0))
    }
}
