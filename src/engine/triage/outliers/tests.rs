//! Tests of the kNN and near-duplicate scans.

use super::*;

#[test]
fn pruned_scan_equals_brute_force() {
    let (n, d) = (300usize, 32usize);
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let mut x: Vec<f64> = (0..n * d).map(|_| rnd()).collect();
    // anisotropic: a few strong dimensions, and near-copies at several distances
    for r in x.chunks_mut(d) {
        r[3] *= 6.0;
        r[17] *= 4.0;
    }
    for (a, b, eps) in [
        (0, 1, 0.01),
        (5, 250, 0.05),
        (7, 8, 0.1),
        (9, 10, 0.2),
        (11, 12, 0.0),
    ] {
        for t in 0..d {
            x[b * d + t] = x[a * d + t] + eps * rnd();
        }
    }
    for thr in [0.001, 0.01, 0.05, 0.3] {
        let r = near_duplicates(
            &x,
            n,
            d,
            &DuplicatesOptions {
                threshold: thr,
                ..DuplicatesOptions::default()
            },
        )
        .unwrap();
        let unit = unit_rows(&x, d);
        let mut want = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let dot: f64 = unit[i * d..(i + 1) * d]
                    .iter()
                    .zip(&unit[j * d..(j + 1) * d])
                    .map(|(a, b)| a * b)
                    .sum();
                if (1.0 - dot).clamp(0.0, 2.0) <= thr {
                    want.push((i, j));
                }
            }
        }
        let mut got: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.i, p.j)).collect();
        got.sort();
        assert_eq!(got, want, "threshold {thr}");
    }
}

#[test]
fn knn_small() {
    let x = vec![0.0, 0.0, 1.0, 0.0, 3.0, 0.0, 3.0, 0.0];
    let (d, i) = knn(&x, 4, 2, 1, KnnMetric::Euclidean).unwrap();
    assert_eq!(i, vec![1, 0, 3, 2]);
    assert_eq!(d, vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(
        knn(&x, 4, 2, 4, KnnMetric::Euclidean).unwrap_err().code(),
        "invalid_options"
    );
}

#[test]
fn duplicates_groups_and_limits() {
    let x = vec![1.0, 0.0, 1.0, 0.001, 0.0, 1.0, 0.0, 2.0, -1.0, 0.0];
    let r = near_duplicates(&x, 5, 2, &DuplicatesOptions::default()).unwrap();
    assert_eq!(r.groups, vec![vec![0, 1], vec![2, 3]]);
    assert_eq!(r.pairs[0].i, 2);
    let capped = near_duplicates(
        &x,
        5,
        2,
        &DuplicatesOptions {
            max_pairs: 1,
            ..DuplicatesOptions::default()
        },
    )
    .unwrap();
    assert!(capped.truncated && capped.pairs.len() == 1);
    assert!(near_duplicates(&[f64::NAN, 1.0], 1, 2, &DuplicatesOptions::default()).is_err());
}
