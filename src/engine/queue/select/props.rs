#![allow(clippy::type_complexity)]
use super::*;
use crate::engine::probs::SplitMix64;
use proptest::prelude::{
    any, prop_assert, prop_assert_eq, prop_oneof, proptest, Just, ProptestConfig,
};
use proptest::strategy::Strategy as PStrategy;
type S = super::Strategy;

fn strategy() -> impl PStrategy<Value = S> {
    prop_oneof![
        Just(S::TopK),
        Just(S::RankedBatch),
        Just(S::KCenterGreedy),
        Just(S::Badge)
    ]
}

fn case() -> impl PStrategy<
    Value = (
        Vec<f64>,
        Vec<f64>,
        Vec<f64>,
        usize,
        Strategy,
        usize,
        Vec<f64>,
        usize,
    ),
> {
    (2usize..40, 1usize..4).prop_flat_map(|(n, d)| {
        (
            proptest::collection::vec(prop_oneof![9 => -5.0f64..5.0, 1 => Just(f64::NAN)], n),
            proptest::collection::vec(-3.0f64..3.0, n * d),
            proptest::collection::vec(0.01f64..1.0, n * 3),
            Just(d),
            strategy(),
            1usize..(n + 5),
            proptest::collection::vec(0.0f64..1.0, 3),
            0usize..3,
        )
    })
}

fn request(
    scores: Vec<f64>,
    emb: Vec<f64>,
    raw: Vec<f64>,
    d: usize,
    s: S,
    b: usize,
) -> SelectRequest {
    let probs: Vec<f64> = raw
        .chunks(3)
        .flat_map(|r| {
            let t: f64 = r.iter().sum();
            r.iter().map(move |v| v / t).collect::<Vec<_>>()
        })
        .collect();
    SelectRequest {
        scores,
        batch_size: b,
        strategy: s,
        embeddings: Some(emb),
        d: Some(d),
        labeled_embeddings: None,
        pred_probs: Some(probs),
        k: Some(3),
        predicted: None,
        options: SelectOptions::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn picks_are_valid((scores, emb, raw, d, s, b, rates, minpc) in case(), budget in 0usize..3) {
        let mut r = request(scores.clone(), emb, raw, d, s, b);
        r.options.class_budget = match budget {
            0 => ClassBudget::None,
            1 => ClassBudget::Proportional,
            _ => ClassBudget::ByEstimatedError,
        };
        r.options.class_error_rates = Some(rates);
        r.options.min_per_class = if budget == 0 { 0 } else { minpc };
        let eligible = scores.iter().filter(|v| v.is_finite()).count();
        if eligible == 0 {
            return Ok(());
        }
        let out = match select_batch(&r) {
            Ok(o) => o,
            Err(e) => {
                // only the minPerClass floor may exceed the batch
                prop_assert_eq!(e.code(), "invalid_options");
                prop_assert!(minpc > 0);
                return Ok(());
            }
        };
        let want = b.min(eligible);
        prop_assert_eq!(out.selected.len(), want);
        prop_assert_eq!(out.batch_size, want);
        let mut sorted = out.selected.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), want);
        for &i in &out.selected {
            prop_assert!(scores[i].is_finite());
        }
        if let Some(a) = &out.allocation {
            prop_assert_eq!(a.iter().map(|c| c.allocated).sum::<usize>(), want);
            for c in a {
                prop_assert!(c.allocated <= c.pool);
            }
        }
    }

    #[test]
    fn shuffling_permutes_top_k_and_k_center(
        n in 2usize..40,
        seed in any::<u64>(),
        kc in any::<bool>(),
        b in 1usize..10,
    ) {
        let mut rng = SplitMix64::new(seed);
        let d = 3;
        // distinct scores (a permutation of 0..n) and continuous embeddings: no ties
        let mut scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            scores.swap(i, j);
        }
        let emb: Vec<f64> = (0..n * d).map(|_| rng.next_f64() * 10.0 - 5.0).collect();
        let s = if kc { S::KCenterGreedy } else { S::TopK };
        let mk = |sc: Vec<f64>, e: Vec<f64>| SelectRequest {
            scores: sc,
            batch_size: b,
            strategy: s,
            embeddings: Some(e),
            d: Some(d),
            labeled_embeddings: None,
            pred_probs: None,
            k: None,
            predicted: None,
            options: SelectOptions::default(),
        };
        let base = select_batch(&mk(scores.clone(), emb.clone())).unwrap();
        // new item j is old item perm[j]
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
        let sc2: Vec<f64> = perm.iter().map(|&o| scores[o]).collect();
        let e2: Vec<f64> = perm.iter().flat_map(|&o| emb[o * d..(o + 1) * d].to_vec()).collect();
        let out = select_batch(&mk(sc2, e2)).unwrap();
        let mapped: Vec<usize> = out.selected.iter().map(|&j| perm[j]).collect();
        prop_assert_eq!(mapped, base.selected);
    }
}
