//! Label-error detection by confident learning, replicating cleanlab 2.9's arithmetic
//! (`cleanlab.count`, `cleanlab.filter`, `cleanlab.rank`) on single-label data.
//!
//! Inputs are out-of-sample predicted probabilities `p` (`n` rows x `k` classes, row-major
//! f64) and given labels `s` in `0..k`.
//!
//! - **Per-class thresholds** `t_j` = mean of `p[i][j]` over rows labelled `j` (a class that
//!   no row carries gets 2.0, so nothing is confidently counted into it), clipped below at
//!   `2e-6` ([`confident_thresholds`]).
//! - **Confident joint** `C[s][y]`: row `i` is *confident* in class `j` when
//!   `p[i][j] >= t_j - 1e-6`; its guessed true label is the single confident class, or the
//!   arg-max of `p` when several are confident; rows confident in none are skipped. The
//!   diagonal is raised to at least 1, then (by default) **calibrated**: each row rescaled to
//!   the given-label count, the whole to `n`, rounded with row totals preserved
//!   ([`compute_confident_joint`], [`calibrate_confident_joint`]).
//! - **Joint** `Q = calibrated C / sum` ([`estimate_joint`]); **latent estimates** prior
//!   `p(y)`, noise matrix `p(s|y)`, inverse noise matrix `p(y|s)` ([`estimate_latent`]).
//! - **Number of issues** ([`num_label_issues`]): `off_diagonal` (confident off-diagonal
//!   rows not predicted as their given label) or `off_diagonal_calibrated`
//!   (`rint(n (1 - trace Q))`).
//! - **Find issues** ([`find_label_issues`]) with every `filter_by` mode of cleanlab, the
//!   `frac_noise`, `num_to_remove_per_class` and `min_examples_per_class` options, and
//!   ranking by a label-quality score ([`label_quality_scores`]).
//!
//! Floating-point sums that feed a rounding or a comparison (class means, the calibration
//! total, row totals) are computed with NumPy's pairwise summation order ([`np_sum`]), and
//! halves round to even as NumPy does, so the integer outputs equal cleanlab's.
//!
//! # Ties (the one intentional difference)
//! cleanlab orders with `np.argsort` (quicksort: not stable) in four places: picking the
//! `m` largest margins per (given, true) class pair in `prune_by_noise_rate`, the `m`
//! smallest self-confidences per class in `prune_by_class`, the lowest scores in
//! `low_self_confidence` / `low_normalized_margin`, and the final ranking of the flagged
//! indices. When scores tie exactly, NumPy's order depends on its sorting kernel; here ties
//! are always broken by the **lower item index first**. Results can differ from cleanlab only
//! when an exact tie straddles a cut-off (or in the relative order of tied flagged items in
//! the ranking). The rounding helper `round_preserving_sum` likewise uses a stable argsort
//! (then NumPy's slicing `[::-1]` when it adds, so among equal remainders the higher column is
//! incremented first).

use serde::{Deserialize, Serialize};

use crate::engine::probs::check_labels;
pub use crate::engine::probs::{argmax, Probs};
use crate::error::{err, Result};

/// cleanlab's `FLOATING_POINT_COMPARISON`.
pub const FLOATING_POINT_COMPARISON: f64 = 1e-6;
/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND`.
pub const CONFIDENT_THRESHOLDS_LOWER_BOUND: f64 = 2.0 * FLOATING_POINT_COMPARISON;
/// cleanlab's `CLIPPING_LOWER_BOUND`.
pub const CLIPPING_LOWER_BOUND: f64 = 1e-6;
/// cleanlab's `TINY_VALUE`.
pub const TINY_VALUE: f64 = 1e-100;
/// Threshold given to a class no row is labelled with (cleanlab's `BIG_VALUE`).
pub const MISSING_CLASS_THRESHOLD: f64 = 2.0;
fn check_two_classes(labels: &[usize], k: usize) -> Result<()> {
    let mut seen = vec![false; k];
    let mut distinct = 0;
    for &l in labels {
        if !seen[l] {
            seen[l] = true;
            distinct += 1;
        }
    }
    if distinct < 2 {
        return Err(err!(
            InsufficientData,
            "labels must contain at least 2 distinct classes (as cleanlab requires)"
        ));
    }
    Ok(())
}

/// Sum in NumPy's order (`np.sum` on a contiguous f64 array: pairwise, blocks of 128,
/// 8-way unrolled), so that results equal NumPy's bit for bit.
pub fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0;
        for &x in a {
            r += x;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum(&a[..n2]) + np_sum(&a[n2..])
    }
}

/// Count of each label in `0..k` (cleanlab's `value_counts_fill_missing_classes`).
pub fn label_counts(labels: &[usize], k: usize) -> Vec<usize> {
    let mut c = vec![0usize; k];
    for &l in labels {
        c[l] += 1;
    }
    c
}

/// Per-class confident thresholds (cleanlab's `get_confident_thresholds`).
pub fn confident_thresholds(p: &Probs<'_>, labels: &[usize]) -> Result<Vec<f64>> {
    check_labels(labels, p.n(), p.k(), "labels")?;
    let k = p.k();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        cols[l].push(p.at(i, l));
    }
    Ok(cols
        .iter()
        .map(|c| {
            let t = if c.is_empty() {
                MISSING_CLASS_THRESHOLD
            } else {
                np_sum(c) / c.len() as f64
            };
            t.max(CONFIDENT_THRESHOLDS_LOWER_BOUND)
        })
        .collect())
}

/// A square `k x k` matrix, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
pub struct Square<T> {
    /// Side.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Row-major values.
    pub data: Vec<T>,
}

impl<T: Copy> Square<T> {
    /// `m[i][j]`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.k + j]
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
    /// As nested rows (for JSON output).
    pub fn rows(&self) -> Vec<Vec<T>> {
        (0..self.k).map(|i| self.row(i).to_vec()).collect()
    }
}

fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// cleanlab's `round_preserving_sum`: round to integers while keeping the (rounded) total.
pub fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|&v| round_half_even(v)).collect();
    let orig_sum = round_half_even(np_sum(floats));
    let mut int_sum = round_half_even(np_sum(&ints));
    let mut guard = 0;
    while (int_sum - orig_sum).abs() > FLOATING_POINT_COMPARISON && guard < 1000 {
        guard += 1;
        let diff = round_half_even(orig_sum - int_sum);
        let increment: f64 = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let rem: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        let mut order: Vec<usize> = (0..floats.len()).collect();
        order.sort_by(|&a, &b| rem[a].total_cmp(&rem[b]).then(a.cmp(&b)));
        if increment > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += increment;
        }
        int_sum = round_half_even(np_sum(&ints));
    }
    ints.iter().map(|&v| v as i64).collect()
}

fn round_preserving_row_totals(m: &[f64], k: usize) -> Vec<i64> {
    m.chunks(k).flat_map(round_preserving_sum).collect()
}

/// cleanlab's `calibrate_confident_joint`: rows rescaled to the given-label counts, total to
/// `n`, rounded preserving row totals.
pub fn calibrate_confident_joint(cj: &Square<i64>, label_counts: &[usize]) -> Square<i64> {
    let k = cj.k;
    let mut cal = vec![0.0f64; k * k];
    for i in 0..k {
        let rs: i64 = cj.row(i).iter().sum();
        let rs = (rs as f64).max(TINY_VALUE);
        for j in 0..k {
            cal[i * k + j] = cj.at(i, j) as f64 / rs * label_counts[i] as f64;
        }
    }
    // NumPy sums the transposed view in memory order: column by column.
    let col_major: Vec<f64> = (0..k)
        .flat_map(|j| (0..k).map(move |i| (i, j)))
        .map(|(i, j)| cal[i * k + j])
        .collect();
    let total = np_sum(&col_major).max(TINY_VALUE);
    let n: usize = label_counts.iter().sum();
    for v in cal.iter_mut() {
        *v = *v / total * n as f64;
    }
    Square {
        k,
        data: round_preserving_row_totals(&cal, k),
    }
}

/// The confident joint and the rows counted off its diagonal.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentJoint {
    /// `C[given][guessed true]`, calibrated or not.
    pub joint: Square<i64>,
    /// Rows confidently counted with a guessed class different from the given label,
    /// ascending.
    pub off_diagonal: Vec<usize>,
}

/// cleanlab's `compute_confident_joint` (with `return_indices_of_off_diagonals=True`).
/// `thresholds` default to [`confident_thresholds`].
pub fn compute_confident_joint(
    p: &Probs<'_>,
    labels: &[usize],
    thresholds: Option<&[f64]>,
    calibrate: bool,
) -> Result<ConfidentJoint> {
    check_labels(labels, p.n(), p.k(), "labels")?;
    let k = p.k();
    let owned;
    let thr: &[f64] = match thresholds {
        Some(t) => {
            if t.len() != k || t.iter().any(|v| !v.is_finite()) {
                return Err(err!(
                    InvalidOptions,
                    "thresholds must be {k} finite numbers"
                ));
            }
            t
        }
        None => {
            owned = confident_thresholds(p, labels)?;
            &owned
        }
    };
    let cut: Vec<f64> = thr.iter().map(|t| t - 1e-6).collect();
    let mut cj = vec![0i64; k * k];
    let mut off = Vec::new();
    for (i, &s) in labels.iter().enumerate() {
        let row = p.row(i);
        let mut count = 0;
        let mut first = 0;
        for j in 0..k {
            if row[j] >= cut[j] {
                if count == 0 {
                    first = j;
                }
                count += 1;
            }
        }
        if count == 0 {
            continue;
        }
        let guess = if count > 1 { argmax(row) } else { first };
        cj[s * k + guess] += 1;
        if guess != s {
            off.push(i);
        }
    }
    for j in 0..k {
        if cj[j * k + j] < 1 {
            cj[j * k + j] = 1;
        }
    }
    let mut joint = Square { k, data: cj };
    if calibrate {
        joint = calibrate_confident_joint(&joint, &label_counts(labels, k));
    }
    Ok(ConfidentJoint {
        joint,
        off_diagonal: off,
    })
}

/// cleanlab's `estimate_joint(labels, pred_probs, confident_joint=cj)`: calibrates `cj` and
/// normalizes it to sum to 1.
pub fn estimate_joint(cj: &Square<i64>, label_counts: &[usize]) -> Square<f64> {
    let cal = calibrate_confident_joint(cj, label_counts);
    let total = (cal.data.iter().sum::<i64>() as f64).max(TINY_VALUE);
    Square {
        k: cal.k,
        data: cal.data.iter().map(|&v| v as f64 / total).collect(),
    }
}

/// How [`estimate_latent`] estimates the prior of true labels (cleanlab's `py_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum PyMethod {
    /// `diag(p(y|s)) / diag(p(s|y)) * p(s)` (default).
    #[default]
    Cnt,
    /// Solve `p(s|y) p(y) = p(s)`.
    Eqn,
    /// Column totals of the confident joint, normalized.
    Marginal,
    /// `p(y|s) p(s)`.
    #[serde(alias = "marginal_ps")]
    MarginalPs,
}

/// Latent estimates from a confident joint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Latent {
    /// Estimated prior of true labels `p(y)`.
    pub py: Vec<f64>,
    /// `p(given = i | true = j)` (columns sum to 1), row-major.
    pub noise_matrix: Vec<Vec<f64>>,
    /// `p(true = i | given = j)` (columns sum to 1), row-major.
    pub inverse_noise_matrix: Vec<Vec<f64>>,
}

fn clip_noise_rates(m: &mut [f64], k: usize) {
    for i in 0..k {
        for j in 0..k {
            if i != j {
                m[i * k + j] = m[i * k + j].clamp(0.0, 0.9999);
            }
        }
    }
    for j in 0..k {
        let col: Vec<f64> = (0..k).map(|i| m[i * k + j]).collect();
        let s = np_sum(&col).max(TINY_VALUE);
        for i in 0..k {
            m[i * k + j] /= s;
        }
    }
}

fn clip_values(x: &mut [f64], low: f64, high: f64, new_sum: f64) {
    for v in x.iter_mut() {
        *v = v.clamp(low, high);
    }
    let s = np_sum(x).max(TINY_VALUE);
    for v in x.iter_mut() {
        *v = *v * new_sum / s;
    }
}

fn solve(a: &[f64], b: &[f64], k: usize) -> Result<Vec<f64>> {
    let mut m: Vec<f64> = a.to_vec();
    let mut x = b.to_vec();
    for c in 0..k {
        let piv = (c..k)
            .max_by(|&r, &s| m[r * k + c].abs().total_cmp(&m[s * k + c].abs()))
            .unwrap_or(c);
        if m[piv * k + c].abs() < 1e-300 {
            return Err(err!(
                InvalidInput,
                "noise matrix is singular (pyMethod eqn)"
            ));
        }
        if piv != c {
            for j in 0..k {
                m.swap(c * k + j, piv * k + j);
            }
            x.swap(c, piv);
        }
        for r in 0..k {
            if r != c {
                let f = m[r * k + c] / m[c * k + c];
                if f != 0.0 {
                    for j in c..k {
                        m[r * k + j] -= f * m[c * k + j];
                    }
                    x[r] -= f * x[c];
                }
            }
        }
    }
    Ok((0..k).map(|i| x[i] / m[i * k + i]).collect())
}

fn compute_py(
    ps: &[f64],
    nm: &[f64],
    inv: &[f64],
    k: usize,
    method: PyMethod,
    true_counts: &[f64],
) -> Result<Vec<f64>> {
    let mut py: Vec<f64> = match method {
        PyMethod::Cnt => (0..k)
            .map(|i| inv[i * k + i] / nm[i * k + i].max(TINY_VALUE) * ps[i])
            .collect(),
        PyMethod::Eqn => solve(nm, ps, k)?,
        PyMethod::Marginal => {
            let s = true_counts.iter().sum::<f64>().max(TINY_VALUE);
            true_counts.iter().map(|c| c / s).collect()
        }
        PyMethod::MarginalPs => (0..k)
            .map(|i| (0..k).map(|j| inv[i * k + j] * ps[j]).sum())
            .collect(),
    };
    clip_values(&mut py, CLIPPING_LOWER_BOUND, 1.0, 1.0);
    Ok(py)
}

/// cleanlab's `estimate_latent(confident_joint, labels, py_method, converge_latent_estimates)`.
pub fn estimate_latent(
    cj: &Square<i64>,
    labels: &[usize],
    py_method: PyMethod,
    converge: bool,
) -> Result<Latent> {
    let k = cj.k;
    let lc = label_counts(labels, k);
    let ps: Vec<f64> = lc.iter().map(|&c| c as f64 / labels.len() as f64).collect();
    let row_tot: Vec<f64> = (0..k)
        .map(|i| cj.row(i).iter().sum::<i64>() as f64)
        .collect();
    let col_tot: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| cj.at(i, j)).sum::<i64>() as f64)
        .collect();
    let mut nm: Vec<f64> = (0..k * k)
        .map(|x| cj.data[x] as f64 / col_tot[x % k].max(TINY_VALUE))
        .collect();
    let mut inv: Vec<f64> = (0..k * k)
        .map(|x| {
            let (i, j) = (x / k, x % k);
            cj.at(j, i) as f64 / row_tot[j].max(TINY_VALUE)
        })
        .collect();
    let mut py = compute_py(&ps, &nm, &inv, k, py_method, &col_tot)?;
    clip_noise_rates(&mut nm, k);
    clip_noise_rates(&mut inv, k);
    if converge {
        for _ in 0..3 {
            for _ in 0..5 {
                // compute_inv_noise_matrix(py, nm, ps)
                inv = (0..k * k)
                    .map(|x| {
                        let (i, j) = (x / k, x % k);
                        nm[j * k + i] * py[i] / ps[j].max(TINY_VALUE)
                    })
                    .collect();
                clip_noise_rates(&mut inv, k);
                py = compute_py(&ps, &nm, &inv, k, PyMethod::Cnt, &col_tot)?;
            }
            // compute_noise_matrix_from_inverse(ps, inv, py)
            nm = (0..k * k)
                .map(|x| {
                    let (i, j) = (x / k, x % k);
                    inv[j * k + i] * ps[i] / py[j].max(TINY_VALUE)
                })
                .collect();
            clip_noise_rates(&mut nm, k);
        }
        clip_values(&mut py, 1e-5, 1.0, 1.0);
        clip_noise_rates(&mut nm, k);
        clip_noise_rates(&mut inv, k);
    }
    let rows = |m: &[f64]| m.chunks(k).map(<[f64]>::to_vec).collect();
    Ok(Latent {
        py,
        noise_matrix: rows(&nm),
        inverse_noise_matrix: rows(&inv),
    })
}

/// cleanlab's `_reduce_issues`: rows whose given label is (within 1e-6) the arg-max.
fn predicted_is_given(p: &Probs<'_>, i: usize, s: usize) -> bool {
    let row = p.row(i);
    let ps = row[s] + FLOATING_POINT_COMPARISON;
    let mut best = 0;
    let mut bv = if s == 0 { ps } else { row[0] };
    for (j, &v) in row.iter().enumerate().skip(1) {
        let v = if j == s { ps } else { v };
        if v > bv {
            bv = v;
            best = j;
        }
    }
    best == s
}

/// How [`num_label_issues`] counts (cleanlab's `estimation_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum EstimationMethod {
    /// Confident off-diagonal rows whose prediction is not the given label (default).
    #[default]
    #[serde(alias = "off_diagonal")]
    OffDiagonal,
    /// `rint(n (1 - trace(joint)))` from the calibrated confident joint.
    #[serde(alias = "off_diagonal_calibrated")]
    OffDiagonalCalibrated,
}

/// cleanlab's `count.num_label_issues`.
pub fn num_label_issues(
    p: &Probs<'_>,
    labels: &[usize],
    method: EstimationMethod,
) -> Result<usize> {
    check_labels(labels, p.n(), p.k(), "labels")?;
    check_two_classes(labels, p.k())?;
    match method {
        EstimationMethod::OffDiagonal => {
            let cj = compute_confident_joint(p, labels, None, false)?;
            Ok(cj
                .off_diagonal
                .iter()
                .filter(|&&i| !predicted_is_given(p, i, labels[i]))
                .count())
        }
        EstimationMethod::OffDiagonalCalibrated => {
            let cj = compute_confident_joint(p, labels, None, true)?;
            let joint = estimate_joint(&cj.joint, &label_counts(labels, p.k()));
            let diag: Vec<f64> = (0..p.k()).map(|i| joint.at(i, i)).collect();
            let frac = 1.0 - np_sum(&diag);
            let v = round_half_even(frac * labels.len() as f64);
            Ok(if v > 0.0 { v as usize } else { 0 })
        }
    }
}

/// A label-quality score (cleanlab's `rank` methods). Low = likely mislabelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ScoreMethod {
    /// `p[i][s_i]` (default).
    #[default]
    #[serde(alias = "self_confidence")]
    SelfConfidence,
    /// `(p[i][s_i] - max_{j != s_i} p[i][j] + 1) / 2`.
    #[serde(alias = "normalized_margin")]
    NormalizedMargin,
    /// `ln(h/sc + 1) / max(h/sc, 1e-6)` with `h` the entropy over `ln k` and `sc` the
    /// self-confidence clipped below at 1e-6.
    #[serde(alias = "confidence_weighted_entropy")]
    ConfidenceWeightedEntropy,
}

/// Options of [`label_quality_scores`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualityOptions {
    /// Score method (default self-confidence).
    #[serde(default)]
    pub method: ScoreMethod,
    /// Subtract the per-class thresholds from the probabilities (then shift by the largest
    /// threshold and renormalize) before scoring. Not with confidence-weighted entropy.
    #[serde(default)]
    pub adjust_pred_probs: bool,
}

/// cleanlab's `_subtract_confident_thresholds`: `(p - t + max t)` renormalized per row.
pub fn subtract_confident_thresholds(p: &Probs<'_>, thresholds: &[f64]) -> Vec<f64> {
    let k = p.k();
    let tmax = thresholds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = Vec::with_capacity(p.n() * k);
    let mut row = vec![0.0; k];
    for i in 0..p.n() {
        for j in 0..k {
            row[j] = p.at(i, j) - thresholds[j] + tmax;
        }
        let s = np_sum(&row);
        out.extend(row.iter().map(|v| v / s));
    }
    out
}

/// Normalized entropy of one row, `-Σ xlogy(p, p) / ln k` (cleanlab's
/// `get_normalized_entropy`).
pub fn normalized_entropy(row: &[f64]) -> f64 {
    let terms: Vec<f64> = row
        .iter()
        .map(|&v| if v == 0.0 { 0.0 } else { v * v.ln() })
        .collect();
    -np_sum(&terms) / (row.len() as f64).ln()
}

fn score_rows(data: &[f64], n: usize, k: usize, labels: &[usize], method: ScoreMethod) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let row = &data[i * k..(i + 1) * k];
            let sc = row[labels[i]];
            match method {
                ScoreMethod::SelfConfidence => sc,
                ScoreMethod::NormalizedMargin => {
                    let mo = row
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != labels[i])
                        .map(|(_, &v)| v)
                        .fold(f64::NEG_INFINITY, f64::max);
                    (sc - mo + 1.0) / 2.0
                }
                ScoreMethod::ConfidenceWeightedEntropy => {
                    let sc = sc.max(CLIPPING_LOWER_BOUND);
                    let s = normalized_entropy(row) / sc;
                    (s + 1.0).ln() / s.max(CLIPPING_LOWER_BOUND)
                }
            }
        })
        .collect()
}

/// cleanlab's `rank.get_label_quality_scores`.
pub fn label_quality_scores(
    p: &Probs<'_>,
    labels: &[usize],
    o: &QualityOptions,
) -> Result<Vec<f64>> {
    check_labels(labels, p.n(), p.k(), "labels")?;
    if o.adjust_pred_probs {
        if o.method == ScoreMethod::ConfidenceWeightedEntropy {
            return Err(err!(
                InvalidOptions,
                "adjustPredProbs is not supported with confidenceWeightedEntropy (as in cleanlab)"
            ));
        }
        let t = confident_thresholds(p, labels)?;
        let adj = subtract_confident_thresholds(p, &t);
        return Ok(score_rows(&adj, p.n(), p.k(), labels, o.method));
    }
    Ok(score_rows(p.data(), p.n(), p.k(), labels, o.method))
}

/// Which rule flags label issues (cleanlab's `filter_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum FilterBy {
    /// For each (given s, true y) pair, flag the `C[s][y]` rows labelled s with the largest
    /// `p[y] - p[s]` (default).
    #[default]
    #[serde(alias = "prune_by_noise_rate")]
    PruneByNoiseRate,
    /// For each class s, flag the `count_s - C[s][s]` rows labelled s with the smallest
    /// `p[s]`.
    #[serde(alias = "prune_by_class")]
    PruneByClass,
    /// Both of the above (intersection).
    Both,
    /// The confident joint's off-diagonal rows.
    #[serde(alias = "confident_learning")]
    ConfidentLearning,
    /// Rows whose arg-max is not the given label.
    #[serde(alias = "predicted_neq_given")]
    PredictedNeqGiven,
    /// The `num_label_issues` rows of lowest normalized margin.
    #[serde(alias = "low_normalized_margin")]
    LowNormalizedMargin,
    /// The `num_label_issues` rows of lowest self-confidence.
    #[serde(alias = "low_self_confidence")]
    LowSelfConfidence,
}

fn default_one_f64() -> f64 {
    1.0
}
fn default_one_usize() -> usize {
    1
}

/// Options of [`find_label_issues`], cleanlab's keyword arguments (same defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindOptions {
    /// The flagging rule (default prune by noise rate).
    #[serde(default)]
    pub filter_by: FilterBy,
    /// Fraction of the estimated noise to flag, in `(0, 1]` (default 1).
    #[serde(default = "default_one_f64")]
    pub frac_noise: f64,
    /// Exactly how many rows to flag in each given class (prune modes only).
    #[serde(default)]
    pub num_to_remove_per_class: Option<Vec<usize>>,
    /// Leave at least this many rows of each class unflagged (default 1).
    #[serde(default = "default_one_usize")]
    pub min_examples_per_class: usize,
    /// A precomputed confident joint (`k x k` counts, row-major); ignored by
    /// `confidentLearning`, as in cleanlab.
    #[serde(default)]
    pub confident_joint: Option<Vec<i64>>,
    /// Also return the flagged indices ordered by this score, lowest first.
    #[serde(default)]
    pub return_indices_ranked_by: Option<ScoreMethod>,
    /// Adjust probabilities by the class thresholds for that ranking (cleanlab's
    /// `rank_by_kwargs={"adjust_pred_probs": True}`).
    #[serde(default)]
    pub rank_by_adjust_pred_probs: bool,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            filter_by: FilterBy::default(),
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
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
pub struct LabelIssues {
    /// One flag per row.
    pub is_label_issue: Vec<bool>,
    /// Number of flagged rows.
    pub num_issues: usize,
    /// Flagged rows, lowest quality first (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked_indices: Option<Vec<usize>>,
}

/// cleanlab's `_keep_at_least_n_per_class` on `pcm = C^T`, then `_reduce_prune_counts`.
fn keep_at_least_n_per_class(pcm: &[f64], k: usize, n_min: usize, frac_noise: f64) -> Vec<i64> {
    let diag: Vec<f64> = (0..k).map(|j| pcm[j * k + j]).collect();
    let new_diag: Vec<f64> = diag.iter().map(|&d| d.max(n_min as f64)).collect();
    let diff: Vec<f64> = (0..k).map(|j| new_diag[j] - diag[j]).collect();
    let nnz: Vec<f64> = (0..k)
        .map(|j| {
            let c = (0..k).filter(|&i| pcm[i * k + j] != 0.0).count() as f64;
            (c - 1.0).max(1.0)
        })
        .collect();
    let mut m: Vec<f64> = (0..k * k)
        .map(|x| {
            let v = pcm[x] - diff[x % k] / nnz[x % k];
            if v < 0.0 {
                0.0
            } else {
                v
            }
        })
        .collect();
    for j in 0..k {
        m[j * k + j] = new_diag[j];
    }
    // _reduce_prune_counts
    let mut r: Vec<f64> = m.iter().map(|v| v * frac_noise).collect();
    for j in 0..k {
        r[j * k + j] = m[j * k + j];
    }
    let mut out = vec![0i64; k * k];
    for j in 0..k {
        let col: Vec<f64> = (0..k).map(|i| m[i * k + j] - r[i * k + j]).collect();
        r[j * k + j] = m[j * k + j] + np_sum(&col);
    }
    for x in 0..k * k {
        out[x] = r[x] as i64; // astype(int): truncation toward zero
    }
    out
}

/// Indices of the `m` smallest keys (ties: lower index first), unordered.
fn smallest_m(keys: &mut [(f64, usize)], m: usize) -> &[(f64, usize)] {
    let m = m.min(keys.len());
    if m == 0 {
        return &keys[..0];
    }
    if m < keys.len() {
        keys.select_nth_unstable_by(m - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    &keys[..m]
}

/// cleanlab's `filter.find_label_issues` (single-label).
pub fn find_label_issues(p: &Probs<'_>, labels: &[usize], o: &FindOptions) -> Result<LabelIssues> {
    find_label_issues_impl(p, labels, o, false)
}

/// [`find_label_issues`] that also accepts labels all equal to class 0, as cleanlab does for
/// the one-vs-rest problems of multi-label data (a finding nobody gave).
pub fn find_label_issues_all_zero_ok(
    p: &Probs<'_>,
    labels: &[usize],
    o: &FindOptions,
) -> Result<LabelIssues> {
    find_label_issues_impl(p, labels, o, labels.iter().all(|&l| l == 0))
}

fn find_label_issues_impl(
    p: &Probs<'_>,
    labels: &[usize],
    o: &FindOptions,
    allow_one_class: bool,
) -> Result<LabelIssues> {
    let (n, k) = (p.n(), p.k());
    check_labels(labels, n, k, "labels")?;
    if !allow_one_class {
        check_two_classes(labels, k)?;
    }
    if !(o.frac_noise.is_finite() && o.frac_noise > 0.0 && o.frac_noise <= 1.0) {
        return Err(err!(InvalidOptions, "fracNoise must be in (0, 1]"));
    }
    let prune_mode = matches!(
        o.filter_by,
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
    );
    if o.num_to_remove_per_class.is_some() && !prune_mode {
        return Err(err!(
            InvalidOptions,
            "numToRemovePerClass is only supported by pruneByNoiseRate, pruneByClass and both"
        ));
    }
    if let Some(v) = &o.num_to_remove_per_class {
        if v.len() != k {
            return Err(err!(InvalidOptions, "numToRemovePerClass needs {k} values"));
        }
    }
    let lc = label_counts(labels, k);
    let user_cj = match (&o.confident_joint, o.filter_by) {
        (Some(cj), f) if f != FilterBy::ConfidentLearning => {
            if cj.len() != k * k || cj.iter().any(|&v| v < 0) {
                return Err(err!(
                    InvalidOptions,
                    "confidentJoint must be {k} x {k} non-negative counts"
                ));
            }
            Some(Square {
                k,
                data: cj.clone(),
            })
        }
        _ => None,
    };
    let (cj, off) = match user_cj {
        Some(cj) => (cj, Vec::new()),
        None => {
            let c = compute_confident_joint(p, labels, None, true)?;
            (c.joint, c.off_diagonal)
        }
    };

    let mut mask = vec![false; n];
    match o.filter_by {
        FilterBy::LowNormalizedMargin | FilterBy::LowSelfConfidence => {
            let method = if o.filter_by == FilterBy::LowNormalizedMargin {
                ScoreMethod::NormalizedMargin
            } else {
                ScoreMethod::SelfConfidence
            };
            let scores = score_rows(p.data(), n, k, labels, method);
            let num = num_label_issues(p, labels, EstimationMethod::OffDiagonal)?;
            let mut keys: Vec<(f64, usize)> = scores.iter().copied().zip(0..n).collect();
            for &(_, i) in smallest_m(&mut keys, num) {
                mask[i] = true;
            }
        }
        FilterBy::ConfidentLearning => {
            for &i in &off {
                mask[i] = true;
            }
        }
        FilterBy::PredictedNeqGiven => {
            for i in 0..n {
                mask[i] = argmax(p.row(i)) != labels[i];
            }
        }
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            // pcm = C^T (pcm[i][j] = C[j][i]), as floats for the NumPy arithmetic
            let pcm_f: Vec<f64> = (0..k * k).map(|x| cj.at(x % k, x / k) as f64).collect();
            let mut pcm =
                keep_at_least_n_per_class(&pcm_f, k, o.min_examples_per_class, o.frac_noise);
            if let Some(ntr) = &o.num_to_remove_per_class {
                let rows: Vec<f64> = (0..k)
                    .map(|i| pcm[i * k..(i + 1) * k].iter().sum::<i64>() as f64)
                    .collect();
                // psy = pcm / np.sum(pcm, axis=1): NumPy broadcasts over columns
                let psy: Vec<f64> = (0..k * k).map(|x| pcm[x] as f64 / rows[x % k]).collect();
                let nps: Vec<f64> = (0..k)
                    .map(|i| np_sum(&psy[i * k..(i + 1) * k]) - psy[i * k + i])
                    .collect();
                let mut tmp: Vec<f64> = (0..k * k)
                    .map(|x| psy[x] * ntr[x / k] as f64 / nps[x / k])
                    .collect();
                for i in 0..k {
                    tmp[i * k + i] = lc[i] as f64 - ntr[i] as f64;
                }
                if tmp.iter().any(|v| !v.is_finite()) {
                    return Err(err!(
                        InvalidInput,
                        "numToRemovePerClass: a class has no estimated noise to rescale"
                    ));
                }
                pcm = round_preserving_row_totals(&tmp, k);
            }
            // rows per given class
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
            for (i, &s) in labels.iter().enumerate() {
                by_class[s].push(i);
            }
            let mut by_class_mask = vec![false; n];
            if matches!(o.filter_by, FilterBy::PruneByClass | FilterBy::Both) {
                for (c, rows) in by_class.iter().enumerate() {
                    if rows.len() <= 1 || rows.len() <= o.min_examples_per_class {
                        continue;
                    }
                    let num = rows.len() as i64 - pcm[c * k + c];
                    if num >= 1 {
                        let mut keys: Vec<(f64, usize)> =
                            rows.iter().map(|&i| (p.at(i, c), i)).collect();
                        for &(_, i) in smallest_m(&mut keys, num as usize) {
                            by_class_mask[i] = true;
                        }
                    }
                }
            }
            if matches!(o.filter_by, FilterBy::PruneByNoiseRate | FilterBy::Both) {
                let mut keys: Vec<(f64, usize)> = Vec::new();
                let mut local: Vec<f64> = Vec::new();
                for (c, rows) in by_class.iter().enumerate() {
                    if rows.len() <= 1 || rows.len() <= o.min_examples_per_class {
                        continue;
                    }
                    // this class's rows, contiguous (one gather instead of k scattered passes)
                    local.clear();
                    local.extend(rows.iter().flat_map(|&i| p.row(i).iter().copied()));
                    for j in 0..k {
                        let num = pcm[j * k + c];
                        if j == c || num <= 0 {
                            continue;
                        }
                        keys.clear();
                        // largest margin first == smallest negated margin
                        keys.extend(
                            rows.iter()
                                .zip(local.chunks_exact(k))
                                .map(|(&i, r)| (-(r[j] - r[c]), i)),
                        );
                        for &(_, i) in smallest_m(&mut keys, num as usize) {
                            mask[i] = true;
                        }
                    }
                }
                if o.filter_by == FilterBy::Both {
                    for i in 0..n {
                        mask[i] &= by_class_mask[i];
                    }
                }
            } else {
                mask = by_class_mask;
            }
        }
    }
    if !matches!(
        o.filter_by,
        FilterBy::LowNormalizedMargin | FilterBy::LowSelfConfidence
    ) {
        for i in 0..n {
            if mask[i] && predicted_is_given(p, i, labels[i]) {
                mask[i] = false;
            }
        }
    }
    let num_issues = mask.iter().filter(|&&b| b).count();
    let ranked_indices = match o.return_indices_ranked_by {
        None => None,
        Some(method) => Some(order_label_issues(
            &mask,
            p,
            labels,
            &QualityOptions {
                method,
                adjust_pred_probs: o.rank_by_adjust_pred_probs,
            },
        )?),
    };
    Ok(LabelIssues {
        is_label_issue: mask,
        num_issues,
        ranked_indices,
    })
}

/// cleanlab's `rank.order_label_issues`: flagged rows ordered by ascending quality score,
/// ties by lower index.
pub fn order_label_issues(
    mask: &[bool],
    p: &Probs<'_>,
    labels: &[usize],
    o: &QualityOptions,
) -> Result<Vec<usize>> {
    if mask.len() != p.n() {
        return Err(err!(
            InvalidInput,
            "mask has {} rows, expected {}",
            mask.len(),
            p.n()
        ));
    }
    let scores = label_quality_scores(p, labels, o)?;
    let mut idx: Vec<usize> = (0..p.n()).filter(|&i| mask[i]).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    Ok(idx)
}

// ---------------------------------------------------------------------------------------
// Requests and responses shared by the JS API and the CLI.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn np_sum_small_and_blocked() {
        let a: Vec<f64> = (0..300).map(|i| (i as f64 * 0.37).sin()).collect();
        let naive: f64 = a.iter().sum();
        assert!((np_sum(&a) - naive).abs() < 1e-12);
        assert_eq!(np_sum(&[1.0, 2.0]), 3.0);
    }

    #[test]
    fn round_preserving() {
        // equal remainders: the higher column is incremented first (NumPy's `[::-1]`)
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.2]), vec![0, 1, 0]);
        assert_eq!(round_preserving_sum(&[2.5, 1.5]), vec![2, 2]);
        let v = round_preserving_sum(&[0.3, 0.3, 0.4, 1.0]);
        assert_eq!(v.iter().sum::<i64>(), 2);
    }

    #[test]
    fn ties_break_by_lower_index() {
        // class 0: four rows, two of which tie exactly on p[1] - p[0]; one must be flagged.
        let p = vec![
            0.9, 0.1, //
            0.9, 0.1, //
            0.3, 0.7, //
            0.3, 0.7, //
            0.1, 0.9, //
            0.2, 0.8, //
        ];
        let labels = vec![0, 0, 0, 0, 1, 1];
        let pr = Probs::new(&p, 6, 2).unwrap();
        let o = FindOptions {
            confident_joint: Some(vec![3, 1, 0, 2]),
            return_indices_ranked_by: Some(ScoreMethod::SelfConfidence),
            ..FindOptions::default()
        };
        let r = find_label_issues(&pr, &labels, &o).unwrap();
        assert_eq!(
            r.is_label_issue,
            vec![false, false, true, false, false, false]
        );
        let o2 = FindOptions {
            confident_joint: Some(vec![2, 2, 0, 2]),
            ..o
        };
        let r2 = find_label_issues(&pr, &labels, &o2).unwrap();
        assert_eq!(r2.ranked_indices, Some(vec![2, 3]));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Probs::new(&[0.5, 0.6], 1, 2).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            Probs::new(&[f64::NAN, 1.0], 1, 2).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            Probs::new(&[0.5, 0.5], 1, 3).unwrap_err().code(),
            "invalid_input"
        );
        let p = vec![0.5, 0.5, 0.5, 0.5];
        let pr = Probs::new(&p, 2, 2).unwrap();
        assert_eq!(
            find_label_issues(&pr, &[0, 2], &FindOptions::default())
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            find_label_issues(&pr, &[0, 0], &FindOptions::default())
                .unwrap_err()
                .code(),
            "insufficient_data"
        );
        let bad = FindOptions {
            frac_noise: 0.0,
            ..FindOptions::default()
        };
        assert_eq!(
            find_label_issues(&pr, &[0, 1], &bad).unwrap_err().code(),
            "invalid_options"
        );
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn probs_strategy() -> impl Strategy<Value = (Vec<f64>, Vec<usize>, usize, usize)> {
        (2usize..5, 4usize..40).prop_flat_map(|(k, n)| {
            (
                proptest::collection::vec(0.01f64..1.0, n * k),
                proptest::collection::vec(0..k, n),
                Just(n),
                Just(k),
            )
        })
    }

    proptest! {
        #[test]
        fn masks_are_consistent((raw, labels, n, k) in probs_strategy()) {
            let mut p = raw.clone();
            for r in p.chunks_mut(k) {
                let s: f64 = r.iter().sum();
                r.iter_mut().for_each(|v| *v /= s);
            }
            let pr = Probs::new(&p, n, k).unwrap();
            let distinct = labels.iter().collect::<std::collections::BTreeSet<_>>().len();
            prop_assume!(distinct >= 2);
            let nr = find_label_issues(&pr, &labels, &FindOptions::default()).unwrap();
            let both = find_label_issues(&pr, &labels, &FindOptions { filter_by: FilterBy::Both, ..FindOptions::default() }).unwrap();
            // "both" is a subset of prune-by-noise-rate
            for i in 0..n {
                prop_assert!(!both.is_label_issue[i] || nr.is_label_issue[i]);
                // a flagged row is never one predicted as its given label
                if nr.is_label_issue[i] { prop_assert!(!predicted_is_given(&pr, i, labels[i])); }
            }
            let cj = compute_confident_joint(&pr, &labels, None, true).unwrap();
            let lc = label_counts(&labels, k);
            for c in 0..k {
                let rs: i64 = cj.joint.row(c).iter().sum();
                // calibrated rows sum to the label counts (rounding preserves totals)
                prop_assert!((rs - lc[c] as i64).abs() <= 1);
            }
            let q = label_quality_scores(&pr, &labels, &QualityOptions::default()).unwrap();
            prop_assert!(q.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
}
