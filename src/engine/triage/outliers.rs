//! Outliers and near-duplicates, replicating cleanlab 2.9's `OutOfDistribution`.
//!
//! **From probabilities** ([`ood_pred_probs`], cleanlab's `pred_probs` mode). With
//! `adjustPredProbs` (default true), each row is first adjusted by the per-class confident
//! thresholds `t` (mean self-confidence per labelled class, so labels are needed unless
//! thresholds are given): `q = (p - t + max t) / Σ (p - t + max t)`. Then, higher = more
//! in-distribution:
//! - `entropy` (default): `1 - H(q) / ln k`, `H(q) = -Σ q ln q`;
//! - `leastConfidence`: `max_j q_j`;
//! - `gen`: `1 - Σ_{top M} r^γ (1 - r)^γ / M` with `r = softmax(q)` (M = 100, γ = 0.1).
//!
//! **From embeddings** ([`knn_outliers`], cleanlab's `features` mode): the mean distance
//! `a_i` to the `k` nearest other rows (default `k = min(10, n - 1)`), with cosine distance
//! `1 - x·y / (|x||y|)` when `d > 3` and Euclidean distance otherwise (cleanlab's default
//! metric rule); exact duplicate rows are at distance 0. Score `exp(-t a_i / s)` with
//! `s = max(median a, 100 eps)` (and at least 1e-6), set to 1 when `a_i` is below cleanlab's
//! precision tolerance. Computed exactly by a blocked brute-force scan: `O(n² d)` time,
//! `O(n k)` memory.
//!
//! **Near-duplicates** ([`near_duplicates`]): every pair with cosine distance `<= threshold`,
//! exact (recall 1 by construction). A blocked `f32` scan screens pairs with a safety margin
//! on the rounding error, then each candidate is verified in `f64`. The scan first computes
//! the dot product over the `d/4` highest-energy dimensions and skips a tile when, for every
//! pair in it, that partial product plus the Cauchy-Schwarz bound on the remaining
//! dimensions (`|tail a| |tail b|`) cannot reach `1 - threshold`: pruning never drops a
//! qualifying pair. Worst case `O(n² d)` time, memory `O(n d + pairs)`.

use serde::{Deserialize, Serialize};

use super::label_issues::{
    confident_thresholds, normalized_entropy, np_sum, subtract_confident_thresholds, Probs,
};
use crate::engine::probs::check_labels;
use crate::error::{err, Result};

/// The score computed from probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum OodMethod {
    /// `1 - normalized entropy` (default).
    #[default]
    Entropy,
    /// Largest (adjusted) probability.
    #[serde(alias = "least_confidence")]
    LeastConfidence,
    /// Generalized entropy (GEN).
    Gen,
}

fn default_true() -> bool {
    true
}
fn default_m() -> usize {
    100
}
fn default_gamma() -> f64 {
    0.1
}

/// Options of [`ood_pred_probs`] (cleanlab's `OutOfDistribution` params).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OodProbsOptions {
    /// Score (default entropy).
    #[serde(default)]
    pub method: OodMethod,
    /// Adjust by the per-class confident thresholds (default true; needs labels or
    /// `confidentThresholds`).
    #[serde(default = "default_true")]
    pub adjust_pred_probs: bool,
    /// Precomputed thresholds (one per class).
    #[serde(default)]
    pub confident_thresholds: Option<Vec<f64>>,
    /// GEN: number of top probabilities (default 100, capped at k).
    #[serde(default = "default_m")]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub m: usize,
    /// GEN: exponent (default 0.1).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

impl Default for OodProbsOptions {
    fn default() -> Self {
        OodProbsOptions {
            method: OodMethod::Entropy,
            adjust_pred_probs: true,
            confident_thresholds: None,
            m: 100,
            gamma: 0.1,
        }
    }
}

/// Request of [`ood_pred_probs_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OodProbsRequest {
    /// Row-major probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub k: usize,
    /// Given labels (needed to fit the thresholds when adjusting).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
    /// Options.
    #[serde(default)]
    pub options: OodProbsOptions,
}

/// Outlier scores: one per row, in `[0, 1]`, low = outlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OodProbsResponse {
    /// Scores (low = more likely out of distribution).
    pub scores: Vec<f64>,
    /// Thresholds used for the adjustment (reuse them to score new data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confident_thresholds: Option<Vec<f64>>,
}

/// Outlier scores from probabilities (cleanlab `OutOfDistribution().fit_score(pred_probs=…)`).
pub fn ood_pred_probs(
    p: &Probs<'_>,
    labels: Option<&[usize]>,
    o: &OodProbsOptions,
) -> Result<OodProbsResponse> {
    let (n, k) = (p.n(), p.k());
    let mut thresholds = None;
    let adjusted;
    let data: &[f64] = if o.adjust_pred_probs {
        let t = match (&o.confident_thresholds, labels) {
            (Some(t), _) => {
                if t.len() != k || t.iter().any(|v| !v.is_finite()) {
                    return Err(err!(
                        InvalidOptions,
                        "confidentThresholds must be {k} finite numbers"
                    ));
                }
                t.clone()
            }
            (None, Some(l)) => {
                check_labels(l, n, k, "labels")?;
                confident_thresholds(p, l)?
            }
            (None, None) => {
                return Err(err!(
                    InvalidInput,
                    "adjustPredProbs needs labels or confidentThresholds"
                ))
            }
        };
        adjusted = subtract_confident_thresholds(p, &t);
        thresholds = Some(t);
        &adjusted
    } else {
        p.data()
    };
    if o.method == OodMethod::Gen && !(o.gamma.is_finite() && o.gamma > 0.0) {
        return Err(err!(InvalidOptions, "gamma must be positive"));
    }
    let m = o.m.clamp(1, k);
    let mut buf = vec![0.0; k];
    let scores = data
        .chunks(k)
        .map(|row| match o.method {
            OodMethod::Entropy => 1.0 - normalized_entropy(row),
            OodMethod::LeastConfidence => row.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            OodMethod::Gen => {
                for (b, &v) in buf.iter_mut().zip(row) {
                    *b = v.exp();
                }
                let s = np_sum(&buf);
                buf.iter_mut().for_each(|b| *b /= s);
                buf.sort_by(f64::total_cmp);
                let terms: Vec<f64> = buf[k - m..]
                    .iter()
                    .map(|&r| r.powf(o.gamma) * (1.0 - r).powf(o.gamma))
                    .collect();
                1.0 - np_sum(&terms) / m as f64
            }
        })
        .collect();
    Ok(OodProbsResponse {
        scores,
        confident_thresholds: thresholds,
    })
}

/// Run [`ood_pred_probs`] on a request.
pub fn ood_pred_probs_request(r: &OodProbsRequest) -> Result<OodProbsResponse> {
    let p = Probs::new(&r.pred_probs, r.n, r.k)?;
    ood_pred_probs(&p, r.labels.as_deref(), &r.options)
}

/// Distance between embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum KnnMetric {
    /// cleanlab's rule: cosine when `d > 3`, else Euclidean (default).
    #[default]
    Auto,
    /// `1 - cos`.
    Cosine,
    /// Euclidean.
    Euclidean,
}

fn default_t() -> f64 {
    1.0
}

/// Options of [`knn_outliers`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnnOutlierOptions {
    /// Neighbours (default `min(10, n - 1)`; must be below `n`).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub k: Option<usize>,
    /// Score temperature `t` in `exp(-t a / s)` (default 1).
    #[serde(default = "default_t")]
    pub t: f64,
    /// Distance (default auto).
    #[serde(default)]
    pub metric: KnnMetric,
}

impl Default for KnnOutlierOptions {
    fn default() -> Self {
        KnnOutlierOptions {
            k: None,
            t: 1.0,
            metric: KnnMetric::Auto,
        }
    }
}

/// Request of [`knn_outliers_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnnOutlierRequest {
    /// Row-major embeddings, `n x d`.
    pub embeddings: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Dimensions.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: usize,
    /// Options.
    #[serde(default)]
    pub options: KnnOutlierOptions,
}

/// kNN outlier scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KnnOutlierResponse {
    /// Scores in `[0, 1]`, low = outlier.
    pub scores: Vec<f64>,
    /// Mean distance to the `k` nearest other rows.
    pub avg_distances: Vec<f64>,
    /// `s`: median mean distance (floored at `100 eps`).
    pub scaling_factor: f64,
    /// Neighbours used.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub k: usize,
    /// Metric used (never `auto`).
    pub metric: KnnMetric,
    /// The `k` nearest neighbours of each row, nearest first, row-major `n x k`.
    pub neighbors: Vec<usize>,
}

fn check_embeddings(x: &[f64], n: usize, d: usize) -> Result<()> {
    if n == 0 || d == 0 {
        return Err(err!(InsufficientData, "embeddings are empty"));
    }
    if n.checked_mul(d) != Some(x.len()) {
        return Err(err!(
            InvalidInput,
            "embeddings have {} values, expected n x d = {n} x {d}",
            x.len()
        ));
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        return Err(err!(
            InvalidInput,
            "embedding at row {}, column {} is not finite",
            pos / d,
            pos % d
        ));
    }
    Ok(())
}

/// Group id per row: rows with bit-identical values share an id (cleanlab corrects exact
/// duplicates to distance 0).
fn exact_duplicate_ids(x: &[f64], n: usize, d: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let key = |i: usize| &x[i * d..(i + 1) * d];
    let cmp = |a: &usize, b: &usize| {
        key(*a)
            .iter()
            .zip(key(*b))
            .map(|(u, v)| u.to_bits().cmp(&v.to_bits()))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(b))
    };
    idx.sort_by(cmp);
    let mut id = vec![0usize; n];
    for w in 0..n {
        let b = idx[w];
        id[b] = if w > 0
            && key(idx[w - 1])
                .iter()
                .zip(key(b))
                .all(|(u, v)| u.to_bits() == v.to_bits())
        {
            id[idx[w - 1]]
        } else {
            b
        };
    }
    id
}

/// Unit rows (zero rows stay zero, as scikit-learn's `normalize`).
fn unit_rows(x: &[f64], d: usize) -> Vec<f64> {
    let mut out = x.to_vec();
    for r in out.chunks_mut(d) {
        let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            r.iter_mut().for_each(|v| *v /= norm);
        }
    }
    out
}

/// Rows per tile in the blocked scans.
const TILE_ROWS: usize = 4;
/// Columns per packed panel.
const PANEL: usize = 8;

/// Pack rows into panels of [`PANEL`] rows stored dimension-major (`panel[t * 8 + j]`),
/// zero-padded.
fn pack_panels<T: Copy + Default>(x: &[T], n: usize, d: usize) -> Vec<T> {
    let np = n.div_ceil(PANEL);
    let mut out = vec![T::default(); np * PANEL * d];
    for i in 0..n {
        let (p, j) = (i / PANEL, i % PANEL);
        for t in 0..d {
            out[p * PANEL * d + t * PANEL + j] = x[i * d + t];
        }
    }
    out
}

macro_rules! tile_kernel {
    ($name:ident, $t:ty) => {
        /// `acc[r][j] = a_r · b_j` for up to 4 rows of `a` and one packed panel.
        #[inline(always)]
        fn $name(
            a: &[$t],
            rows: usize,
            d: usize,
            panel: &[$t],
            acc: &mut [[$t; PANEL]; TILE_ROWS],
        ) {
            *acc = [[0.0; PANEL]; TILE_ROWS];
            if rows == TILE_ROWS {
                let (a0, a1, a2, a3) = (&a[..d], &a[d..2 * d], &a[2 * d..3 * d], &a[3 * d..4 * d]);
                let mut c0 = [0.0 as $t; PANEL];
                let mut c1 = [0.0 as $t; PANEL];
                let mut c2 = [0.0 as $t; PANEL];
                let mut c3 = [0.0 as $t; PANEL];
                for t in 0..d {
                    let b: &[$t; PANEL] = panel[t * PANEL..t * PANEL + PANEL]
                        .try_into()
                        .unwrap_or(&[0.0; PANEL]);
                    let (x0, x1, x2, x3) = (a0[t], a1[t], a2[t], a3[t]);
                    for j in 0..PANEL {
                        c0[j] += x0 * b[j];
                        c1[j] += x1 * b[j];
                        c2[j] += x2 * b[j];
                        c3[j] += x3 * b[j];
                    }
                }
                *acc = [c0, c1, c2, c3];
            } else {
                for r in 0..rows {
                    let ar = &a[r * d..(r + 1) * d];
                    let mut c = [0.0 as $t; PANEL];
                    for t in 0..d {
                        let x = ar[t];
                        for j in 0..PANEL {
                            c[j] += x * panel[t * PANEL + j];
                        }
                    }
                    acc[r] = c;
                }
            }
        }
    };
}
tile_kernel!(tile_f64, f64);
tile_kernel!(tile_f32, f32);

/// Exact k nearest other rows of every row (brute force, blocked). Returns `(distances,
/// indices)`, each `n x k` nearest first (ties: lower index first).
pub fn knn(
    x: &[f64],
    n: usize,
    d: usize,
    k: usize,
    metric: KnnMetric,
) -> Result<(Vec<f64>, Vec<usize>)> {
    check_embeddings(x, n, d)?;
    if k == 0 || k >= n {
        return Err(err!(InvalidOptions, "k = {k} must be in 1..n (n = {n})"));
    }
    let metric = resolve(metric, d);
    let dup = exact_duplicate_ids(x, n, d);
    let rows = if metric == KnnMetric::Cosine {
        unit_rows(x, d)
    } else {
        x.to_vec()
    };
    let panels = pack_panels(&rows, n, d);
    let mut best_d = vec![f64::INFINITY; n * k];
    let mut best_i = vec![usize::MAX; n * k];
    let mut acc = [[0.0f64; PANEL]; TILE_ROWS];
    // each unordered pair once (j > i), inserted into both rows' lists
    for i0 in (0..n).step_by(TILE_ROWS) {
        let nr = TILE_ROWS.min(n - i0);
        let a = &rows[i0 * d..(i0 + nr) * d];
        for p in (i0 / PANEL)..n.div_ceil(PANEL) {
            if metric == KnnMetric::Cosine {
                let panel = &panels[p * PANEL * d..(p + 1) * PANEL * d];
                tile_f64(a, nr, d, panel, &mut acc);
            }
            for (r, acc_r) in acc.iter().enumerate().take(nr) {
                let i = i0 + r;
                for (jj, &dot) in acc_r.iter().enumerate() {
                    let j = p * PANEL + jj;
                    if j >= n || j <= i {
                        continue;
                    }
                    let dist = if dup[i] == dup[j] {
                        0.0
                    } else if metric == KnnMetric::Cosine {
                        (1.0 - dot).clamp(0.0, 2.0)
                    } else {
                        let ar = &rows[i * d..(i + 1) * d];
                        let br = &rows[j * d..(j + 1) * d];
                        ar.iter()
                            .zip(br)
                            .map(|(u, v)| (u - v) * (u - v))
                            .sum::<f64>()
                            .sqrt()
                    };
                    insert_neighbor(
                        &mut best_d[i * k..(i + 1) * k],
                        &mut best_i[i * k..(i + 1) * k],
                        dist,
                        j,
                    );
                    insert_neighbor(
                        &mut best_d[j * k..(j + 1) * k],
                        &mut best_i[j * k..(j + 1) * k],
                        dist,
                        i,
                    );
                }
            }
        }
    }
    Ok((best_d, best_i))
}

/// Insert `(dist, j)` into a sorted top-k list (ties: lower index first).
#[inline]
fn insert_neighbor(bd: &mut [f64], bi: &mut [usize], dist: f64, j: usize) {
    fn before(bd: &[f64], bi: &[usize], p: usize, dist: f64, j: usize) -> bool {
        dist < bd[p] || (dist == bd[p] && j < bi[p])
    }
    let k = bd.len();
    if !before(bd, bi, k - 1, dist, j) {
        return;
    }
    let mut pos = k - 1;
    while pos > 0 && before(bd, bi, pos - 1, dist, j) {
        bd[pos] = bd[pos - 1];
        bi[pos] = bi[pos - 1];
        pos -= 1;
    }
    bd[pos] = dist;
    bi[pos] = j;
}

fn resolve(m: KnnMetric, d: usize) -> KnnMetric {
    match m {
        KnnMetric::Auto if d > 3 => KnnMetric::Cosine,
        KnnMetric::Auto => KnnMetric::Euclidean,
        other => other,
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// kNN outlier scores (cleanlab `OutOfDistribution().fit_score(features=…)`).
pub fn knn_outliers(
    x: &[f64],
    n: usize,
    d: usize,
    o: &KnnOutlierOptions,
) -> Result<KnnOutlierResponse> {
    check_embeddings(x, n, d)?;
    if n < 2 {
        return Err(err!(InsufficientData, "need at least 2 rows"));
    }
    if !o.t.is_finite() {
        return Err(err!(InvalidOptions, "t must be finite"));
    }
    let k = o.k.unwrap_or(10.min(n - 1));
    let metric = resolve(o.metric, d);
    let (dist, idx) = knn(x, n, d, k, metric)?;
    let avg: Vec<f64> = dist.chunks(k).map(|r| np_sum(r) / k as f64).collect();
    let scaling = median(&avg).max(100.0 * f64::EPSILON);
    let tol = match metric {
        KnnMetric::Cosine => 100.0 * (f64::EPSILON / 2.0),
        _ => (100.0 * f64::EPSILON).sqrt(),
    };
    let scores = avg
        .iter()
        .map(|&a| {
            if a < tol {
                1.0
            } else {
                (-o.t * a / scaling.max(1e-6)).exp()
            }
        })
        .collect();
    Ok(KnnOutlierResponse {
        scores,
        avg_distances: avg,
        scaling_factor: scaling,
        k,
        metric,
        neighbors: idx,
    })
}

/// Run [`knn_outliers`] on a request.
pub fn knn_outliers_request(r: &KnnOutlierRequest) -> Result<KnnOutlierResponse> {
    knn_outliers(&r.embeddings, r.n, r.d, &r.options)
}

fn default_threshold() -> f64 {
    0.02
}
fn default_max_pairs() -> usize {
    1_000_000
}

/// Options of [`near_duplicates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DuplicatesOptions {
    /// Largest cosine distance `1 - cos` counted as a near-duplicate (default 0.02).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Stop collecting after this many pairs (default 1,000,000; `truncated` is then set).
    #[serde(default = "default_max_pairs")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_pairs: usize,
}

impl Default for DuplicatesOptions {
    fn default() -> Self {
        DuplicatesOptions {
            threshold: default_threshold(),
            max_pairs: default_max_pairs(),
        }
    }
}

/// Request of [`near_duplicates_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DuplicatesRequest {
    /// Row-major embeddings, `n x d`.
    pub embeddings: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Dimensions.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: usize,
    /// Options.
    #[serde(default)]
    pub options: DuplicatesOptions,
}

/// One near-duplicate pair, `i < j`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DuplicatePair {
    /// First row.
    pub i: usize,
    /// Second row (`> i`).
    pub j: usize,
    /// Cosine distance (f64).
    pub distance: f64,
}

/// Near-duplicate pairs and their groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DuplicatesResponse {
    /// Pairs, closest first (ties by `i`, then `j`).
    pub pairs: Vec<DuplicatePair>,
    /// Connected components of the pair graph (each ascending; ordered by first row).
    pub groups: Vec<Vec<usize>>,
    /// True when `maxPairs` stopped the collection (the pairs kept are the first found in
    /// row order).
    pub truncated: bool,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// All pairs with cosine distance `<= threshold` (exact; see the module docs).
pub fn near_duplicates(
    x: &[f64],
    n: usize,
    d: usize,
    o: &DuplicatesOptions,
) -> Result<DuplicatesResponse> {
    check_embeddings(x, n, d)?;
    if !(o.threshold.is_finite() && (0.0..=2.0).contains(&o.threshold)) {
        return Err(err!(
            InvalidOptions,
            "threshold must be a cosine distance in [0, 2]"
        ));
    }
    let unit = unit_rows(x, d);
    // Dimensions ordered by decreasing energy (a permutation: dot products are unchanged), so
    // that the first `m` carry most of each vector; after the head, Cauchy-Schwarz bounds the
    // rest: a·b <= head(a)·head(b) + |tail(a)| |tail(b)|.
    let mut energy = vec![0.0f64; d];
    for r in unit.chunks(d) {
        for (e, v) in energy.iter_mut().zip(r) {
            *e += v * v;
        }
    }
    let mut dims: Vec<usize> = (0..d).collect();
    dims.sort_by(|&a, &b| energy[b].total_cmp(&energy[a]).then(a.cmp(&b)));
    let m = if d >= 16 { d / 4 } else { d };
    let (dt, mut head, mut tail) = (
        d - m,
        Vec::with_capacity(n * m),
        Vec::with_capacity(n * (d - m)),
    );
    let mut tail_norm = Vec::with_capacity(n);
    for r in unit.chunks(d) {
        head.extend(dims[..m].iter().map(|&t| r[t] as f32));
        tail.extend(dims[m..].iter().map(|&t| r[t] as f32));
        tail_norm.push(dims[m..].iter().map(|&t| r[t] * r[t]).sum::<f64>().sqrt() as f32);
    }
    let head_panels = pack_panels(&head, n, m);
    let tail_panels = pack_panels(&tail, n, dt);
    // |dot32 - dot64| <= (d + 2) * 2^-24 * |a||b| (+ conversion error); generous margin.
    let margin = (d as f64 + 4.0) * 1.2e-7 + 1e-6;
    let cut = (1.0 - o.threshold - margin) as f32;
    let mut pairs = Vec::new();
    let mut truncated = false;
    let mut acc = [[0.0f32; PANEL]; TILE_ROWS];
    let mut acc2 = [[0.0f32; PANEL]; TILE_ROWS];
    'outer: for i0 in (0..n).step_by(TILE_ROWS) {
        let nr = TILE_ROWS.min(n - i0);
        let a = &head[i0 * m..(i0 + nr) * m];
        for p in (i0 / PANEL)..n.div_ceil(PANEL) {
            tile_f32(
                a,
                nr,
                m,
                &head_panels[p * PANEL * m..(p + 1) * PANEL * m],
                &mut acc,
            );
            if dt > 0 {
                let mut any = false;
                for (r, acc_r) in acc.iter().enumerate().take(nr) {
                    for (jj, &h) in acc_r.iter().enumerate() {
                        let j = p * PANEL + jj;
                        if j < n && h + tail_norm[i0 + r] * tail_norm[j] >= cut {
                            any = true;
                        }
                    }
                }
                if !any {
                    continue;
                }
                tile_f32(
                    &tail[i0 * dt..(i0 + nr) * dt],
                    nr,
                    dt,
                    &tail_panels[p * PANEL * dt..(p + 1) * PANEL * dt],
                    &mut acc2,
                );
                for (r, row) in acc.iter_mut().enumerate().take(nr) {
                    for (v, w) in row.iter_mut().zip(acc2[r]) {
                        *v += w;
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate().take(nr) {
                let i = i0 + r;
                for (jj, &dot) in acc_r.iter().enumerate() {
                    let j = p * PANEL + jj;
                    if j <= i || j >= n || dot < cut {
                        continue;
                    }
                    let ar = &unit[i * d..(i + 1) * d];
                    let br = &unit[j * d..(j + 1) * d];
                    let dist =
                        (1.0 - ar.iter().zip(br).map(|(u, v)| u * v).sum::<f64>()).clamp(0.0, 2.0);
                    if dist <= o.threshold {
                        if pairs.len() >= o.max_pairs {
                            truncated = true;
                            break 'outer;
                        }
                        pairs.push(DuplicatePair {
                            i,
                            j,
                            distance: dist,
                        });
                    }
                }
            }
        }
    }
    pairs.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.i.cmp(&b.i))
            .then(a.j.cmp(&b.j))
    });
    let mut parent: Vec<usize> = (0..n).collect();
    for pr in &pairs {
        let (a, b) = (find(&mut parent, pr.i), find(&mut parent, pr.j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> =
        std::collections::BTreeMap::new();
    let mut touched: Vec<usize> = pairs.iter().flat_map(|p| [p.i, p.j]).collect();
    touched.sort_unstable();
    touched.dedup();
    for v in touched {
        let root = find(&mut parent, v);
        members.entry(root).or_default().push(v);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    Ok(DuplicatesResponse {
        pairs,
        groups,
        truncated,
    })
}

/// Run [`near_duplicates`] on a request.
pub fn near_duplicates_request(r: &DuplicatesRequest) -> Result<DuplicatesResponse> {
    near_duplicates(&r.embeddings, r.n, r.d, &r.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruned_scan_equals_brute_force() {
        let (n, d) = (300usize, 32usize);
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let mut x: Vec<f64> = (0..n * d).map(|_| rnd()).collect();
        // anisotropic: a few strong dimensions, and near-copies at several distances
        for r in x.chunks_mut(d) {
            r[3] *= 6.0;
            r[17] *= 4.0;
        }
        for (a, b, eps) in [
            (0, 1, 0.01),
            (5, 250, 0.05),
            (7, 8, 0.1),
            (9, 10, 0.2),
            (11, 12, 0.0),
        ] {
            for t in 0..d {
                x[b * d + t] = x[a * d + t] + eps * rnd();
            }
        }
        for thr in [0.001, 0.01, 0.05, 0.3] {
            let r = near_duplicates(
                &x,
                n,
                d,
                &DuplicatesOptions {
                    threshold: thr,
                    ..DuplicatesOptions::default()
                },
            )
            .unwrap();
            let unit = unit_rows(&x, d);
            let mut want = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let dot: f64 = unit[i * d..(i + 1) * d]
                        .iter()
                        .zip(&unit[j * d..(j + 1) * d])
                        .map(|(a, b)| a * b)
                        .sum();
                    if (1.0 - dot).clamp(0.0, 2.0) <= thr {
                        want.push((i, j));
                    }
                }
            }
            let mut got: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.i, p.j)).collect();
            got.sort();
            assert_eq!(got, want, "threshold {thr}");
        }
    }

    #[test]
    fn knn_small() {
        let x = vec![0.0, 0.0, 1.0, 0.0, 3.0, 0.0, 3.0, 0.0];
        let (d, i) = knn(&x, 4, 2, 1, KnnMetric::Euclidean).unwrap();
        assert_eq!(i, vec![1, 0, 3, 2]);
        assert_eq!(d, vec![1.0, 1.0, 0.0, 0.0]);
        assert_eq!(
            knn(&x, 4, 2, 4, KnnMetric::Euclidean).unwrap_err().code(),
            "invalid_options"
        );
    }

    #[test]
    fn duplicates_groups_and_limits() {
        let x = vec![1.0, 0.0, 1.0, 0.001, 0.0, 1.0, 0.0, 2.0, -1.0, 0.0];
        let r = near_duplicates(&x, 5, 2, &DuplicatesOptions::default()).unwrap();
        assert_eq!(r.groups, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(r.pairs[0].i, 2);
        let capped = near_duplicates(
            &x,
            5,
            2,
            &DuplicatesOptions {
                max_pairs: 1,
                ..DuplicatesOptions::default()
            },
        )
        .unwrap();
        assert!(capped.truncated && capped.pairs.len() == 1);
        assert!(near_duplicates(&[f64::NAN, 1.0], 1, 2, &DuplicatesOptions::default()).is_err());
    }
}
