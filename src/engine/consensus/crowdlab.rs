//! CROWDLAB and ActiveLab, as cleanlab 2.9's `cleanlab.multiannotator`
//! (`get_label_quality_multiannotator` with its defaults: `consensus_method="best_quality"`,
//! `quality_method="crowdlab"`, `calibrate_probs=False`; and `get_active_learning_scores`).
//!
//! CROWDLAB, step by step (cleanlab's equations):
//! 1. Majority vote with cleanlab's tie chain: most votes; then the highest model
//!    probability among the tied classes; then the class least frequent over all annotations;
//!    then the highest mean agreement (with the consensus on untied items) of the annotators
//!    who chose it. **Difference**: cleanlab breaks what is still tied *at random*; here the
//!    lowest class index wins, and such items are listed in `unresolvedTies`.
//! 2. Consensus statistics for a consensus label `y`: per-item agreement `a_i` (share of
//!    item `i`'s annotators who chose `y_i`); over items with more than one annotation, the
//!    consensus likelihood `CL = mean a_i`, `NCL = (1-CL)/(K-1)`, the most-likely-class error
//!    `MLCE = max(share of y != most frequent y, 1e-6)`; per annotator `j` the agreement with
//!    other annotators `A_j` (weighted by `n_i - 1`; an annotator with no overlap gets the mean
//!    of the others), weight `w_j = max(1 - (1-A_j)/MLCE, 1e-6)`; model weight
//!    `w_M = max(1 - model_error/MLCE, 1e-6) · sqrt(mean n_i)` (model error = share of
//!    argmax p != y on the same items). Posterior
//!    `P_i[c] = (w_M p_i[c] + Σ_{j on i} w_j (CL if label_ij = c else NCL)) / (w_M + Σ w_j)`;
//!    consensus quality = `P_i[y_i]`.
//! 3. "best_quality": `y_i = argmax P_i` from the majority-vote pass (if the maximum is
//!    tied, the majority vote); step 2 is run again with these labels: that is the output.
//! 4. Per annotation quality = `P_i[label_ij]`; per annotator quality
//!    `q_j = w · mean_i P_i[label_ij] + (1-w) · agreement_j` with
//!    `w = w_M / (w_M + Σ_j w_j · mean n_i / m)` and `agreement_j` = share of `j`'s labels
//!    equal to the consensus on items with several annotations (null when there is none).
//!
//! With `calibrateProbs` (cleanlab's `calibrate_probs=True`, off by default) the model
//! probabilities are first temperature-scaled: the temperature minimizing the soft cross
//! entropy between the annotators' empirical label distribution and the scaled
//! probabilities, searched on `[0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8]` then on a finer grid
//! around the best (cleanlab's `find_best_temp_scaler`). Faithful to cleanlab 2.9, the
//! "empirical label distribution" of an item lists the counts of the classes present in
//! ascending class order *from position 0* (its `value_counts` on float labels does not
//! place them at their class index), so when an item's labels miss a class the distribution
//! is shifted; this quirk is reproduced on purpose so the chosen temperature matches.
//!
//! ActiveLab (`get_active_learning_scores`): if some item has more than one annotation, the
//! probabilities are temperature-scaled as above and CROWDLAB is run on them; the score of
//! labeled item `i` is the weighted mean of its consensus quality (weight `w_M + Σ_{j on i}
//! w_j`) and `1/K` (weight `mean_j w_j`). If every item has exactly one annotation, the
//! consensus is that label, its quality `p_i[label]`, all weights 1 and no scaling. An
//! unlabeled item scores the weighted mean of `max_c p_c` (scaled with the same temperature)
//! and `1/K`. Low score = most needs another annotation: `next` is the argmin over labeled
//! then unlabeled items, ties to the labeled set first, then the lowest index.
//!
//! Other differences: the per-annotator table follows the annotator order (cleanlab sorts it
//! by quality); the softmax of the temperature search is max-shifted (same values up to
//! rounding; cleanlab's unshifted form can underflow).

use serde::{Deserialize, Serialize};

use super::data::{check_probs, ConsensusRequest, Dataset};
use crate::engine::probs::argmax_tied;
use crate::error::{err, Result};

/// cleanlab's `CLIPPING_LOWER_BOUND`.
pub const CLIPPING_LOWER_BOUND: f64 = 1e-6;
/// cleanlab's `SMALL_CONST` (probability floor of the temperature search).
pub const SMALL_CONST: f64 = 1e-30;
/// cleanlab's coarse temperature grid.
pub const COARSE_TEMPERATURES: [f64; 9] = [0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 3.0, 5.0, 8.0];

/// CROWDLAB options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CrowdlabOptions {
    /// Temperature-scale the model probabilities first (cleanlab `calibrate_probs`, default
    /// false).
    pub calibrate_probs: bool,
}

/// ActiveLab options (none yet; unknown fields are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActiveLabOptions {}

/// Per-annotator CROWDLAB statistics (cleanlab's `annotator_stats`, in annotator order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnnotatorStats {
    /// Annotator id.
    pub annotator: String,
    /// Overall quality (null if the annotator only labeled singly-annotated items).
    pub annotator_quality: Option<f64>,
    /// Share of the annotator's labels equal to the consensus.
    pub agreement_with_consensus: f64,
    /// The class this annotator labels worst (cleanlab's `worst_class`).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub worst_class: usize,
    /// Items labeled.
    pub num_examples_labeled: usize,
}

/// CROWDLAB result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CrowdlabResponse {
    /// Item ids (row order).
    pub items: Vec<String>,
    /// Annotator ids.
    pub annotators: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Consensus class per item.
    pub consensus_label: Vec<usize>,
    /// Consensus quality score per item.
    pub consensus_quality_score: Vec<f64>,
    /// Share of the item's annotators agreeing with the consensus.
    pub annotator_agreement: Vec<f64>,
    /// Annotations per item.
    pub num_annotations: Vec<usize>,
    /// Quality of each annotation, aligned with the request's `annotations`.
    pub annotation_quality: Vec<f64>,
    /// Per-annotator statistics, annotator order.
    pub annotator_stats: Vec<AnnotatorStats>,
    /// The model's weight.
    pub model_weight: f64,
    /// Each annotator's weight.
    pub annotator_weight: Vec<f64>,
    /// Posterior probabilities `n x K` (cleanlab's post_pred_probs).
    pub post_pred_probs: Vec<f64>,
    /// The (cleanlab) majority vote the method started from.
    pub majority_vote_label: Vec<usize>,
    /// Items whose majority-vote tie survived every cleanlab rule (cleanlab: random choice;
    /// here: lowest class index).
    pub unresolved_ties: Vec<usize>,
    /// Temperature applied to the model probabilities (1 when not calibrating).
    pub temperature: f64,
}

/// The next item to annotate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NextItem {
    /// `"labeled"` or `"unlabeled"`.
    pub set: String,
    /// Index within that set.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Its id.
    pub item: String,
    /// Its score.
    pub score: f64,
}

/// ActiveLab result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActiveLabResponse {
    /// Labeled item ids.
    pub items: Vec<String>,
    /// Unlabeled item ids.
    pub unlabeled_items: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Scores of labeled items (low = needs another annotation).
    pub scores: Vec<f64>,
    /// Scores of unlabeled items.
    pub scores_unlabeled: Vec<f64>,
    /// Argmin score (labeled first on ties, then lowest index); null with no item at all.
    pub next: Option<NextItem>,
    /// Temperature applied to the model probabilities.
    pub temperature: f64,
    /// Model weight.
    pub model_weight: f64,
    /// Annotator weights (empty without labeled items).
    pub annotator_weight: Vec<f64>,
}

struct Stats {
    agreement: Vec<f64>,
    quality: Vec<f64>,
    post: Vec<f64>,
    model_weight: f64,
    annotator_weight: Vec<f64>,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, c) = v.fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
    s / c as f64
}

fn num_annotations(d: &Dataset) -> Vec<usize> {
    (0..d.n()).map(|i| d.item(i).len()).collect()
}

/// cleanlab's `get_majority_vote_label`; returns labels and the items tied to the end.
fn cleanlab_majority(d: &Dataset, wide: &[i64], probs: Option<&[f64]>) -> (Vec<usize>, Vec<usize>) {
    let (n, k, m) = (d.n(), d.k(), d.m());
    let counts = d.counts();
    let mut mv = vec![0usize; n];
    let mut nontied = vec![false; n];
    let mut tied: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..n {
        let row = &counts[i * k..(i + 1) * k];
        let best = row.iter().copied().max().unwrap_or(0);
        let cands: Vec<usize> = (0..k).filter(|&c| row[c] == best).collect();
        if cands.len() == 1 {
            mv[i] = cands[0];
            nontied[i] = true;
        } else {
            tied.push((i, cands));
        }
    }
    let filter = |cands: &[usize], score: &dyn Fn(usize) -> f64, higher: bool| -> Vec<usize> {
        let vals: Vec<f64> = cands.iter().map(|&c| score(c)).collect();
        if vals.iter().any(|v| v.is_nan()) {
            return cands.to_vec();
        }
        let target = if higher {
            vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        } else {
            vals.iter().copied().fold(f64::INFINITY, f64::min)
        };
        cands
            .iter()
            .zip(&vals)
            .filter(|(_, &v)| v == target)
            .map(|(&c, _)| c)
            .collect()
    };
    if let Some(p) = probs {
        for (i, cands) in tied.iter_mut() {
            let row = &p[*i * k..(*i + 1) * k];
            *cands = filter(cands, &|c| row[c], true);
        }
        tied.retain(|(i, c)| {
            if c.len() == 1 {
                mv[*i] = c[0];
                false
            } else {
                true
            }
        });
    }
    if !tied.is_empty() {
        let mut freq = vec![0usize; k];
        for i in 0..n {
            for c in 0..k {
                freq[c] += counts[i * k + c];
            }
        }
        for (_, cands) in tied.iter_mut() {
            *cands = filter(cands, &|c| freq[c] as f64, false);
        }
        tied.retain(|(i, c)| {
            if c.len() == 1 {
                mv[*i] = c[0];
                false
            } else {
                true
            }
        });
    }
    if !tied.is_empty() {
        let mut agree = vec![f64::NAN; m];
        for (j, a) in agree.iter_mut().enumerate() {
            let (mut hit, mut tot) = (0usize, 0usize);
            for i in (0..n).filter(|&i| nontied[i]) {
                let l = wide[i * m + j];
                if l >= 0 {
                    tot += 1;
                    if l as usize == mv[i] {
                        hit += 1;
                    }
                }
            }
            if tot > 0 {
                *a = hit as f64 / tot as f64;
            }
        }
        let avg = mean(agree.iter().copied().filter(|v| !v.is_nan()));
        for a in agree.iter_mut().filter(|a| a.is_nan()) {
            *a = avg;
        }
        for (i, cands) in tied.iter_mut() {
            let i = *i;
            *cands = filter(
                cands,
                &|c| {
                    mean(
                        (0..m)
                            .filter(|&j| wide[i * m + j] == c as i64)
                            .map(|j| agree[j]),
                    )
                },
                true,
            );
        }
        tied.retain(|(i, c)| {
            if c.len() == 1 {
                mv[*i] = c[0];
                false
            } else {
                true
            }
        });
    }
    let mut unresolved = Vec::with_capacity(tied.len());
    for (i, cands) in tied {
        mv[i] = cands.first().copied().unwrap_or(0);
        unresolved.push(i);
    }
    (mv, unresolved)
}

/// cleanlab's `_get_consensus_stats` (crowdlab quality method).
fn consensus_stats(d: &Dataset, wide: &[i64], probs: &[f64], num: &[usize], y: &[usize]) -> Stats {
    let (n, k, m) = (d.n(), d.k(), d.m());
    let agreement: Vec<f64> = (0..n)
        .map(|i| d.item(i).iter().filter(|&&(_, l)| l == y[i]).count() as f64 / num[i] as f64)
        .collect();
    let multi: Vec<usize> = (0..n).filter(|&i| num[i] != 1).collect();
    let cl = mean(multi.iter().map(|&i| agreement[i]));
    let ncl = (1.0 - cl) / (k as f64 - 1.0);
    let mut bin = vec![0usize; k];
    for &i in &multi {
        bin[y[i]] += 1;
    }
    let mut most = 0;
    for c in 1..k {
        if bin[c] > bin[most] {
            most = c;
        }
    }
    let mlce =
        mean(multi.iter().map(|&i| if y[i] != most { 1.0 } else { 0.0 })).max(CLIPPING_LOWER_BOUND);
    // agreement of each annotator with the other annotators
    let mut aa = vec![f64::NAN; m];
    let mut num_sum = vec![0usize; m];
    let mut val_sum = vec![0.0f64; m];
    for (i, &ni) in num.iter().enumerate() {
        let it = d.item(i);
        for &(j, l) in it {
            let adj = ni - 1;
            num_sum[j] += adj;
            if ni > 1 {
                let same = it.iter().filter(|&&(_, l2)| l2 == l).count();
                val_sum[j] += (same - 1) as f64 / adj as f64 * adj as f64;
            }
        }
    }
    for j in 0..m {
        if num_sum[j] > 0 {
            aa[j] = val_sum[j] / num_sum[j] as f64;
        }
    }
    let avg = mean(aa.iter().copied().filter(|v| !v.is_nan()));
    for a in aa.iter_mut().filter(|a| a.is_nan()) {
        *a = avg;
    }
    let annotator_weight: Vec<f64> = aa
        .iter()
        .map(|&a| (1.0 - (1.0 - a) / mlce).max(CLIPPING_LOWER_BOUND))
        .collect();
    let model_error = mean(multi.iter().map(|&i| {
        if argmax_tied(&probs[i * k..(i + 1) * k]).0 != y[i] {
            1.0
        } else {
            0.0
        }
    }));
    let mean_num = mean(num.iter().map(|&v| v as f64));
    let model_weight = (1.0 - model_error / mlce).max(CLIPPING_LOWER_BOUND) * mean_num.sqrt();
    let mut post = vec![0.0; n * k];
    for i in 0..n {
        let mut total = 0.0;
        for j in 0..m {
            if wide[i * m + j] >= 0 {
                total += annotator_weight[j];
            }
        }
        total += model_weight;
        for c in 0..k {
            let mut v = probs[i * k + c] * model_weight;
            for j in 0..m {
                let l = wide[i * m + j];
                if l >= 0 {
                    v += if l as usize == c {
                        annotator_weight[j] * cl
                    } else {
                        annotator_weight[j] * ncl
                    };
                }
            }
            post[i * k + c] = v / total;
        }
    }
    let quality = (0..n).map(|i| post[i * k + y[i]]).collect();
    Stats {
        agreement,
        quality,
        post,
        model_weight,
        annotator_weight,
    }
}

/// cleanlab's `find_best_temp_scaler`: the temperature minimizing the mean soft cross
/// entropy between the annotators' label distribution and the scaled probabilities.
pub fn find_best_temperature(d: &Dataset, probs: &[f64]) -> f64 {
    let (n, k) = (d.n(), d.k());
    let counts = d.counts();
    // cleanlab 2.9 builds this with `value_counts(labels, num_classes)` on float labels,
    // which packs the counts of the classes present to the left (positions 0..u) instead of
    // at their class index; reproduced here to match its temperature choice.
    let mut emp = vec![0.0; n * k];
    for i in 0..n {
        let t = d.item(i).len() as f64;
        let present = counts[i * k..(i + 1) * k].iter().filter(|&&c| c > 0);
        for (pos, &c) in present.enumerate() {
            emp[i * k + pos] = c as f64 / t;
        }
    }
    let logp: Vec<f64> = probs
        .iter()
        .map(|&p| if p > 0.0 { p.ln() } else { f64::NEG_INFINITY })
        .collect();
    let lnk = (k as f64).ln();
    let ce = |t: f64| -> f64 {
        let mut total = 0.0;
        let mut row = vec![0.0; k];
        for i in 0..n {
            let lp = &logp[i * k..(i + 1) * k];
            let mx = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for (r, &v) in row.iter_mut().zip(lp) {
                *r = ((v - mx) / t.max(f64::EPSILON)).exp();
                s += *r;
            }
            let mut h = 0.0;
            for c in 0..k {
                let e = emp[i * k + c];
                if e != 0.0 {
                    h -= e * (row[c] / s).max(SMALL_CONST).ln();
                }
            }
            total += h / lnk;
        }
        total / n as f64
    };
    let argmin = |grid: &[f64]| -> usize {
        let mut best = 0;
        let mut best_v = f64::INFINITY;
        for (i, &t) in grid.iter().enumerate() {
            let v = ce(t);
            if v < best_v {
                best_v = v;
                best = i;
            }
        }
        best
    };
    let coarse = COARSE_TEMPERATURES;
    let i = argmin(&coarse);
    let mut fine = Vec::new();
    if i != 0 {
        let (a, b) = (coarse[i - 1], coarse[i]);
        let step = (b - a) / 4.0;
        fine.extend((0..4).map(|j| j as f64 * step + a));
    }
    if i != coarse.len() - 1 {
        let (a, b) = (coarse[i], coarse[i + 1]);
        let step = (b - a) / 4.0;
        fine.extend((0..5).map(|j| if j == 4 { b } else { j as f64 * step + a }));
    }
    fine[argmin(&fine)]
}

/// cleanlab's `temp_scale_pred_probs`: floor at 1e-30, renormalize, softmax(ln p / t),
/// renormalize.
pub fn temperature_scale(probs: &[f64], k: usize, t: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(probs.len());
    let t = t.max(f64::EPSILON);
    for row in probs.chunks_exact(k) {
        let s: f64 = row.iter().map(|&p| p.max(SMALL_CONST)).sum();
        let x: Vec<f64> = row
            .iter()
            .map(|&p| (p.max(SMALL_CONST) / s).ln() / t)
            .collect();
        let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = x.iter().map(|&v| (v - mx).exp()).collect();
        let z: f64 = e.iter().sum();
        out.extend(e.iter().map(|&v| v / z));
    }
    out
}

fn check_multi(d: &Dataset, num: &[usize], what: &str) -> Result<()> {
    if d.m() < 2 {
        return Err(err!(
            InsufficientData,
            "{what} needs at least 2 annotators (got 1); with one annotator use a single-label quality score"
        ));
    }
    if num.iter().all(|&c| c == 1) {
        return Err(err!(
            InsufficientData,
            "{what} needs at least one item with more than one annotation (every item has exactly one)"
        ));
    }
    Ok(())
}

fn crowdlab_core(d: &Dataset, probs: &[f64], temperature: f64) -> CrowdlabResponse {
    let (n, k, m) = (d.n(), d.k(), d.m());
    let wide = d.wide();
    let num = num_annotations(d);
    let (mv, unresolved) = cleanlab_majority(d, &wide, Some(probs));
    let s1 = consensus_stats(d, &wide, probs, &num, &mv);
    let best: Vec<usize> = (0..n)
        .map(|i| {
            let (c, tied) = argmax_tied(&s1.post[i * k..(i + 1) * k]);
            if tied {
                mv[i]
            } else {
                c
            }
        })
        .collect();
    let s = consensus_stats(d, &wide, probs, &num, &best);
    let annotation_quality: Vec<f64> = d.obs.iter().map(|&(i, _, l)| s.post[i * k + l]).collect();
    // annotator stats
    let mut lq_sum = vec![0.0; m];
    let mut lq_cnt = vec![0usize; m];
    let mut agr_hit = vec![0usize; m];
    let mut agr_tot = vec![0usize; m];
    let mut all_hit = vec![0usize; m];
    for i in 0..n {
        for &(j, l) in d.item(i) {
            lq_sum[j] += s.post[i * k + l];
            lq_cnt[j] += 1;
            if l == best[i] {
                all_hit[j] += 1;
            }
            if num[i] != 1 {
                agr_tot[j] += 1;
                if l == best[i] {
                    agr_hit[j] += 1;
                }
            }
        }
    }
    let frac = mean(num.iter().map(|&v| v as f64)) / m as f64;
    let adj: f64 = s.annotator_weight.iter().sum::<f64>() * frac;
    let w = s.model_weight / (s.model_weight + adj);
    let annotator_stats = (0..m)
        .map(|j| {
            let lqs = lq_sum[j] / lq_cnt[j] as f64;
            let quality = if agr_tot[j] == 0 {
                None
            } else {
                Some(w * lqs + (1.0 - w) * (agr_hit[j] as f64 / agr_tot[j] as f64))
            };
            AnnotatorStats {
                annotator: d.annotators[j].clone(),
                annotator_quality: quality,
                agreement_with_consensus: all_hit[j] as f64 / lq_cnt[j] as f64,
                worst_class: worst_class(d, j, &best, &s.quality),
                num_examples_labeled: lq_cnt[j],
            }
        })
        .collect();
    CrowdlabResponse {
        items: d.items.clone(),
        annotators: d.annotators.clone(),
        classes: d.classes.clone(),
        consensus_label: best,
        consensus_quality_score: s.quality,
        annotator_agreement: s.agreement,
        num_annotations: num,
        annotation_quality,
        annotator_stats,
        model_weight: s.model_weight,
        annotator_weight: s.annotator_weight,
        post_pred_probs: s.post,
        majority_vote_label: mv,
        unresolved_ties: unresolved,
        temperature,
    }
}

/// cleanlab's `_get_single_annotator_worst_class`: lowest accuracy against the consensus
/// among the classes the annotator used; ties to the most used, then the highest mean
/// consensus quality, then the lowest index.
fn worst_class(d: &Dataset, j: usize, y: &[usize], quality: &[f64]) -> usize {
    let k = d.k();
    let mut hit = vec![0usize; k];
    let mut cnt = vec![0usize; k];
    let mut qsum = vec![0.0; k];
    for i in 0..d.n() {
        for &(a, l) in d.item(i) {
            if a == j {
                cnt[l] += 1;
                qsum[l] += quality[i];
                if y[i] == l {
                    hit[l] += 1;
                }
            }
        }
    }
    let used: Vec<usize> = (0..k).filter(|&c| cnt[c] > 0).collect();
    let acc = |c: usize| hit[c] as f64 / cnt[c] as f64;
    let min_acc = used.iter().map(|&c| acc(c)).fold(f64::INFINITY, f64::min);
    let c1: Vec<usize> = used.into_iter().filter(|&c| acc(c) == min_acc).collect();
    if c1.len() == 1 {
        return c1[0];
    }
    let max_cnt = c1.iter().map(|&c| cnt[c]).max().unwrap_or(0);
    let c2: Vec<usize> = c1.into_iter().filter(|&c| cnt[c] == max_cnt).collect();
    if c2.len() == 1 {
        return c2[0];
    }
    let mq = |c: usize| qsum[c] / cnt[c] as f64;
    let max_q = c2.iter().map(|&c| mq(c)).fold(f64::NEG_INFINITY, f64::max);
    c2.into_iter().find(|&c| mq(c) == max_q).unwrap_or(0)
}

/// CROWDLAB for a request (`predProbs` required, `n x K` in item order).
pub fn crowdlab(req: &ConsensusRequest<CrowdlabOptions>) -> Result<CrowdlabResponse> {
    if req.pred_probs_unlabeled.is_some() || req.unlabeled_items.is_some() {
        return Err(err!(
            InvalidOptions,
            "CROWDLAB does not use unlabeled items (predProbsUnlabeled belongs to ActiveLab)"
        ));
    }
    let d = Dataset::build(req)?;
    let probs = req.pred_probs.as_deref().ok_or_else(|| {
        err!(
            InvalidInput,
            "CROWDLAB needs model probabilities (predProbs, n x K)"
        )
    })?;
    check_probs(probs, d.n(), d.k(), "predProbs")?;
    let num = num_annotations(&d);
    check_multi(&d, &num, "CROWDLAB")?;
    if req.options.calibrate_probs {
        let t = find_best_temperature(&d, probs);
        let scaled = temperature_scale(probs, d.k(), t);
        Ok(crowdlab_core(&d, &scaled, t))
    } else {
        Ok(crowdlab_core(&d, probs, 1.0))
    }
}

/// ActiveLab scores for labeled items (annotations + `predProbs`) and/or unlabeled items
/// (`predProbsUnlabeled`).
pub fn active_lab(req: &ConsensusRequest<ActiveLabOptions>) -> Result<ActiveLabResponse> {
    let mut resp = ActiveLabResponse {
        items: Vec::new(),
        unlabeled_items: Vec::new(),
        classes: Vec::new(),
        scores: Vec::new(),
        scores_unlabeled: Vec::new(),
        next: None,
        temperature: 1.0,
        model_weight: 1.0,
        annotator_weight: Vec::new(),
    };
    let mut avg_w = 1.0;
    let k;
    if !req.annotations.is_empty() {
        let d = Dataset::build(req)?;
        k = d.k();
        let probs = req.pred_probs.as_deref().ok_or_else(|| {
            err!(
                InvalidInput,
                "ActiveLab needs predProbs (n x K) for the annotated items"
            )
        })?;
        check_probs(probs, d.n(), k, "predProbs")?;
        let num = num_annotations(&d);
        let (quality, mw, aw) = if num.iter().all(|&c| c == 1) {
            let wide = d.wide();
            let (mv, _) = cleanlab_majority(&d, &wide, Some(probs));
            let q: Vec<f64> = (0..d.n()).map(|i| probs[i * k + mv[i]]).collect();
            (q, 1.0, vec![1.0; d.m()])
        } else {
            check_multi(&d, &num, "ActiveLab")?;
            let t = find_best_temperature(&d, probs);
            resp.temperature = t;
            let scaled = temperature_scale(probs, k, t);
            let c = crowdlab_core(&d, &scaled, t);
            (
                c.consensus_quality_score,
                c.model_weight,
                c.annotator_weight,
            )
        };
        avg_w = mean(aw.iter().copied());
        let inv_k = 1.0 / k as f64;
        resp.scores = (0..d.n())
            .map(|i| {
                let w1 = d.item(i).iter().map(|&(j, _)| aw[j]).sum::<f64>() + mw;
                (quality[i] * w1 + inv_k * avg_w) / (w1 + avg_w)
            })
            .collect();
        resp.model_weight = mw;
        resp.annotator_weight = aw;
        resp.items = d.items.clone();
        resp.classes = d.classes.clone();
    } else {
        if req.pred_probs.is_some() {
            return Err(err!(
                InvalidInput,
                "predProbs was given without annotations; pass unlabeled items as predProbsUnlabeled"
            ));
        }
        let len = req
            .pred_probs_unlabeled
            .as_ref()
            .map(Vec::len)
            .ok_or_else(|| {
                err!(
                    InsufficientData,
                    "ActiveLab needs annotations with predProbs, or predProbsUnlabeled"
                )
            })?;
        k = match (&req.classes, req.num_classes, &req.unlabeled_items) {
            (Some(c), _, _) => c.len(),
            (None, Some(nc), _) => nc,
            (None, None, Some(ids)) if !ids.is_empty() && len % ids.len() == 0 => len / ids.len(),
            _ => {
                return Err(err!(
                    InvalidInput,
                    "without annotations, give classes or numClasses (or unlabeledItems) to size predProbsUnlabeled"
                ))
            }
        };
        if k < 2 {
            return Err(err!(InvalidInput, "at least 2 classes are needed, got {k}"));
        }
        resp.classes = match &req.classes {
            Some(c) => c.clone(),
            None => (0..k).map(|i| i.to_string()).collect(),
        };
    }
    if let Some(pu) = &req.pred_probs_unlabeled {
        let mu = pu.len() / k;
        check_probs(pu, mu, k, "predProbsUnlabeled")?;
        resp.unlabeled_items = match &req.unlabeled_items {
            Some(ids) if ids.len() != mu => {
                return Err(err!(
                    InvalidInput,
                    "unlabeledItems has {} ids but predProbsUnlabeled has {mu} rows",
                    ids.len()
                ))
            }
            Some(ids) => ids.clone(),
            None => (0..mu).map(|i| i.to_string()).collect(),
        };
        let scaled = temperature_scale(pu, k, resp.temperature);
        let (mw, inv_k) = (resp.model_weight, 1.0 / k as f64);
        resp.scores_unlabeled = scaled
            .chunks_exact(k)
            .map(|row| {
                let q = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (q * mw + inv_k * avg_w) / (mw + avg_w)
            })
            .collect();
    } else if req.unlabeled_items.is_some() {
        return Err(err!(
            InvalidInput,
            "unlabeledItems given without predProbsUnlabeled"
        ));
    }
    let mut best: Option<NextItem> = None;
    for (set, ids, scores) in [
        ("labeled", &resp.items, &resp.scores),
        ("unlabeled", &resp.unlabeled_items, &resp.scores_unlabeled),
    ] {
        for (i, &s) in scores.iter().enumerate() {
            if best.as_ref().is_none_or(|b| s < b.score) {
                best = Some(NextItem {
                    set: set.to_string(),
                    index: i,
                    item: ids[i].clone(),
                    score: s,
                });
            }
        }
    }
    resp.next = best;
    Ok(resp)
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    fn probs_for(n: usize, k: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = Vec::new();
        for _ in 0..n {
            let row: Vec<f64> = (0..k)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    0.05 + ((s >> 11) as f64 / (1u64 << 53) as f64)
                })
                .collect();
            let z: f64 = row.iter().sum();
            out.extend(row.iter().map(|v| v / z));
        }
        out
    }

    #[test]
    fn basic_and_errors() {
        let anns = [
            ("x", "a", 0),
            ("x", "b", 0),
            ("y", "a", 1),
            ("y", "b", 0),
            ("z", "b", 1),
        ];
        let mut req = request::<_, CrowdlabOptions>(&anns, 2);
        assert!(crowdlab(&req).unwrap_err().message().contains("predProbs"));
        req.pred_probs = Some(vec![0.9, 0.1, 0.3, 0.7, 0.2, 0.8]);
        let r = crowdlab(&req).unwrap();
        assert_eq!(r.consensus_label[0], 0);
        assert_eq!(r.annotation_quality.len(), 5);
        for row in r.post_pred_probs.chunks(2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-9);
        }
        req.pred_probs = Some(vec![0.9, 0.1, 0.3, 0.7]);
        assert_eq!(crowdlab(&req).unwrap_err().code(), "invalid_input");
        let single = [("x", "a", 0), ("y", "b", 1)];
        let mut req = request::<_, CrowdlabOptions>(&single, 2);
        req.pred_probs = Some(vec![0.9, 0.1, 0.3, 0.7]);
        assert_eq!(crowdlab(&req).unwrap_err().code(), "insufficient_data");
        // ActiveLab single-label branch
        let mut req = request::<_, ActiveLabOptions>(&single, 2);
        req.pred_probs = Some(vec![0.9, 0.1, 0.3, 0.7]);
        req.pred_probs_unlabeled = Some(vec![0.5, 0.5]);
        let r = active_lab(&req).unwrap();
        assert!((r.scores[0] - (0.9 * 2.0 + 0.5) / 3.0).abs() < 1e-12);
        assert!((r.scores_unlabeled[0] - 0.5).abs() < 1e-12);
        let next = r.next.unwrap();
        assert_eq!((next.set.as_str(), next.index), ("unlabeled", 0));
        // unlabeled only
        let mut req = ConsensusRequest::<ActiveLabOptions>::new(vec![]);
        req.pred_probs_unlabeled = Some(vec![0.5, 0.5, 0.9, 0.1]);
        assert_eq!(active_lab(&req).unwrap_err().code(), "invalid_input");
        req.num_classes = Some(2);
        let r = active_lab(&req).unwrap();
        assert_eq!(r.next.unwrap().index, 0);
        assert!((r.scores_unlabeled[1] - (0.9 + 0.5) / 2.0).abs() < 1e-9);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn permutation_equivariant(data in random_annotations(3..30, 2..5, 2..5), seed in any::<u64>()) {
            let (anns, k, perm) = data;
            let mut req = request::<_, CrowdlabOptions>(&anns, k);
            let n = {
                let mut ids: Vec<&String> = anns.iter().map(|a| &a.0).collect();
                ids.dedup();
                ids.len()
            };
            let p = probs_for(n, k, seed);
            let mut pp = vec![0.0; n * k];
            for i in 0..n {
                for c in 0..k {
                    pp[i * k + perm[c]] = p[i * k + c];
                }
            }
            req.pred_probs = Some(p);
            let mut preq = request::<_, CrowdlabOptions>(&permute(&anns, &perm), k);
            preq.pred_probs = Some(pp);
            let (a, b) = match (crowdlab(&req), crowdlab(&preq)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e1), Err(e2)) => { prop_assert_eq!(e1.code(), e2.code()); return Ok(()); }
                (x, y) => { prop_assert!(false, "{:?} vs {:?}", x.err(), y.err()); unreachable!() }
            };
            if a.unresolved_ties.is_empty() {
                for i in 0..n {
                    prop_assert_eq!(perm[a.consensus_label[i]], b.consensus_label[i]);
                    prop_assert!((a.consensus_quality_score[i] - b.consensus_quality_score[i]).abs() < 1e-9);
                }
                for (x, y) in a.annotation_quality.iter().zip(&b.annotation_quality) {
                    prop_assert!((x - y).abs() < 1e-9);
                }
            }
        }
    }
}
