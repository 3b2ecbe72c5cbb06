//! Selection request and response types: strategy, metric, cold start, class budget, picks
//! and the per-class allocation.

#[cfg(doc)]
use super::select_batch;

use serde::{Deserialize, Serialize};

/// Largest candidate set for the `O(n^2)` medoid cold start.
pub const MEDOID_MAX_ITEMS: usize = 20_000;

/// The selection rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Strategy {
    /// Highest scores (default).
    #[default]
    #[serde(alias = "top-k", alias = "top_k")]
    TopK,
    /// Ranked batch (Cardoso et al. 2017, modAL): uncertainty balanced against similarity.
    #[serde(alias = "ranked-batch", alias = "ranked_batch")]
    RankedBatch,
    /// Core-set k-center greedy (Sener & Savarese 2018).
    #[serde(alias = "k-center-greedy", alias = "k_center_greedy")]
    KCenterGreedy,
    /// BADGE (Ash et al. 2020): k-means++ seeding on gradient embeddings.
    Badge,
}

/// Distance between embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    /// Euclidean (default; modAL's default).
    #[default]
    Euclidean,
    /// Cosine distance `1 - x·y / (|x||y|)`, clipped to `[0, 2]`; a zero vector is at
    /// distance 1 from everything (scikit-learn's `cosine_distances`).
    Cosine,
}

/// Cold start of `rankedBatch` without a labelled set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ColdStart {
    /// The highest-scored item (default, `O(n)`).
    #[default]
    TopScore,
    /// modAL's choice: least mean distance to all candidates (`O(n^2 d)`).
    Medoid,
}

/// How the batch is split across classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ClassBudget {
    /// No split (default).
    #[default]
    None,
    /// Proportional to the eligible items per class.
    Proportional,
    /// Proportional to `classErrorRates[c] x` eligible items in class `c`.
    ByEstimatedError,
    /// Explicit per-class counts.
    Counts(Vec<usize>),
}

/// Options of [`select_batch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SelectOptions {
    /// Distance on embeddings for `rankedBatch` and `kCenterGreedy` (default Euclidean;
    /// BADGE is always Euclidean and rejects `cosine`).
    pub metric: Option<Metric>,
    /// Seed of BADGE's sampling stream (default 0).
    pub seed: u64,
    /// Cold start of `rankedBatch` without labelled embeddings.
    pub cold_start: ColdStart,
    /// Per-class split of the batch.
    pub class_budget: ClassBudget,
    /// Per-class estimated error rates in `[0, 1]` (`1 - precision` from the verified set),
    /// needed by `byEstimatedError`.
    pub class_error_rates: Option<Vec<f64>>,
    /// Minimum picks per class (capped at the class's eligible items) when splitting.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub min_per_class: usize,
    /// BADGE: return the sampling probabilities of each step.
    pub trace: bool,
}

/// A batch-selection request (same struct for the JS API and the CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectRequest {
    /// One score per item, higher = more informative; non-finite items are never selected.
    pub scores: Vec<f64>,
    /// Items to select.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch_size: usize,
    /// Strategy (default `topK`).
    #[serde(default)]
    pub strategy: Strategy,
    /// Row-major embeddings, `n x d` (needed by every strategy but `topK`).
    #[serde(default)]
    pub embeddings: Option<Vec<f64>>,
    /// Embedding dimension.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: Option<usize>,
    /// Embeddings of the already-labelled (verified) items, `m x d` row-major: the initial
    /// labelled set of `rankedBatch`, the initial centres of `kCenterGreedy`.
    #[serde(default)]
    pub labeled_embeddings: Option<Vec<f64>>,
    /// Row-major predicted probabilities, `n x k` (BADGE; classes for stratification).
    #[serde(default)]
    pub pred_probs: Option<Vec<f64>>,
    /// Classes (needed with `predProbs` or a class budget).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: Option<usize>,
    /// Predicted class per item (stratification; default arg-max of `predProbs`).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: Option<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: SelectOptions,
}

/// One selected item and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pick {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Position in the batch (0 = first pick).
    pub rank: usize,
    /// The item's score.
    pub score: f64,
    /// The value the strategy maximised at this pick: the score (`topK`), the ranked-batch
    /// combination, the distance to the nearest centre (`kCenterGreedy`), the sampling
    /// probability (`badge`; 1 for the first centre).
    pub objective: f64,
    /// Distance to the nearest labelled-or-already-selected item when picked (absent when
    /// that set was empty); BADGE: gradient-space distance to the nearest centre.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f64>,
    /// `rankedBatch`: `1 / (1 + distance)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// `rankedBatch`: the weight `alpha` at this pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// `badge`: `|g_i|`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_norm: Option<f64>,
    /// Predicted class, when classes are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<usize>,
    /// Class stratum the pick was made in (with a class budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratum: Option<usize>,
}

/// The per-class split of the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassAllocation {
    /// Class index.
    pub class: usize,
    /// Eligible items predicted as the class.
    pub pool: usize,
    /// The estimated error rate used (`byEstimatedError`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Allocation weight (before the floor and caps).
    pub weight: f64,
    /// Explicitly requested count (`counts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<usize>,
    /// Picks allocated (and made) in the class.
    pub allocated: usize,
}

/// The selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SelectResponse {
    /// Strategy used.
    pub strategy: Strategy,
    /// Batch size asked for.
    pub requested_batch_size: usize,
    /// Effective batch size (clipped to the eligible items).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch_size: usize,
    /// Selected item indices in pick order.
    pub selected: Vec<usize>,
    /// One entry per selected item, in pick order.
    pub picks: Vec<Pick>,
    /// Items with a non-finite score (never selected), ascending.
    pub skipped_non_finite: Vec<usize>,
    /// Metric used on embeddings (absent for `topK`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Per-class allocation (with a class budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Vec<ClassAllocation>>,
    /// BADGE with `trace`: per sampling step, the probability of each item (length n).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<Vec<f64>>>,
    /// Bytes of the working arrays the selection allocated (inputs excluded).
    pub working_bytes: usize,
    /// Remarks (clipping, ignored inputs).
    pub notes: Vec<String>,
}
