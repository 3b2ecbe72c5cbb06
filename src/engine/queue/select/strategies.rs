//! Strategies on one candidate set (ascending item indices): top-k by score, the ranked
//! batch, k-center greedy and the medoid cold start.

use crate::error::{err, Result};

use super::*;

/// Shared read-only inputs of the strategies.
pub(super) struct Ctx<'a> {
    pub(super) scores: &'a [f64],
    pub(super) space: Option<Space<'a>>,
    pub(super) labeled: &'a [f64],
    pub(super) probs: Option<(&'a [f64], usize)>,
    pub(super) cold_start: ColdStart,
    pub(super) seed: u64,
    pub(super) trace: bool,
    pub(super) n: usize,
}

pub(super) struct Out {
    pub(super) picks: Vec<Pick>,
    pub(super) trace: Vec<Vec<f64>>,
    pub(super) working_bytes: usize,
}

pub(super) fn top_k(cands: &[usize], b: usize, scores: &[f64]) -> Out {
    let mut order: Vec<usize> = cands.to_vec();
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]).then(i.cmp(&j)));
    order.truncate(b);
    let working_bytes = std::mem::size_of_val(cands);
    Out {
        picks: order
            .into_iter()
            .map(|i| pick(i, scores[i], scores[i]))
            .collect(),
        trace: Vec::new(),
        working_bytes,
    }
}

/// Min distance of every candidate to the labelled rows (`+inf` without any). Item-major
/// (each item row is read once while the labelled rows stay in cache).
pub(super) fn init_min_dist(cands: &[usize], sp: &Space<'_>, labeled: &[f64]) -> Vec<f64> {
    let rows: Vec<(&[f64], f64)> = labeled
        .chunks_exact(sp.d)
        .map(|c| (c, sp.norm_of(c)))
        .collect();
    cands
        .iter()
        .map(|&i| {
            rows.iter()
                .map(|&(c, cn)| sp.dist_to(i, c, cn))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

pub(super) fn update_min_dist(md: &mut [f64], cands: &[usize], sp: &Space<'_>, c: &[f64]) {
    let cn = sp.norm_of(c);
    for (m, &i) in md.iter_mut().zip(cands) {
        let v = sp.dist_to(i, c, cn);
        if v < *m {
            *m = v;
        }
    }
}

pub(super) fn medoid_pos(cands: &[usize], sp: &Space<'_>) -> Result<usize> {
    if cands.len() > MEDOID_MAX_ITEMS {
        return Err(err!(
            InvalidOptions,
            "coldStart \"medoid\" is O(n^2): at most {MEDOID_MAX_ITEMS} candidates, got {}",
            cands.len()
        ));
    }
    let mut best = (0usize, f64::INFINITY);
    for (j, &i) in cands.iter().enumerate() {
        let c = sp.row(i);
        let cn = sp.norm_of(c);
        let s: f64 = cands.iter().map(|&o| sp.dist_to(o, c, cn)).sum();
        let mean = s / cands.len() as f64;
        if mean < best.1 {
            best = (j, mean);
        }
    }
    Ok(best.0)
}

/// A farthest-first pass over the candidates: each one's distance to the nearest labelled
/// or picked row, which are taken, and the picks so far.
struct Greedy<'s, 'a> {
    cands: &'s [usize],
    sp: &'s Space<'a>,
    md: Vec<f64>,
    taken: Vec<bool>,
    picks: Vec<Pick>,
}

impl<'s, 'a> Greedy<'s, 'a> {
    /// The embedding space of the context (`who` names the strategy in the error) and the
    /// candidates' distances to the labelled rows.
    fn start(cands: &'s [usize], b: usize, cx: &'s Ctx<'a>, who: &str) -> Result<Self> {
        let sp = cx
            .space
            .as_ref()
            .ok_or_else(|| err!(InvalidInput, "{who} needs embeddings"))?;
        Ok(Greedy {
            cands,
            sp,
            md: init_min_dist(cands, sp, cx.labeled),
            taken: vec![false; cands.len()],
            picks: Vec::with_capacity(b),
        })
    }

    /// The cold-start pick at candidate position `j` (objective: its score).
    fn seed(&mut self, j: usize, scores: &[f64]) {
        let i = self.cands[j];
        self.taken[j] = true;
        self.picks.push(pick(i, scores[i], scores[i]));
        update_min_dist(&mut self.md, self.cands, self.sp, self.sp.row(i));
    }

    /// Take candidate position `j` as pick `p`; distances are updated while picks remain.
    fn take(&mut self, j: usize, p: Pick, b: usize) {
        let i = self.cands[j];
        self.picks.push(p);
        self.taken[j] = true;
        if self.picks.len() < b {
            update_min_dist(&mut self.md, self.cands, self.sp, self.sp.row(i));
        }
    }

    /// The picks, with the pass's working memory (distances and taken flags, norms).
    fn out(self) -> Out {
        Out {
            picks: self.picks,
            trace: Vec::new(),
            working_bytes: self.cands.len() * (8 + 1) + self.sp.norms.len() * 8,
        }
    }
}

pub(super) fn ranked_batch(cands: &[usize], b: usize, cx: &Ctx<'_>) -> Result<Out> {
    let mut g = Greedy::start(cands, b, cx, "rankedBatch")?;
    let mut n_lab = cx.labeled.len() / g.sp.d;
    if n_lab == 0 && b > 0 {
        let j = match cx.cold_start {
            ColdStart::TopScore => top_score_pos(cands, cx.scores),
            ColdStart::Medoid => Some(medoid_pos(cands, g.sp)?),
        };
        if let Some(j) = j {
            n_lab = 1;
            g.seed(j, cx.scores);
        }
    }
    while g.picks.len() < b {
        let unl = (cands.len() - g.picks.len()) as f64;
        let alpha = unl / (unl + n_lab as f64);
        let md = &g.md;
        let Some((j, v)) = argmax_by(&g.taken, |j| {
            let sim = 1.0 / (1.0 + md[j]);
            alpha * (1.0 - sim) + (1.0 - alpha) * cx.scores[cands[j]]
        }) else {
            break;
        };
        let i = cands[j];
        let mut p = pick(i, cx.scores[i], v);
        p.distance = Some(g.md[j]);
        p.similarity = Some(1.0 / (1.0 + g.md[j]));
        p.alpha = Some(alpha);
        g.take(j, p, b);
        n_lab += 1;
    }
    Ok(g.out())
}

pub(super) fn k_center(cands: &[usize], b: usize, cx: &Ctx<'_>) -> Result<Out> {
    let mut g = Greedy::start(cands, b, cx, "kCenterGreedy")?;
    if cx.labeled.is_empty() && b > 0 {
        if let Some(j) = top_score_pos(cands, cx.scores) {
            g.seed(j, cx.scores);
        }
    }
    while g.picks.len() < b {
        let md = &g.md;
        let Some((j, v)) = argmax_by(&g.taken, |j| md[j]) else {
            break;
        };
        let i = cands[j];
        let mut p = pick(i, cx.scores[i], v);
        p.distance = Some(v);
        g.take(j, p, b);
    }
    Ok(g.out())
}
