//! Reviewers who make mistakes: gold items hidden in batches, measured accuracy with exact
//! intervals, per-class confusion, a drift alarm, routing to a second or third reviewer, and
//! decisions combined by their measured accuracy.
//!
//! # Gold items
//! [`mix_gold`] hides verified items (true label known) among a reviewer's batch at a share
//! `goldShare` of the mixed batch, at seeded random positions (so a gold item cannot be told
//! by where it sits), never repeating an item the reviewer has already been shown. The host
//! keeps the returned `gold` flags; a gold answer is scored against the truth and never
//! becomes a label of the pool.
//!
//! # Accuracy, intervals, confusion
//! [`reviewer_report`] scores every decision whose truth is known (gold items, or items the
//! host adjudicated): accuracy with a two-sided Clopper-Pearson (exact, beta quantiles) and a
//! Wilson score interval at `1 - alpha` (as statsmodels' `proportion_confint` `beta` and
//! `wilson`, checked in the golden tests), per true class the same, and the confusion counts
//! `confusion[true][given]`.
//!
//! # Drift alarm
//! A Bernoulli CUSUM on the reviewer's scored decisions in the order given: with in-control
//! error rate `p0` (`acceptableErrorRate`) and out-of-control rate `p1` (`alarmErrorRate`),
//! `S_t = max(0, S_{t-1} + ln(p1/p0))` after a mistake and `+ ln((1-p1)/(1-p0))` after a right
//! answer; the alarm fires when `S_t >= ln(1/alarmAlpha)` and the statistic restarts from 0.
//! `S` is the log of the largest likelihood ratio of "the error rate went up to `p1` at some
//! point" against "it stayed at `p0`", and with this threshold (Lorden 1971) a reviewer whose
//! error rate stays at or below `p0` triggers on average at most one false alarm per
//! `1/alarmAlpha` scored decisions.
//!
//! # Routing and combination
//! [`combine_reviews`] takes each item's reviews so far and says whether it needs another
//! reviewer: when a single review disagrees with a confident model (calibrated probability of
//! the model's class `>= modelConfidence`), when the reviewer's accuracy on the item's class is
//! not established above `minClassAccuracy` (Clopper-Pearson lower bound), when the item is in
//! the expert tier and has fewer than `expertReviews` reviews, or when the reviews disagree
//! and fewer than `maxReviews` were done. It suggests the reviewer to ask next: the one with the
//! highest lower bound on the class's accuracy who has not seen the item, never one weak on
//! that class for an expert item. The label is the posterior argmax of a Dawid-Skene model
//! whose confusion matrices are the reviewers' measured ones (gold counts smoothed towards the
//! reviewer's overall accuracy), with the model's probabilities (when given) as the prior.

use serde::{Deserialize, Serialize};

use crate::engine::probs::{ln_binom_cdf, SplitMix64};
use crate::error::{err, Result};

/// Two-sided Clopper-Pearson interval for `x` successes in `n` trials at level `1 - alpha`
/// (statsmodels `proportion_confint(x, n, alpha, method="beta")`); `(0, 1)` when `n = 0`.
pub fn clopper_pearson(x: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let x = x.min(n);
    let a2 = alpha / 2.0;
    // lower: P(Bin(n, p) >= x) = a2, i.e. cdf(x - 1) = 1 - a2 (decreasing in p)
    let lo = if x == 0 {
        0.0
    } else {
        let target = (1.0 - a2).ln();
        bisect(|p| ln_binom_cdf(x - 1, n, p) >= target)
    };
    // upper: cdf(x) = a2
    let hi = if x == n {
        1.0
    } else {
        let target = a2.ln();
        bisect(|p| ln_binom_cdf(x, n, p) >= target)
    };
    (lo, hi)
}

/// Largest `p` in (0, 1) with `f(p)` true, for `f` true below and false above a point.
fn bisect(f: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // 60 halvings reach 1e-18, far below the 1e-9 the goldens need
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if hi - lo < 1e-16 {
            break;
        }
        if f(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Standard normal quantile (Acklam's rational approximation refined by one Halley step on
/// the complementary error function; absolute error below 1e-12 in practice).
#[allow(clippy::excessive_precision)] // the published coefficients, verbatim
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let pl = 0.02425;
    let x = if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley refinement
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Complementary error function: the Maclaurin series of `erf` below 2, Lentz's continued
/// fraction above (both converge to double precision there).
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        // at most 200 terms: below 2 the series reaches double precision in about 40, and at
        // x = 0 every term is zero (`<=` ends the loop there)
        for n in 1..200 {
            let n = n as f64;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // Lentz continued fraction: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for i in 1..500 {
            let a = i as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
    }
}

/// Wilson score interval at level `1 - alpha` (statsmodels `method="wilson"`); `(0, 1)` when
/// `n = 0`.
pub fn wilson(x: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (nf, p) = (n as f64, x.min(n) as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Settings shared by the reviewer functions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReviewerOptions {
    /// Level of the intervals is `1 - alpha` (default 0.05).
    pub alpha: f64,
    /// In-control error rate of the drift alarm (default 0.05).
    pub acceptable_error_rate: f64,
    /// Error rate the alarm is to catch (default 0.15).
    pub alarm_error_rate: f64,
    /// The alarm's false-alarm rate: at most one per `1/alarmAlpha` decisions on average while
    /// in control (default 0.001).
    pub alarm_alpha: f64,
    /// A reviewer whose Clopper-Pearson lower bound on a class's accuracy is below this is weak
    /// on it (default 0.85).
    pub min_class_accuracy: f64,
    /// A model this confident (calibrated) that disagrees with a single review calls a second
    /// reviewer (default 0.9).
    pub model_confidence: f64,
    /// Reviews an expert-tier item gets (default 2).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub expert_reviews: usize,
    /// Most reviews per item (default 3).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_reviews: usize,
    /// Pseudo-counts pulling a reviewer's per-class confusion towards their overall accuracy
    /// (default 5).
    pub smoothing: f64,
}

impl Default for ReviewerOptions {
    fn default() -> Self {
        ReviewerOptions {
            alpha: 0.05,
            acceptable_error_rate: 0.05,
            alarm_error_rate: 0.15,
            alarm_alpha: 0.001,
            min_class_accuracy: 0.85,
            model_confidence: 0.9,
            expert_reviews: 2,
            max_reviews: 3,
            smoothing: 5.0,
        }
    }
}

fn unit_open(x: f64, what: &str) -> Result<()> {
    if x > 0.0 && x < 1.0 {
        Ok(())
    } else {
        Err(err!(InvalidOptions, "{what} must be in (0, 1), got {x}"))
    }
}

impl ReviewerOptions {
    /// Check the ranges.
    pub fn check(&self) -> Result<()> {
        unit_open(self.alpha, "alpha")?;
        unit_open(self.acceptable_error_rate, "acceptableErrorRate")?;
        unit_open(self.alarm_error_rate, "alarmErrorRate")?;
        unit_open(self.alarm_alpha, "alarmAlpha")?;
        if self.alarm_error_rate <= self.acceptable_error_rate {
            return Err(err!(
                InvalidOptions,
                "alarmErrorRate ({}) must be above acceptableErrorRate ({})",
                self.alarm_error_rate,
                self.acceptable_error_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.min_class_accuracy) {
            return Err(err!(
                InvalidOptions,
                "minClassAccuracy must be in [0, 1], got {}",
                self.min_class_accuracy
            ));
        }
        if !(0.0..=1.0).contains(&self.model_confidence) {
            return Err(err!(
                InvalidOptions,
                "modelConfidence must be in [0, 1], got {}",
                self.model_confidence
            ));
        }
        if self.max_reviews < 1 || self.expert_reviews > self.max_reviews {
            return Err(err!(
                InvalidOptions,
                "need 1 <= expertReviews <= maxReviews, got {} and {}",
                self.expert_reviews,
                self.max_reviews
            ));
        }
        if !(self.smoothing.is_finite() && self.smoothing >= 0.0) {
            return Err(err!(
                InvalidOptions,
                "smoothing must be a finite number >= 0, got {}",
                self.smoothing
            ));
        }
        Ok(())
    }
}

/// One decision of a reviewer whose truth is known (a gold item or an adjudicated one), in
/// the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScoredDecision {
    /// Reviewer id.
    pub reviewer: String,
    /// The true class.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub truth: usize,
    /// The label the reviewer gave.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// Request for [`reviewer_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewerReportRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Scored decisions, oldest first.
    pub decisions: Vec<ScoredDecision>,
    /// Options.
    #[serde(default)]
    pub options: ReviewerOptions,
}

/// Accuracy with its intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Accuracy {
    /// Scored decisions.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Right ones.
    pub correct: usize,
    /// `correct / n` (NaN-free: 0 when `n = 0`).
    pub accuracy: f64,
    /// Clopper-Pearson interval.
    pub clopper_pearson: (f64, f64),
    /// Wilson score interval.
    pub wilson: (f64, f64),
}

impl Accuracy {
    fn new(correct: usize, n: usize, alpha: f64) -> Self {
        Accuracy {
            n,
            correct,
            accuracy: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            clopper_pearson: clopper_pearson(correct, n, alpha),
            wilson: wilson(correct, n, alpha),
        }
    }
}

/// The drift alarm's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The CUSUM statistic after the last decision.
    pub statistic: f64,
    /// Its threshold `ln(1/alarmAlpha)`.
    pub threshold: f64,
    /// The alarm fired on the latest decision.
    pub alarm: bool,
    /// 0-based positions (in this reviewer's scored decisions) where the alarm fired.
    pub alarms_at: Vec<usize>,
    /// The guarantee, in words.
    pub guarantee: String,
}

/// One reviewer's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewerStats {
    /// Reviewer id.
    pub reviewer: String,
    /// Overall accuracy.
    pub overall: Accuracy,
    /// Per true class.
    pub per_class: Vec<Accuracy>,
    /// `k x k` row-major counts: `confusion[true * k + given]`.
    pub confusion: Vec<usize>,
    /// Classes whose lower accuracy bound is below `minClassAccuracy` (weak classes).
    pub weak_classes: Vec<usize>,
    /// The drift alarm.
    pub drift: Drift,
}

/// Response of [`reviewer_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewerReport {
    /// One per reviewer, in order of first appearance.
    pub reviewers: Vec<ReviewerStats>,
}

/// A CUSUM over a sequence of right (`false`) / wrong (`true`) decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cusum {
    up: f64,
    down: f64,
    threshold: f64,
    /// Current statistic.
    pub statistic: f64,
}

impl Cusum {
    /// For in-control error rate `p0`, alarm rate `p1 > p0` and false-alarm rate `alpha`.
    pub fn new(p0: f64, p1: f64, alpha: f64) -> Self {
        Cusum {
            up: (p1 / p0).ln(),
            down: ((1.0 - p1) / (1.0 - p0)).ln(),
            threshold: (1.0 / alpha).ln(),
            statistic: 0.0,
        }
    }

    /// Add a decision; true when the alarm fires (the statistic then restarts).
    pub fn push(&mut self, wrong: bool) -> bool {
        self.statistic = (self.statistic + if wrong { self.up } else { self.down }).max(0.0);
        if self.statistic >= self.threshold {
            self.statistic = 0.0;
            true
        } else {
            false
        }
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

fn check_label(v: usize, k: usize, what: &str, i: usize) -> Result<()> {
    if v >= k {
        return Err(err!(
            InvalidInput,
            "{what} {v} of decision {i} is not < k = {k}"
        ));
    }
    Ok(())
}

/// Per-reviewer accuracy, intervals, confusion and drift (JS `reviewerReport`, CLI
/// `queue reviewers`).
pub fn reviewer_report(req: &ReviewerReportRequest) -> Result<ReviewerReport> {
    let (k, o) = (req.k, &req.options);
    o.check()?;
    if k < 2 {
        return Err(err!(InvalidInput, "k must be >= 2, got {k}"));
    }
    let mut ids: Vec<String> = Vec::new();
    let mut of: Vec<usize> = Vec::with_capacity(req.decisions.len());
    for (i, d) in req.decisions.iter().enumerate() {
        check_label(d.truth, k, "truth", i)?;
        check_label(d.label, k, "label", i)?;
        let r = match ids.iter().position(|x| *x == d.reviewer) {
            Some(r) => r,
            None => {
                ids.push(d.reviewer.clone());
                ids.len() - 1
            }
        };
        of.push(r);
    }
    let mut out = Vec::with_capacity(ids.len());
    for (r, id) in ids.into_iter().enumerate() {
        let mut conf = vec![0usize; k * k];
        let mut cusum = Cusum::new(o.acceptable_error_rate, o.alarm_error_rate, o.alarm_alpha);
        let mut alarms = Vec::new();
        let mut seen = 0;
        for (d, _) in req.decisions.iter().zip(&of).filter(|(_, &x)| x == r) {
            conf[d.truth * k + d.label] += 1;
            if cusum.push(d.label != d.truth) {
                alarms.push(seen);
            }
            seen += 1;
        }
        let per_class: Vec<Accuracy> = (0..k)
            .map(|c| {
                let row = &conf[c * k..(c + 1) * k];
                Accuracy::new(row[c], row.iter().sum(), o.alpha)
            })
            .collect();
        let correct = (0..k).map(|c| conf[c * k + c]).sum();
        let weak_classes = per_class
            .iter()
            .enumerate()
            .filter(|(_, a)| a.clopper_pearson.0 < o.min_class_accuracy)
            .map(|(c, _)| c)
            .collect();
        let last_alarm = alarms.last().copied();
        out.push(ReviewerStats {
            reviewer: id,
            overall: Accuracy::new(correct, seen, o.alpha),
            per_class,
            confusion: conf,
            weak_classes,
            drift: Drift {
                statistic: cusum.statistic,
                threshold: cusum.threshold(),
                alarm: last_alarm.is_some_and(|a| a + 1 == seen),
                alarms_at: alarms,
                guarantee: format!(
                    "Bernoulli CUSUM of error rate {:.1}% against {:.1}%: while this reviewer's error rate stays at or below {:.1}%, at most one false alarm per {:.0} scored decisions on average.",
                    o.alarm_error_rate * 100.0,
                    o.acceptable_error_rate * 100.0,
                    o.acceptable_error_rate * 100.0,
                    1.0 / o.alarm_alpha
                ),
            },
        });
    }
    Ok(ReviewerReport { reviewers: out })
}

/// Request for [`mix_gold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MixGoldRequest {
    /// The batch (pool indices), in review order.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch: Vec<usize>,
    /// Verified items that may serve as gold (verified-set indices).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub gold: Vec<usize>,
    /// Gold items this reviewer has already seen (never shown twice).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub seen: Vec<usize>,
    /// Share of gold in the mixed batch, in `[0, 0.5]` (default 0.05).
    #[serde(default = "default_share")]
    pub gold_share: f64,
    /// Seed (default 0).
    #[serde(default)]
    pub seed: u64,
}

fn default_share() -> f64 {
    0.05
}

/// One slot of a mixed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// Pool index, or verified index when `gold`.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// A gold item: score the answer against the truth, never use it as a label.
    pub gold: bool,
}

/// Response of [`mix_gold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MixGoldResponse {
    /// The batch with the gold items at random positions.
    pub slots: Vec<Slot>,
    /// Gold items added.
    pub gold_added: usize,
    /// Gold items still unseen by this reviewer after this batch.
    pub gold_left: usize,
}

/// Hide gold items in a batch (JS `mixGold`, CLI `queue mix-gold`).
pub fn mix_gold(req: &MixGoldRequest) -> Result<MixGoldResponse> {
    let s = req.gold_share;
    if !(0.0..=0.5).contains(&s) {
        return Err(err!(
            InvalidOptions,
            "goldShare must be in [0, 0.5], got {s}"
        ));
    }
    let seen: std::collections::HashSet<usize> = req.seen.iter().copied().collect();
    let mut fresh: Vec<usize> = Vec::new();
    let mut dup = std::collections::HashSet::new();
    for &g in &req.gold {
        if !seen.contains(&g) && dup.insert(g) {
            fresh.push(g);
        }
    }
    // gold share of the mixed batch: g / (b + g) = s, rounded
    let b = req.batch.len();
    let want = if s > 0.0 && b > 0 {
        ((s * b as f64 / (1.0 - s)).round() as usize).max(1)
    } else {
        0
    };
    let g = want.min(fresh.len());
    let mut rng = SplitMix64::new(req.seed ^ 0x5DEE_CE66_D1CE_4E5B);
    for t in 0..g {
        let u = t + (rng.next_u64() % (fresh.len() - t) as u64) as usize;
        fresh.swap(t, u);
    }
    let mut slots: Vec<Slot> = req
        .batch
        .iter()
        .map(|&index| Slot { index, gold: false })
        .chain(fresh[..g].iter().map(|&index| Slot { index, gold: true }))
        .collect();
    // every position equally likely for a gold item: shuffle the gold slots into the batch
    // while keeping the pool items in their review order
    let total = slots.len();
    let mut is_gold = vec![false; total];
    // g distinct positions (partial Fisher-Yates over positions)
    let mut pos: Vec<usize> = (0..total).collect();
    for t in 0..g {
        let u = t + (rng.next_u64() % (total - t) as u64) as usize;
        pos.swap(t, u);
    }
    for &p in &pos[..g] {
        is_gold[p] = true;
    }
    let (pool_part, gold_part) = slots.split_at(b);
    let (mut pi, mut gi) = (pool_part.iter(), gold_part.iter());
    let mixed: Vec<Slot> = is_gold
        .iter()
        .filter_map(|&gp| if gp { gi.next() } else { pi.next() }.copied())
        .collect();
    slots = mixed;
    Ok(MixGoldResponse {
        slots,
        gold_added: g,
        gold_left: fresh.len() - g,
    })
}

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
fn confusion_model(st: Option<&ReviewerStats>, k: usize, smoothing: f64) -> Vec<f64> {
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

/// Combine each item's reviews and route it (JS `combineReviews`, CLI `queue combine`).
pub fn combine_reviews(req: &CombineRequest) -> Result<CombineResponse> {
    let (k, o) = (req.k, &req.options);
    let report = reviewer_report(&ReviewerReportRequest {
        k,
        decisions: req.decisions.clone(),
        options: *o,
    })?;
    let stats_of = |id: &str| report.reviewers.iter().find(|s| s.reviewer == id);
    let mut models: std::collections::HashMap<&str, Vec<f64>> = Default::default();
    let mut out = Vec::with_capacity(req.items.len());
    for (ii, it) in req.items.iter().enumerate() {
        if it.reviews.is_empty() {
            return Err(err!(InvalidInput, "items[{ii}] has no review"));
        }
        let prior: Vec<f64> = match &it.probs {
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
        };
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
                .or_insert_with(|| confusion_model(stats_of(&rv.reviewer), k, o.smoothing));
            for (c, l) in lp.iter_mut().enumerate() {
                *l += m[c * k + rv.label].max(1e-300).ln();
            }
        }
        let mx = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = lp.iter().map(|v| (v - mx).exp()).sum();
        let post: Vec<f64> = lp.iter().map(|v| (v - mx).exp() / z).collect();
        let mut label = 0;
        for c in 1..k {
            if post[c] > post[label] {
                label = c;
            }
        }
        // routing
        let mut reasons = Vec::new();
        let n_rev = it.reviews.len();
        if n_rev < o.max_reviews {
            let model_class = it.probs.as_ref().map(|_| {
                let mut m = 0;
                for c in 1..k {
                    if prior[c] > prior[m] {
                        m = c;
                    }
                }
                m
            });
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
                let lb = stats_of(&first.reviewer)
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
        }
        let needs_review = !reasons.is_empty();
        let next_reviewer = if needs_review {
            // the strongest reviewer on this class who has not seen the item; for an expert
            // item never one weak on that class
            let class = label;
            let mut best: Option<(&String, f64)> = None;
            for id in &req.reviewers {
                if it.reviews.iter().any(|r| &r.reviewer == id) {
                    continue;
                }
                let lb = stats_of(id).map_or(0.0, |s| s.per_class[class].clopper_pearson.0);
                if it.expert && lb < o.min_class_accuracy {
                    continue;
                }
                if best.is_none_or(|b| lb > b.1) {
                    best = Some((id, lb));
                }
            }
            best.map(|b| b.0.clone())
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

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[test]
    fn erfc_and_quantile_at_zero_end() {
        // the series once looped forever at x = 0 (every term zero)
        assert_eq!(erfc(0.0), 1.0);
        assert_eq!(erfc(-0.0), 1.0);
        assert!(normal_quantile(0.5).abs() < 1e-15);
        let (lo, hi) = wilson(3, 10, 1.0);
        assert!(lo <= hi);
    }

    #[test]
    fn intervals_match_textbook_values() {
        // statsmodels proportion_confint(8, 10, 0.05, "beta")
        let (lo, hi) = clopper_pearson(8, 10, 0.05);
        assert!((lo - 0.443_904_537_692_358_5).abs() < 1e-12, "{lo}");
        assert!((hi - 0.974_789_273_673_166_6).abs() < 1e-12, "{hi}");
        assert_eq!(clopper_pearson(0, 10, 0.05).0, 0.0);
        assert_eq!(clopper_pearson(10, 10, 0.05).1, 1.0);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(1e-6) + 4.753_424_308_822_899).abs() < 1e-10);
        let (lo, hi) = wilson(8, 10, 0.05);
        assert!((lo - 0.490_162_471_536_641_8).abs() < 1e-12);
        assert!((hi - 0.943_317_848_545_624_7).abs() < 1e-12);
    }

    #[test]
    fn cusum_catches_a_drift_and_rarely_fires_in_control() {
        let mut rng = SplitMix64::new(9);
        let (mut false_alarms, mut delays) = (0usize, Vec::new());
        for _ in 0..50 {
            let mut c = Cusum::new(0.05, 0.15, 0.001);
            for _ in 0..2000 {
                if c.push(rng.next_f64() < 0.03) {
                    false_alarms += 1;
                }
            }
            let mut t = 0;
            loop {
                t += 1;
                if c.push(rng.next_f64() < 0.15) || t > 5000 {
                    break;
                }
            }
            delays.push(t);
        }
        // 100,000 in-control decisions at 3% (below p0 = 5%): the ARL bound says <= 100 alarms
        assert!(false_alarms <= 5, "{false_alarms} false alarms");
        delays.sort();
        assert!(delays[25] < 300, "median delay {}", delays[25]);
    }

    #[test]
    fn gold_is_mixed_in_at_the_share_and_never_repeated() {
        let batch: Vec<usize> = (100..195).collect();
        let r = mix_gold(&MixGoldRequest {
            batch: batch.clone(),
            gold: (0..50).collect(),
            seen: (0..10).collect(),
            gold_share: 0.05,
            seed: 3,
        })
        .unwrap();
        assert_eq!(r.gold_added, 5);
        assert_eq!(r.slots.len(), 100);
        let pool: Vec<usize> = r
            .slots
            .iter()
            .filter(|s| !s.gold)
            .map(|s| s.index)
            .collect();
        assert_eq!(pool, batch, "pool items keep their order");
        assert!(r
            .slots
            .iter()
            .filter(|s| s.gold)
            .all(|s| (10..50).contains(&s.index)));
        // gold positions vary with the seed (not recognisable by position)
        let pos = |seed| {
            mix_gold(&MixGoldRequest {
                batch: batch.clone(),
                gold: (0..50).collect(),
                seen: vec![],
                gold_share: 0.05,
                seed,
            })
            .unwrap()
            .slots
            .iter()
            .position(|s| s.gold)
        };
        let firsts: std::collections::HashSet<_> = (0..20).map(pos).collect();
        assert!(firsts.len() > 5);
        assert!(mix_gold(&MixGoldRequest {
            batch,
            gold: vec![],
            seen: vec![],
            gold_share: 0.7,
            seed: 0
        })
        .is_err());
    }

    #[test]
    fn routing_and_weighted_combination() {
        // reviewer a: 200 gold right; b: wrong on class 2 half the time
        let mut decisions = Vec::new();
        for i in 0..200 {
            decisions.push(ScoredDecision {
                reviewer: "a".into(),
                truth: i % 3,
                label: i % 3,
            });
            let t = i % 3;
            decisions.push(ScoredDecision {
                reviewer: "b".into(),
                truth: t,
                label: if t == 2 && i % 2 == 0 { 0 } else { t },
            });
        }
        let req = CombineRequest {
            k: 3,
            decisions,
            reviewers: vec!["a".into(), "b".into()],
            items: vec![
                // b says 0, a says 2: a is trusted
                ReviewedItem {
                    index: 7,
                    reviews: vec![
                        ItemReview {
                            reviewer: "b".into(),
                            label: 0,
                        },
                        ItemReview {
                            reviewer: "a".into(),
                            label: 2,
                        },
                    ],
                    probs: None,
                    expert: false,
                },
                // one review against a confident model: second reviewer
                ReviewedItem {
                    index: 8,
                    reviews: vec![ItemReview {
                        reviewer: "a".into(),
                        label: 1,
                    }],
                    probs: Some(vec![0.95, 0.04, 0.01]),
                    expert: false,
                },
                // expert item of class 2 reviewed by a: b is weak on 2, nobody suitable left
                ReviewedItem {
                    index: 9,
                    reviews: vec![ItemReview {
                        reviewer: "a".into(),
                        label: 2,
                    }],
                    probs: None,
                    expert: true,
                },
            ],
            options: ReviewerOptions::default(),
        };
        let r = combine_reviews(&req).unwrap();
        assert_eq!(r.items[0].label, 2);
        assert!(
            r.items[0].needs_review,
            "two disagreeing reviews -> a third"
        );
        assert!(r.items[1].needs_review && r.items[1].next_reviewer.as_deref() == Some("b"));
        assert!(r.items[2].needs_review && r.items[2].next_reviewer.is_none());
        assert_eq!(r.reviewers[1].weak_classes, vec![2]);
    }
}
