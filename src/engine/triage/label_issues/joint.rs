//! Per-class thresholds, the confident joint, its calibration, the normalized joint and the
//! number of label issues (cleanlab's `count` module).

use serde::{Deserialize, Serialize};

use super::numpy::{np_sum, round_half_even, round_preserving_row_totals};
use super::{
    check_two_classes, predicted_is_given, CONFIDENT_THRESHOLDS_LOWER_BOUND,
    MISSING_CLASS_THRESHOLD, TINY_VALUE,
};
use crate::engine::probs::{argmax, check_labels, Probs};
use crate::error::{err, Result};

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
