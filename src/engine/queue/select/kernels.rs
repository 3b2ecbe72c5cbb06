//! Numeric kernels shared by the strategies: distances in the embedding space, masked
//! argmax, top score and pick construction.

use super::*;

/// `Σ term(a_i, b_i)` with eight accumulators (vectorises; order differs from NumPy's): lane
/// `j` sums the terms at `j mod 8`, the lanes are added pairwise, then the tail.
#[inline(always)]
fn sum8(a: &[f64], b: &[f64], term: impl Fn(f64, f64) -> f64) -> f64 {
    let mut s = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            s[j] += term(x[j], y[j]);
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += term(*x, *y);
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail
}

/// `Σ (a_i - b_i)^2` with eight accumulators.
#[inline]
pub(super) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    sum8(a, b, |x, y| {
        let t = x - y;
        t * t
    })
}

/// `Σ a_i b_i` with eight accumulators.
#[inline]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    sum8(a, b, |x, y| x * y)
}

/// Embedding rows with the chosen metric (norms precomputed for cosine).
pub(super) struct Space<'a> {
    pub(super) x: &'a [f64],
    pub(super) d: usize,
    pub(super) metric: Metric,
    pub(super) norms: Vec<f64>,
}

impl<'a> Space<'a> {
    pub(super) fn new(
        x: &'a [f64],
        d: usize,
        metric: Metric,
        rows: impl Iterator<Item = usize>,
    ) -> Self {
        let n = x.len() / d.max(1);
        let norms = match metric {
            Metric::Euclidean => Vec::new(),
            Metric::Cosine => {
                let mut v = vec![0.0; n];
                for i in rows {
                    let r = &x[i * d..(i + 1) * d];
                    v[i] = dot(r, r).sqrt();
                }
                v
            }
        };
        Space {
            x,
            d,
            metric,
            norms,
        }
    }
    #[inline]
    pub(super) fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
    /// Distance from row `i` of this space to the vector `c` with norm `cn` (cosine only).
    #[inline]
    pub(super) fn dist_to(&self, i: usize, c: &[f64], cn: f64) -> f64 {
        let r = self.row(i);
        match self.metric {
            Metric::Euclidean => sq_dist(r, c).sqrt(),
            Metric::Cosine => {
                let ni = self.norms[i];
                if ni == 0.0 || cn == 0.0 {
                    1.0
                } else {
                    (1.0 - dot(r, c) / (ni * cn)).clamp(0.0, 2.0)
                }
            }
        }
    }
    pub(super) fn norm_of(&self, c: &[f64]) -> f64 {
        match self.metric {
            Metric::Euclidean => 0.0,
            Metric::Cosine => dot(c, c).sqrt(),
        }
    }
}

/// First index of the maximum of `f` over `cands` positions not taken (ties: first).
pub(super) fn argmax_by(taken: &[bool], mut f: impl FnMut(usize) -> f64) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (j, &t) in taken.iter().enumerate() {
        if t {
            continue;
        }
        let v = f(j);
        match best {
            Some((_, b)) if v.partial_cmp(&b) != Some(std::cmp::Ordering::Greater) => {}
            _ => best = Some((j, v)),
        }
    }
    best
}

/// Position (in `cands`) of the highest score, ties by lower position.
pub(super) fn top_score_pos(cands: &[usize], scores: &[f64]) -> Option<usize> {
    let taken = vec![false; cands.len()];
    argmax_by(&taken, |j| scores[cands[j]]).map(|(j, _)| j)
}

pub(super) fn pick(index: usize, score: f64, objective: f64) -> Pick {
    Pick {
        index,
        rank: 0,
        score,
        objective,
        distance: None,
        similarity: None,
        alpha: None,
        gradient_norm: None,
        class: None,
        stratum: None,
    }
}
