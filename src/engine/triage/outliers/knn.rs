//! kNN outlier scores from embeddings (cleanlab's `features` mode) and the exact blocked
//! k-nearest-neighbour scan behind them.

use serde::{Deserialize, Serialize};

use super::scan::{pack_panels, tile_f64, PANEL, TILE_ROWS};
use super::{check_embeddings, unit_rows};
use crate::engine::triage::label_issues::np_sum;
use crate::error::{err, Result};

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
