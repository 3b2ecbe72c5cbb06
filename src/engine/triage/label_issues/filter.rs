//! Which rows are flagged as label issues (cleanlab's `filter.find_label_issues`).

use serde::{Deserialize, Serialize};

use super::joint::{
    compute_confident_joint, label_counts, num_label_issues, EstimationMethod, Square,
};
use super::numpy::{np_sum, round_preserving_row_totals};
use super::rank::{order_label_issues, score_rows, QualityOptions, ScoreMethod};
use super::{check_two_classes, predicted_is_given};
use crate::engine::probs::{argmax, check_labels, Probs};
use crate::error::{err, Result};

/// Which rule flags label issues (cleanlab's `filter_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum FilterBy {
    /// For each (given s, true y) pair, flag the `C[s][y]` rows labelled s with the largest
    /// `p[y] - p[s]` (default).
    #[default]
    #[serde(alias = "prune_by_noise_rate")]
    PruneByNoiseRate,
    /// For each class s, flag the `count_s - C[s][s]` rows labelled s with the smallest
    /// `p[s]`.
    #[serde(alias = "prune_by_class")]
    PruneByClass,
    /// Both of the above (intersection).
    Both,
    /// The confident joint's off-diagonal rows.
    #[serde(alias = "confident_learning")]
    ConfidentLearning,
    /// Rows whose arg-max is not the given label.
    #[serde(alias = "predicted_neq_given")]
    PredictedNeqGiven,
    /// The `num_label_issues` rows of lowest normalized margin.
    #[serde(alias = "low_normalized_margin")]
    LowNormalizedMargin,
    /// The `num_label_issues` rows of lowest self-confidence.
    #[serde(alias = "low_self_confidence")]
    LowSelfConfidence,
}

fn default_one_f64() -> f64 {
    1.0
}
fn default_one_usize() -> usize {
    1
}

/// Options of [`find_label_issues`], cleanlab's keyword arguments (same defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindOptions {
    /// The flagging rule (default prune by noise rate).
    #[serde(default)]
    pub filter_by: FilterBy,
    /// Fraction of the estimated noise to flag, in `(0, 1]` (default 1).
    #[serde(default = "default_one_f64")]
    pub frac_noise: f64,
    /// Exactly how many rows to flag in each given class (prune modes only).
    #[serde(default)]
    pub num_to_remove_per_class: Option<Vec<usize>>,
    /// Leave at least this many rows of each class unflagged (default 1).
    #[serde(default = "default_one_usize")]
    pub min_examples_per_class: usize,
    /// A precomputed confident joint (`k x k` counts, row-major); ignored by
    /// `confidentLearning`, as in cleanlab.
    #[serde(default)]
    pub confident_joint: Option<Vec<i64>>,
    /// Also return the flagged indices ordered by this score, lowest first.
    #[serde(default)]
    pub return_indices_ranked_by: Option<ScoreMethod>,
    /// Adjust probabilities by the class thresholds for that ranking (cleanlab's
    /// `rank_by_kwargs={"adjust_pred_probs": True}`).
    #[serde(default)]
    pub rank_by_adjust_pred_probs: bool,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            filter_by: FilterBy::default(),
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
            confident_joint: None,
            return_indices_ranked_by: None,
            rank_by_adjust_pred_probs: false,
        }
    }
}

/// Result of [`find_label_issues`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LabelIssues {
    /// One flag per row.
    pub is_label_issue: Vec<bool>,
    /// Number of flagged rows.
    pub num_issues: usize,
    /// Flagged rows, lowest quality first (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked_indices: Option<Vec<usize>>,
}

/// cleanlab's `_keep_at_least_n_per_class` on `pcm = C^T`, then `_reduce_prune_counts`.
fn keep_at_least_n_per_class(pcm: &[f64], k: usize, n_min: usize, frac_noise: f64) -> Vec<i64> {
    let diag: Vec<f64> = (0..k).map(|j| pcm[j * k + j]).collect();
    let new_diag: Vec<f64> = diag.iter().map(|&d| d.max(n_min as f64)).collect();
    let diff: Vec<f64> = (0..k).map(|j| new_diag[j] - diag[j]).collect();
    let nnz: Vec<f64> = (0..k)
        .map(|j| {
            let c = (0..k).filter(|&i| pcm[i * k + j] != 0.0).count() as f64;
            (c - 1.0).max(1.0)
        })
        .collect();
    let mut m: Vec<f64> = (0..k * k)
        .map(|x| {
            let v = pcm[x] - diff[x % k] / nnz[x % k];
            if v < 0.0 {
                0.0
            } else {
                v
            }
        })
        .collect();
    for j in 0..k {
        m[j * k + j] = new_diag[j];
    }
    // _reduce_prune_counts
    let mut r: Vec<f64> = m.iter().map(|v| v * frac_noise).collect();
    for j in 0..k {
        r[j * k + j] = m[j * k + j];
    }
    let mut out = vec![0i64; k * k];
    for j in 0..k {
        let col: Vec<f64> = (0..k).map(|i| m[i * k + j] - r[i * k + j]).collect();
        r[j * k + j] = m[j * k + j] + np_sum(&col);
    }
    for x in 0..k * k {
        out[x] = r[x] as i64; // astype(int): truncation toward zero
    }
    out
}

/// Indices of the `m` smallest keys (ties: lower index first), unordered.
fn smallest_m(keys: &mut [(f64, usize)], m: usize) -> &[(f64, usize)] {
    let m = m.min(keys.len());
    if m == 0 {
        return &keys[..0];
    }
    if m < keys.len() {
        keys.select_nth_unstable_by(m - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    &keys[..m]
}

/// cleanlab's `filter.find_label_issues` (single-label).
pub fn find_label_issues(p: &Probs<'_>, labels: &[usize], o: &FindOptions) -> Result<LabelIssues> {
    find_label_issues_impl(p, labels, o, false)
}

/// [`find_label_issues`] that also accepts labels all equal to class 0, as cleanlab does for
/// the one-vs-rest problems of multi-label data (a finding nobody gave).
pub fn find_label_issues_all_zero_ok(
    p: &Probs<'_>,
    labels: &[usize],
    o: &FindOptions,
) -> Result<LabelIssues> {
    find_label_issues_impl(p, labels, o, labels.iter().all(|&l| l == 0))
}

/// `fracNoise` must lie in `(0, 1]` (single-label and multi-label filters alike).
pub(crate) fn check_frac_noise(frac_noise: f64) -> Result<()> {
    if !(frac_noise.is_finite() && frac_noise > 0.0 && frac_noise <= 1.0) {
        return Err(err!(InvalidOptions, "fracNoise must be in (0, 1]"));
    }
    Ok(())
}

/// `numToRemovePerClass`, when given, holds one count per class (or per finding).
pub(crate) fn check_num_to_remove(
    num_to_remove_per_class: Option<&[usize]>,
    k: usize,
) -> Result<()> {
    if let Some(v) = num_to_remove_per_class {
        if v.len() != k {
            return Err(err!(InvalidOptions, "numToRemovePerClass needs {k} values"));
        }
    }
    Ok(())
}

fn is_prune_mode(f: FilterBy) -> bool {
    matches!(
        f,
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
    )
}

fn is_low_score_mode(f: FilterBy) -> bool {
    matches!(
        f,
        FilterBy::LowNormalizedMargin | FilterBy::LowSelfConfidence
    )
}

/// The options on their own: the noise fraction, and per-class counts only in prune modes.
fn check_find_options(o: &FindOptions, k: usize) -> Result<()> {
    check_frac_noise(o.frac_noise)?;
    if o.num_to_remove_per_class.is_some() && !is_prune_mode(o.filter_by) {
        return Err(err!(
            InvalidOptions,
            "numToRemovePerClass is only supported by pruneByNoiseRate, pruneByClass and both"
        ));
    }
    check_num_to_remove(o.num_to_remove_per_class.as_deref(), k)
}

/// The confident joint to prune with: the caller's (except for `confidentLearning`, which
/// needs the off-diagonal rows), else the calibrated one computed here with its off-diagonal
/// rows.
fn confident_joint_for(
    p: &Probs<'_>,
    labels: &[usize],
    o: &FindOptions,
) -> Result<(Square<i64>, Vec<usize>)> {
    let k = p.k();
    match (&o.confident_joint, o.filter_by) {
        (Some(cj), f) if f != FilterBy::ConfidentLearning => {
            if cj.len() != k * k || cj.iter().any(|&v| v < 0) {
                return Err(err!(
                    InvalidOptions,
                    "confidentJoint must be {k} x {k} non-negative counts"
                ));
            }
            let given = Square {
                k,
                data: cj.clone(),
            };
            Ok((given, Vec::new()))
        }
        _ => {
            let c = compute_confident_joint(p, labels, None, true)?;
            Ok((c.joint, c.off_diagonal))
        }
    }
}

fn find_label_issues_impl(
    p: &Probs<'_>,
    labels: &[usize],
    o: &FindOptions,
    allow_one_class: bool,
) -> Result<LabelIssues> {
    let (n, k) = (p.n(), p.k());
    check_labels(labels, n, k, "labels")?;
    if !allow_one_class {
        check_two_classes(labels, k)?;
    }
    check_find_options(o, k)?;
    let (cj, off) = confident_joint_for(p, labels, o)?;
    let mut mask = match o.filter_by {
        FilterBy::LowNormalizedMargin => lowest_scores(p, labels, ScoreMethod::NormalizedMargin)?,
        FilterBy::LowSelfConfidence => lowest_scores(p, labels, ScoreMethod::SelfConfidence)?,
        FilterBy::ConfidentLearning => {
            let mut mask = vec![false; n];
            for &i in &off {
                mask[i] = true;
            }
            mask
        }
        FilterBy::PredictedNeqGiven => (0..n).map(|i| argmax(p.row(i)) != labels[i]).collect(),
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            prune(p, labels, &cj, o)?
        }
    };
    // cleanlab's `_reduce_issues`: a row predicted as its given label is never an issue
    if !is_low_score_mode(o.filter_by) {
        for i in 0..n {
            if mask[i] && predicted_is_given(p, i, labels[i]) {
                mask[i] = false;
            }
        }
    }
    let num_issues = mask.iter().filter(|&&b| b).count();
    let ranked_indices = match o.return_indices_ranked_by {
        None => None,
        Some(method) => Some(order_label_issues(
            &mask,
            p,
            labels,
            &QualityOptions {
                method,
                adjust_pred_probs: o.rank_by_adjust_pred_probs,
            },
        )?),
    };
    Ok(LabelIssues {
        is_label_issue: mask,
        num_issues,
        ranked_indices,
    })
}

/// `lowSelfConfidence` / `lowNormalizedMargin`: the `num_label_issues` rows of lowest score.
fn lowest_scores(p: &Probs<'_>, labels: &[usize], method: ScoreMethod) -> Result<Vec<bool>> {
    let n = p.n();
    let scores = score_rows(p.data(), n, p.k(), labels, method);
    let num = num_label_issues(p, labels, EstimationMethod::OffDiagonal)?;
    let mut keys: Vec<(f64, usize)> = scores.iter().copied().zip(0..n).collect();
    let mut mask = vec![false; n];
    for &(_, i) in smallest_m(&mut keys, num) {
        mask[i] = true;
    }
    Ok(mask)
}

/// The prune modes: how many rows to flag per (given, true) class pair, then which rows, by
/// class, by noise rate or both (intersection).
fn prune(p: &Probs<'_>, labels: &[usize], cj: &Square<i64>, o: &FindOptions) -> Result<Vec<bool>> {
    let k = p.k();
    let pcm = prune_counts(cj, &label_counts(labels, k), o)?;
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &s) in labels.iter().enumerate() {
        by_class[s].push(i);
    }
    let by_class_mask = if matches!(o.filter_by, FilterBy::PruneByClass | FilterBy::Both) {
        prune_by_class(p, &by_class, &pcm, o.min_examples_per_class)
    } else {
        vec![false; p.n()]
    };
    if !matches!(o.filter_by, FilterBy::PruneByNoiseRate | FilterBy::Both) {
        return Ok(by_class_mask);
    }
    let mut mask = prune_by_noise_rate(p, &by_class, &pcm, o.min_examples_per_class);
    if o.filter_by == FilterBy::Both {
        for (m, &c) in mask.iter_mut().zip(&by_class_mask) {
            *m &= c;
        }
    }
    Ok(mask)
}

/// The prune counts `pcm[true][given]`: `C^T` kept at `minExamplesPerClass` and reduced by
/// `fracNoise`, then rescaled to `numToRemovePerClass` when given.
fn prune_counts(cj: &Square<i64>, label_counts: &[usize], o: &FindOptions) -> Result<Vec<i64>> {
    let k = cj.k;
    // pcm = C^T (pcm[i][j] = C[j][i]), as floats for the NumPy arithmetic
    let pcm_f: Vec<f64> = (0..k * k).map(|x| cj.at(x % k, x / k) as f64).collect();
    let pcm = keep_at_least_n_per_class(&pcm_f, k, o.min_examples_per_class, o.frac_noise);
    let Some(ntr) = &o.num_to_remove_per_class else {
        return Ok(pcm);
    };
    let rows: Vec<f64> = (0..k)
        .map(|i| pcm[i * k..(i + 1) * k].iter().sum::<i64>() as f64)
        .collect();
    // psy = pcm / np.sum(pcm, axis=1): NumPy broadcasts over columns
    let psy: Vec<f64> = (0..k * k).map(|x| pcm[x] as f64 / rows[x % k]).collect();
    let nps: Vec<f64> = (0..k)
        .map(|i| np_sum(&psy[i * k..(i + 1) * k]) - psy[i * k + i])
        .collect();
    let mut tmp: Vec<f64> = (0..k * k)
        .map(|x| psy[x] * ntr[x / k] as f64 / nps[x / k])
        .collect();
    for i in 0..k {
        tmp[i * k + i] = label_counts[i] as f64 - ntr[i] as f64;
    }
    if tmp.iter().any(|v| !v.is_finite()) {
        return Err(err!(
            InvalidInput,
            "numToRemovePerClass: a class has no estimated noise to rescale"
        ));
    }
    Ok(round_preserving_row_totals(&tmp, k))
}

/// Whether a class has enough rows to prune any (more than one, more than the minimum kept).
fn prunable(rows: &[usize], min_examples_per_class: usize) -> bool {
    rows.len() > 1 && rows.len() > min_examples_per_class
}

/// `pruneByClass`: in each class `c`, the `count_c - pcm[c][c]` rows of lowest `p[c]`.
fn prune_by_class(
    p: &Probs<'_>,
    by_class: &[Vec<usize>],
    pcm: &[i64],
    min_examples_per_class: usize,
) -> Vec<bool> {
    let k = p.k();
    let mut mask = vec![false; p.n()];
    for (c, rows) in by_class.iter().enumerate() {
        if !prunable(rows, min_examples_per_class) {
            continue;
        }
        let num = rows.len() as i64 - pcm[c * k + c];
        if num >= 1 {
            let mut keys: Vec<(f64, usize)> = rows.iter().map(|&i| (p.at(i, c), i)).collect();
            for &(_, i) in smallest_m(&mut keys, num as usize) {
                mask[i] = true;
            }
        }
    }
    mask
}

/// `pruneByNoiseRate`: for each given class `c` and true class `j != c`, the `pcm[j][c]` rows
/// labelled `c` of largest margin `p[j] - p[c]`.
fn prune_by_noise_rate(
    p: &Probs<'_>,
    by_class: &[Vec<usize>],
    pcm: &[i64],
    min_examples_per_class: usize,
) -> Vec<bool> {
    let k = p.k();
    let mut mask = vec![false; p.n()];
    let mut keys: Vec<(f64, usize)> = Vec::new();
    let mut local: Vec<f64> = Vec::new();
    for (c, rows) in by_class.iter().enumerate() {
        if !prunable(rows, min_examples_per_class) {
            continue;
        }
        // this class's rows, contiguous (one gather instead of k scattered passes)
        local.clear();
        local.extend(rows.iter().flat_map(|&i| p.row(i).iter().copied()));
        for j in 0..k {
            let num = pcm[j * k + c];
            if j == c || num <= 0 {
                continue;
            }
            keys.clear();
            // largest margin first == smallest negated margin
            keys.extend(
                rows.iter()
                    .zip(local.chunks_exact(k))
                    .map(|(&i, r)| (-(r[j] - r[c]), i)),
            );
            for &(_, i) in smallest_m(&mut keys, num as usize) {
                mask[i] = true;
            }
        }
    }
    mask
}
