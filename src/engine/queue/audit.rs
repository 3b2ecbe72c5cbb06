//! Sequential audit: an anytime-valid upper confidence bound on the number of wrong labels in
//! a finite remainder, from items drawn uniformly **without replacement**, that may be read
//! after every item and stopped as soon as it suffices.
//!
//! # The bound (a betting confidence sequence)
//! The construction is the betting confidence sequence of Waudby-Smith & Ramdas ("Estimating
//! means of bounded random variables by betting", JRSS-B 2023), in its form for sampling
//! without replacement ("Confidence sequences for sampling without replacement", NeurIPS
//! 2020). The remainder has `R` items, `D` of them wrong; audit draw `i` is wrong
//! (`X_i = 1`) or not. Under the hypothesis "`D` wrong" the mean of the items not yet drawn
//! before draw `i` is `m_i(D) = (D - S_{i-1}) / (R - i + 1)` (`S` = wrong so far), so
//!
//! `K_t(D) = Π_{i <= t} (1 + λ_i (m_i(D) - X_i))`
//!
//! is a non-negative martingale when `D` is the truth, for any bets `λ_i ∈ [0, 1)` fixed before
//! draw `i` is seen. By Ville's inequality, `P(∃t: K_t(D_true) >= 1/δ) <= δ`. Every `D` whose
//! capital has ever reached `1/δ` is rejected; the **upper bound** `U_t` is the largest `D`
//! never rejected. `K_t(D)` grows with `D` (each factor does, as `λ_i >= 0`), so the rejected
//! set is `{D > U_t}` and `U_t` is found by bisection. With probability at least `1 - δ`,
//! `D <= U_t` at every `t` at once: the audit may stop whenever it likes (when the bound
//! certifies the target, or when it is clearly not going to) without losing the guarantee.
//!
//! # The bets
//! `λ_i` is the growth-optimal (Kelly) bet for "the true rate is `p̂` rather than the rate to
//! certify `μ0`", `λ = (μ0 - p̂) / (μ0 (1 - μ0))`, clipped to `[0, λmax]`, with `p̂` the wrong
//! share so far shrunk towards the planner's estimate (`priorItems` pseudo-draws at the
//! estimated rate). The bets use only what is known before each draw, so the guarantee does not
//! depend on the estimate being right: a wrong estimate only makes the audit longer.

use serde::{Deserialize, Serialize};

use crate::engine::probs::SplitMix64;
use crate::error::{err, Result};

/// Largest bet (keeps every factor `>= 1 - λmax > 0`).
pub const MAX_BET: f64 = 0.95;

/// How the bets are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bets {
    /// The remainder's error rate the audit is trying to certify (`μ0`).
    pub target_rate: f64,
    /// The planner's estimate of the remainder's error rate before the audit.
    pub prior_rate: f64,
    /// Weight of that estimate, in draws.
    pub prior_items: f64,
}

impl Bets {
    /// The bets `λ_1..λ_t` for a sequence of outcomes (each uses the outcomes before it).
    pub fn sequence(&self, outcomes: &[bool]) -> Vec<f64> {
        let mu0 = self.target_rate.clamp(1e-9, 1.0 - 1e-9);
        let mut wrong = 0usize;
        outcomes
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let p = (wrong as f64 + self.prior_items * self.prior_rate.max(0.0))
                    / (i as f64 + self.prior_items).max(1e-12);
                if x {
                    wrong += 1;
                }
                ((mu0 - p) / (mu0 * (1.0 - mu0))).clamp(0.0, MAX_BET)
            })
            .collect()
    }
}

/// `max_{s <= t} ln K_s(D)`: the largest log-capital reached against "`D` wrong in `R`".
/// `+inf` when the outcomes already contradict `D` (more wrong seen than `D`, or more right
/// than `R - D`).
pub fn max_log_capital(outcomes: &[bool], bets: &[f64], remainder: usize, d: usize) -> f64 {
    let (mut s, mut lk, mut best) = (0usize, 0.0f64, 0.0f64);
    for (i, (&x, &l)) in outcomes.iter().zip(bets).enumerate() {
        // items left before draw i (0-based): remainder - i
        let left = remainder.saturating_sub(i);
        if left == 0 || s > d || (i - s) > remainder - d {
            return f64::INFINITY;
        }
        let m = (d - s) as f64 / left as f64;
        let f = 1.0 + l * (m - if x { 1.0 } else { 0.0 });
        if f <= 0.0 {
            return f64::INFINITY;
        }
        lk += f.ln();
        best = best.max(lk);
        if x {
            s += 1;
        }
    }
    if s > d || (outcomes.len() - s) > remainder - d {
        return f64::INFINITY;
    }
    best
}

/// The anytime-valid upper bound `U_t` on the number of wrong labels in the remainder (at the
/// audit's start) after these outcomes, at failure probability `delta`.
pub fn upper_bound(outcomes: &[bool], bets: &Bets, remainder: usize, delta: f64) -> Result<usize> {
    if !(delta > 0.0 && delta < 1.0) {
        return Err(err!(
            InvalidOptions,
            "audit delta must be in (0, 1), got {delta}"
        ));
    }
    if outcomes.len() > remainder {
        return Err(err!(
            InvalidInput,
            "audit: {} draws from a remainder of {remainder} items",
            outcomes.len()
        ));
    }
    let lam = bets.sequence(outcomes);
    let thr = (1.0 / delta).ln();
    let s = outcomes.iter().filter(|&&x| x).count();
    let right = outcomes.len() - s;
    let ok = |d: usize| max_log_capital(outcomes, &lam, remainder, d) < thr;
    // feasible D: s ..= remainder - right; the accepted set is an interval starting at the
    // smallest feasible D (capital grows with D)
    let (lo0, hi0) = (s, remainder - right);
    if !ok(lo0) {
        // cannot happen for valid bets (K(s) only falls while nothing contradicts it), but
        // answer conservatively
        return Ok(hi0);
    }
    let (mut lo, mut hi) = (lo0, hi0);
    if ok(hi) {
        return Ok(hi);
    }
    // invariant: ok(lo), !ok(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Where a sequential audit stands (returned in a round plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditStatus {
    /// Items audited so far.
    pub sampled: usize,
    /// Wrong labels among them.
    pub wrong: usize,
    /// Upper bound on the wrong labels in the remainder at the audit's start.
    pub upper_wrong: usize,
    /// Upper bound on the wrong labels left in it now (`upperWrong - wrong`: the audited wrong
    /// labels are fixed).
    pub upper_wrong_left: usize,
    /// Failure probability of this audit's bound.
    pub delta: f64,
}

/// The next `step` items of a sequential audit: a seeded uniform draw without replacement from
/// the items not audited yet (`left`, any order; the draw sorts a copy first so that the
/// result depends only on the set).
pub fn draw_step(left: &[usize], step: usize, seed: u64) -> Vec<usize> {
    let mut v = left.to_vec();
    v.sort_unstable();
    let m = step.min(v.len());
    let mut rng = SplitMix64::new(seed);
    for t in 0..m {
        let u = t + (rng.next_u64() % (v.len() - t) as u64) as usize;
        v.swap(t, u);
    }
    v.truncate(m);
    v
}

/// Where an audit of `remainder` items stands after `outcomes` (true = wrong label), tested at
/// `delta`, betting towards `target_rate` with the planner's `prior_rate`.
pub fn status(
    outcomes: &[bool],
    remainder: usize,
    delta: f64,
    target_rate: f64,
    prior_rate: f64,
) -> Result<AuditStatus> {
    let bets = Bets {
        target_rate,
        prior_rate,
        prior_items: PRIOR_ITEMS,
    };
    let u = upper_bound(outcomes, &bets, remainder, delta)?;
    let wrong = outcomes.iter().filter(|&&x| x).count();
    Ok(AuditStatus {
        sampled: outcomes.len(),
        wrong,
        upper_wrong: u,
        upper_wrong_left: u - wrong.min(u),
        delta,
    })
}

/// Weight of the planner's estimate in the bets, in draws.
pub const PRIOR_ITEMS: f64 = 50.0;

/// Give up an audit once it has found at least 3 wrong labels at more than twice the rate it
/// has to certify: certifying would take far longer than reviewing on. (Stopping an
/// anytime-valid audit early never affects the guarantee.)
pub fn futile(outcomes: &[bool], target_rate: f64) -> bool {
    let t = outcomes.len();
    let w = outcomes.iter().filter(|&&x| x).count();
    w >= 3 && w as f64 > 2.0 * target_rate * t as f64
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    fn draw(remainder: usize, d: usize, t: usize, rng: &mut SplitMix64) -> Vec<bool> {
        let mut pop: Vec<bool> = (0..remainder).map(|i| i < d).collect();
        for i in 0..t {
            let j = i + (rng.next_u64() % (remainder - i) as u64) as usize;
            pop.swap(i, j);
        }
        pop.truncate(t);
        pop
    }

    #[test]
    fn covers_the_truth_at_every_time_with_probability_one_minus_delta() {
        // 400 audits of 600 draws each; the bound must hold at all 600 times at once in at
        // least 1 - delta of them (binomial slack: 3 standard deviations)
        let (remainder, d, t, delta) = (5000, 60, 600, 0.1f64);
        let bets = Bets {
            target_rate: 0.02,
            prior_rate: 0.005, // a wrong (optimistic) estimate: validity must not depend on it
            prior_items: 50.0,
        };
        let mut rng = SplitMix64::new(11);
        let runs = 400;
        let mut failed = 0;
        for _ in 0..runs {
            let x = draw(remainder, d, t, &mut rng);
            let lam = bets.sequence(&x);
            let ever = max_log_capital(&x, &lam, remainder, d) >= (1.0 / delta).ln();
            if ever {
                failed += 1;
            }
        }
        let limit = runs as f64 * delta + 3.0 * (runs as f64 * delta * (1.0 - delta)).sqrt();
        assert!(
            (failed as f64) <= limit,
            "{failed} of {runs} runs rejected the truth"
        );
    }

    #[test]
    fn a_clean_remainder_is_certified_after_about_ln_one_over_delta_over_rate_draws() {
        let bets = Bets {
            target_rate: 0.0125,
            prior_rate: 0.003,
            prior_items: 50.0,
        };
        let remainder = 7000;
        let allowed = (0.0125 * remainder as f64) as usize;
        let mut x = Vec::new();
        let mut t = 0;
        while upper_bound(&x, &bets, remainder, 0.025).unwrap() > allowed {
            x.push(false);
            t += 1;
            assert!(t < 2000);
        }
        // ln(40) / ln(1 + 0.95 * 0.0125) ~ 313 with the largest bet
        assert!((250..=400).contains(&t), "{t} draws");
        // the bound never goes below what was seen and never above the feasible maximum
        let x = vec![true; 10];
        let u = upper_bound(&x, &bets, 100, 0.05).unwrap();
        assert!((10..=100).contains(&u));
        assert_eq!(upper_bound(&[], &bets, 100, 0.05).unwrap(), 100);
    }

    #[test]
    fn the_bound_shrinks_to_the_truth_when_the_whole_remainder_is_audited() {
        let bets = Bets {
            target_rate: 0.05,
            prior_rate: 0.05,
            prior_items: 20.0,
        };
        let mut rng = SplitMix64::new(5);
        let x = draw(300, 9, 300, &mut rng);
        assert_eq!(upper_bound(&x, &bets, 300, 0.05).unwrap(), 9);
        assert_eq!(
            upper_bound(&x, &bets, 200, 0.05).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            upper_bound(&x, &bets, 300, 0.0).unwrap_err().code(),
            "invalid_options"
        );
    }
}
