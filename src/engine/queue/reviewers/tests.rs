use super::*;
use crate::engine::probs::SplitMix64;

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
