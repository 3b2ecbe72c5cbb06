//! Combining several reviews of an item into one label: a Dawid-Skene posterior with the
//! reviewers' measured confusion matrices and the model's probabilities as the prior.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

use super::*;

/// One review of a pool item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemReview {
    /// Reviewer id.
    pub reviewer: String,
    /// The label given.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// An item's reviews so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewedItem {
    /// Pool index (echoed).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Reviews, oldest first (at least one).
    pub reviews: Vec<ItemReview>,
    /// Calibrated model probabilities (`k` values), the prior; none: uniform.
    #[serde(default)]
    pub probs: Option<Vec<f64>>,
    /// In the expert tier.
    #[serde(default)]
    pub expert: bool,
}

/// Request for [`combine_reviews`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CombineRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Scored decisions (gold, adjudicated), which measure the reviewers.
    pub decisions: Vec<ScoredDecision>,
    /// Reviewer ids available for another review.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Items to combine and route.
    pub items: Vec<ReviewedItem>,
    /// Options.
    #[serde(default)]
    pub options: ReviewerOptions,
}

/// One item's combined decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CombinedItem {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The combined label (posterior argmax, ties to the lower class).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
    /// Its posterior probability.
    pub confidence: f64,
    /// Another review is needed.
    pub needs_review: bool,
    /// Why (empty when none is needed).
    pub reasons: Vec<String>,
    /// Whom to ask next (none when not needed or nobody suitable is left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_reviewer: Option<String>,
}

/// Response of [`combine_reviews`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CombineResponse {
    /// One per item, in input order.
    pub items: Vec<CombinedItem>,
    /// The reviewers' measured stats the combination used.
    pub reviewers: Vec<ReviewerStats>,
}

/// A reviewer's smoothed confusion `P(label | true)` (row-major `k x k`), from gold counts
/// pulled towards a one-coin model with the reviewer's overall (Laplace-smoothed) accuracy.
pub(super) fn confusion_model(st: Option<&ReviewerStats>, k: usize, smoothing: f64) -> Vec<f64> {
    let (correct, n) = st.map_or((0, 0), |s| (s.overall.correct, s.overall.n));
    // unmeasured reviewers get a prior accuracy of 0.9 worth 10 decisions
    let acc = (correct as f64 + 9.0) / (n as f64 + 10.0);
    let off = (1.0 - acc) / (k - 1) as f64;
    let mut m = vec![0.0; k * k];
    for c in 0..k {
        let row = st.map(|s| &s.confusion[c * k..(c + 1) * k]);
        let tot: f64 = row.map_or(0.0, |r| r.iter().sum::<usize>() as f64) + smoothing;
        for g in 0..k {
            let prior = if g == c { acc } else { off };
            let cnt = row.map_or(0.0, |r| r[g] as f64);
            m[c * k + g] = if tot > 0.0 {
                (cnt + smoothing * prior) / tot
            } else {
                prior
            };
        }
    }
    m
}

/// The measured stats of reviewer `id`, if any of the scored decisions are theirs.
fn stats_of<'a>(report: &'a ReviewerReport, id: &str) -> Option<&'a ReviewerStats> {
    report.reviewers.iter().find(|s| s.reviewer == id)
}

/// The first class with the largest value (ties to the lower class).
fn first_max(v: &[f64]) -> usize {
    let mut m = 0;
    for c in 1..v.len() {
        if v[c] > v[m] {
            m = c;
        }
    }
    m
}

/// The item's prior: its model probabilities normalised, or uniform without them.
fn item_prior(ii: usize, it: &ReviewedItem, k: usize) -> Result<Vec<f64>> {
    Ok(match &it.probs {
        Some(p) => {
            if p.len() != k || !p.iter().all(|v| v.is_finite() && *v >= 0.0) {
                return Err(err!(
                    InvalidInput,
                    "items[{ii}].probs: expected {k} finite non-negative values"
                ));
            }
            let s: f64 = p.iter().sum();
            if s <= 0.0 {
                return Err(err!(InvalidInput, "items[{ii}].probs sum to 0"));
            }
            p.iter().map(|v| v / s).collect()
        }
        None => vec![1.0 / k as f64; k],
    })
}

/// The Dawid-Skene posterior over the true class: the prior times each review's likelihood
/// under its reviewer's confusion model (built once per reviewer, in `models`).
fn posterior<'a>(
    ii: usize,
    it: &'a ReviewedItem,
    prior: &[f64],
    report: &ReviewerReport,
    o: &ReviewerOptions,
    models: &mut HashMap<&'a str, Vec<f64>>,
) -> Result<Vec<f64>> {
    let k = prior.len();
    let mut lp: Vec<f64> = prior.iter().map(|v| v.max(1e-300).ln()).collect();
    for rv in &it.reviews {
        if rv.label >= k {
            return Err(err!(
                InvalidInput,
                "items[{ii}]: label {} of reviewer {} is not < k = {k}",
                rv.label,
                rv.reviewer
            ));
        }
        let m = models
            .entry(rv.reviewer.as_str())
            .or_insert_with(|| confusion_model(stats_of(report, &rv.reviewer), k, o.smoothing));
        for (c, l) in lp.iter_mut().enumerate() {
            *l += m[c * k + rv.label].max(1e-300).ln();
        }
    }
    let mx = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = lp.iter().map(|v| (v - mx).exp()).sum();
    Ok(lp.iter().map(|v| (v - mx).exp() / z).collect())
}

/// Why the item needs another review (empty: it does not): a single review against a
/// confident model or from a reviewer not established on that class, an expert item short of
/// its reviews, or reviews that disagree.
fn review_reasons(
    it: &ReviewedItem,
    prior: &[f64],
    report: &ReviewerReport,
    o: &ReviewerOptions,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let n_rev = it.reviews.len();
    if n_rev >= o.max_reviews {
        return reasons;
    }
    let model_class = it.probs.as_ref().map(|_| first_max(prior));
    if n_rev == 1 {
        let first = &it.reviews[0];
        if let Some(mc) = model_class {
            if mc != first.label && prior[mc] >= o.model_confidence {
                reasons.push(format!(
                    "The review ({}) disagrees with a confident model ({mc} at {:.3}).",
                    first.label, prior[mc]
                ));
            }
        }
        let lb = stats_of(report, &first.reviewer)
            .map_or(0.0, |s| s.per_class[first.label].clopper_pearson.0);
        if lb < o.min_class_accuracy {
            reasons.push(format!(
                "Reviewer {}'s accuracy on class {} is not established above {:.0}% (lower bound {:.3}).",
                first.reviewer,
                first.label,
                o.min_class_accuracy * 100.0,
                lb
            ));
        }
    }
    if it.expert && n_rev < o.expert_reviews {
        reasons.push(format!(
            "Expert-tier item: {} reviews wanted, {n_rev} so far.",
            o.expert_reviews
        ));
    }
    let disagree = it.reviews.iter().any(|r| r.label != it.reviews[0].label);
    if disagree {
        reasons.push(format!("The {n_rev} reviews disagree."));
    }
    reasons
}

/// The strongest available reviewer on `class` who has not seen the item; for an expert item
/// never one weak on that class.
fn next_reviewer(
    it: &ReviewedItem,
    class: usize,
    reviewers: &[String],
    report: &ReviewerReport,
    o: &ReviewerOptions,
) -> Option<String> {
    let mut best: Option<(&String, f64)> = None;
    for id in reviewers {
        if it.reviews.iter().any(|r| &r.reviewer == id) {
            continue;
        }
        let lb = stats_of(report, id).map_or(0.0, |s| s.per_class[class].clopper_pearson.0);
        if it.expert && lb < o.min_class_accuracy {
            continue;
        }
        if best.is_none_or(|b| lb > b.1) {
            best = Some((id, lb));
        }
    }
    best.map(|b| b.0.clone())
}

/// Combine each item's reviews and route it (JS `combineReviews`, CLI `queue combine`).
pub fn combine_reviews(req: &CombineRequest) -> Result<CombineResponse> {
    let (k, o) = (req.k, &req.options);
    let report = reviewer_report(&ReviewerReportRequest {
        k,
        decisions: req.decisions.clone(),
        options: *o,
    })?;
    let mut models: HashMap<&str, Vec<f64>> = Default::default();
    let mut out = Vec::with_capacity(req.items.len());
    for (ii, it) in req.items.iter().enumerate() {
        if it.reviews.is_empty() {
            return Err(err!(InvalidInput, "items[{ii}] has no review"));
        }
        let prior = item_prior(ii, it, k)?;
        let post = posterior(ii, it, &prior, &report, o, &mut models)?;
        let label = first_max(&post);
        let reasons = review_reasons(it, &prior, &report, o);
        let needs_review = !reasons.is_empty();
        let next_reviewer = if needs_review {
            next_reviewer(it, label, &req.reviewers, &report, o)
        } else {
            None
        };
        out.push(CombinedItem {
            index: it.index,
            label,
            confidence: post[label],
            needs_review,
            reasons,
            next_reviewer,
        });
    }
    Ok(CombineResponse {
        items: out,
        reviewers: report.reviewers,
    })
}
