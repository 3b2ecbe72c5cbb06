//! Latent estimates from a confident joint: the prior of true labels, the noise matrix and
//! the inverse noise matrix (cleanlab's `estimate_latent`).

use serde::{Deserialize, Serialize};

use super::joint::{label_counts, Square};
use super::numpy::np_sum;
use super::{CLIPPING_LOWER_BOUND, TINY_VALUE};
use crate::error::{err, Result};

/// How [`estimate_latent`] estimates the prior of true labels (cleanlab's `py_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum PyMethod {
    /// `diag(p(y|s)) / diag(p(s|y)) * p(s)` (default).
    #[default]
    Cnt,
    /// Solve `p(s|y) p(y) = p(s)`.
    Eqn,
    /// Column totals of the confident joint, normalized.
    Marginal,
    /// `p(y|s) p(s)`.
    #[serde(alias = "marginal_ps")]
    MarginalPs,
}

/// Latent estimates from a confident joint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Latent {
    /// Estimated prior of true labels `p(y)`.
    pub py: Vec<f64>,
    /// `p(given = i | true = j)` (columns sum to 1), row-major.
    pub noise_matrix: Vec<Vec<f64>>,
    /// `p(true = i | given = j)` (columns sum to 1), row-major.
    pub inverse_noise_matrix: Vec<Vec<f64>>,
}

fn clip_noise_rates(m: &mut [f64], k: usize) {
    for i in 0..k {
        for j in 0..k {
            if i != j {
                m[i * k + j] = m[i * k + j].clamp(0.0, 0.9999);
            }
        }
    }
    for j in 0..k {
        let col: Vec<f64> = (0..k).map(|i| m[i * k + j]).collect();
        let s = np_sum(&col).max(TINY_VALUE);
        for i in 0..k {
            m[i * k + j] /= s;
        }
    }
}

fn clip_values(x: &mut [f64], low: f64, high: f64, new_sum: f64) {
    for v in x.iter_mut() {
        *v = v.clamp(low, high);
    }
    let s = np_sum(x).max(TINY_VALUE);
    for v in x.iter_mut() {
        *v = *v * new_sum / s;
    }
}

fn solve(a: &[f64], b: &[f64], k: usize) -> Result<Vec<f64>> {
    let mut m: Vec<f64> = a.to_vec();
    let mut x = b.to_vec();
    for c in 0..k {
        let piv = (c..k)
            .max_by(|&r, &s| m[r * k + c].abs().total_cmp(&m[s * k + c].abs()))
            .unwrap_or(c);
        if m[piv * k + c].abs() < 1e-300 {
            return Err(err!(
                InvalidInput,
                "noise matrix is singular (pyMethod eqn)"
            ));
        }
        if piv != c {
            for j in 0..k {
                m.swap(c * k + j, piv * k + j);
            }
            x.swap(c, piv);
        }
        for r in 0..k {
            if r != c {
                let f = m[r * k + c] / m[c * k + c];
                if f != 0.0 {
                    for j in c..k {
                        m[r * k + j] -= f * m[c * k + j];
                    }
                    x[r] -= f * x[c];
                }
            }
        }
    }
    Ok((0..k).map(|i| x[i] / m[i * k + i]).collect())
}

fn compute_py(
    ps: &[f64],
    nm: &[f64],
    inv: &[f64],
    k: usize,
    method: PyMethod,
    true_counts: &[f64],
) -> Result<Vec<f64>> {
    let mut py: Vec<f64> = match method {
        PyMethod::Cnt => (0..k)
            .map(|i| inv[i * k + i] / nm[i * k + i].max(TINY_VALUE) * ps[i])
            .collect(),
        PyMethod::Eqn => solve(nm, ps, k)?,
        PyMethod::Marginal => {
            let s = true_counts.iter().sum::<f64>().max(TINY_VALUE);
            true_counts.iter().map(|c| c / s).collect()
        }
        PyMethod::MarginalPs => (0..k)
            .map(|i| (0..k).map(|j| inv[i * k + j] * ps[j]).sum())
            .collect(),
    };
    clip_values(&mut py, CLIPPING_LOWER_BOUND, 1.0, 1.0);
    Ok(py)
}

/// cleanlab's `estimate_latent(confident_joint, labels, py_method, converge_latent_estimates)`.
pub fn estimate_latent(
    cj: &Square<i64>,
    labels: &[usize],
    py_method: PyMethod,
    converge: bool,
) -> Result<Latent> {
    let k = cj.k;
    let lc = label_counts(labels, k);
    let ps: Vec<f64> = lc.iter().map(|&c| c as f64 / labels.len() as f64).collect();
    let row_tot: Vec<f64> = (0..k)
        .map(|i| cj.row(i).iter().sum::<i64>() as f64)
        .collect();
    let col_tot: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| cj.at(i, j)).sum::<i64>() as f64)
        .collect();
    let mut nm: Vec<f64> = (0..k * k)
        .map(|x| cj.data[x] as f64 / col_tot[x % k].max(TINY_VALUE))
        .collect();
    let mut inv: Vec<f64> = (0..k * k)
        .map(|x| {
            let (i, j) = (x / k, x % k);
            cj.at(j, i) as f64 / row_tot[j].max(TINY_VALUE)
        })
        .collect();
    let mut py = compute_py(&ps, &nm, &inv, k, py_method, &col_tot)?;
    clip_noise_rates(&mut nm, k);
    clip_noise_rates(&mut inv, k);
    if converge {
        for _ in 0..3 {
            for _ in 0..5 {
                // compute_inv_noise_matrix(py, nm, ps)
                inv = (0..k * k)
                    .map(|x| {
                        let (i, j) = (x / k, x % k);
                        nm[j * k + i] * py[i] / ps[j].max(TINY_VALUE)
                    })
                    .collect();
                clip_noise_rates(&mut inv, k);
                py = compute_py(&ps, &nm, &inv, k, PyMethod::Cnt, &col_tot)?;
            }
            // compute_noise_matrix_from_inverse(ps, inv, py)
            nm = (0..k * k)
                .map(|x| {
                    let (i, j) = (x / k, x % k);
                    inv[j * k + i] * ps[i] / py[j].max(TINY_VALUE)
                })
                .collect();
            clip_noise_rates(&mut nm, k);
        }
        clip_values(&mut py, 1e-5, 1.0, 1.0);
        clip_noise_rates(&mut nm, k);
        clip_noise_rates(&mut inv, k);
    }
    let rows = |m: &[f64]| m.chunks(k).map(<[f64]>::to_vec).collect();
    Ok(Latent {
        py,
        noise_matrix: rows(&nm),
        inverse_noise_matrix: rows(&inv),
    })
}
