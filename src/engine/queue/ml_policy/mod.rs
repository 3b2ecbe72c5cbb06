//! Tiered verification of multi-label images: every pool image gets one tier and the reasons
//! behind it, each reason naming the finding it is about.
//!
//! The single-label policy of [`super::policy`], finding by finding. From a **verified set**
//! (per-finding probabilities + the true findings, optionally the findings the images came
//! with and their outlier scores) it fits, with [`crate::engine::multilabel::calibration`]:
//! 1. a **calibration per finding** (temperature, or Platt); every probability below is the
//!    calibrated one;
//! 2. the **certified auto-accept rule** (Learn-then-Test on "some finding of the image is
//!    wrong"): `joint` (default) accepts an image when its least confident finding reaches
//!    one threshold, with probability `>= 1 - delta` over the verified set
//!    `P(some finding of an auto-accepted image is wrong) <= alpha`; `bonferroni` uses one
//!    threshold per finding at `(alpha / k, delta / k)` and bounds
//!    `P(auto-accepted and some finding wrong) <= alpha`. With `requireLabelAgreement`
//!    (default) an image is accepted only when the model's decisions equal the findings it
//!    came with, and the rule is certified on the verified images meeting the same condition;
//! 3. **conformal sets per finding** (at `conformal.alpha` for the image, split over the
//!    findings by Bonferroni): an empty set sends the image to an expert, an undecided finding
//!    (both answers plausible) blocks auto-accept;
//! 4. the **outlier threshold** (a quantile of the verified outlier scores, or fixed);
//!
//! and on the pool it runs cleanlab's multi-label `find_label_issues` on the findings the
//! images came with. A finding is *decided present* when its calibrated probability is at
//! least 0.5; its confidence is `max(p, 1 - p)`. Signals and tiers, in the order of
//! [`super::policy`]: `failed`, `outlier`, `suspectedLabelError` (a flagged finding, or a
//! finding the model contradicts with at least the auto-accept confidence), `expertReview`
//! (a finding below `expert.maxConfidence`, an empty conformal set, low annotator agreement),
//! `autoAccept` (only when nothing else fired), `lightReview`.
//!
//! The **priority** of an image is the probability that its current findings are not all
//! right, `1 - Π_j P(label_j right)` over the findings it would end with (the given ones,
//! else the model's decisions), with the findings independent given the image;
//! `findingPriority[j]` is the probability that finding `j`'s current label is wrong.
//! `order` lists the images to review, highest priority first (ties by tier, then index).

mod apply;
mod fit;
mod reasons;
mod types;

pub use apply::*;
pub use fit::*;
use reasons::*;
pub use types::*;
