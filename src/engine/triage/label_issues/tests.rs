//! Unit and property tests of confident learning.

mod unit {
    use super::super::*;

    #[test]
    fn np_sum_small_and_blocked() {
        let a: Vec<f64> = (0..300).map(|i| (i as f64 * 0.37).sin()).collect();
        let naive: f64 = a.iter().sum();
        assert!((np_sum(&a) - naive).abs() < 1e-12);
        assert_eq!(np_sum(&[1.0, 2.0]), 3.0);
    }

    #[test]
    fn round_preserving() {
        // equal remainders: the higher column is incremented first (NumPy's `[::-1]`)
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.2]), vec![0, 1, 0]);
        assert_eq!(round_preserving_sum(&[2.5, 1.5]), vec![2, 2]);
        let v = round_preserving_sum(&[0.3, 0.3, 0.4, 1.0]);
        assert_eq!(v.iter().sum::<i64>(), 2);
    }

    #[test]
    fn ties_break_by_lower_index() {
        // class 0: four rows, two of which tie exactly on p[1] - p[0]; one must be flagged.
        let p = vec![
            0.9, 0.1, //
            0.9, 0.1, //
            0.3, 0.7, //
            0.3, 0.7, //
            0.1, 0.9, //
            0.2, 0.8, //
        ];
        let labels = vec![0, 0, 0, 0, 1, 1];
        let pr = Probs::new(&p, 6, 2).unwrap();
        let o = FindOptions {
            confident_joint: Some(vec![3, 1, 0, 2]),
            return_indices_ranked_by: Some(ScoreMethod::SelfConfidence),
            ..FindOptions::default()
        };
        let r = find_label_issues(&pr, &labels, &o).unwrap();
        assert_eq!(
            r.is_label_issue,
            vec![false, false, true, false, false, false]
        );
        let o2 = FindOptions {
            confident_joint: Some(vec![2, 2, 0, 2]),
            ..o
        };
        let r2 = find_label_issues(&pr, &labels, &o2).unwrap();
        assert_eq!(r2.ranked_indices, Some(vec![2, 3]));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Probs::new(&[0.5, 0.6], 1, 2).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            Probs::new(&[f64::NAN, 1.0], 1, 2).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            Probs::new(&[0.5, 0.5], 1, 3).unwrap_err().code(),
            "invalid_input"
        );
        let p = vec![0.5, 0.5, 0.5, 0.5];
        let pr = Probs::new(&p, 2, 2).unwrap();
        assert_eq!(
            find_label_issues(&pr, &[0, 2], &FindOptions::default())
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            find_label_issues(&pr, &[0, 0], &FindOptions::default())
                .unwrap_err()
                .code(),
            "insufficient_data"
        );
        let bad = FindOptions {
            frac_noise: 0.0,
            ..FindOptions::default()
        };
        assert_eq!(
            find_label_issues(&pr, &[0, 1], &bad).unwrap_err().code(),
            "invalid_options"
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod proptests {
    use super::super::*;
    use proptest::prelude::*;

    fn probs_strategy() -> impl Strategy<Value = (Vec<f64>, Vec<usize>, usize, usize)> {
        (2usize..5, 4usize..40).prop_flat_map(|(k, n)| {
            (
                proptest::collection::vec(0.01f64..1.0, n * k),
                proptest::collection::vec(0..k, n),
                Just(n),
                Just(k),
            )
        })
    }

    proptest! {
        #[test]
        fn masks_are_consistent((raw, labels, n, k) in probs_strategy()) {
            let mut p = raw.clone();
            for r in p.chunks_mut(k) {
                let s: f64 = r.iter().sum();
                r.iter_mut().for_each(|v| *v /= s);
            }
            let pr = Probs::new(&p, n, k).unwrap();
            let distinct = labels.iter().collect::<std::collections::BTreeSet<_>>().len();
            prop_assume!(distinct >= 2);
            let nr = find_label_issues(&pr, &labels, &FindOptions::default()).unwrap();
            let both = find_label_issues(&pr, &labels, &FindOptions { filter_by: FilterBy::Both, ..FindOptions::default() }).unwrap();
            // "both" is a subset of prune-by-noise-rate
            for i in 0..n {
                prop_assert!(!both.is_label_issue[i] || nr.is_label_issue[i]);
                // a flagged row is never one predicted as its given label
                if nr.is_label_issue[i] { prop_assert!(!predicted_is_given(&pr, i, labels[i])); }
            }
            let cj = compute_confident_joint(&pr, &labels, None, true).unwrap();
            let lc = label_counts(&labels, k);
            for c in 0..k {
                let rs: i64 = cj.joint.row(c).iter().sum();
                // calibrated rows sum to the label counts (rounding preserves totals)
                prop_assert!((rs - lc[c] as i64).abs() <= 1);
            }
            let q = label_quality_scores(&pr, &labels, &QualityOptions::default()).unwrap();
            prop_assert!(q.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
}
