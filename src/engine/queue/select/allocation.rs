//! Per-class batch allocation: largest remainder, capped by eligible counts, shortfall
//! water-filled.

use crate::error::{err, Result};

use super::*;

/// Largest-remainder split of `total` by `weights` over `active` classes (ties: lower class).
pub(super) fn largest_remainder(total: usize, weights: &[f64], active: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize; weights.len()];
    let wsum: f64 = active.iter().map(|&c| weights[c]).sum();
    if total == 0
        || active.is_empty()
        || wsum.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return out;
    }
    let mut rem: Vec<(usize, f64)> = Vec::with_capacity(active.len());
    let mut given = 0usize;
    for &c in active {
        let q = total as f64 * weights[c] / wsum;
        let f = q.floor();
        out[c] = f as usize;
        given += out[c];
        rem.push((c, q - f));
    }
    rem.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut left = total.saturating_sub(given);
    for (c, _) in rem.iter().cycle() {
        if left == 0 {
            break;
        }
        out[*c] += 1;
        left -= 1;
    }
    out
}

/// Fill `alloc` up to `total` with caps `pool`, by `weights` then (if those are exhausted)
/// by the remaining capacity.
pub(super) fn water_fill(alloc: &mut [usize], total: usize, pool: &[usize], weights: &[f64]) {
    let k = alloc.len();
    for pass in 0..2 {
        loop {
            let have: usize = alloc.iter().sum();
            if have >= total {
                return;
            }
            let w: Vec<f64> = (0..k)
                .map(|c| {
                    if pass == 0 {
                        weights[c]
                    } else {
                        (pool[c] - alloc[c]) as f64
                    }
                })
                .collect();
            let active: Vec<usize> = (0..k)
                .filter(|&c| alloc[c] < pool[c] && w[c] > 0.0)
                .collect();
            if active.is_empty() {
                break;
            }
            let add = largest_remainder(total - have, &w, &active);
            let mut moved = 0;
            for c in 0..k {
                let room = pool[c] - alloc[c];
                let a = add[c].min(room);
                alloc[c] += a;
                moved += a;
            }
            if moved == 0 {
                break;
            }
        }
    }
}

pub(super) fn allocate(
    budget: &ClassBudget,
    total: usize,
    pool: &[usize],
    rates: Option<&[f64]>,
    min_per_class: usize,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let k = pool.len();
    let mut alloc = vec![0usize; k];
    let weights: Vec<f64> = match budget {
        ClassBudget::None => return Ok((alloc, vec![0.0; k])),
        ClassBudget::Proportional => pool.iter().map(|&p| p as f64).collect(),
        ClassBudget::ByEstimatedError => {
            let r = rates.ok_or_else(|| {
                err!(
                    InvalidOptions,
                    "classBudget \"byEstimatedError\" needs classErrorRates"
                )
            })?;
            r.iter().zip(pool).map(|(&e, &p)| e * p as f64).collect()
        }
        ClassBudget::Counts(c) => {
            if c.len() != k {
                return Err(err!(
                    InvalidOptions,
                    "classBudget counts: {} numbers for {k} classes",
                    c.len()
                ));
            }
            for cl in 0..k {
                alloc[cl] = c[cl].min(pool[cl]);
            }
            let w: Vec<f64> = pool.iter().map(|&p| p as f64).collect();
            water_fill(&mut alloc, total, pool, &w);
            return Ok((alloc, c.iter().map(|&v| v as f64).collect()));
        }
    };
    let floors: usize = pool.iter().map(|&p| p.min(min_per_class)).sum();
    if floors > total {
        return Err(err!(
            InvalidOptions,
            "minPerClass {min_per_class} needs {floors} picks, more than the batch of {total}"
        ));
    }
    for c in 0..k {
        alloc[c] = pool[c].min(min_per_class);
    }
    water_fill(&mut alloc, total, pool, &weights);
    Ok((alloc, weights))
}
