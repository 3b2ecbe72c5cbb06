//! Batch selection for the review queue: which items go to reviewers next.
//!
//! One request ([`SelectRequest`]) names a score per item (higher = more informative, e.g. an
//! uncertainty or a label-issue score), a batch size and a [`Strategy`]; the response
//! ([`SelectResponse`]) lists the selected items in pick order with the reason for each pick.
//! Everything is `f64` and deterministic (BADGE's sampling uses a seeded SplitMix64).
//!
//! **Common rules.** Items whose score is NaN or infinite are never selected and are listed in
//! `skippedNonFinite`; their embedding and probability rows are not read (they may be NaN).
//! Every other embedding/probability row must be finite (typed `invalid_input` error).
//! `batchSize = 0` is an `invalid_options` error; a batch size above the number of eligible
//! items is clipped to that number, with a note (`batchSize` in the response is the effective
//! size). Every arg-max/arg-min breaks ties by the **lower item index** (NumPy's `argmax`
//! rule), every ordering is stable.
//!
//! # Strategies
//!
//! - **`topK`**: the `batchSize` highest scores, ties by lower index (NumPy
//!   `argsort(-s, kind="stable")`).
//! - **`rankedBatch`** (Cardoso et al. 2017, "Ranked batch-mode active learning", as modAL 0.4's
//!   `modAL.batch.ranked_batch`): with `U` the eligible items not yet picked and `D` the labelled
//!   set (`labeledEmbeddings`) plus the items picked so far, each step picks
//!   `argmax alpha (1 - sim_i) + (1 - alpha) score_i`, `alpha = |U| / (|U| + |D|)`,
//!   `sim_i = 1 / (1 + dist_i)` with `dist_i` the distance from item `i` to its nearest member
//!   of `D` (modAL's formula, for either metric; the score is used as given, like modAL's
//!   uncertainty, so keep it in `[0, 1]` to balance the two terms). The per-item minimum
//!   distance is updated incrementally with each pick: `O(n d (|labelled| + batch))` time,
//!   `O(n)` extra memory (modAL recomputes distances to all of `D` at every step). Without a labelled set the first
//!   pick is the cold start: `coldStart: "topScore"` (default, `O(n)`) takes the highest score;
//!   `"medoid"` takes modAL's choice, the item with the least mean distance to all eligible
//!   items (`O(n^2 d)` time, limited to 20,000 candidates). Difference from modAL: modAL
//!   leaves its cold-start item in the pool, so its `|U|` counts that item once more than ours
//!   (alpha `(n - t) / (n + 1)` instead of `(n - 1 - t) / n` at step `t`) and the item could in
//!   principle be picked twice; ours removes it. With a labelled set the two agree exactly.
//! - **`kCenterGreedy`** (Sener & Savarese 2018 core-set greedy, as Google's active-learning
//!   `kcenter_greedy.py`): centres start as the labelled set, or, without one, the
//!   highest-scored item (Google picks a random first item instead); then each step picks the
//!   item farthest from its nearest centre (`argmax min-distance`). Incremental min-distance:
//!   `O(n d (|labelled| + batch))` time, `O(n)` extra memory.
//! - **`badge`** (Ash et al. 2020, the authors' `badge_sampling.py`): gradient embedding
//!   `g_i = (p_i - onehot(yhat_i)) ⊗ h_i` (`yhat` = arg-max of `predProbs`, `h` =
//!   `embeddings`; the original stores `-g_i`, which has the same norms and distances), then
//!   k-means++ seeding: the first centre is the item with the largest `|g_i|`; each further
//!   centre is drawn with probability `D_i^2 / Σ D^2`, `D_i` = Euclidean distance in gradient
//!   space to the nearest centre. The `n x k·d` gradient matrix is never built: with
//!   `r = p - onehot`, `|g_i|^2 = |r_i|^2 |h_i|^2` and
//!   `|g_i - g_j|^2 = |r_i - r_j|^2 |h_i|^2 + |r_j|^2 |h_i - h_j|^2 +
//!   2 ((r_i - r_j)·r_j)(h_i·(h_i - h_j))` (exact algebra, no cancellation when `g_i ≈ g_j`):
//!   `O(n (k + d))` per step, `O(n)` extra memory. Sampling: `u` = next SplitMix64 uniform
//!   (`crate::engine::probs::SplitMix64`, seeded with `seed`), the pick is the
//!   first item whose running sum of `D^2` (item order) exceeds `u Σ D^2` (inverse CDF; the
//!   original draws with `scipy.stats.rv_discrete` and redraws when it hits a centre, which
//!   has zero probability here). When every remaining `D` is 0 the lowest-index remaining item
//!   is taken (the original stops in the debugger). BADGE always uses the Euclidean distance
//!   and no labelled set (both rejected if given). `trace: true` returns the `D^2`
//!   probabilities of every sampling step.
//!
//!   *small-text's `BADGE` differs* (small-text 1.4 `integrations/pytorch/query_strategies`):
//!   its `get_badge_embeddings` writes `scale[proba_argmax] = -proba[proba_argmax]`, indexing
//!   *rows* by class indices, so the one-hot term is never added (the embedding is `-p ⊗ h`
//!   and some rows are overwritten); with 2 classes it uses the raw embeddings; and it seeds
//!   with scikit-learn's greedy k-means++ (random first centre, several candidate draws per
//!   step keeping the one that lowers the potential most, fed `x_squared_norms` that are
//!   norms, not squared norms) from an unseeded `RandomState`. medtriage follows the original.
//!
//! # Stratification and per-class budgets
//!
//! `classBudget` splits the batch across classes (an item's class = `predicted[i]`, or the
//! arg-max of its `predProbs` row, first maximum on ties), then runs the strategy *within*
//! each class (diversity within class; the labelled set, if any, counts for every class).
//! - `"none"` (default): no split.
//! - `"proportional"`: weights = eligible items per class (stratified sampling).
//! - `"byEstimatedError"`: weights = `classErrorRates[c] x` eligible items in `c`, so review
//!   moves toward the classes where the model errs most. Use for `classErrorRates` the
//!   verified set's **`1 - precision`** per class (`ClassStats::precision` of
//!   `triage::analysis::class_report`): items are grouped by *predicted* class, and
//!   `1 - precision(c)` is the fraction of items predicted `c` that are wrong. When every class
//!   with items left has weight 0, the remainder is split by eligible counts.
//! - `{"counts": [..]}`: explicit per-class counts (`k` numbers summing to `batchSize`).
//!
//! Allocation: first `min(minPerClass, eligible_c)` per class (an `invalid_options` error if
//! these floors exceed the batch), then the rest by largest remainder on the weights (ties:
//! lower class index), capped at each class's eligible count; what a capped class cannot
//! take is redistributed over the others by the same rule until the batch is full. Counts
//! given explicitly are capped the same way and their shortfall redistributed by eligible
//! counts. The allocation always sums to the effective batch size and is reported. Picks are
//! listed class by class (class 0 first), each class in its own pick order.

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_row, SplitMix64};
use crate::error::{err, Result};

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

// ---------------------------------------------------------------------------------------
// numeric kernels

/// `Σ (a_i - b_i)^2` with eight accumulators (vectorises; order differs from NumPy's).
#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            let t = x[j] - y[j];
            s[j] += t * t;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += (x - y) * (x - y);
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail
}

/// `Σ a_i b_i` with eight accumulators.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            s[j] += x[j] * y[j];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail
}

/// Embedding rows with the chosen metric (norms precomputed for cosine).
struct Space<'a> {
    x: &'a [f64],
    d: usize,
    metric: Metric,
    norms: Vec<f64>,
}

impl<'a> Space<'a> {
    fn new(x: &'a [f64], d: usize, metric: Metric, rows: impl Iterator<Item = usize>) -> Self {
        let n = x.len() / d.max(1);
        let norms = match metric {
            Metric::Euclidean => Vec::new(),
            Metric::Cosine => {
                let mut v = vec![0.0; n];
                for i in rows {
                    let r = &x[i * d..(i + 1) * d];
                    v[i] = dot(r, r).sqrt();
                }
                v
            }
        };
        Space {
            x,
            d,
            metric,
            norms,
        }
    }
    #[inline]
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
    /// Distance from row `i` of this space to the vector `c` with norm `cn` (cosine only).
    #[inline]
    fn dist_to(&self, i: usize, c: &[f64], cn: f64) -> f64 {
        let r = self.row(i);
        match self.metric {
            Metric::Euclidean => sq_dist(r, c).sqrt(),
            Metric::Cosine => {
                let ni = self.norms[i];
                if ni == 0.0 || cn == 0.0 {
                    1.0
                } else {
                    (1.0 - dot(r, c) / (ni * cn)).clamp(0.0, 2.0)
                }
            }
        }
    }
    fn norm_of(&self, c: &[f64]) -> f64 {
        match self.metric {
            Metric::Euclidean => 0.0,
            Metric::Cosine => dot(c, c).sqrt(),
        }
    }
}

/// First index of the maximum of `f` over `cands` positions not taken (ties: first).
fn argmax_by(taken: &[bool], mut f: impl FnMut(usize) -> f64) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (j, &t) in taken.iter().enumerate() {
        if t {
            continue;
        }
        let v = f(j);
        match best {
            Some((_, b)) if v.partial_cmp(&b) != Some(std::cmp::Ordering::Greater) => {}
            _ => best = Some((j, v)),
        }
    }
    best
}

/// Position (in `cands`) of the highest score, ties by lower position.
fn top_score_pos(cands: &[usize], scores: &[f64]) -> Option<usize> {
    let taken = vec![false; cands.len()];
    argmax_by(&taken, |j| scores[cands[j]]).map(|(j, _)| j)
}

fn pick(index: usize, score: f64, objective: f64) -> Pick {
    Pick {
        index,
        rank: 0,
        score,
        objective,
        distance: None,
        similarity: None,
        alpha: None,
        gradient_norm: None,
        class: None,
        stratum: None,
    }
}

// ---------------------------------------------------------------------------------------
// strategies on one candidate set (ascending item indices)

/// Shared read-only inputs of the strategies.
struct Ctx<'a> {
    scores: &'a [f64],
    space: Option<Space<'a>>,
    labeled: &'a [f64],
    probs: Option<(&'a [f64], usize)>,
    cold_start: ColdStart,
    seed: u64,
    trace: bool,
    n: usize,
}

struct Out {
    picks: Vec<Pick>,
    trace: Vec<Vec<f64>>,
    working_bytes: usize,
}

fn top_k(cands: &[usize], b: usize, scores: &[f64]) -> Out {
    let mut order: Vec<usize> = cands.to_vec();
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]).then(i.cmp(&j)));
    order.truncate(b);
    let working_bytes = std::mem::size_of_val(cands);
    Out {
        picks: order
            .into_iter()
            .map(|i| pick(i, scores[i], scores[i]))
            .collect(),
        trace: Vec::new(),
        working_bytes,
    }
}

/// Min distance of every candidate to the labelled rows (`+inf` without any). Item-major
/// (each item row is read once while the labelled rows stay in cache).
fn init_min_dist(cands: &[usize], sp: &Space<'_>, labeled: &[f64]) -> Vec<f64> {
    let rows: Vec<(&[f64], f64)> = labeled
        .chunks_exact(sp.d)
        .map(|c| (c, sp.norm_of(c)))
        .collect();
    cands
        .iter()
        .map(|&i| {
            rows.iter()
                .map(|&(c, cn)| sp.dist_to(i, c, cn))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

fn update_min_dist(md: &mut [f64], cands: &[usize], sp: &Space<'_>, c: &[f64]) {
    let cn = sp.norm_of(c);
    for (m, &i) in md.iter_mut().zip(cands) {
        let v = sp.dist_to(i, c, cn);
        if v < *m {
            *m = v;
        }
    }
}

fn medoid_pos(cands: &[usize], sp: &Space<'_>) -> Result<usize> {
    if cands.len() > MEDOID_MAX_ITEMS {
        return Err(err!(
            InvalidOptions,
            "coldStart \"medoid\" is O(n^2): at most {MEDOID_MAX_ITEMS} candidates, got {}",
            cands.len()
        ));
    }
    let mut best = (0usize, f64::INFINITY);
    for (j, &i) in cands.iter().enumerate() {
        let c = sp.row(i);
        let cn = sp.norm_of(c);
        let s: f64 = cands.iter().map(|&o| sp.dist_to(o, c, cn)).sum();
        let mean = s / cands.len() as f64;
        if mean < best.1 {
            best = (j, mean);
        }
    }
    Ok(best.0)
}

fn ranked_batch(cands: &[usize], b: usize, cx: &Ctx<'_>) -> Result<Out> {
    let sp = cx
        .space
        .as_ref()
        .ok_or_else(|| err!(InvalidInput, "rankedBatch needs embeddings"))?;
    let mut md = init_min_dist(cands, sp, cx.labeled);
    let mut taken = vec![false; cands.len()];
    let mut n_lab = cx.labeled.len() / sp.d;
    let mut picks = Vec::with_capacity(b);
    if n_lab == 0 && b > 0 {
        let j = match cx.cold_start {
            ColdStart::TopScore => top_score_pos(cands, cx.scores),
            ColdStart::Medoid => Some(medoid_pos(cands, sp)?),
        };
        if let Some(j) = j {
            let i = cands[j];
            taken[j] = true;
            n_lab = 1;
            picks.push(pick(i, cx.scores[i], cx.scores[i]));
            update_min_dist(&mut md, cands, sp, sp.row(i));
        }
    }
    while picks.len() < b {
        let unl = (cands.len() - picks.len()) as f64;
        let alpha = unl / (unl + n_lab as f64);
        let Some((j, v)) = argmax_by(&taken, |j| {
            let sim = 1.0 / (1.0 + md[j]);
            alpha * (1.0 - sim) + (1.0 - alpha) * cx.scores[cands[j]]
        }) else {
            break;
        };
        let i = cands[j];
        let mut p = pick(i, cx.scores[i], v);
        p.distance = Some(md[j]);
        p.similarity = Some(1.0 / (1.0 + md[j]));
        p.alpha = Some(alpha);
        picks.push(p);
        taken[j] = true;
        n_lab += 1;
        if picks.len() < b {
            update_min_dist(&mut md, cands, sp, sp.row(i));
        }
    }
    Ok(Out {
        picks,
        trace: Vec::new(),
        working_bytes: cands.len() * (8 + 1) + sp.norms.len() * 8,
    })
}

fn k_center(cands: &[usize], b: usize, cx: &Ctx<'_>) -> Result<Out> {
    let sp = cx
        .space
        .as_ref()
        .ok_or_else(|| err!(InvalidInput, "kCenterGreedy needs embeddings"))?;
    let mut md = init_min_dist(cands, sp, cx.labeled);
    let mut taken = vec![false; cands.len()];
    let mut picks = Vec::with_capacity(b);
    if cx.labeled.is_empty() && b > 0 {
        if let Some(j) = top_score_pos(cands, cx.scores) {
            let i = cands[j];
            taken[j] = true;
            picks.push(pick(i, cx.scores[i], cx.scores[i]));
            update_min_dist(&mut md, cands, sp, sp.row(i));
        }
    }
    while picks.len() < b {
        let Some((j, v)) = argmax_by(&taken, |j| md[j]) else {
            break;
        };
        let i = cands[j];
        let mut p = pick(i, cx.scores[i], v);
        p.distance = Some(v);
        picks.push(p);
        taken[j] = true;
        if picks.len() < b {
            update_min_dist(&mut md, cands, sp, sp.row(i));
        }
    }
    Ok(Out {
        picks,
        trace: Vec::new(),
        working_bytes: cands.len() * (8 + 1) + sp.norms.len() * 8,
    })
}

/// Per-candidate factors of the BADGE gradient embedding `g = r ⊗ h`, `r = p - onehot(yhat)`.
struct Grad<'a> {
    p: &'a [f64],
    k: usize,
    h: &'a [f64],
    d: usize,
    /// arg-max class per candidate
    yhat: Vec<usize>,
    /// `|r|^2` per candidate
    rr: Vec<f64>,
    /// `|h|^2` per candidate
    hh: Vec<f64>,
}

impl<'a> Grad<'a> {
    fn new(p: &'a [f64], k: usize, h: &'a [f64], d: usize, cands: &[usize]) -> Self {
        let m = cands.len();
        let mut g = Grad {
            p,
            k,
            h,
            d,
            yhat: Vec::with_capacity(m),
            rr: Vec::with_capacity(m),
            hh: Vec::with_capacity(m),
        };
        for &i in cands {
            let y = argmax(&p[i * k..(i + 1) * k]);
            g.yhat.push(y);
            let rr: f64 = (0..k).map(|c| g.r(i, y, c).powi(2)).sum();
            g.rr.push(rr);
            let hi = &h[i * d..(i + 1) * d];
            g.hh.push(dot(hi, hi));
        }
        g
    }
    #[inline]
    fn r(&self, item: usize, yhat: usize, c: usize) -> f64 {
        let v = self.p[item * self.k + c];
        if c == yhat {
            v - 1.0
        } else {
            v
        }
    }
    /// `|g_a - g_b|^2` for candidate positions `ja`, `jb` with items `a`, `b`.
    fn sq_dist(&self, ja: usize, a: usize, jb: usize, b: usize) -> f64 {
        let (ya, yb) = (self.yhat[ja], self.yhat[jb]);
        // r-space: |ra - rb|^2 and (ra - rb)·rb
        let (mut drr, mut drb) = (0.0, 0.0);
        for c in 0..self.k {
            let (x, y) = (self.r(a, ya, c), self.r(b, yb, c));
            drr += (x - y) * (x - y);
            drb += (x - y) * y;
        }
        let ha = &self.h[a * self.d..(a + 1) * self.d];
        let hb = &self.h[b * self.d..(b + 1) * self.d];
        let hab = dot(ha, hb);
        // fast path: |ha - hb|^2 = |ha|^2 + |hb|^2 - 2 ha·hb; ha·(ha - hb) = |ha|^2 - ha·hb
        let (haa, hbb) = (self.hh[ja], self.hh[jb]);
        let mut dhh = haa + hbb - 2.0 * hab;
        let mut hdh = haa - hab;
        if dhh < 1e-6 * (haa + hbb) {
            // close pair: recompute the differences directly (no cancellation)
            dhh = sq_dist(ha, hb);
            hdh = ha.iter().zip(hb).map(|(x, y)| x * (x - y)).sum();
        }
        let v = drr * haa + self.rr[jb] * dhh + 2.0 * drb * hdh;
        v.max(0.0)
    }
}

/// BADGE's gradient-embedding geometry, computed without materialising the `n x k·d`
/// matrix (see the module docs): the norms `|g_i|` of every item, and `|g_i - g_j|^2` for
/// each of `pairs`. For inspection and tests; [`select_batch`] uses the same code.
pub fn badge_gradient_geometry(
    pred_probs: &[f64],
    k: usize,
    embeddings: &[f64],
    d: usize,
    pairs: &[(usize, usize)],
) -> Result<(Vec<f64>, Vec<f64>)> {
    if k == 0 || d == 0 || !pred_probs.len().is_multiple_of(k) {
        return Err(err!(InvalidInput, "predProbs is not n x k with k = {k}"));
    }
    let n = pred_probs.len() / k;
    if embeddings.len() != n * d {
        return Err(err!(InvalidInput, "embeddings is not n x d = {n} x {d}"));
    }
    if pred_probs.iter().chain(embeddings).any(|v| !v.is_finite()) {
        return Err(err!(InvalidInput, "non-finite values"));
    }
    if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i >= n || j >= n) {
        return Err(err!(
            InvalidInput,
            "pair ({i}, {j}) out of range for n = {n}"
        ));
    }
    let cands: Vec<usize> = (0..n).collect();
    let g = Grad::new(pred_probs, k, embeddings, d, &cands);
    let norms = (0..n).map(|j| (g.rr[j] * g.hh[j]).sqrt()).collect();
    let dists = pairs.iter().map(|&(i, j)| g.sq_dist(i, i, j, j)).collect();
    Ok((norms, dists))
}

fn badge(cands: &[usize], b: usize, cx: &Ctx<'_>, rng: &mut SplitMix64) -> Result<Out> {
    let sp = cx
        .space
        .as_ref()
        .ok_or_else(|| err!(InvalidInput, "badge needs embeddings"))?;
    let (p, k) = cx
        .probs
        .ok_or_else(|| err!(InvalidInput, "badge needs predProbs and k"))?;
    let m = cands.len();
    let g = Grad::new(p, k, sp.x, sp.d, cands);
    let norm = |j: usize| (g.rr[j] * g.hh[j]).sqrt();
    let mut taken = vec![false; m];
    let mut d2 = vec![f64::INFINITY; m];
    let mut picks = Vec::with_capacity(b);
    let mut trace = Vec::new();
    let Some((first, _)) = argmax_by(&taken, norm) else {
        return Ok(Out {
            picks,
            trace,
            working_bytes: 0,
        });
    };
    let mut centre = first;
    {
        let i = cands[first];
        let mut p0 = pick(i, cx.scores[i], 1.0);
        p0.gradient_norm = Some(norm(first));
        picks.push(p0);
        taken[first] = true;
    }
    while picks.len() < b {
        let ci = cands[centre];
        for j in 0..m {
            if taken[j] {
                d2[j] = 0.0;
                continue;
            }
            let v = g.sq_dist(j, cands[j], centre, ci);
            if v < d2[j] {
                d2[j] = v;
            }
        }
        let total: f64 = d2.iter().sum();
        if cx.trace {
            let mut pr = vec![0.0; cx.n];
            if total > 0.0 {
                for (j, &i) in cands.iter().enumerate() {
                    pr[i] = d2[j] / total;
                }
            }
            trace.push(pr);
        }
        let next = if total > 0.0 && total.is_finite() {
            let target = rng.next_f64() * total;
            let mut acc = 0.0;
            let mut chosen = None;
            let mut last_pos = None;
            for (j, &v) in d2.iter().enumerate() {
                if v > 0.0 {
                    last_pos = Some(j);
                    acc += v;
                    if acc > target {
                        chosen = Some(j);
                        break;
                    }
                }
            }
            chosen.or(last_pos)
        } else {
            taken.iter().position(|t| !t)
        };
        let Some(j) = next else { break };
        let i = cands[j];
        let prob = if total > 0.0 { d2[j] / total } else { 0.0 };
        let mut pk = pick(i, cx.scores[i], prob);
        pk.distance = Some(d2[j].sqrt());
        pk.gradient_norm = Some(norm(j));
        picks.push(pk);
        taken[j] = true;
        centre = j;
    }
    let working_bytes = m * (8 * 4 + 1) + trace.len() * cx.n * 8;
    Ok(Out {
        picks,
        trace,
        working_bytes,
    })
}

// ---------------------------------------------------------------------------------------
// allocation

/// Largest-remainder split of `total` by `weights` over `active` classes (ties: lower class).
fn largest_remainder(total: usize, weights: &[f64], active: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize; weights.len()];
    let wsum: f64 = active.iter().map(|&c| weights[c]).sum();
    if total == 0
        || active.is_empty()
        || wsum.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return out;
    }
    let mut rem: Vec<(usize, f64)> = Vec::with_capacity(active.len());
    let mut given = 0usize;
    for &c in active {
        let q = total as f64 * weights[c] / wsum;
        let f = q.floor();
        out[c] = f as usize;
        given += out[c];
        rem.push((c, q - f));
    }
    rem.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut left = total.saturating_sub(given);
    for (c, _) in rem.iter().cycle() {
        if left == 0 {
            break;
        }
        out[*c] += 1;
        left -= 1;
    }
    out
}

/// Fill `alloc` up to `total` with caps `pool`, by `weights` then (if those are exhausted)
/// by the remaining capacity.
fn water_fill(alloc: &mut [usize], total: usize, pool: &[usize], weights: &[f64]) {
    let k = alloc.len();
    for pass in 0..2 {
        loop {
            let have: usize = alloc.iter().sum();
            if have >= total {
                return;
            }
            let w: Vec<f64> = (0..k)
                .map(|c| {
                    if pass == 0 {
                        weights[c]
                    } else {
                        (pool[c] - alloc[c]) as f64
                    }
                })
                .collect();
            let active: Vec<usize> = (0..k)
                .filter(|&c| alloc[c] < pool[c] && w[c] > 0.0)
                .collect();
            if active.is_empty() {
                break;
            }
            let add = largest_remainder(total - have, &w, &active);
            let mut moved = 0;
            for c in 0..k {
                let room = pool[c] - alloc[c];
                let a = add[c].min(room);
                alloc[c] += a;
                moved += a;
            }
            if moved == 0 {
                break;
            }
        }
    }
}

fn allocate(
    budget: &ClassBudget,
    total: usize,
    pool: &[usize],
    rates: Option<&[f64]>,
    min_per_class: usize,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let k = pool.len();
    let mut alloc = vec![0usize; k];
    let weights: Vec<f64> = match budget {
        ClassBudget::None => return Ok((alloc, vec![0.0; k])),
        ClassBudget::Proportional => pool.iter().map(|&p| p as f64).collect(),
        ClassBudget::ByEstimatedError => {
            let r = rates.ok_or_else(|| {
                err!(
                    InvalidOptions,
                    "classBudget \"byEstimatedError\" needs classErrorRates"
                )
            })?;
            r.iter().zip(pool).map(|(&e, &p)| e * p as f64).collect()
        }
        ClassBudget::Counts(c) => {
            if c.len() != k {
                return Err(err!(
                    InvalidOptions,
                    "classBudget counts: {} numbers for {k} classes",
                    c.len()
                ));
            }
            for cl in 0..k {
                alloc[cl] = c[cl].min(pool[cl]);
            }
            let w: Vec<f64> = pool.iter().map(|&p| p as f64).collect();
            water_fill(&mut alloc, total, pool, &w);
            return Ok((alloc, c.iter().map(|&v| v as f64).collect()));
        }
    };
    let floors: usize = pool.iter().map(|&p| p.min(min_per_class)).sum();
    if floors > total {
        return Err(err!(
            InvalidOptions,
            "minPerClass {min_per_class} needs {floors} picks, more than the batch of {total}"
        ));
    }
    for c in 0..k {
        alloc[c] = pool[c].min(min_per_class);
    }
    water_fill(&mut alloc, total, pool, &weights);
    Ok((alloc, weights))
}

// ---------------------------------------------------------------------------------------
// request handling

fn check_rows(data: &[f64], w: usize, rows: &[usize], what: &str) -> Result<()> {
    for &i in rows {
        if let Some(c) = data[i * w..(i + 1) * w].iter().position(|v| !v.is_finite()) {
            return Err(err!(
                InvalidInput,
                "{what}: row {i}, column {c} is not finite"
            ));
        }
    }
    Ok(())
}

/// Validate the embeddings (the rows of eligible items finite) and the labeled ones; `d`, or 0
/// without embeddings.
fn checked_embeddings(r: &SelectRequest, eligible: &[usize]) -> Result<usize> {
    let n = r.scores.len();
    let mut d = 0;
    if let Some(e) = &r.embeddings {
        d =
            r.d.ok_or_else(|| err!(InvalidInput, "embeddings given without d"))?;
        if d == 0 || e.len() != n * d {
            return Err(err!(
                InvalidInput,
                "embeddings: {} numbers, expected n x d = {n} x {d}",
                e.len()
            ));
        }
        check_rows(e, d, eligible, "embeddings")?;
    } else if r.strategy != Strategy::TopK {
        return Err(err!(
            InvalidInput,
            "{:?} needs embeddings and d",
            r.strategy
        ));
    }
    if let Some(l) = &r.labeled_embeddings {
        if r.embeddings.is_none() || l.len() % d != 0 {
            return Err(err!(
                InvalidInput,
                "labeledEmbeddings: {} numbers, not a multiple of d = {d} (or no embeddings)",
                l.len()
            ));
        }
        if l.iter().any(|v| !v.is_finite()) {
            return Err(err!(
                InvalidInput,
                "labeledEmbeddings has non-finite values"
            ));
        }
    }
    Ok(d)
}

/// Validate `predProbs` (the rows of eligible items) and `predicted`; each item's class (the
/// predicted one, else the arg-max) and the number of classes.
fn checked_classes(
    r: &SelectRequest,
    eligible: &[usize],
) -> Result<(Option<Vec<usize>>, Option<usize>)> {
    let n = r.scores.len();
    let k = r.k;
    if let Some(p) = &r.pred_probs {
        let kk = k.ok_or_else(|| err!(InvalidInput, "predProbs given without k"))?;
        if kk == 0 || p.len() != n * kk {
            return Err(err!(
                InvalidProbabilities,
                "predProbs: {} numbers, expected n x k = {n} x {kk}",
                p.len()
            ));
        }
        for &i in eligible {
            check_row(&p[i * kk..(i + 1) * kk], i, "predProbs")?;
        }
    }
    Ok(match (&r.predicted, &r.pred_probs) {
        (Some(pr), _) => {
            if pr.len() != n {
                return Err(err!(
                    InvalidInput,
                    "predicted: {} labels for {n} items",
                    pr.len()
                ));
            }
            let kk = match k {
                Some(kk) => kk,
                None => pr.iter().max().map_or(1, |m| m.saturating_add(1)),
            };
            if let Some((i, c)) = pr.iter().enumerate().find(|(_, &c)| c >= kk) {
                return Err(err!(
                    InvalidInput,
                    "predicted[{i}] = {c} is not below k = {kk}"
                ));
            }
            (Some(pr.clone()), Some(kk))
        }
        (None, Some(p)) => {
            let kk = k.unwrap_or(1);
            let classes = (0..n).map(|i| argmax(&p[i * kk..(i + 1) * kk])).collect();
            (Some(classes), k)
        }
        _ => (None, k),
    })
}

/// The distance the strategy uses (none for top-k), and what the strategy itself requires.
fn strategy_metric(r: &SelectRequest) -> Result<Option<Metric>> {
    let metric = match (r.strategy, r.options.metric) {
        (Strategy::TopK, _) => None,
        (Strategy::Badge, Some(Metric::Cosine)) => {
            return Err(err!(
                InvalidOptions,
                "badge uses the Euclidean distance on gradient embeddings; metric cosine is not supported"
            ))
        }
        (_, m) => Some(m.unwrap_or_default()),
    };
    if r.strategy == Strategy::Badge {
        if r.pred_probs.is_none() {
            return Err(err!(InvalidInput, "badge needs predProbs and k"));
        }
        if r.labeled_embeddings.is_some() {
            return Err(err!(
                InvalidOptions,
                "badge does not use labeledEmbeddings (k-means++ seeding on the pool only)"
            ));
        }
    }
    Ok(metric)
}

/// The batch under a class budget: the eligible items split by class, each class's share
/// allocated, and the strategy run within each class. `working` is the memory counted so far.
fn by_class(
    r: &SelectRequest,
    eligible: &[usize],
    classes: &Option<Vec<usize>>,
    k: Option<usize>,
    b: usize,
    mut working: usize,
    run: &mut dyn FnMut(&[usize], usize) -> Result<Out>,
) -> Result<(Out, Vec<ClassAllocation>)> {
    let o = &r.options;
    let (Some(cls), Some(kk)) = (classes, k) else {
        return Err(err!(
            InvalidInput,
            "a classBudget needs predicted classes (predicted or predProbs with k)"
        ));
    };
    if let Some(rates) = &o.class_error_rates {
        if rates.len() != kk {
            return Err(err!(
                InvalidOptions,
                "classErrorRates: {} rates for {kk} classes",
                rates.len()
            ));
        }
    }
    let mut strata: Vec<Vec<usize>> = vec![Vec::new(); kk];
    for &i in eligible {
        strata[cls[i]].push(i);
    }
    let pool: Vec<usize> = strata.iter().map(Vec::len).collect();
    if let ClassBudget::Counts(c) = &o.class_budget {
        let s: usize = c.iter().sum();
        if s != r.batch_size {
            return Err(err!(
                InvalidOptions,
                "classBudget counts sum to {s}, batchSize is {}",
                r.batch_size
            ));
        }
    }
    let (alloc, weights) = allocate(
        &o.class_budget,
        b,
        &pool,
        o.class_error_rates.as_deref(),
        o.min_per_class,
    )?;
    working += std::mem::size_of_val(eligible);
    let (mut picks, mut trace) = (Vec::with_capacity(b), Vec::new());
    for (c, cands) in strata.iter().enumerate() {
        if alloc[c] == 0 {
            continue;
        }
        let out = run(cands, alloc[c])?;
        working = working.max(out.working_bytes + eligible.len() * 16);
        for mut p in out.picks {
            p.stratum = Some(c);
            picks.push(p);
        }
        trace.extend(out.trace);
    }
    let allocation = (0..kk)
        .map(|c| ClassAllocation {
            class: c,
            pool: pool[c],
            error_rate: match o.class_budget {
                ClassBudget::ByEstimatedError => o.class_error_rates.as_ref().map(|r| r[c]),
                _ => None,
            },
            weight: weights[c],
            requested: match &o.class_budget {
                ClassBudget::Counts(v) => Some(v[c]),
                _ => None,
            },
            allocated: alloc[c],
        })
        .collect();
    let out = Out {
        picks,
        trace,
        working_bytes: working,
    };
    Ok((out, allocation))
}

/// Select a batch (see the module docs): check the request, then run the strategy on the
/// eligible items (those with a finite score), over the whole pool or class by class.
pub fn select_batch(r: &SelectRequest) -> Result<SelectResponse> {
    let n = r.scores.len();
    let o = &r.options;
    if n == 0 {
        return Err(err!(InvalidInput, "scores is empty"));
    }
    if r.batch_size == 0 {
        return Err(err!(InvalidOptions, "batchSize must be at least 1"));
    }
    let mut notes = Vec::new();
    let (eligible, skipped): (Vec<usize>, Vec<usize>) =
        (0..n).partition(|&i| r.scores[i].is_finite());
    let d = checked_embeddings(r, &eligible)?;
    let (classes, k) = checked_classes(r, &eligible)?;
    let metric = strategy_metric(r)?;
    if r.strategy == Strategy::TopK && (r.embeddings.is_some() || r.labeled_embeddings.is_some()) {
        notes.push("topK ignores embeddings".to_string());
    }
    if let Some(rates) = &o.class_error_rates {
        if rates
            .iter()
            .any(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
        {
            return Err(err!(InvalidOptions, "classErrorRates must be in [0, 1]"));
        }
    }
    let requested = r.batch_size;
    let b = requested.min(eligible.len());
    if b < requested {
        notes.push(format!(
            "batchSize {requested} clipped to the {} eligible items",
            eligible.len()
        ));
    }
    let space = r
        .embeddings
        .as_deref()
        .map(|e| Space::new(e, d, metric.unwrap_or_default(), eligible.iter().copied()));
    let cx = Ctx {
        scores: &r.scores,
        space,
        labeled: r.labeled_embeddings.as_deref().unwrap_or(&[]),
        probs: r.pred_probs.as_deref().zip(k),
        cold_start: o.cold_start,
        seed: o.seed,
        trace: o.trace,
        n,
    };
    let mut rng = SplitMix64::new(cx.seed);
    let mut run = |cands: &[usize], b: usize| -> Result<Out> {
        match r.strategy {
            Strategy::TopK => Ok(top_k(cands, b, cx.scores)),
            Strategy::RankedBatch => ranked_batch(cands, b, &cx),
            Strategy::KCenterGreedy => k_center(cands, b, &cx),
            Strategy::Badge => badge(cands, b, &cx, &mut rng),
        }
    };
    let working = n * std::mem::size_of::<usize>();
    let (mut out, allocation) = if o.class_budget == ClassBudget::None {
        if o.min_per_class > 0 {
            notes.push("minPerClass ignored without a classBudget".to_string());
        }
        let mut out = run(&eligible, b)?;
        out.working_bytes += working;
        (out, None)
    } else {
        let (out, a) = by_class(r, &eligible, &classes, k, b, working, &mut run)?;
        (out, Some(a))
    };
    for (rank, p) in out.picks.iter_mut().enumerate() {
        p.rank = rank;
        p.class = classes.as_ref().map(|c| c[p.index]);
    }
    Ok(SelectResponse {
        strategy: r.strategy,
        requested_batch_size: requested,
        batch_size: out.picks.len(),
        selected: out.picks.iter().map(|p| p.index).collect(),
        picks: out.picks,
        skipped_non_finite: skipped,
        metric,
        allocation,
        trace: if o.trace && r.strategy == Strategy::Badge {
            Some(out.trace)
        } else {
            None
        },
        working_bytes: out.working_bytes,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(scores: Vec<f64>, b: usize, strategy: Strategy) -> SelectRequest {
        SelectRequest {
            scores,
            batch_size: b,
            strategy,
            embeddings: None,
            d: None,
            labeled_embeddings: None,
            pred_probs: None,
            k: None,
            predicted: None,
            options: SelectOptions::default(),
        }
    }

    #[test]
    fn top_k_ties_lower_index_and_nan_skipped() {
        let r = select_batch(&req(
            vec![0.5, f64::NAN, 0.9, 0.5, f64::INFINITY, 0.9],
            4,
            Strategy::TopK,
        ))
        .unwrap();
        assert_eq!(r.selected, vec![2, 5, 0, 3]);
        assert_eq!(r.skipped_non_finite, vec![1, 4]);
    }

    #[test]
    fn allocation_largest_remainder_floor_and_redistribution() {
        // weights 0.5*10, 0.1*10, 0.4*2 = 5, 1, 0.8; batch 7, floor 1
        let (a, w) = allocate(
            &ClassBudget::ByEstimatedError,
            7,
            &[10, 10, 2],
            Some(&[0.5, 0.1, 0.4]),
            1,
        )
        .unwrap();
        assert_eq!(w, vec![5.0, 1.0, 0.8]);
        // floors 1,1,1; rest 4 by 5:1:0.8 -> 2.94, 0.59, 0.47 -> 2,0,0 + remainders 0.94(c0), 0.59(c1)
        assert_eq!(a, vec![4, 2, 1]);
        // class 2 has 1 item only: its share moves to the others
        let (a, _) = allocate(
            &ClassBudget::ByEstimatedError,
            6,
            &[10, 10, 1],
            Some(&[0.0, 0.0, 1.0]),
            0,
        )
        .unwrap();
        assert_eq!(a, vec![3, 2, 1]);
        assert_eq!(a.iter().sum::<usize>(), 6);
        // explicit counts capped and refilled by remaining capacity
        let (a, _) = allocate(&ClassBudget::Counts(vec![0, 5, 1]), 6, &[4, 3, 1], None, 0).unwrap();
        assert_eq!(a, vec![2, 3, 1]);
        assert!(allocate(&ClassBudget::Proportional, 2, &[5, 5, 5], None, 1).is_err());
    }

    #[test]
    fn badge_distance_formula_matches_materialised() {
        // n = 3, k = 2, d = 3, including a near-duplicate pair
        let p = [0.7, 0.3, 0.2, 0.8, 0.7, 0.3];
        let h = [1.0, -2.0, 0.5, 0.3, 0.1, -1.0, 1.0, -2.0, 0.5 + 1e-9];
        let g = |i: usize| -> Vec<f64> {
            let row = &p[i * 2..i * 2 + 2];
            let y = argmax(row);
            let mut out = Vec::new();
            for (c, &pc) in row.iter().enumerate() {
                let r = pc - if c == y { 1.0 } else { 0.0 };
                for l in 0..3 {
                    out.push(r * h[i * 3 + l]);
                }
            }
            out
        };
        let pairs = [(0, 1), (1, 2), (0, 2), (2, 2)];
        let (norms, sq) = badge_gradient_geometry(&p, 2, &h, 3, &pairs).unwrap();
        for (i, nrm) in norms.iter().enumerate() {
            assert!((nrm - dot(&g(i), &g(i)).sqrt()).abs() < 1e-14);
        }
        for (&(i, j), v) in pairs.iter().zip(&sq) {
            // the near-duplicate pair (0, 2) has equal r: the exact value is |r|^2 |h0 - h2|^2
            // (the materialised difference loses ~1e-8 relative there)
            let want = if (i, j) == (0, 2) {
                dot(&[-0.30000000000000004, 0.3], &[-0.30000000000000004, 0.3])
                    * sq_dist(&h[0..3], &h[6..9])
            } else {
                sq_dist(&g(i), &g(j))
            };
            assert!(
                (v - want).abs() <= 1e-12 * want.max(1e-300) || (want == 0.0 && *v == 0.0),
                "{i},{j}: {v} {want}"
            );
        }
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod props {
    #![allow(clippy::type_complexity)]
    use super::*;
    use proptest::prelude::{
        any, prop_assert, prop_assert_eq, prop_oneof, proptest, Just, ProptestConfig,
    };
    use proptest::strategy::Strategy as PStrategy;
    type S = super::Strategy;

    fn strategy() -> impl PStrategy<Value = S> {
        prop_oneof![
            Just(S::TopK),
            Just(S::RankedBatch),
            Just(S::KCenterGreedy),
            Just(S::Badge)
        ]
    }

    fn case() -> impl PStrategy<
        Value = (
            Vec<f64>,
            Vec<f64>,
            Vec<f64>,
            usize,
            Strategy,
            usize,
            Vec<f64>,
            usize,
        ),
    > {
        (2usize..40, 1usize..4).prop_flat_map(|(n, d)| {
            (
                proptest::collection::vec(prop_oneof![9 => -5.0f64..5.0, 1 => Just(f64::NAN)], n),
                proptest::collection::vec(-3.0f64..3.0, n * d),
                proptest::collection::vec(0.01f64..1.0, n * 3),
                Just(d),
                strategy(),
                1usize..(n + 5),
                proptest::collection::vec(0.0f64..1.0, 3),
                0usize..3,
            )
        })
    }

    fn request(
        scores: Vec<f64>,
        emb: Vec<f64>,
        raw: Vec<f64>,
        d: usize,
        s: S,
        b: usize,
    ) -> SelectRequest {
        let probs: Vec<f64> = raw
            .chunks(3)
            .flat_map(|r| {
                let t: f64 = r.iter().sum();
                r.iter().map(move |v| v / t).collect::<Vec<_>>()
            })
            .collect();
        SelectRequest {
            scores,
            batch_size: b,
            strategy: s,
            embeddings: Some(emb),
            d: Some(d),
            labeled_embeddings: None,
            pred_probs: Some(probs),
            k: Some(3),
            predicted: None,
            options: SelectOptions::default(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn picks_are_valid((scores, emb, raw, d, s, b, rates, minpc) in case(), budget in 0usize..3) {
            let mut r = request(scores.clone(), emb, raw, d, s, b);
            r.options.class_budget = match budget {
                0 => ClassBudget::None,
                1 => ClassBudget::Proportional,
                _ => ClassBudget::ByEstimatedError,
            };
            r.options.class_error_rates = Some(rates);
            r.options.min_per_class = if budget == 0 { 0 } else { minpc };
            let eligible = scores.iter().filter(|v| v.is_finite()).count();
            if eligible == 0 {
                return Ok(());
            }
            let out = match select_batch(&r) {
                Ok(o) => o,
                Err(e) => {
                    // only the minPerClass floor may exceed the batch
                    prop_assert_eq!(e.code(), "invalid_options");
                    prop_assert!(minpc > 0);
                    return Ok(());
                }
            };
            let want = b.min(eligible);
            prop_assert_eq!(out.selected.len(), want);
            prop_assert_eq!(out.batch_size, want);
            let mut sorted = out.selected.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), want);
            for &i in &out.selected {
                prop_assert!(scores[i].is_finite());
            }
            if let Some(a) = &out.allocation {
                prop_assert_eq!(a.iter().map(|c| c.allocated).sum::<usize>(), want);
                for c in a {
                    prop_assert!(c.allocated <= c.pool);
                }
            }
        }

        #[test]
        fn shuffling_permutes_top_k_and_k_center(
            n in 2usize..40,
            seed in any::<u64>(),
            kc in any::<bool>(),
            b in 1usize..10,
        ) {
            let mut rng = SplitMix64::new(seed);
            let d = 3;
            // distinct scores (a permutation of 0..n) and continuous embeddings: no ties
            let mut scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
            for i in (1..n).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                scores.swap(i, j);
            }
            let emb: Vec<f64> = (0..n * d).map(|_| rng.next_f64() * 10.0 - 5.0).collect();
            let s = if kc { S::KCenterGreedy } else { S::TopK };
            let mk = |sc: Vec<f64>, e: Vec<f64>| SelectRequest {
                scores: sc,
                batch_size: b,
                strategy: s,
                embeddings: Some(e),
                d: Some(d),
                labeled_embeddings: None,
                pred_probs: None,
                k: None,
                predicted: None,
                options: SelectOptions::default(),
            };
            let base = select_batch(&mk(scores.clone(), emb.clone())).unwrap();
            // new item j is old item perm[j]
            let mut perm: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                perm.swap(i, j);
            }
            let sc2: Vec<f64> = perm.iter().map(|&o| scores[o]).collect();
            let e2: Vec<f64> = perm.iter().flat_map(|&o| emb[o * d..(o + 1) * d].to_vec()).collect();
            let out = select_batch(&mk(sc2, e2)).unwrap();
            let mapped: Vec<usize> = out.selected.iter().map(|&j| perm[j]).collect();
            prop_assert_eq!(mapped, base.selected);
        }
    }
}
