//! Progressive rounds: plan the next review batch from what the previous rounds taught, with a
//! stopping rule that comes with a bound.
//!
//! A round request carries the verified set, the pool, every review outcome so far (pool index
//! and the label the reviewer gave) and the audits so far. The planner
//! 1. moves the reviewed items into the verified set (they refit the temperature, the
//!    auto-accept threshold, the conformal sets: more verified data, tighter thresholds);
//! 2. triages the unreviewed rest with the policy ([`super::policy`]);
//! 3. fits the label-noise model `P(given | true, confidence)` by EM on the verified items,
//!    every reviewed item and the unreviewed ones ([`super::noise_model`]) and ranks the items
//!    to review by its posterior probability that the current label is wrong; the expected
//!    wrong labels per class (the budgets, the audit trigger) are the sums of that posterior
//!    (`options.noiseModel.enabled = false`: the order is the policy's priority and the
//!    estimate the isotonic model below). Where the noise model has no say (items without a
//!    given label) the planner
//!    re-estimates how often a label is wrong at a given priority: an isotonic (monotone)
//!    regression of "given label wrong" on the priority, fitted on every verified item that
//!    came with a label and every reviewed item ([`super::policy::ErrorModel`]); the expected
//!    number of wrong labels left in class `c` is the sum of that estimate over the unreviewed
//!    items whose current label is `c` (without any item to fit it on, the raw priorities);
//! 4. picks the next batch: the highest-priority review items, or with `classBudget` a
//!    per-class budget proportional to the expected errors left in each class (largest
//!    remainder, at least `minPerClass` where available), highest priority first within a
//!    class;
//! 5. applies the **stopping rule**.
//!
//! # Sequential audit (default)
//! With `stopping.sequential` the audit is drawn `auditStep` items at a time, uniformly without
//! replacement from the unreviewed, unfailed items at its start, and read after every step by
//! the anytime-valid betting confidence sequence of [`super::audit`]: with probability
//! `>= 1 - delta_j` the number of wrong labels `D` in that remainder is at most `U` at every
//! step at once, so the audit stops as soon as `(U - wrong found + failed) / N` is at most the
//! target (the audited wrong labels are fixed), or gives up when it finds 3 or more wrong at
//! more than twice the rate it must certify (the rounds then go on; the next audit is tested
//! at `delta_{j+1}`). Audited items count as reviews. Audit `j` is tested at
//! `delta_1 = firstAuditShare x delta` and `delta_j = (1 - firstAuditShare) delta / 2^(j-1)`
//! after it, so all audits together spend at most `delta`.
//!
//! When it starts (`auditWhen`, default `cost`): the planner compares the expected reviews to
//! a certificate if the audit starts now with those if one, two, … further batches come first.
//! A batch is expected to fix the sum of its items' posteriors; an audit of a remainder of `R`
//! items holding `D` expected wrong labels, which must show at most `A` (the target's share),
//! is expected to take `ln(1/delta_j) / KL(D/R ‖ A/R)` draws (the growth rate of the best
//! bet). The audit starts when no later start is cheaper. The posteriors only time the audit;
//! the bound does not depend on them. `auditWhen: "rate"` starts it once the estimate is below
//! `auditAt x targetErrorRate`. The caller appends each step's indices
//! to the audit's record (`AuditPlan.number` says which); nothing else may be reviewed while
//! an audit is open (the planner then closes it).
//!
//! # Stopping rule and its bound (fixed-size audit, `sequential: false`)
//! The model's estimate of the errors left (step 3) is not a guarantee. When it falls to
//! `auditAt x targetErrorRate` of the pool, the planner asks for an **audit** instead of a
//! batch: a uniform random sample (seeded) of the unreviewed, unfailed items, of the size at
//! which an observed error rate of `auditMargin x` the estimate would still certify the
//! target. The reviewer labels them like any
//! batch and the caller returns the count of wrong labels in an [`AuditRecord`]. With `x`
//! wrong out of `m` audited from a remainder of `R` items, the Clopper-Pearson upper bound
//! `u` on the remainder's error rate gives, with probability `>= 1 - delta_j`, at most `u R`
//! wrong labels left, a number reviews only lower; adding the failed items (counted as
//! wrong), the bound on the pool's error rate is `(u R + failed) / N`. The planner stops when
//! that is `<= targetErrorRate`. Audit `j` (1-based) is tested at `delta_j = delta / 2^j`, so
//! the chance that any audit certifies falsely is at most `delta`. After a failed audit the
//! next one waits until the estimate has halved.

// the modules the types' docs link to as `super::…`
#[cfg(doc)]
use crate::engine::queue::{audit, noise_model, select};

mod batch;
mod bounds;
mod plan;
mod remainder;
mod types;

use batch::*;
pub use bounds::*;
pub use plan::*;
use remainder::*;
pub use types::*;

#[cfg(test)]
mod tests;
