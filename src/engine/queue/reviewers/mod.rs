//! Reviewers who make mistakes: gold items hidden in batches, measured accuracy with exact
//! intervals, per-class confusion, a drift alarm, routing to a second or third reviewer, and
//! decisions combined by their measured accuracy.
//!
//! # Gold items
//! [`mix_gold`] hides verified items (true label known) among a reviewer's batch at a share
//! `goldShare` of the mixed batch, at seeded random positions (so a gold item cannot be told
//! by where it sits), never repeating an item the reviewer has already been shown. The host
//! keeps the returned `gold` flags; a gold answer is scored against the truth and never
//! becomes a label of the pool.
//!
//! # Accuracy, intervals, confusion
//! [`reviewer_report`] scores every decision whose truth is known (gold items, or items the
//! host adjudicated): accuracy with a two-sided Clopper-Pearson (exact, beta quantiles) and a
//! Wilson score interval at `1 - alpha` (as statsmodels' `proportion_confint` `beta` and
//! `wilson`, checked in the golden tests), per true class the same, and the confusion counts
//! `confusion[true][given]`.
//!
//! # Drift alarm
//! A Bernoulli CUSUM on the reviewer's scored decisions in the order given: with in-control
//! error rate `p0` (`acceptableErrorRate`) and out-of-control rate `p1` (`alarmErrorRate`),
//! `S_t = max(0, S_{t-1} + ln(p1/p0))` after a mistake and `+ ln((1-p1)/(1-p0))` after a right
//! answer; the alarm fires when `S_t >= ln(1/alarmAlpha)` and the statistic restarts from 0.
//! `S` is the log of the largest likelihood ratio of "the error rate went up to `p1` at some
//! point" against "it stayed at `p0`", and with this threshold (Lorden 1971) a reviewer whose
//! error rate stays at or below `p0` triggers on average at most one false alarm per
//! `1/alarmAlpha` scored decisions.
//!
//! # Routing and combination
//! [`combine_reviews`] takes each item's reviews so far and says whether it needs another
//! reviewer: when a single review disagrees with a confident model (calibrated probability of
//! the model's class `>= modelConfidence`), when the reviewer's accuracy on the item's class is
//! not established above `minClassAccuracy` (Clopper-Pearson lower bound), when the item is in
//! the expert tier and has fewer than `expertReviews` reviews, or when the reviews disagree
//! and fewer than `maxReviews` were done. It suggests the reviewer to ask next: the one with the
//! highest lower bound on the class's accuracy who has not seen the item, never one weak on
//! that class for an expert item. The label is the posterior argmax of a Dawid-Skene model
//! whose confusion matrices are the reviewers' measured ones (gold counts smoothed towards the
//! reviewer's overall accuracy), with the model's probabilities (when given) as the prior.

mod combine;
mod gold;
mod intervals;
mod options;
mod report;

pub use combine::*;
pub use gold::*;
pub use intervals::*;
pub use options::*;
pub use report::*;

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests;
