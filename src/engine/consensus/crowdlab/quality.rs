//! CROWDLAB's steps: cleanlab's majority vote with its tie chain, the consensus statistics
//! (agreement, weights, posterior) and the best-quality pass with per-annotator quality.

use super::{mean, num_annotations, AnnotatorStats, CrowdlabResponse, CLIPPING_LOWER_BOUND};
use crate::engine::consensus::data::Dataset;
use crate::engine::probs::argmax_tied;

struct Stats {
    agreement: Vec<f64>,
    quality: Vec<f64>,
    post: Vec<f64>,
    model_weight: f64,
    annotator_weight: Vec<f64>,
}

/// Items still tied, with their candidate classes.
type Ties = Vec<(usize, Vec<usize>)>;

/// cleanlab's `get_majority_vote_label`; returns labels and the items tied to the end.
pub(super) fn cleanlab_majority(
    d: &Dataset,
    wide: &[i64],
    probs: Option<&[f64]>,
) -> (Vec<usize>, Vec<usize>) {
    let (n, k) = (d.n(), d.k());
    let counts = d.counts();
    let (mut mv, nontied, mut tied) = most_votes(&counts, n, k);
    // tie chain: highest model probability, then the rarest class over all annotations, then
    // the highest mean agreement of the annotators who chose it
    if let Some(p) = probs {
        for (i, cands) in tied.iter_mut() {
            let row = &p[*i * k..(*i + 1) * k];
            *cands = keep_best(cands, &|c| row[c], true);
        }
        settle(&mut tied, &mut mv);
    }
    if !tied.is_empty() {
        let mut freq = vec![0usize; k];
        for i in 0..n {
            for c in 0..k {
                freq[c] += counts[i * k + c];
            }
        }
        for (_, cands) in tied.iter_mut() {
            *cands = keep_best(cands, &|c| freq[c] as f64, false);
        }
        settle(&mut tied, &mut mv);
    }
    if !tied.is_empty() {
        let m = d.m();
        let agree = agreement_with_untied(wide, n, m, &nontied, &mv);
        for (i, cands) in tied.iter_mut() {
            let i = *i;
            *cands = keep_best(
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
        settle(&mut tied, &mut mv);
    }
    let mut unresolved = Vec::with_capacity(tied.len());
    for (i, cands) in tied {
        mv[i] = cands.first().copied().unwrap_or(0);
        unresolved.push(i);
    }
    (mv, unresolved)
}

/// The plain vote: labels of the items with one most-voted class, which items those are, and
/// the others with their tied classes.
fn most_votes(counts: &[usize], n: usize, k: usize) -> (Vec<usize>, Vec<bool>, Ties) {
    let mut mv = vec![0usize; n];
    let mut nontied = vec![false; n];
    let mut tied: Ties = Vec::new();
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
    (mv, nontied, tied)
}

/// The candidates with the highest (or lowest) score; all of them when a score is NaN.
fn keep_best(cands: &[usize], score: &dyn Fn(usize) -> f64, higher: bool) -> Vec<usize> {
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
}

/// Replace the NaN entries (annotators without data) by the mean of the others.
fn fill_nan_with_mean(v: &mut [f64]) {
    let avg = mean(v.iter().copied().filter(|x| !x.is_nan()));
    for a in v.iter_mut().filter(|a| a.is_nan()) {
        *a = avg;
    }
}

/// Label the items left with one candidate and drop them from the ties.
fn settle(tied: &mut Ties, mv: &mut [usize]) {
    tied.retain(|(i, c)| {
        if c.len() == 1 {
            mv[*i] = c[0];
            false
        } else {
            true
        }
    });
}

/// Each annotator's agreement with the vote on the untied items (the mean of the others for
/// an annotator with none).
fn agreement_with_untied(
    wide: &[i64],
    n: usize,
    m: usize,
    nontied: &[bool],
    mv: &[usize],
) -> Vec<f64> {
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
    fill_nan_with_mean(&mut agree);
    agree
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
    fill_nan_with_mean(&mut aa);
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

pub(super) fn crowdlab_core(d: &Dataset, probs: &[f64], temperature: f64) -> CrowdlabResponse {
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
