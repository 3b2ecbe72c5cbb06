use super::*;
use crate::engine::probs::argmax;

fn req(scores: Vec<f64>, b: usize, strategy: Strategy) -> SelectRequest {
    SelectRequest {
        scores,
        batch_size: b,
        strategy,
        embeddings: None,
        d: None,
        labeled_embeddings: None,
        pred_probs: None,
        k: None,
        predicted: None,
        options: SelectOptions::default(),
    }
}

#[test]
fn top_k_ties_lower_index_and_nan_skipped() {
    let r = select_batch(&req(
        vec![0.5, f64::NAN, 0.9, 0.5, f64::INFINITY, 0.9],
        4,
        Strategy::TopK,
    ))
    .unwrap();
    assert_eq!(r.selected, vec![2, 5, 0, 3]);
    assert_eq!(r.skipped_non_finite, vec![1, 4]);
}

#[test]
fn allocation_largest_remainder_floor_and_redistribution() {
    // weights 0.5*10, 0.1*10, 0.4*2 = 5, 1, 0.8; batch 7, floor 1
    let (a, w) = allocate(
        &ClassBudget::ByEstimatedError,
        7,
        &[10, 10, 2],
        Some(&[0.5, 0.1, 0.4]),
        1,
    )
    .unwrap();
    assert_eq!(w, vec![5.0, 1.0, 0.8]);
    // floors 1,1,1; rest 4 by 5:1:0.8 -> 2.94, 0.59, 0.47 -> 2,0,0 + remainders 0.94(c0), 0.59(c1)
    assert_eq!(a, vec![4, 2, 1]);
    // class 2 has 1 item only: its share moves to the others
    let (a, _) = allocate(
        &ClassBudget::ByEstimatedError,
        6,
        &[10, 10, 1],
        Some(&[0.0, 0.0, 1.0]),
        0,
    )
    .unwrap();
    assert_eq!(a, vec![3, 2, 1]);
    assert_eq!(a.iter().sum::<usize>(), 6);
    // explicit counts capped and refilled by remaining capacity
    let (a, _) = allocate(&ClassBudget::Counts(vec![0, 5, 1]), 6, &[4, 3, 1], None, 0).unwrap();
    assert_eq!(a, vec![2, 3, 1]);
    assert!(allocate(&ClassBudget::Proportional, 2, &[5, 5, 5], None, 1).is_err());
}

#[test]
fn badge_distance_formula_matches_materialised() {
    // n = 3, k = 2, d = 3, including a near-duplicate pair
    let p = [0.7, 0.3, 0.2, 0.8, 0.7, 0.3];
    let h = [1.0, -2.0, 0.5, 0.3, 0.1, -1.0, 1.0, -2.0, 0.5 + 1e-9];
    let g = |i: usize| -> Vec<f64> {
        let row = &p[i * 2..i * 2 + 2];
        let y = argmax(row);
        let mut out = Vec::new();
        for (c, &pc) in row.iter().enumerate() {
            let r = pc - if c == y { 1.0 } else { 0.0 };
            for l in 0..3 {
                out.push(r * h[i * 3 + l]);
            }
        }
        out
    };
    let pairs = [(0, 1), (1, 2), (0, 2), (2, 2)];
    let (norms, sq) = badge_gradient_geometry(&p, 2, &h, 3, &pairs).unwrap();
    for (i, nrm) in norms.iter().enumerate() {
        assert!((nrm - dot(&g(i), &g(i)).sqrt()).abs() < 1e-14);
    }
    for (&(i, j), v) in pairs.iter().zip(&sq) {
        // the near-duplicate pair (0, 2) has equal r: the exact value is |r|^2 |h0 - h2|^2
        // (the materialised difference loses ~1e-8 relative there)
        let want = if (i, j) == (0, 2) {
            dot(&[-0.30000000000000004, 0.3], &[-0.30000000000000004, 0.3])
                * sq_dist(&h[0..3], &h[6..9])
        } else {
            sq_dist(&g(i), &g(j))
        };
        assert!(
            (v - want).abs() <= 1e-12 * want.max(1e-300) || (want == 0.0 && *v == 0.0),
            "{i},{j}: {v} {want}"
        );
    }
}
