//! Calibration, conformal sets and certified auto-accept for multi-label findings.
//!
//! # Calibration per finding
//! Scores are logits `z` (a sigmoid gives the probability) or probabilities `p` (then
//! `z = ln(p / (1 - p))`, with `p` clipped to `[1e-12, 1 - 1e-12]` so that 0 and 1 stay
//! finite). Each finding `j` gets its own map `p' = sigmoid(a_j z + b_j)`:
//! - `temperature`: `a_j = 1 / T_j`, `b_j = 0`, `T_j` minimizing the mean binary NLL on the
//!   labeled set (the single-label temperature search of
//!   [`crate::engine::triage::calibration`] on the two logits `[0, z]`, whose softmax is
//!   `[1 - sigmoid(z / T), sigmoid(z / T)]`);
//! - `platt`: `(a_j, b_j)` minimizing the cross-entropy against Platt's smoothed targets
//!   (`(N+ + 1) / (N+ + 2)` for positives, `1 / (N- + 2)` for negatives), as scikit-learn's
//!   `_SigmoidCalibration` (which reports `A = -a`, `B = -b`); solved by Newton's method
//!   with step halving to a gradient below 1e-12 per item.
//!
//! # Metrics per finding (on the probabilities as given)
//! NLL `mean -[y ln p + (1-y) ln(1-p)]` (p clipped to `[eps, 1-eps]`, `eps = f64::EPSILON`),
//! Brier `mean (p - y)^2`, and the reliability of `p` itself: `M` equal-width bins over
//! `[0, 1]` (bin `b` holds `b/M <= p < (b+1)/M`, the last also `p = 1`, as `numpy.histogram`),
//! `ECE = Σ_b (n_b / n) |mean_b(y) - mean_b(p)|`, `MCE = max_b |…|` over non-empty bins.
//!
//! # Conformal per finding
//! Split conformal (LAC) on each finding's two-class problem `[1 - p, p]`: the set of finding
//! `j` is `{absent}`, `{present}`, both (undecided) or empty. With level `alpha_j` each
//! finding's set covers its truth with probability `>= 1 - alpha_j`; with `bonferroni`
//! (default) `alpha_j = alpha / k`, so all `k` sets of an image cover together with
//! probability `>= 1 - alpha` (union bound; no assumption on how findings depend on each
//! other).
//!
//! # Certified auto-accept for the image
//! The model's decision for finding `j` is "present" when `p_j >= 0.5`; its confidence is
//! `c_j = max(p_j, 1 - p_j)`. An image is *wrong* when any of its `k` decisions differs from
//! the verified truth. Two rules, both Learn-then-Test on a verified set
//! ([`crate::engine::triage::risk`]), with probability `>= 1 - delta` over that set:
//! - `joint` (default): accept an image when `min_j c_j >= lambda`; one family of thresholds
//!   tested on the image-level loss, so the findings need no multiplicity correction (the
//!   test is on the event "some finding wrong" itself). Guarantee (conditional mode):
//!   `P(some finding wrong | image auto-accepted) <= alpha`. In marginal mode:
//!   `P(auto-accepted and some finding wrong) <= alpha`.
//! - `bonferroni`: one threshold `lambda_j` per finding, each certified in marginal mode at
//!   `(alpha / k, delta / k)`; accept an image when `c_j >= lambda_j` for every `j`. By the
//!   union bound over findings, `P(auto-accepted and some finding wrong) <= Σ_j
//!   P(c_j >= lambda_j and finding j wrong) <= alpha`, all `k` thresholds holding together
//!   with probability `>= 1 - delta`. Thresholds adapt to each finding's difficulty; the
//!   price is a marginal (not conditional) guarantee and smaller per-finding levels.
//!
//! The guarantee assumes the verified images are exchangeable with the images the rule is
//! applied to (same distribution, e.g. a random sample of the pool). [`apply_auto_accept`]
//! reports the held-out error when truths are given, which is how the tests check it.

mod auto_accept;
mod conformal;
mod fit;

pub use auto_accept::{
    apply_auto_accept, auto_accept_ml, MlApplyAutoAcceptRequest, MlAutoAcceptDecision,
    MlAutoAcceptOptions, MlAutoAcceptRequest, MlAutoAcceptRule, Multiplicity,
};
pub use conformal::{
    conformal_calibrate_ml, conformal_sets_ml, MlConformal, MlConformalRequest, MlConformalSets,
    MlConformalSetsRequest, MlImageSets,
};
pub use fit::{
    apply_calibration, calibration_report, finding_metrics, fit_calibration, platt,
    FindingCalibration, FindingMap, FindingMetrics, MlApplyCalibrationRequest, MlCalibrateOptions,
    MlCalibrateRequest, MlCalibration, MlCalibrationMethod, MlCalibrationReport,
    MlCalibrationReportRequest, MlProbabilities,
};

use super::MlProbs;
use crate::engine::triage::calibration::ScoreKind;
use crate::error::{err, Result};

/// Probabilities are clipped to `[CLIP, 1 - CLIP]` before taking logits.
pub const CLIP: f64 = 1e-12;

/// Logits of a request's scores (validated).
pub fn to_logits(scores: &[f64], n: usize, k: usize, kind: ScoreKind) -> Result<Vec<f64>> {
    if n == 0 || k == 0 || n.checked_mul(k) != Some(scores.len()) {
        return Err(err!(
            InvalidInput,
            "scores have {} values, expected n x k = {n} x {k} (both >= 1)",
            scores.len()
        ));
    }
    match kind {
        ScoreKind::Logits => {
            if scores.iter().any(|v| !v.is_finite()) {
                return Err(err!(NonFiniteOutput, "logits contain NaN or infinity"));
            }
            Ok(scores.to_vec())
        }
        ScoreKind::Probabilities => {
            MlProbs::new(scores, n, k)?;
            Ok(scores
                .iter()
                .map(|&p| {
                    let p = p.clamp(CLIP, 1.0 - CLIP);
                    (p / (1.0 - p)).ln()
                })
                .collect())
        }
    }
}

/// Column `j` of a row-major matrix with `k` columns.
fn column_of<T: Copy>(v: &[T], k: usize, j: usize) -> Vec<T> {
    v.chunks_exact(k).map(|r| r[j]).collect()
}
