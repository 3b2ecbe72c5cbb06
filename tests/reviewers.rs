#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// Reviewers who make mistakes, and the sequential audit. Golden intervals from
// scripts/golden_reviewers.py (statsmodels proportion_confint "beta" and "wilson", within 1e-9
// absolute; scipy norm.ppf within 1e-9 relative); the rest are behaviours on seeded simulations
// where the truth is known.

use medtriage::engine::queue::audit::{upper_bound, Bets};
use medtriage::engine::queue::reviewers::{
    clopper_pearson, normal_quantile, reviewer_report, wilson, ReviewerOptions,
    ReviewerReportRequest, ScoredDecision,
};
use medtriage::engine::triage::conformal::SplitMix64;
use serde_json::Value;

const GOLDEN: &str = include_str!("golden/reviewers/intervals.json");

#[test]
fn intervals_match_statsmodels() {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    let rows = g["intervals"].as_array().unwrap();
    assert!(rows.len() > 100);
    for r in rows {
        let (x, n, a) = (
            r["x"].as_u64().unwrap() as usize,
            r["n"].as_u64().unwrap() as usize,
            r["alpha"].as_f64().unwrap(),
        );
        let cp = clopper_pearson(x, n, a);
        let wi = wilson(x, n, a);
        for (got, want, what) in [
            (cp.0, &r["beta"][0], "beta lower"),
            (cp.1, &r["beta"][1], "beta upper"),
            (wi.0, &r["wilson"][0], "wilson lower"),
            (wi.1, &r["wilson"][1], "wilson upper"),
        ] {
            let w = want.as_f64().unwrap();
            assert!(
                (got - w).abs() <= 1e-9,
                "{what} x={x} n={n} alpha={a}: {got} vs statsmodels {w}"
            );
        }
    }
    for q in g["normalQuantiles"].as_array().unwrap() {
        let (p, z) = (q["p"].as_f64().unwrap(), q["z"].as_f64().unwrap());
        let got = normal_quantile(p);
        assert!(
            (got - z).abs() <= 1e-9 * z.abs().max(1.0),
            "ppf({p}) = {got} vs {z}"
        );
    }
}

#[test]
fn report_measures_a_simulated_reviewer_and_flags_the_drift() {
    // reviewer "steady" errs 3% throughout; "tired" errs 3% for 1,500 gold decisions, then 15%
    let mut rng = SplitMix64::new(4);
    let k = 5;
    let mut decisions = Vec::new();
    for t in 0..3000 {
        for (who, rate) in [
            ("steady", 0.03),
            ("tired", if t < 1500 { 0.03 } else { 0.15 }),
        ] {
            let truth = (rng.next_u64() % k as u64) as usize;
            let label = if rng.next_f64() < rate {
                (truth + 1 + (rng.next_u64() % (k as u64 - 1)) as usize) % k
            } else {
                truth
            };
            decisions.push(ScoredDecision {
                reviewer: who.into(),
                truth,
                label,
            });
        }
    }
    let r = reviewer_report(&ReviewerReportRequest {
        k,
        decisions,
        options: ReviewerOptions::default(),
    })
    .unwrap();
    let steady = &r.reviewers[0];
    let tired = &r.reviewers[1];
    assert_eq!(steady.reviewer, "steady");
    assert_eq!(steady.overall.n, 3000);
    let (lo, hi) = steady.overall.clopper_pearson;
    assert!(lo < 0.97 && 0.97 < hi, "({lo}, {hi})");
    assert!(
        steady.drift.alarms_at.is_empty(),
        "{:?}",
        steady.drift.alarms_at
    );
    let first = tired.drift.alarms_at.first().copied().unwrap();
    assert!((1500..1800).contains(&first), "alarm at {first}");
    assert_eq!(steady.confusion.iter().sum::<usize>(), 3000);
    // bad input is a typed error
    let bad = reviewer_report(&ReviewerReportRequest {
        k,
        decisions: vec![ScoredDecision {
            reviewer: "x".into(),
            truth: 5,
            label: 0,
        }],
        options: ReviewerOptions::default(),
    })
    .unwrap_err();
    assert_eq!(bad.code(), "invalid_input");
}

#[test]
fn sequential_audit_bound_holds_at_every_step() {
    // 300 audits of a remainder of 3,000 with 45 wrong, read after every draw: the bound must
    // cover 45 at all times in at least 95% of them
    let mut rng = SplitMix64::new(21);
    let (r, d, delta) = (3000usize, 45usize, 0.05);
    let bets = Bets {
        target_rate: 0.03,
        prior_rate: 0.01,
        prior_items: 50.0,
    };
    let mut misses = 0;
    for _ in 0..300 {
        let mut pop: Vec<bool> = (0..r).map(|i| i < d).collect();
        let mut x = Vec::new();
        let mut missed = false;
        for i in 0..400 {
            let j = i + (rng.next_u64() % (r - i) as u64) as usize;
            pop.swap(i, j);
            x.push(pop[i]);
            if i % 25 == 24 && upper_bound(&x, &bets, r, delta).unwrap() < d {
                missed = true;
            }
        }
        misses += missed as usize;
    }
    assert!(misses <= 15 + 11, "{misses} of 300 audits lost the truth");
}
