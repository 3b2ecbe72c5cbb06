//! Tiered verification: every pool item gets one tier and the reasons behind it.
//!
//! From a **verified set** (probabilities + true labels, optionally the labels the items came
//! with and their outlier scores) the policy fits, in this order:
//! 1. a **temperature** (NLL on the verified set, [`crate::engine::triage::calibration`]);
//!    all probabilities below are the calibrated ones;
//! 2. the **auto-accept threshold** `lambda` by Learn-then-Test
//!    ([`crate::engine::triage::risk`]): with probability `>= 1 - delta` over the verified
//!    set, at most `alpha` of the auto-accepted items carry a wrong label. With
//!    `requireLabelAgreement` (default) an item is auto-accepted only when the model's
//!    prediction equals the label it came with, and `lambda` is certified on the verified
//!    items that satisfy the same condition (so the guarantee is about exactly that rule);
//! 3. a **conformal predictor** (split conformal at `conformal.alpha`); a set of
//!    `expertSetSize` classes or more, or an empty set, sends the item to an expert;
//! 4. the **outlier threshold**: the `outliers.quantile` quantile of the verified items'
//!    outlier scores (lower = more unusual, cleanlab's convention), or a fixed threshold;
//!
//! and on the pool it runs confident learning ([`crate::engine::triage::label_issues`]) on
//! the labels the items came with. Each signal that fires adds a [`Reason`] (signal, value,
//! threshold, comparison, text); the tier is the first that applies of: `failed` (no usable
//! probabilities), `outlier`, `suspectedLabelError`, `expertReview`, `autoAccept` (only when
//! no other signal fired), `lightReview` (everything else).
//!
//! The review **priority** of an item is the calibrated probability that its current label is
//! wrong: `1 - p[given]` when it came with a label, else `1 - max p` (the label it would get
//! is the prediction). `order` lists the items to review (every tier but `autoAccept`),
//! highest priority first, ties by tier (as listed above) then lower index; failed items come
//! last (they have no priority).
//!
//! A row with NaN, infinity, values outside `[0, 1]` or a sum off 1 by more than `1e-3` fails
//! that item only (tier `failed`, never ranked); items listed in `failed` likewise.

mod apply;
mod fit;
mod reasons;
mod types;

pub use apply::*;
pub use fit::*;
use reasons::*;
pub use types::*;

use crate::error::Result;

/// Fit the policy on the verified set and triage the pool (JS `tierItems`, CLI `queue tiers`).
pub fn tier_items(req: &TierRequest) -> Result<TierResponse> {
    let fp = fit_policy(req.k, &req.verified, &req.policy)?;
    apply_policy(req.k, &req.pool, &req.policy, &fp)
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests;
