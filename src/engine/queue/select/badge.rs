//! BADGE: k-means++ seeding on the last-layer gradient embeddings, and their geometry.

use crate::engine::probs::{argmax, SplitMix64};
use crate::error::{err, Result};

use super::*;

/// Per-candidate factors of the BADGE gradient embedding `g = r ⊗ h`, `r = p - onehot(yhat)`.
pub(super) struct Grad<'a> {
    pub(super) p: &'a [f64],
    pub(super) k: usize,
    pub(super) h: &'a [f64],
    pub(super) d: usize,
    /// arg-max class per candidate
    pub(super) yhat: Vec<usize>,
    /// `|r|^2` per candidate
    pub(super) rr: Vec<f64>,
    /// `|h|^2` per candidate
    pub(super) hh: Vec<f64>,
}

impl<'a> Grad<'a> {
    pub(super) fn new(p: &'a [f64], k: usize, h: &'a [f64], d: usize, cands: &[usize]) -> Self {
        let m = cands.len();
        let mut g = Grad {
            p,
            k,
            h,
            d,
            yhat: Vec::with_capacity(m),
            rr: Vec::with_capacity(m),
            hh: Vec::with_capacity(m),
        };
        for &i in cands {
            let y = argmax(&p[i * k..(i + 1) * k]);
            g.yhat.push(y);
            let rr: f64 = (0..k).map(|c| g.r(i, y, c).powi(2)).sum();
            g.rr.push(rr);
            let hi = &h[i * d..(i + 1) * d];
            g.hh.push(dot(hi, hi));
        }
        g
    }
    #[inline]
    pub(super) fn r(&self, item: usize, yhat: usize, c: usize) -> f64 {
        let v = self.p[item * self.k + c];
        if c == yhat {
            v - 1.0
        } else {
            v
        }
    }
    /// `|g_a - g_b|^2` for candidate positions `ja`, `jb` with items `a`, `b`.
    pub(super) fn sq_dist(&self, ja: usize, a: usize, jb: usize, b: usize) -> f64 {
        let (ya, yb) = (self.yhat[ja], self.yhat[jb]);
        // r-space: |ra - rb|^2 and (ra - rb)·rb
        let (mut drr, mut drb) = (0.0, 0.0);
        for c in 0..self.k {
            let (x, y) = (self.r(a, ya, c), self.r(b, yb, c));
            drr += (x - y) * (x - y);
            drb += (x - y) * y;
        }
        let ha = &self.h[a * self.d..(a + 1) * self.d];
        let hb = &self.h[b * self.d..(b + 1) * self.d];
        let hab = dot(ha, hb);
        // fast path: |ha - hb|^2 = |ha|^2 + |hb|^2 - 2 ha·hb; ha·(ha - hb) = |ha|^2 - ha·hb
        let (haa, hbb) = (self.hh[ja], self.hh[jb]);
        let mut dhh = haa + hbb - 2.0 * hab;
        let mut hdh = haa - hab;
        if dhh < 1e-6 * (haa + hbb) {
            // close pair: recompute the differences directly (no cancellation)
            dhh = sq_dist(ha, hb);
            hdh = ha.iter().zip(hb).map(|(x, y)| x * (x - y)).sum();
        }
        let v = drr * haa + self.rr[jb] * dhh + 2.0 * drb * hdh;
        v.max(0.0)
    }
}

/// BADGE's gradient-embedding geometry, computed without materialising the `n x k·d`
/// matrix (see the module docs): the norms `|g_i|` of every item, and `|g_i - g_j|^2` for
/// each of `pairs`. For inspection and tests; [`select_batch`] uses the same code.
pub fn badge_gradient_geometry(
    pred_probs: &[f64],
    k: usize,
    embeddings: &[f64],
    d: usize,
    pairs: &[(usize, usize)],
) -> Result<(Vec<f64>, Vec<f64>)> {
    if k == 0 || d == 0 || !pred_probs.len().is_multiple_of(k) {
        return Err(err!(InvalidInput, "predProbs is not n x k with k = {k}"));
    }
    let n = pred_probs.len() / k;
    if embeddings.len() != n * d {
        return Err(err!(InvalidInput, "embeddings is not n x d = {n} x {d}"));
    }
    if pred_probs.iter().chain(embeddings).any(|v| !v.is_finite()) {
        return Err(err!(InvalidInput, "non-finite values"));
    }
    if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i >= n || j >= n) {
        return Err(err!(
            InvalidInput,
            "pair ({i}, {j}) out of range for n = {n}"
        ));
    }
    let cands: Vec<usize> = (0..n).collect();
    let g = Grad::new(pred_probs, k, embeddings, d, &cands);
    let norms = (0..n).map(|j| (g.rr[j] * g.hh[j]).sqrt()).collect();
    let dists = pairs.iter().map(|&(i, j)| g.sq_dist(i, i, j, j)).collect();
    Ok((norms, dists))
}

pub(super) fn badge(cands: &[usize], b: usize, cx: &Ctx<'_>, rng: &mut SplitMix64) -> Result<Out> {
    let sp = cx
        .space
        .as_ref()
        .ok_or_else(|| err!(InvalidInput, "badge needs embeddings"))?;
    let (p, k) = cx
        .probs
        .ok_or_else(|| err!(InvalidInput, "badge needs predProbs and k"))?;
    let m = cands.len();
    let g = Grad::new(p, k, sp.x, sp.d, cands);
    let norm = |j: usize| (g.rr[j] * g.hh[j]).sqrt();
    let mut taken = vec![false; m];
    let mut d2 = vec![f64::INFINITY; m];
    let mut picks = Vec::with_capacity(b);
    let mut trace = Vec::new();
    let Some((first, _)) = argmax_by(&taken, norm) else {
        return Ok(Out {
            picks,
            trace,
            working_bytes: 0,
        });
    };
    let mut centre = first;
    {
        let i = cands[first];
        let mut p0 = pick(i, cx.scores[i], 1.0);
        p0.gradient_norm = Some(norm(first));
        picks.push(p0);
        taken[first] = true;
    }
    while picks.len() < b {
        let ci = cands[centre];
        for j in 0..m {
            if taken[j] {
                d2[j] = 0.0;
                continue;
            }
            let v = g.sq_dist(j, cands[j], centre, ci);
            if v < d2[j] {
                d2[j] = v;
            }
        }
        let total: f64 = d2.iter().sum();
        if cx.trace {
            let mut pr = vec![0.0; cx.n];
            if total > 0.0 {
                for (j, &i) in cands.iter().enumerate() {
                    pr[i] = d2[j] / total;
                }
            }
            trace.push(pr);
        }
        let next = if total > 0.0 && total.is_finite() {
            let target = rng.next_f64() * total;
            let mut acc = 0.0;
            let mut chosen = None;
            let mut last_pos = None;
            for (j, &v) in d2.iter().enumerate() {
                if v > 0.0 {
                    last_pos = Some(j);
                    acc += v;
                    if acc > target {
                        chosen = Some(j);
                        break;
                    }
                }
            }
            chosen.or(last_pos)
        } else {
            taken.iter().position(|t| !t)
        };
        let Some(j) = next else { break };
        let i = cands[j];
        let prob = if total > 0.0 { d2[j] / total } else { 0.0 };
        let mut pk = pick(i, cx.scores[i], prob);
        pk.distance = Some(d2[j].sqrt());
        pk.gradient_norm = Some(norm(j));
        picks.push(pk);
        taken[j] = true;
        centre = j;
    }
    let working_bytes = m * (8 * 4 + 1) + trace.len() * cx.n * 8;
    Ok(Out {
        picks,
        trace,
        working_bytes,
    })
}
