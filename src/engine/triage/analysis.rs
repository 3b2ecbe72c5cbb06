//! Per-class error analysis on a verified set: confusion matrix, per-class precision,
//! recall, F1 and support (as scikit-learn's `confusion_matrix` and
//! `precision_recall_fscore_support(labels=range(k), zero_division=0)`), accuracy, and a
//! per-class calibration error.
//!
//! The prediction is the arg-max of each probability row (first maximum on ties); its
//! confidence is the maximum probability. **Per-class calibration error** of class `c`: over
//! the `n_c` rows predicted `c`, with equal-width bins `B_b = (b/B, (b+1)/B]` on confidence
//! (`B = 15` by default; a confidence of exactly 0 falls in the first bin),
//! `ECE_c = Σ_b |B_b|/n_c · |acc(B_b) - conf(B_b)|`, where `acc` is the fraction of rows in
//! the bin whose verified label is `c` and `conf` their mean confidence (0 when no row is
//! predicted `c`). The overall ECE uses the same bins over all rows.

use serde::{Deserialize, Serialize};

use crate::engine::probs::{argmax, check_labels, Probs};
use crate::error::{err, Result};

fn default_bins() -> usize {
    15
}

/// Options of [`class_report`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassReportOptions {
    /// Equal-width confidence bins for the calibration errors (default 15).
    #[serde(default = "default_bins")]
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub bins: usize,
}

impl Default for ClassReportOptions {
    fn default() -> Self {
        ClassReportOptions { bins: 15 }
    }
}

/// Statistics of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassStats {
    /// Class index.
    pub class: usize,
    /// `tp / (tp + fp)` (0 when nothing is predicted as the class).
    pub precision: f64,
    /// `tp / (tp + fn)` (0 when the class has no verified rows).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Rows whose verified label is the class.
    pub support: usize,
    /// Rows predicted as the class.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: usize,
    /// Calibration error over rows predicted as the class.
    pub calibration_error: f64,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassReport {
    /// `m[true][predicted]` counts.
    pub confusion_matrix: Vec<Vec<usize>>,
    /// One entry per class.
    pub per_class: Vec<ClassStats>,
    /// Fraction of rows predicted as their verified label.
    pub accuracy: f64,
    /// Unweighted means of precision, recall, F1 over classes.
    pub macro_precision: f64,
    /// See `macro_precision`.
    pub macro_recall: f64,
    /// See `macro_precision`.
    pub macro_f1: f64,
    /// Support-weighted mean F1.
    pub weighted_f1: f64,
    /// Expected calibration error over all rows (top-label confidence).
    pub ece: f64,
    /// Bins used.
    pub bins: usize,
}

fn bin_of(conf: f64, bins: usize) -> usize {
    let b = (conf * bins as f64).ceil() as i64 - 1;
    b.clamp(0, bins as i64 - 1) as usize
}

fn ece(rows: &[(f64, bool)], bins: usize) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    let mut cnt = vec![0usize; bins];
    let mut conf = vec![0.0; bins];
    let mut acc = vec![0.0; bins];
    for &(c, ok) in rows {
        let b = bin_of(c, bins);
        cnt[b] += 1;
        conf[b] += c;
        if ok {
            acc[b] += 1.0;
        }
    }
    let n = rows.len() as f64;
    (0..bins)
        .filter(|&b| cnt[b] > 0)
        .map(|b| {
            let m = cnt[b] as f64;
            m / n * (acc[b] / m - conf[b] / m).abs()
        })
        .sum()
}

/// Per-class error analysis of probabilities `n x k` against verified labels.
pub fn class_report(
    pred_probs: &[f64],
    n: usize,
    k: usize,
    labels: &[usize],
    o: &ClassReportOptions,
) -> Result<ClassReport> {
    let p = Probs::new(pred_probs, n, k)?;
    check_labels(labels, n, k, "labels")?;
    if o.bins == 0 {
        return Err(err!(InvalidOptions, "bins must be at least 1"));
    }
    let mut cm = vec![vec![0usize; k]; k];
    let mut per: Vec<Vec<(f64, bool)>> = vec![Vec::new(); k];
    let mut all = Vec::with_capacity(n);
    for (i, &y) in labels.iter().enumerate() {
        let row = p.row(i);
        let pred = argmax(row);
        cm[y][pred] += 1;
        per[pred].push((row[pred], y == pred));
        all.push((row[pred], y == pred));
    }
    let per_class: Vec<ClassStats> = (0..k)
        .map(|c| {
            let tp = cm[c][c] as f64;
            let support: usize = cm[c].iter().sum();
            let predicted: usize = (0..k).map(|r| cm[r][c]).sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassStats {
                class: c,
                precision,
                recall,
                f1,
                support,
                predicted,
                calibration_error: ece(&per[c], o.bins),
            }
        })
        .collect();
    let correct: usize = (0..k).map(|c| cm[c][c]).sum();
    let mean = |f: fn(&ClassStats) -> f64| per_class.iter().map(f).sum::<f64>() / k as f64;
    let weighted_f1 = per_class
        .iter()
        .map(|s| s.f1 * s.support as f64)
        .sum::<f64>()
        / n as f64;
    Ok(ClassReport {
        accuracy: correct as f64 / n as f64,
        macro_precision: mean(|s| s.precision),
        macro_recall: mean(|s| s.recall),
        macro_f1: mean(|s| s.f1),
        weighted_f1,
        ece: ece(&all, o.bins),
        bins: o.bins,
        confusion_matrix: cm,
        per_class,
    })
}

/// Request of [`class_report_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassReportRequest {
    /// Row-major probabilities, `n x k`.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Verified labels.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<usize>,
    /// Options.
    #[serde(default)]
    pub options: ClassReportOptions,
}

/// Run [`class_report`] on a request.
pub fn class_report_request(r: &ClassReportRequest) -> Result<ClassReport> {
    class_report(&r.pred_probs, r.n, r.k, &r.labels, &r.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_report() {
        let p = vec![0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4];
        let r = class_report(&p, 4, 2, &[0, 1, 1, 1], &ClassReportOptions::default()).unwrap();
        assert_eq!(r.confusion_matrix, vec![vec![1, 0], vec![2, 1]]);
        assert!((r.per_class[0].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.per_class[1].recall - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.accuracy, 0.5);
        assert!(class_report(&p, 4, 2, &[0, 1, 1], &ClassReportOptions::default()).is_err());
        assert!(class_report(&p, 4, 2, &[0, 1, 1, 1], &ClassReportOptions { bins: 0 }).is_err());
        // bins: (0, 1/15], …, ((14/15), 1]
        assert_eq!(bin_of(0.0, 15), 0);
        assert_eq!(bin_of(1.0, 15), 14);
        assert_eq!(bin_of(1.0 / 15.0, 15), 0);
    }
}
