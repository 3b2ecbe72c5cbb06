use super::*;
use proptest::prelude::*;

/// Rows from seeds: a peaked row for "good" items, a flat one otherwise.
fn rows(seeds: &[(u8, u8, bool)], k: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for &(c, s, good) in seeds {
        let peak = if good {
            5.0 + s as f64 / 4.0
        } else {
            s as f64 / 100.0
        };
        let mut r: Vec<f64> = (0..k)
            .map(|j| if j == c as usize % k { peak } else { 0.0 } + 1.0 + j as f64 * 0.01)
            .collect();
        let sum: f64 = r.iter().sum();
        r.iter_mut().for_each(|v| *v /= sum);
        out.extend(r);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn tiers_partition_the_pool_and_shuffling_permutes_them(
        vseeds in proptest::collection::vec((0u8..3, 0u8..=255, proptest::bool::weighted(0.9)), 400),
        pseeds in proptest::collection::vec((0u8..3, 0u8..=255, proptest::bool::weighted(0.8)), 40),
        flips in proptest::collection::vec(proptest::bool::weighted(0.1), 440),
        rot in 1usize..39,
    ) {
        let k = 3;
        let vl: Vec<usize> = vseeds.iter().map(|s| s.0 as usize).collect();
        let vg: Vec<i64> = vl.iter().zip(&flips).map(|(&l, &f)| if f { ((l + 1) % k) as i64 } else { l as i64 }).collect();
        let pg: Vec<i64> = pseeds.iter().zip(&flips[400..]).map(|(s, &f)| {
            let l = s.0 as usize; if f { ((l + 2) % k) as i64 } else { l as i64 }
        }).collect();
        let verified = VerifiedSet { pred_probs: rows(&vseeds, k), n: 400, labels: vl, given_labels: Some(vg), outlier_scores: None };
        let pool = PoolSet { pred_probs: rows(&pseeds, k), n: 40, given_labels: Some(pg.clone()), outlier_scores: None, agreement: None, duplicate_of_verified: None, failed: vec![] };
        let policy = PolicyConfig::default();
        let a = tier_items(&TierRequest { k, verified: verified.clone(), pool: pool.clone(), policy: policy.clone() }).unwrap();
        let c = a.counts;
        prop_assert_eq!(c.auto_accept + c.light_review + c.expert_review + c.suspected_label_error + c.outlier + c.failed, 40);
        prop_assert_eq!(a.order.len(), 40 - c.auto_accept);
        for it in &a.items {
            prop_assert!(!it.reasons.is_empty());
            if it.tier == Tier::AutoAccept {
                let th = a.fitted.auto_accept.as_ref().unwrap().threshold;
                prop_assert!(it.confidence.unwrap() >= th);
                prop_assert_eq!(it.predicted, it.given_label);
            }
        }
        // rotate the pool: every item keeps its tier and priority
        let perm: Vec<usize> = (0..40).map(|i| (i + rot) % 40).collect();
        let mut p2 = pool.clone();
        p2.pred_probs = perm.iter().flat_map(|&i| pool.pred_probs[i * k..(i + 1) * k].to_vec()).collect();
        p2.given_labels = Some(perm.iter().map(|&i| pg[i]).collect());
        let b = tier_items(&TierRequest { k, verified, pool: p2, policy }).unwrap();
        for (j, &i) in perm.iter().enumerate() {
            prop_assert_eq!(b.items[j].tier, a.items[i].tier, "item {}", i);
            prop_assert_eq!(b.items[j].priority, a.items[i].priority);
        }
    }
}
