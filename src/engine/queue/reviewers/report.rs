//! Per-reviewer report from scored decisions: accuracy with intervals, per-class accuracy
//! and CUSUM drift.

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

use super::*;

/// One decision of a reviewer whose truth is known (a gold item or an adjudicated one), in
/// the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScoredDecision {
    /// Reviewer id.
    pub reviewer: String,
    /// The true class.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub truth: usize,
    /// The label the reviewer gave.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// Request for [`reviewer_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewerReportRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Scored decisions, oldest first.
    pub decisions: Vec<ScoredDecision>,
    /// Options.
    #[serde(default)]
    pub options: ReviewerOptions,
}

/// Accuracy with its intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Accuracy {
    /// Scored decisions.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Right ones.
    pub correct: usize,
    /// `correct / n` (NaN-free: 0 when `n = 0`).
    pub accuracy: f64,
    /// Clopper-Pearson interval.
    pub clopper_pearson: (f64, f64),
    /// Wilson score interval.
    pub wilson: (f64, f64),
}

impl Accuracy {
    pub(super) fn new(correct: usize, n: usize, alpha: f64) -> Self {
        Accuracy {
            n,
            correct,
            accuracy: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            clopper_pearson: clopper_pearson(correct, n, alpha),
            wilson: wilson(correct, n, alpha),
        }
    }
}

/// The drift alarm's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The CUSUM statistic after the last decision.
    pub statistic: f64,
    /// Its threshold `ln(1/alarmAlpha)`.
    pub threshold: f64,
    /// The alarm fired on the latest decision.
    pub alarm: bool,
    /// 0-based positions (in this reviewer's scored decisions) where the alarm fired.
    pub alarms_at: Vec<usize>,
    /// The guarantee, in words.
    pub guarantee: String,
}

/// One reviewer's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewerStats {
    /// Reviewer id.
    pub reviewer: String,
    /// Overall accuracy.
    pub overall: Accuracy,
    /// Per true class.
    pub per_class: Vec<Accuracy>,
    /// `k x k` row-major counts: `confusion[true * k + given]`.
    pub confusion: Vec<usize>,
    /// Classes whose lower accuracy bound is below `minClassAccuracy` (weak classes).
    pub weak_classes: Vec<usize>,
    /// The drift alarm.
    pub drift: Drift,
}

/// Response of [`reviewer_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewerReport {
    /// One per reviewer, in order of first appearance.
    pub reviewers: Vec<ReviewerStats>,
}

/// A CUSUM over a sequence of right (`false`) / wrong (`true`) decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cusum {
    pub(super) up: f64,
    pub(super) down: f64,
    pub(super) threshold: f64,
    /// Current statistic.
    pub statistic: f64,
}

impl Cusum {
    /// For in-control error rate `p0`, alarm rate `p1 > p0` and false-alarm rate `alpha`.
    pub fn new(p0: f64, p1: f64, alpha: f64) -> Self {
        Cusum {
            up: (p1 / p0).ln(),
            down: ((1.0 - p1) / (1.0 - p0)).ln(),
            threshold: (1.0 / alpha).ln(),
            statistic: 0.0,
        }
    }

    /// Add a decision; true when the alarm fires (the statistic then restarts).
    pub fn push(&mut self, wrong: bool) -> bool {
        self.statistic = (self.statistic + if wrong { self.up } else { self.down }).max(0.0);
        if self.statistic >= self.threshold {
            self.statistic = 0.0;
            true
        } else {
            false
        }
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

pub(super) fn check_label(v: usize, k: usize, what: &str, i: usize) -> Result<()> {
    if v >= k {
        return Err(err!(
            InvalidInput,
            "{what} {v} of decision {i} is not < k = {k}"
        ));
    }
    Ok(())
}

/// Per-reviewer accuracy, intervals, confusion and drift (JS `reviewerReport`, CLI
/// `queue reviewers`).
pub fn reviewer_report(req: &ReviewerReportRequest) -> Result<ReviewerReport> {
    let (k, o) = (req.k, &req.options);
    o.check()?;
    if k < 2 {
        return Err(err!(InvalidInput, "k must be >= 2, got {k}"));
    }
    let mut ids: Vec<String> = Vec::new();
    let mut of: Vec<usize> = Vec::with_capacity(req.decisions.len());
    for (i, d) in req.decisions.iter().enumerate() {
        check_label(d.truth, k, "truth", i)?;
        check_label(d.label, k, "label", i)?;
        let r = match ids.iter().position(|x| *x == d.reviewer) {
            Some(r) => r,
            None => {
                ids.push(d.reviewer.clone());
                ids.len() - 1
            }
        };
        of.push(r);
    }
    let mut out = Vec::with_capacity(ids.len());
    for (r, id) in ids.into_iter().enumerate() {
        let mut conf = vec![0usize; k * k];
        let mut cusum = Cusum::new(o.acceptable_error_rate, o.alarm_error_rate, o.alarm_alpha);
        let mut alarms = Vec::new();
        let mut seen = 0;
        for (d, _) in req.decisions.iter().zip(&of).filter(|(_, &x)| x == r) {
            conf[d.truth * k + d.label] += 1;
            if cusum.push(d.label != d.truth) {
                alarms.push(seen);
            }
            seen += 1;
        }
        let per_class: Vec<Accuracy> = (0..k)
            .map(|c| {
                let row = &conf[c * k..(c + 1) * k];
                Accuracy::new(row[c], row.iter().sum(), o.alpha)
            })
            .collect();
        let correct = (0..k).map(|c| conf[c * k + c]).sum();
        let weak_classes = per_class
            .iter()
            .enumerate()
            .filter(|(_, a)| a.clopper_pearson.0 < o.min_class_accuracy)
            .map(|(c, _)| c)
            .collect();
        let last_alarm = alarms.last().copied();
        out.push(ReviewerStats {
            reviewer: id,
            overall: Accuracy::new(correct, seen, o.alpha),
            per_class,
            confusion: conf,
            weak_classes,
            drift: Drift {
                statistic: cusum.statistic,
                threshold: cusum.threshold(),
                alarm: last_alarm.is_some_and(|a| a + 1 == seen),
                alarms_at: alarms,
                guarantee: format!(
                    "Bernoulli CUSUM of error rate {:.1}% against {:.1}%: while this reviewer's error rate stays at or below {:.1}%, at most one false alarm per {:.0} scored decisions on average.",
                    o.alarm_error_rate * 100.0,
                    o.acceptable_error_rate * 100.0,
                    o.acceptable_error_rate * 100.0,
                    1.0 / o.alarm_alpha
                ),
            },
        });
    }
    Ok(ReviewerReport { reviewers: out })
}
