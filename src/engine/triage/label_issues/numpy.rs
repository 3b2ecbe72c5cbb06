//! NumPy's arithmetic where cleanlab's integer outputs depend on it: pairwise summation
//! order and half-to-even rounding that preserves a total.

use super::FLOATING_POINT_COMPARISON;

/// Sum in NumPy's order (`np.sum` on a contiguous f64 array: pairwise, blocks of 128,
/// 8-way unrolled), so that results equal NumPy's bit for bit.
pub fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0;
        for &x in a {
            r += x;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum(&a[..n2]) + np_sum(&a[n2..])
    }
}

pub(super) fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// cleanlab's `round_preserving_sum`: round to integers while keeping the (rounded) total.
pub fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|&v| round_half_even(v)).collect();
    let orig_sum = round_half_even(np_sum(floats));
    let mut int_sum = round_half_even(np_sum(&ints));
    let mut guard = 0;
    while (int_sum - orig_sum).abs() > FLOATING_POINT_COMPARISON && guard < 1000 {
        guard += 1;
        let diff = round_half_even(orig_sum - int_sum);
        let increment: f64 = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let rem: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        let mut order: Vec<usize> = (0..floats.len()).collect();
        order.sort_by(|&a, &b| rem[a].total_cmp(&rem[b]).then(a.cmp(&b)));
        if increment > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += increment;
        }
        int_sum = round_half_even(np_sum(&ints));
    }
    ints.iter().map(|&v| v as i64).collect()
}

pub(super) fn round_preserving_row_totals(m: &[f64], k: usize) -> Vec<i64> {
    m.chunks(k).flat_map(round_preserving_sum).collect()
}
