//! Temperature scaling of the model probabilities (cleanlab's `find_best_temp_scaler` and
//! `temp_scale_pred_probs`).

use super::{COARSE_TEMPERATURES, SMALL_CONST};
use crate::engine::consensus::data::Dataset;

/// cleanlab's `find_best_temp_scaler`: the temperature minimizing the mean soft cross
/// entropy between the annotators' label distribution and the scaled probabilities.
pub fn find_best_temperature(d: &Dataset, probs: &[f64]) -> f64 {
    let (n, k) = (d.n(), d.k());
    let counts = d.counts();
    // cleanlab 2.9 builds this with `value_counts(labels, num_classes)` on float labels,
    // which packs the counts of the classes present to the left (positions 0..u) instead of
    // at their class index; reproduced here to match its temperature choice.
    let mut emp = vec![0.0; n * k];
    for i in 0..n {
        let t = d.item(i).len() as f64;
        let present = counts[i * k..(i + 1) * k].iter().filter(|&&c| c > 0);
        for (pos, &c) in present.enumerate() {
            emp[i * k + pos] = c as f64 / t;
        }
    }
    let logp: Vec<f64> = probs
        .iter()
        .map(|&p| if p > 0.0 { p.ln() } else { f64::NEG_INFINITY })
        .collect();
    let lnk = (k as f64).ln();
    let ce = |t: f64| -> f64 {
        let mut total = 0.0;
        let mut row = vec![0.0; k];
        for i in 0..n {
            let lp = &logp[i * k..(i + 1) * k];
            let mx = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for (r, &v) in row.iter_mut().zip(lp) {
                *r = ((v - mx) / t.max(f64::EPSILON)).exp();
                s += *r;
            }
            let mut h = 0.0;
            for c in 0..k {
                let e = emp[i * k + c];
                if e != 0.0 {
                    h -= e * (row[c] / s).max(SMALL_CONST).ln();
                }
            }
            total += h / lnk;
        }
        total / n as f64
    };
    let argmin = |grid: &[f64]| -> usize {
        let mut best = 0;
        let mut best_v = f64::INFINITY;
        for (i, &t) in grid.iter().enumerate() {
            let v = ce(t);
            if v < best_v {
                best_v = v;
                best = i;
            }
        }
        best
    };
    let coarse = COARSE_TEMPERATURES;
    let i = argmin(&coarse);
    let mut fine = Vec::new();
    if i != 0 {
        let (a, b) = (coarse[i - 1], coarse[i]);
        let step = (b - a) / 4.0;
        fine.extend((0..4).map(|j| j as f64 * step + a));
    }
    if i != coarse.len() - 1 {
        let (a, b) = (coarse[i], coarse[i + 1]);
        let step = (b - a) / 4.0;
        fine.extend((0..5).map(|j| if j == 4 { b } else { j as f64 * step + a }));
    }
    fine[argmin(&fine)]
}

/// cleanlab's `temp_scale_pred_probs`: floor at 1e-30, renormalize, softmax(ln p / t),
/// renormalize.
pub fn temperature_scale(probs: &[f64], k: usize, t: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(probs.len());
    let t = t.max(f64::EPSILON);
    for row in probs.chunks_exact(k) {
        let s: f64 = row.iter().map(|&p| p.max(SMALL_CONST)).sum();
        let x: Vec<f64> = row
            .iter()
            .map(|&p| (p.max(SMALL_CONST) / s).ln() / t)
            .collect();
        let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = x.iter().map(|&v| (v - mx).exp()).collect();
        let z: f64 = e.iter().sum();
        out.extend(e.iter().map(|&v| v / z));
    }
    out
}
