//! Tests of CROWDLAB and ActiveLab.

#![allow(clippy::needless_range_loop)]

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
