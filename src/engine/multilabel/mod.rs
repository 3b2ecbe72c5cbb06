//! Multi-label findings: each image may show any number of `k` findings, and the model gives
//! an independent probability per finding (sigmoid outputs; rows need not sum to 1).
//!
//! | part | reference | module |
//! |---|---|---|
//! | label issues, quality scores, per-finding scores | cleanlab `multilabel_classification` | [`label_issues`] |
//! | calibration (temperature, Platt), ECE, conformal, certified auto-accept | scikit-learn `_SigmoidCalibration`, Learn-then-Test | [`calibration`] |
//! | consensus of multi-label reads: majority, Dawid-Skene, Fleiss, Krippendorff, next reads | crowd-kit, statsmodels, krippendorff | [`consensus`] |
//! | scoring: per-finding probability and uncertainty, BALD per finding, image summary | — | [`score`] |
//! | review simulation on multi-reader reads (given reader vs consensus of the others) | — | [`simulate`] |
//!
//! Shared input shapes: probabilities are row-major `n x k` in `[0, 1]`; given labels are one
//! list of finding indices per image (`[[0, 3], [], [2]]`, an empty list = no finding), as
//! cleanlab takes them.

pub mod calibration;
pub mod consensus;
pub mod label_issues;
pub mod score;
pub mod simulate;

use crate::engine::probs::check_unit_values;
use crate::error::{err, Result};

/// A validated view of multi-label probabilities: `n` images x `k` findings, row-major, every
/// value finite and in `[0, 1]` (rows are not required to sum to anything).
#[derive(Debug, Clone, Copy)]
pub struct MlProbs<'a> {
    data: &'a [f64],
    n: usize,
    k: usize,
}

impl<'a> MlProbs<'a> {
    /// Validate `data` as `n x k` independent probabilities (`n >= 1`, `k >= 1`).
    pub fn new(data: &'a [f64], n: usize, k: usize) -> Result<Self> {
        if n == 0 {
            return Err(err!(InsufficientData, "no rows"));
        }
        if k == 0 {
            return Err(err!(InvalidInput, "need at least 1 finding"));
        }
        if n.checked_mul(k) != Some(data.len()) {
            return Err(err!(
                InvalidInput,
                "probabilities have {} values, expected n x k = {n} x {k}",
                data.len()
            ));
        }
        check_unit_values(data, k, "finding")?;
        Ok(MlProbs { data, n, k })
    }

    /// Images.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Findings.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Probability of finding `j` on image `i`.
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.k + j]
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
    /// The raw row-major data.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }
    /// Column `j` as the two-column one-vs-rest matrix `[1 - p, p]` (cleanlab's
    /// `stack_complement`), row-major `n x 2`.
    pub fn binary(&self, j: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(2 * self.n);
        for i in 0..self.n {
            let p = self.at(i, j);
            out.push(1.0 - p);
            out.push(p);
        }
        out
    }
}

/// Lists of finding indices per image -> a dense `n x k` 0/1 matrix (row-major). Indices must
/// be below `k`; a repeated index counts once.
pub fn onehot(labels: &[Vec<usize>], n: usize, k: usize) -> Result<Vec<u8>> {
    if labels.len() != n {
        return Err(err!(
            InvalidInput,
            "{} label lists for {n} probability rows",
            labels.len()
        ));
    }
    let mut y = vec![0u8; n * k];
    for (i, l) in labels.iter().enumerate() {
        for &c in l {
            if c >= k {
                return Err(err!(
                    InvalidInput,
                    "label {c} at row {i} is not below the number of findings {k}"
                ));
            }
            y[i * k + c] = 1;
        }
    }
    Ok(y)
}

/// Checked probabilities and the one-hot labels of a request (`n x k` both).
pub(crate) fn probs_and_onehot<'a>(
    probs: &'a [f64],
    labels: &[Vec<usize>],
    n: usize,
    k: usize,
) -> Result<(MlProbs<'a>, Vec<u8>)> {
    let p = MlProbs::new(probs, n, k)?;
    let y = onehot(labels, n, k)?;
    Ok((p, y))
}

/// Column `j` of a dense 0/1 matrix as single-label class indices (0 = absent, 1 = present).
pub fn column(y: &[u8], k: usize, j: usize) -> Vec<usize> {
    y.chunks_exact(k).map(|r| r[j] as usize).collect()
}
