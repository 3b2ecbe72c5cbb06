//! The label-noise process behind the review order: `P(given label | true class, model
//! confidence)`, re-estimated every round from everything known so far.
//!
//! # Model
//! Items fall into `bins` confidence bins by the calibrated maximum probability `max_c p_c(x)`
//! (cut points at the quantiles of all items' confidences). In bin `b` the given label `g` of
//! an item of true class `c` is drawn from a row of the transition matrix `T_b[c][g]`. The true
//! class of a pool item is unknown; its prior is the calibrated model probability `p_c(x)`
//! (the calibration is fitted on the verified set, a random sample, so `p` estimates
//! `P(true = c | x)`).
//!
//! # Fit
//! Expectation-maximisation on two kinds of items:
//! - **known**: verified items that came with a label and every reviewed pool item: true class
//!   and given label both observed, one count in `(b, c, g)`;
//! - **latent**: the unreviewed pool items with a given label: the E step spreads one count over
//!   `(b, c, g)` by the posterior `q(c) ∝ p_c(x) T_b[c][g]`.
//!
//! The M step is a smoothed frequency: `T_b[c][·] = (A_b[c][·] + s P[c][·]) / (A_b[c] + s)`,
//! shrunk towards the pooled matrix `P[c][·] = (Σ_b A_b[c][·] + s T0[c][·]) / (Σ_b A_b[c] + s)`,
//! itself shrunk towards `T0` (diagonal `1 - e0`, the rest spread evenly, `e0` the known
//! items' share of wrong labels), `s = priorStrength`.
//!
//! Using the latent items matters: the reviewed items were chosen *because* they looked
//! wrong, so counting them alone would overstate the noise; the review choice depends only on
//! what is observed (`x`, `g`), so the likelihood of all items together, which EM maximises,
//! is not biased by it.
//!
//! # Use
//! The review order ranks the unreviewed items by `P(wrong) = 1 - q(g)` (highest first) and
//! the per-class budgets follow the sums of `P(wrong)` per current label. Nothing here touches
//! the auto-accept threshold or the stopping certificate, whose guarantees hold whatever this
//! model says.

use serde::{Deserialize, Serialize};

use super::policy::{PoolSet, Tier, TierResponse, VerifiedSet};
use crate::error::{err, Result};

/// Settings of the noise model (`options.noiseModel` of a round).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NoiseModelConfig {
    /// Use the noise-model posterior for the review order and budgets (default true); false
    /// ranks by the calibrated self-confidence `1 - p[given]`.
    pub enabled: bool,
    /// Confidence bins (1-20, default 3).
    #[serde(deserialize_with = "crate::engine::limits::de::bins")]
    pub bins: usize,
    /// Most EM iterations (1-500, default 30).
    #[serde(deserialize_with = "crate::engine::limits::de::iterations")]
    pub iterations: usize,
    /// Pseudo-counts of the shrinkage (> 0, default 20).
    pub prior_strength: f64,
}

impl Default for NoiseModelConfig {
    fn default() -> Self {
        NoiseModelConfig {
            enabled: true,
            bins: 3,
            iterations: 30,
            prior_strength: 20.0,
        }
    }
}

impl NoiseModelConfig {
    /// Check the ranges.
    pub fn check(&self) -> Result<()> {
        if !(1..=20).contains(&self.bins) {
            return Err(err!(
                InvalidOptions,
                "noiseModel.bins must be in 1..=20, got {}",
                self.bins
            ));
        }
        if !(1..=500).contains(&self.iterations) {
            return Err(err!(
                InvalidOptions,
                "noiseModel.iterations must be in 1..=500, got {}",
                self.iterations
            ));
        }
        let s = self.prior_strength;
        if !(s.is_finite() && s > 0.0) {
            return Err(err!(
                InvalidOptions,
                "noiseModel.priorStrength must be a finite number > 0, got {s}"
            ));
        }
        Ok(())
    }
}

/// The fitted noise process (returned in a round plan as `noiseModel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NoiseModel {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Confidence cut points (`bins - 1`, ascending): bin `b` holds confidences in
    /// `[edges[b-1], edges[b])`.
    pub edges: Vec<f64>,
    /// `bins x k x k` row-major: `transition[(b * k + c) * k + g] = P(given g | true c, bin b)`.
    pub transition: Vec<f64>,
    /// `bins x k`: `1 - P(given c | true c, bin b)`, the flip rate of class `c` in bin `b`.
    pub flip_rates: Vec<f64>,
    /// Items with true class and given label known.
    pub known: usize,
    /// Unreviewed items whose true class was latent.
    pub latent: usize,
    /// EM iterations run.
    #[serde(deserialize_with = "crate::engine::limits::de::iterations")]
    pub iterations: usize,
}

/// One item for the fit: calibrated probabilities and its given label.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Calibrated probabilities (`k` values summing to 1).
    pub probs: &'a [f64],
    /// The label it came with.
    pub given: usize,
    /// Its true class when known.
    pub truth: Option<usize>,
}

fn confidence(row: &[f64]) -> f64 {
    row.iter().copied().fold(0.0, f64::max)
}

/// Every item's label below `k` and its probabilities `k` finite non-negative values.
fn check_items(k: usize, items: &[Item<'_>]) -> Result<()> {
    for (i, it) in items.iter().enumerate() {
        if it.probs.len() != k
            || it.given >= k
            || it.truth.is_some_and(|t| t >= k)
            || !it.probs.iter().all(|v| v.is_finite() && *v >= 0.0)
        {
            return Err(err!(
                InvalidInput,
                "noise model: item {i} has a label >= k = {k} or unusable probabilities"
            ));
        }
    }
    Ok(())
}

/// Confidence bins at quantiles of the items' confidences: the bin edges (distinct,
/// ascending) and each item's bin.
fn confidence_bins(items: &[Item<'_>], bins: usize) -> (Vec<f64>, Vec<usize>) {
    let conf: Vec<f64> = items.iter().map(|it| confidence(it.probs)).collect();
    let mut edges = Vec::new();
    let mut sorted = conf.clone();
    sorted.sort_by(f64::total_cmp);
    let nb = bins.min(sorted.len().max(1));
    for b in 1..nb {
        let e = sorted[b * sorted.len() / nb];
        if edges.last().is_none_or(|&l| e > l) {
            edges.push(e);
        }
    }
    let bins_of = conf
        .iter()
        .map(|&c| edges.partition_point(|&e| e <= c))
        .collect();
    (edges, bins_of)
}

/// E step: the known counts plus each latent item's posterior over its true class, added
/// at (bin, true class, given label).
fn expected_counts(
    a_known: &[f64],
    trans: &[f64],
    k: usize,
    items: &[Item<'_>],
    bins_of: &[usize],
    q: &mut [f64],
) -> Vec<f64> {
    let mut a = a_known.to_vec();
    for (it, &b) in items.iter().zip(bins_of) {
        if it.truth.is_some() {
            continue;
        }
        if posterior_into(trans, k, b, it.probs, it.given, q) {
            for c in 0..k {
                a[(b * k + c) * k + it.given] += q[c];
            }
        }
    }
    a
}

/// The transition pooled over bins, shrunk towards the prior `t0` with strength `s`.
fn pooled_transition(
    a: &[f64],
    k: usize,
    nb: usize,
    s: f64,
    t0: impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    let mut pooled = vec![0.0; k * k];
    for c in 0..k {
        let mut tot = s;
        for g in 0..k {
            let v: f64 = (0..nb).map(|b| a[(b * k + c) * k + g]).sum();
            pooled[c * k + g] = v + s * t0(c, g);
            tot += v;
        }
        for g in 0..k {
            pooled[c * k + g] /= tot;
        }
    }
    pooled
}

/// M step: each bin's transition from its counts shrunk towards the pooled one; returns the
/// largest change of any entry.
fn shrink_into(trans: &mut [f64], a: &[f64], pooled: &[f64], k: usize, nb: usize, s: f64) -> f64 {
    let mut change: f64 = 0.0;
    for b in 0..nb {
        for c in 0..k {
            let row = &a[(b * k + c) * k..(b * k + c + 1) * k];
            let tot: f64 = row.iter().sum::<f64>() + s;
            for g in 0..k {
                let v = (row[g] + s * pooled[c * k + g]) / tot;
                let j = (b * k + c) * k + g;
                change = change.max((v - trans[j]).abs());
                trans[j] = v;
            }
        }
    }
    change
}

impl NoiseModel {
    /// Fit by EM on known and latent items (see the module docs). Items whose label or
    /// probabilities are out of range are an `invalid_input` error.
    pub fn fit(k: usize, items: &[Item<'_>], cfg: &NoiseModelConfig) -> Result<NoiseModel> {
        cfg.check()?;
        if k < 2 {
            return Err(err!(InvalidInput, "noise model: k must be >= 2, got {k}"));
        }
        check_items(k, items)?;
        let (edges, bins_of) = confidence_bins(items, cfg.bins);
        let nb = edges.len() + 1;
        let s = cfg.prior_strength;
        let (known, latent) = items.iter().fold((0, 0), |(a, b), it| {
            if it.truth.is_some() {
                (a + 1, b)
            } else {
                (a, b + 1)
            }
        });
        let wrong = items
            .iter()
            .filter(|it| it.truth.is_some_and(|t| t != it.given))
            .count();
        let e0 = ((wrong as f64 + 1.0) / (known as f64 + 2.0)).clamp(1e-3, 0.5);
        let t0 = |c: usize, g: usize| {
            if c == g {
                1.0 - e0
            } else {
                e0 / (k - 1) as f64
            }
        };
        // known counts, fixed across iterations
        let mut a_known = vec![0.0; nb * k * k];
        for (it, &b) in items.iter().zip(&bins_of) {
            if let Some(t) = it.truth {
                a_known[(b * k + t) * k + it.given] += 1.0;
            }
        }
        let mut trans: Vec<f64> = (0..nb * k * k).map(|j| t0((j / k) % k, j % k)).collect();
        let mut q = vec![0.0; k];
        let mut run = 0;
        for _ in 0..cfg.iterations {
            run += 1;
            let a = expected_counts(&a_known, &trans, k, items, &bins_of, &mut q);
            let pooled = pooled_transition(&a, k, nb, s, t0);
            let change = shrink_into(&mut trans, &a, &pooled, k, nb, s);
            if change < 1e-7 {
                break;
            }
        }
        let flip_rates = (0..nb * k).map(|bc| 1.0 - trans[bc * k + bc % k]).collect();
        Ok(NoiseModel {
            k,
            edges,
            transition: trans,
            flip_rates,
            known,
            latent,
            iterations: run,
        })
    }

    /// The confidence bin of calibrated probabilities.
    pub fn bin(&self, probs: &[f64]) -> usize {
        let c = confidence(probs);
        self.edges.partition_point(|&e| e <= c)
    }

    /// Posterior over the true class given calibrated probabilities and the given label, into
    /// `out`; false (and `out` = the prior) when the label has zero likelihood everywhere.
    pub fn posterior(&self, probs: &[f64], given: usize, out: &mut [f64]) -> bool {
        posterior_into(&self.transition, self.k, self.bin(probs), probs, given, out)
    }

    /// Posterior probability that the given label is wrong.
    pub fn p_wrong(&self, probs: &[f64], given: usize) -> f64 {
        let mut q = vec![0.0; self.k];
        if self.posterior(probs, given, &mut q) {
            (1.0 - q[given]).clamp(0.0, 1.0)
        } else {
            (1.0 - probs[given]).clamp(0.0, 1.0)
        }
    }
}

/// `softmax(ln p / T)` of one row into `out` (a zero probability stays zero).
pub fn calibrate_row(row: &[f64], temperature: f64, out: &mut [f64]) {
    let m = row
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| v.ln())
        .fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, &v) in out.iter_mut().zip(row) {
        *o = if v > 0.0 {
            ((v.ln() - m) / temperature).exp()
        } else {
            0.0
        };
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

/// One round's noise model: fit on `known` (raw probabilities, given label, true class) and
/// `latent` (raw probabilities, given label) items after calibrating every row at
/// `temperature`; returns the model and `P(wrong)` of each latent item, in order.
pub fn fit_round(
    k: usize,
    known: &[(&[f64], usize, usize)],
    latent: &[(&[f64], usize)],
    temperature: f64,
    cfg: &NoiseModelConfig,
) -> Result<(NoiseModel, Vec<f64>)> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(err!(
            InvalidOptions,
            "temperature must be finite and > 0, got {temperature}"
        ));
    }
    let total = known.len() + latent.len();
    let mut cal = vec![0.0; total.saturating_mul(k)];
    let rows = known.iter().map(|r| r.0).chain(latent.iter().map(|r| r.0));
    for (row, out) in rows.zip(cal.chunks_exact_mut(k)) {
        if row.len() != k {
            return Err(err!(
                InvalidInput,
                "noise model: a row has {} values, expected k = {k}",
                row.len()
            ));
        }
        calibrate_row(row, temperature, out);
    }
    let mut items: Vec<Item> = Vec::with_capacity(total);
    for (j, &(_, g, y)) in known.iter().enumerate() {
        items.push(Item {
            probs: &cal[j * k..(j + 1) * k],
            given: g,
            truth: Some(y),
        });
    }
    for (j, &(_, g)) in latent.iter().enumerate() {
        let o = known.len() + j;
        items.push(Item {
            probs: &cal[o * k..(o + 1) * k],
            given: g,
            truth: None,
        });
    }
    let model = NoiseModel::fit(k, &items, cfg)?;
    let p = items[known.len()..]
        .iter()
        .map(|it| model.p_wrong(it.probs, it.given))
        .collect();
    Ok((model, p))
}

/// The noise model of a round: known items are the verified set (grown by the reviewed items)
/// where it came with a label, latent items the triaged pool items that are not failed and
/// came with a label. Returns `P(wrong)` per pool index (NaN where the model has no say:
/// failed items, items without a given label, reviewed items); `None` when disabled or when
/// no latent item exists.
pub fn round_p_wrong(
    k: usize,
    verified: &VerifiedSet,
    pool: &PoolSet,
    tiers: &TierResponse,
    temperature: f64,
    cfg: &NoiseModelConfig,
) -> Result<Option<(NoiseModel, Vec<f64>)>> {
    if !cfg.enabled {
        return Ok(None);
    }
    let label_of = |v: i64| usize::try_from(v).ok().filter(|&g| g < k);
    let mut known = Vec::new();
    if let Some(vg) = &verified.given_labels {
        for (i, (&g, &y)) in vg.iter().zip(&verified.labels).enumerate() {
            let row = &verified.pred_probs[i * k..(i + 1) * k];
            if let Some(g) = label_of(g) {
                if row.iter().all(|v| v.is_finite() && *v >= 0.0) {
                    known.push((row, g, y));
                }
            }
        }
    }
    let (mut latent, mut idx) = (Vec::new(), Vec::new());
    if let Some(pg) = &pool.given_labels {
        for it in &tiers.items {
            if it.tier == Tier::Failed {
                continue;
            }
            if let Some(g) = label_of(pg[it.index]) {
                latent.push((&pool.pred_probs[it.index * k..(it.index + 1) * k], g));
                idx.push(it.index);
            }
        }
    }
    if latent.is_empty() {
        return Ok(None);
    }
    let (model, p) = fit_round(k, &known, &latent, temperature, cfg)?;
    let mut out = vec![f64::NAN; pool.n];
    for (&i, &v) in idx.iter().zip(&p) {
        out[i] = v;
    }
    Ok(Some((model, out)))
}

fn posterior_into(
    trans: &[f64],
    k: usize,
    b: usize,
    probs: &[f64],
    given: usize,
    out: &mut [f64],
) -> bool {
    let mut z = 0.0;
    for c in 0..k {
        let v = probs[c] * trans[(b * k + c) * k + given];
        out[c] = v;
        z += v;
    }
    if z > 0.0 && z.is_finite() {
        for v in out.iter_mut() {
            *v /= z;
        }
        true
    } else {
        out.copy_from_slice(probs);
        false
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::engine::probs::SplitMix64;

    /// Items whose labels flip only between classes 0 and 1 (40%) and never elsewhere; the
    /// model is equally unsure on every item.
    fn pair_noise(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>, Vec<usize>) {
        let k = 4;
        let mut rng = SplitMix64::new(seed);
        let (mut probs, mut truth, mut given) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let t = (rng.next_u64() % k as u64) as usize;
            let other = (t + 1 + (rng.next_u64() % (k as u64 - 1)) as usize) % k;
            let mut row = vec![0.0; k];
            row[t] = 0.7;
            row[other] = 0.3;
            let g = if t < 2 && rng.next_f64() < 0.4 {
                1 - t
            } else {
                t
            };
            probs.extend_from_slice(&row);
            truth.push(t);
            given.push(g);
        }
        (probs, truth, given)
    }

    #[test]
    fn em_recovers_class_pair_noise_from_a_small_known_set() {
        let k = 4;
        let (p, y, g) = pair_noise(6000, 3);
        let items: Vec<Item> = (0..6000)
            .map(|i| Item {
                probs: &p[i * k..(i + 1) * k],
                given: g[i],
                truth: (i < 300).then_some(y[i]),
            })
            .collect();
        let m = NoiseModel::fit(k, &items, &NoiseModelConfig::default()).unwrap();
        assert_eq!((m.known, m.latent), (300, 5700));
        let t = |c: usize, gg: usize| {
            (0..m.edges.len() + 1)
                .map(|b| m.transition[(b * k + c) * k + gg])
                .sum::<f64>()
                / (m.edges.len() + 1) as f64
        };
        assert!((t(0, 1) - 0.4).abs() < 0.06, "T[0][1] = {}", t(0, 1));
        assert!((t(1, 0) - 0.4).abs() < 0.06, "T[1][0] = {}", t(1, 0));
        assert!(t(2, 3) < 0.02 && t(3, 2) < 0.02);
        // the posterior separates a label in the noisy pair from one outside it
        let mut row = vec![0.0; k];
        row[0] = 0.3;
        row[1] = 0.7;
        let in_pair = m.p_wrong(&row, 0);
        let mut row2 = vec![0.0; k];
        row2[2] = 0.3;
        row2[3] = 0.7;
        let outside = m.p_wrong(&row2, 2);
        assert!(
            in_pair > 0.3 && outside < 0.1,
            "in pair {in_pair}, outside {outside}"
        );
        // self-confidence would rank them equal
        assert_eq!(1.0 - row[0], 1.0 - row2[2]);
    }

    #[test]
    fn rows_sum_to_one_and_bad_input_is_an_error() {
        let k = 3;
        let p = [0.5, 0.3, 0.2, 0.1, 0.8, 0.1];
        let items = [
            Item {
                probs: &p[..3],
                given: 0,
                truth: Some(1),
            },
            Item {
                probs: &p[3..],
                given: 1,
                truth: None,
            },
        ];
        let m = NoiseModel::fit(k, &items, &NoiseModelConfig::default()).unwrap();
        for row in m.transition.chunks_exact(k) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let bad = [Item {
            probs: &p[..3],
            given: 3,
            truth: None,
        }];
        let e = NoiseModel::fit(k, &bad, &NoiseModelConfig::default()).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        let cfg = NoiseModelConfig {
            bins: 0,
            ..NoiseModelConfig::default()
        };
        assert_eq!(
            NoiseModel::fit(k, &items, &cfg).unwrap_err().code(),
            "invalid_options"
        );
        // no items at all: the prior
        let m = NoiseModel::fit(k, &[], &NoiseModelConfig::default()).unwrap();
        assert!((m.transition[0] - (1.0 - 0.5)).abs() < 1e-12);
    }
}
