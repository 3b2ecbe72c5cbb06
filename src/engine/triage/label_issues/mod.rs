//! Label-error detection by confident learning, replicating cleanlab 2.9's arithmetic
//! (`cleanlab.count`, `cleanlab.filter`, `cleanlab.rank`) on single-label data.
//!
//! Inputs are out-of-sample predicted probabilities `p` (`n` rows x `k` classes, row-major
//! f64) and given labels `s` in `0..k`.
//!
//! - **Per-class thresholds** `t_j` = mean of `p[i][j]` over rows labelled `j` (a class that
//!   no row carries gets 2.0, so nothing is confidently counted into it), clipped below at
//!   `2e-6` ([`confident_thresholds`]).
//! - **Confident joint** `C[s][y]`: row `i` is *confident* in class `j` when
//!   `p[i][j] >= t_j - 1e-6`; its guessed true label is the single confident class, or the
//!   arg-max of `p` when several are confident; rows confident in none are skipped. The
//!   diagonal is raised to at least 1, then (by default) **calibrated**: each row rescaled to
//!   the given-label count, the whole to `n`, rounded with row totals preserved
//!   ([`compute_confident_joint`], [`calibrate_confident_joint`]).
//! - **Joint** `Q = calibrated C / sum` ([`estimate_joint`]); **latent estimates** prior
//!   `p(y)`, noise matrix `p(s|y)`, inverse noise matrix `p(y|s)` ([`estimate_latent`]).
//! - **Number of issues** ([`num_label_issues`]): `off_diagonal` (confident off-diagonal
//!   rows not predicted as their given label) or `off_diagonal_calibrated`
//!   (`rint(n (1 - trace Q))`).
//! - **Find issues** ([`find_label_issues`]) with every `filter_by` mode of cleanlab, the
//!   `frac_noise`, `num_to_remove_per_class` and `min_examples_per_class` options, and
//!   ranking by a label-quality score ([`label_quality_scores`]).
//!
//! Floating-point sums that feed a rounding or a comparison (class means, the calibration
//! total, row totals) are computed with NumPy's pairwise summation order ([`np_sum`]), and
//! halves round to even as NumPy does, so the integer outputs equal cleanlab's.
//!
//! # Ties (the one intentional difference)
//! cleanlab orders with `np.argsort` (quicksort: not stable) in four places: picking the
//! `m` largest margins per (given, true) class pair in `prune_by_noise_rate`, the `m`
//! smallest self-confidences per class in `prune_by_class`, the lowest scores in
//! `low_self_confidence` / `low_normalized_margin`, and the final ranking of the flagged
//! indices. When scores tie exactly, NumPy's order depends on its sorting kernel; here ties
//! are always broken by the **lower item index first**. Results can differ from cleanlab only
//! when an exact tie straddles a cut-off (or in the relative order of tied flagged items in
//! the ranking). The rounding helper `round_preserving_sum` likewise uses a stable argsort
//! (then NumPy's slicing `[::-1]` when it adds, so among equal remainders the higher column is
//! incremented first).

mod filter;
mod joint;
mod latent;
mod numpy;
mod rank;
mod request;
#[cfg(test)]
mod tests;

pub use crate::engine::probs::{argmax, Probs};
pub(crate) use filter::{check_frac_noise, check_num_to_remove};
pub use filter::{
    find_label_issues, find_label_issues_all_zero_ok, FilterBy, FindOptions, LabelIssues,
};
pub use joint::{
    calibrate_confident_joint, compute_confident_joint, confident_thresholds, estimate_joint,
    label_counts, num_label_issues, ConfidentJoint, EstimationMethod, Square,
};
pub use latent::{estimate_latent, Latent, PyMethod};
pub use numpy::{np_sum, round_preserving_sum};
pub use rank::{
    label_quality_scores, normalized_entropy, order_label_issues, subtract_confident_thresholds,
    QualityOptions, ScoreMethod,
};
pub use request::{
    confident_joint_request, find_label_issues_request, num_label_issues_request,
    quality_scores_request, ConfidentJointOptions, ConfidentJointRequest, ConfidentJointResponse,
    FindLabelIssuesRequest, NumIssuesOptions, NumIssuesRequest, NumIssuesResponse,
    QualityScoresRequest, QualityScoresResponse,
};

use crate::error::{err, Result};

/// cleanlab's `FLOATING_POINT_COMPARISON`.
pub const FLOATING_POINT_COMPARISON: f64 = 1e-6;
/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND`.
pub const CONFIDENT_THRESHOLDS_LOWER_BOUND: f64 = 2.0 * FLOATING_POINT_COMPARISON;
/// cleanlab's `CLIPPING_LOWER_BOUND`.
pub const CLIPPING_LOWER_BOUND: f64 = 1e-6;
/// cleanlab's `TINY_VALUE`.
pub const TINY_VALUE: f64 = 1e-100;
/// Threshold given to a class no row is labelled with (cleanlab's `BIG_VALUE`).
pub const MISSING_CLASS_THRESHOLD: f64 = 2.0;
fn check_two_classes(labels: &[usize], k: usize) -> Result<()> {
    let mut seen = vec![false; k];
    let mut distinct = 0;
    for &l in labels {
        if !seen[l] {
            seen[l] = true;
            distinct += 1;
        }
    }
    if distinct < 2 {
        return Err(err!(
            InsufficientData,
            "labels must contain at least 2 distinct classes (as cleanlab requires)"
        ));
    }
    Ok(())
}

/// cleanlab's `_reduce_issues`: rows whose given label is (within 1e-6) the arg-max.
fn predicted_is_given(p: &Probs<'_>, i: usize, s: usize) -> bool {
    let row = p.row(i);
    let ps = row[s] + FLOATING_POINT_COMPARISON;
    let mut best = 0;
    let mut bv = if s == 0 { ps } else { row[0] };
    for (j, &v) in row.iter().enumerate().skip(1) {
        let v = if j == s { ps } else { v };
        if v > bv {
            bv = v;
            best = j;
        }
    }
    best == s
}
