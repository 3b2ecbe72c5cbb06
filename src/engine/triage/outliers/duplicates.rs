//! Exact near-duplicate pairs by cosine distance, and their groups.

use serde::{Deserialize, Serialize};

use super::scan::{pack_panels, tile_f32, PANEL, TILE_ROWS};
use super::{check_embeddings, unit_rows};
use crate::error::{err, Result};

fn default_threshold() -> f64 {
    0.02
}
fn default_max_pairs() -> usize {
    1_000_000
}

/// Options of [`near_duplicates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DuplicatesOptions {
    /// Largest cosine distance `1 - cos` counted as a near-duplicate (default 0.02).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Stop collecting after this many pairs (default 1,000,000; `truncated` is then set).
    #[serde(default = "default_max_pairs")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_pairs: usize,
}

impl Default for DuplicatesOptions {
    fn default() -> Self {
        DuplicatesOptions {
            threshold: default_threshold(),
            max_pairs: default_max_pairs(),
        }
    }
}

/// Request of [`near_duplicates_request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DuplicatesRequest {
    /// Row-major embeddings, `n x d`.
    pub embeddings: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Dimensions.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: usize,
    /// Options.
    #[serde(default)]
    pub options: DuplicatesOptions,
}

/// One near-duplicate pair, `i < j`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DuplicatePair {
    /// First row.
    pub i: usize,
    /// Second row (`> i`).
    pub j: usize,
    /// Cosine distance (f64).
    pub distance: f64,
}

/// Near-duplicate pairs and their groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DuplicatesResponse {
    /// Pairs, closest first (ties by `i`, then `j`).
    pub pairs: Vec<DuplicatePair>,
    /// Connected components of the pair graph (each ascending; ordered by first row).
    pub groups: Vec<Vec<usize>>,
    /// True when `maxPairs` stopped the collection (the pairs kept are the first found in
    /// row order).
    pub truncated: bool,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// All pairs with cosine distance `<= threshold` (exact; see the module docs).
pub fn near_duplicates(
    x: &[f64],
    n: usize,
    d: usize,
    o: &DuplicatesOptions,
) -> Result<DuplicatesResponse> {
    check_embeddings(x, n, d)?;
    if !(o.threshold.is_finite() && (0.0..=2.0).contains(&o.threshold)) {
        return Err(err!(
            InvalidOptions,
            "threshold must be a cosine distance in [0, 2]"
        ));
    }
    let unit = unit_rows(x, d);
    let split = HeadTail::new(&unit, n, d);
    let (mut pairs, truncated) = split.scan(&unit, o);
    pairs.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.i.cmp(&b.i))
            .then(a.j.cmp(&b.j))
    });
    let groups = pair_groups(&pairs, n);
    Ok(DuplicatesResponse {
        pairs,
        groups,
        truncated,
    })
}

/// The unit rows in `f32` with their dimensions ordered by decreasing energy (a permutation:
/// dot products are unchanged), cut into the first `m` (the head, carrying most of each
/// vector) and the remaining `dt` (the tail). After the head, Cauchy-Schwarz bounds the rest:
/// `a·b <= head(a)·head(b) + |tail(a)| |tail(b)|`.
struct HeadTail {
    n: usize,
    d: usize,
    m: usize,
    dt: usize,
    head: Vec<f32>,
    tail: Vec<f32>,
    tail_norm: Vec<f32>,
    head_panels: Vec<f32>,
    tail_panels: Vec<f32>,
}

impl HeadTail {
    fn new(unit: &[f64], n: usize, d: usize) -> HeadTail {
        let mut energy = vec![0.0f64; d];
        for r in unit.chunks(d) {
            for (e, v) in energy.iter_mut().zip(r) {
                *e += v * v;
            }
        }
        let mut dims: Vec<usize> = (0..d).collect();
        dims.sort_by(|&a, &b| energy[b].total_cmp(&energy[a]).then(a.cmp(&b)));
        let m = if d >= 16 { d / 4 } else { d };
        let (dt, mut head, mut tail) = (
            d - m,
            Vec::with_capacity(n * m),
            Vec::with_capacity(n * (d - m)),
        );
        let mut tail_norm = Vec::with_capacity(n);
        for r in unit.chunks(d) {
            head.extend(dims[..m].iter().map(|&t| r[t] as f32));
            tail.extend(dims[m..].iter().map(|&t| r[t] as f32));
            tail_norm.push(dims[m..].iter().map(|&t| r[t] * r[t]).sum::<f64>().sqrt() as f32);
        }
        let head_panels = pack_panels(&head, n, m);
        let tail_panels = pack_panels(&tail, n, dt);
        HeadTail {
            n,
            d,
            m,
            dt,
            head,
            tail,
            tail_norm,
            head_panels,
            tail_panels,
        }
    }

    /// The `f32` dot products of rows `i0..i0 + nr` with panel `p` into `acc`, or `false`
    /// when the head and the tail bound show that no pair of the tile can reach `cut`.
    fn tile_dots(
        &self,
        i0: usize,
        nr: usize,
        p: usize,
        cut: f32,
        acc: &mut [[f32; PANEL]; TILE_ROWS],
    ) -> bool {
        let (n, m, dt) = (self.n, self.m, self.dt);
        let a = &self.head[i0 * m..(i0 + nr) * m];
        tile_f32(
            a,
            nr,
            m,
            &self.head_panels[p * PANEL * m..(p + 1) * PANEL * m],
            acc,
        );
        if dt == 0 {
            return true;
        }
        let mut any = false;
        for (r, acc_r) in acc.iter().enumerate().take(nr) {
            for (jj, &h) in acc_r.iter().enumerate() {
                let j = p * PANEL + jj;
                if j < n && h + self.tail_norm[i0 + r] * self.tail_norm[j] >= cut {
                    any = true;
                }
            }
        }
        if !any {
            return false;
        }
        let mut acc2 = [[0.0f32; PANEL]; TILE_ROWS];
        tile_f32(
            &self.tail[i0 * dt..(i0 + nr) * dt],
            nr,
            dt,
            &self.tail_panels[p * PANEL * dt..(p + 1) * PANEL * dt],
            &mut acc2,
        );
        for (r, row) in acc.iter_mut().enumerate().take(nr) {
            for (v, w) in row.iter_mut().zip(acc2[r]) {
                *v += w;
            }
        }
        true
    }

    /// Every pair `i < j` within the threshold, in row order: screened in `f32` with a margin
    /// on its rounding error, verified in `f64`; stops after `maxPairs` (then `true`).
    fn scan(&self, unit: &[f64], o: &DuplicatesOptions) -> (Vec<DuplicatePair>, bool) {
        let (n, d) = (self.n, self.d);
        // |dot32 - dot64| <= (d + 2) * 2^-24 * |a||b| (+ conversion error); generous margin.
        let margin = (d as f64 + 4.0) * 1.2e-7 + 1e-6;
        let cut = (1.0 - o.threshold - margin) as f32;
        let mut pairs = Vec::new();
        let mut acc = [[0.0f32; PANEL]; TILE_ROWS];
        for i0 in (0..n).step_by(TILE_ROWS) {
            let nr = TILE_ROWS.min(n - i0);
            for p in (i0 / PANEL)..n.div_ceil(PANEL) {
                if !self.tile_dots(i0, nr, p, cut, &mut acc) {
                    continue;
                }
                for (r, acc_r) in acc.iter().enumerate().take(nr) {
                    let i = i0 + r;
                    for (jj, &dot) in acc_r.iter().enumerate() {
                        let j = p * PANEL + jj;
                        if j <= i || j >= n || dot < cut {
                            continue;
                        }
                        let ar = &unit[i * d..(i + 1) * d];
                        let br = &unit[j * d..(j + 1) * d];
                        let dist = (1.0 - ar.iter().zip(br).map(|(u, v)| u * v).sum::<f64>())
                            .clamp(0.0, 2.0);
                        if dist <= o.threshold {
                            if pairs.len() >= o.max_pairs {
                                return (pairs, true);
                            }
                            pairs.push(DuplicatePair {
                                i,
                                j,
                                distance: dist,
                            });
                        }
                    }
                }
            }
        }
        (pairs, false)
    }
}

/// Connected components of the pair graph over the rows it touches (each ascending, ordered
/// by first row).
fn pair_groups(pairs: &[DuplicatePair], n: usize) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    for pr in pairs {
        let (a, b) = (find(&mut parent, pr.i), find(&mut parent, pr.j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> =
        std::collections::BTreeMap::new();
    let mut touched: Vec<usize> = pairs.iter().flat_map(|p| [p.i, p.j]).collect();
    touched.sort_unstable();
    touched.dedup();
    for v in touched {
        let root = find(&mut parent, v);
        members.entry(root).or_default().push(v);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    groups
}

/// Run [`near_duplicates`] on a request.
pub fn near_duplicates_request(r: &DuplicatesRequest) -> Result<DuplicatesResponse> {
    near_duplicates(&r.embeddings, r.n, r.d, &r.options)
}
