//! Calibration sessions: a small set of the most informative items that every reviewer labels,
//! then how well the reviewers agree and where each one deviates.
//!
//! # Picking the items
//! [`pick_session`] scores each candidate by how much the opinions on it disagree: the entropy
//! (natural log) of the pooled vote share, where every review counts 1 and the model's
//! calibrated probabilities (when given) count as `modelWeight` of a vote spread over the
//! classes. Items nobody agrees on (reviewers among themselves, or reviewers against the
//! model) come first; ties go to the lower index. `size` items are returned.
//!
//! # The report
//! [`session_report`] takes every reviewer's label on the session items and gives
//! - Fleiss' kappa over the items every reviewer labelled (statsmodels' formula) and
//!   Krippendorff's alpha (nominal) over all of them (missing labels allowed), both from
//!   [`crate::engine::consensus::agreement`];
//! - the consensus label of each item (plurality, ties to the lower class) and its share;
//! - per reviewer: items labelled, agreement with the consensus *of the others*
//!   (leave-one-out, so a reviewer does not agree with themself; a label tied with the
//!   others' plurality agrees), each deviation (item, label,
//!   consensus of the others) and the deviations counted by the consensus class.

use serde::{Deserialize, Serialize};

use super::reviewers::ItemReview;
use crate::engine::consensus::agreement::{fleiss_kappa_table, krippendorff_alpha_table};
use crate::error::{err, Result};

/// A candidate item for a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Candidate {
    /// Item index (echoed).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Reviews so far (may be empty).
    #[serde(default)]
    pub reviews: Vec<ItemReview>,
    /// Calibrated model probabilities (`k` values).
    #[serde(default)]
    pub probs: Option<Vec<f64>>,
}

/// Request for [`pick_session`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Candidates.
    pub candidates: Vec<Candidate>,
    /// Items to pick (default 20).
    #[serde(default = "default_size")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub size: usize,
    /// Weight of the model's opinion, in votes (default 1).
    #[serde(default = "default_weight")]
    pub model_weight: f64,
}

fn default_size() -> usize {
    20
}
fn default_weight() -> f64 {
    1.0
}

/// One picked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Picked {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Entropy of the pooled votes.
    pub disagreement: f64,
}

/// Response of [`pick_session`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickResponse {
    /// Most informative first.
    pub items: Vec<Picked>,
}

fn entropy(v: &[f64]) -> f64 {
    let s: f64 = v.iter().sum();
    if s <= 0.0 {
        return 0.0;
    }
    v.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| {
            let p = x / s;
            -p * p.ln()
        })
        .sum()
}

/// Pick the session's items (JS `pickCalibrationItems`, CLI `queue session --pick`).
pub fn pick_session(req: &PickRequest) -> Result<PickResponse> {
    let k = req.k;
    if k < 2 {
        return Err(err!(InvalidInput, "k must be >= 2, got {k}"));
    }
    let w = req.model_weight;
    if !(w.is_finite() && w >= 0.0) {
        return Err(err!(
            InvalidOptions,
            "modelWeight must be a finite number >= 0, got {w}"
        ));
    }
    let mut scored = Vec::with_capacity(req.candidates.len());
    for (ci, c) in req.candidates.iter().enumerate() {
        let mut votes = vec![0.0; k];
        for r in &c.reviews {
            if r.label >= k {
                return Err(err!(
                    InvalidInput,
                    "candidates[{ci}]: label {} is not < k = {k}",
                    r.label
                ));
            }
            votes[r.label] += 1.0;
        }
        if let Some(p) = &c.probs {
            let s: f64 = p.iter().sum();
            if p.len() != k || !p.iter().all(|v| v.is_finite() && *v >= 0.0) || s <= 0.0 {
                return Err(err!(
                    InvalidInput,
                    "candidates[{ci}].probs: expected {k} finite non-negative values, not all 0"
                ));
            }
            for (v, &q) in votes.iter_mut().zip(p) {
                *v += w * q / s;
            }
        }
        scored.push(Picked {
            index: c.index,
            disagreement: entropy(&votes),
        });
    }
    scored.sort_by(|a, b| {
        b.disagreement
            .total_cmp(&a.disagreement)
            .then(a.index.cmp(&b.index))
    });
    scored.truncate(req.size);
    Ok(PickResponse { items: scored })
}

/// One label of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionLabel {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Reviewer id.
    pub reviewer: String,
    /// Label.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// Request for [`session_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Every label given in the session (one per reviewer and item).
    pub labels: Vec<SessionLabel>,
}

/// A deviation from the others' consensus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deviation {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The reviewer's label.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
    /// The consensus of the other reviewers.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub consensus: usize,
}

/// One reviewer in the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionReviewer {
    /// Reviewer id.
    pub reviewer: String,
    /// Items labelled.
    pub labelled: usize,
    /// Items where at least one other reviewer labelled too.
    pub compared: usize,
    /// Share of `compared` items agreeing with the others' consensus (NaN-free: 0 when none).
    pub agreement: f64,
    /// Deviations from the others' consensus.
    pub deviations: Vec<Deviation>,
    /// Deviations counted by the consensus class (`k` values).
    pub deviations_by_class: Vec<usize>,
}

/// One item's consensus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionItem {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Plurality label (ties to the lower class).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub consensus: usize,
    /// Its share of the labels.
    pub share: f64,
    /// Labels given.
    pub labels: usize,
}

/// Response of [`session_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionReport {
    /// Fleiss' kappa over the items every reviewer labelled (none when undefined or fewer
    /// than 2 reviewers).
    pub fleiss_kappa: Option<f64>,
    /// Items Fleiss' kappa was computed on.
    pub fleiss_items: usize,
    /// Krippendorff's alpha (nominal) over every item.
    pub krippendorff_alpha: Option<f64>,
    /// Per item, by index.
    pub items: Vec<SessionItem>,
    /// Per reviewer, in order of first appearance.
    pub reviewers: Vec<SessionReviewer>,
}

fn plurality(votes: &[usize]) -> usize {
    let mut best = 0;
    for c in 1..votes.len() {
        if votes[c] > votes[best] {
            best = c;
        }
    }
    best
}

/// The session as a table: the items labelled (ascending), the reviewers (in order of first
/// appearance) and `table[item][reviewer]` = the label given, if any.
type LabelTable = (Vec<usize>, Vec<String>, Vec<Vec<Option<usize>>>);

/// Tabulate the labels; a label `>= k` or an item labelled twice by one reviewer is refused.
fn label_table(req: &SessionRequest) -> Result<LabelTable> {
    let k = req.k;
    let mut items: Vec<usize> = req.labels.iter().map(|l| l.index).collect();
    items.sort_unstable();
    items.dedup();
    let mut ids: Vec<String> = Vec::new();
    for l in &req.labels {
        if !ids.contains(&l.reviewer) {
            ids.push(l.reviewer.clone());
        }
    }
    let m = ids.len();
    let mut table: Vec<Vec<Option<usize>>> = vec![vec![None; m]; items.len()];
    for (li, l) in req.labels.iter().enumerate() {
        if l.label >= k {
            return Err(err!(
                InvalidInput,
                "labels[{li}]: label {} is not < k = {k}",
                l.label
            ));
        }
        let i = items.binary_search(&l.index).unwrap_or(0);
        let r = ids.iter().position(|x| *x == l.reviewer).unwrap_or(0);
        if table[i][r].is_some() {
            return Err(err!(
                InvalidInput,
                "labels[{li}]: reviewer {} labelled item {} twice",
                l.reviewer,
                l.index
            ));
        }
        table[i][r] = Some(l.label);
    }
    Ok((items, ids, table))
}

/// Votes per class (`k` values) in one item's row.
fn counts_of(row: &[Option<usize>], k: usize) -> Vec<usize> {
    let mut v = vec![0usize; k];
    for l in row.iter().flatten() {
        v[*l] += 1;
    }
    v
}

/// Reviewer `r` against the others' plurality on every item they labelled that someone else
/// labelled too.
fn reviewer_agreement(
    r: usize,
    id: &str,
    items: &[usize],
    table: &[Vec<Option<usize>>],
    k: usize,
) -> SessionReviewer {
    let (mut labelled, mut compared, mut agree) = (0, 0, 0);
    let mut deviations = Vec::new();
    let mut by_class = vec![0usize; k];
    for (i, row) in table.iter().enumerate() {
        let Some(l) = row[r] else { continue };
        labelled += 1;
        let mut others = counts_of(row, k);
        others[l] -= 1;
        if others.iter().sum::<usize>() == 0 {
            continue;
        }
        compared += 1;
        let cons = plurality(&others);
        // a label tied with the others' plurality agrees with them
        if others[l] == others[cons] {
            agree += 1;
        } else {
            deviations.push(Deviation {
                index: items[i],
                label: l,
                consensus: cons,
            });
            by_class[cons] += 1;
        }
    }
    SessionReviewer {
        reviewer: id.to_string(),
        labelled,
        compared,
        agreement: if compared == 0 {
            0.0
        } else {
            agree as f64 / compared as f64
        },
        deviations,
        deviations_by_class: by_class,
    }
}

/// Agreement and deviations of a calibration session (JS `calibrationSession`, CLI
/// `queue session`).
pub fn session_report(req: &SessionRequest) -> Result<SessionReport> {
    let k = req.k;
    if k < 2 {
        return Err(err!(InvalidInput, "k must be >= 2, got {k}"));
    }
    if req.labels.is_empty() {
        return Err(err!(InsufficientData, "the session has no labels"));
    }
    let (items, ids, table) = label_table(req)?;
    let m = ids.len();
    let mut all = Vec::with_capacity(items.len() * k);
    let mut full = Vec::new();
    let mut out_items = Vec::with_capacity(items.len());
    for (i, row) in table.iter().enumerate() {
        let c = counts_of(row, k);
        let tot: usize = c.iter().sum();
        let cons = plurality(&c);
        out_items.push(SessionItem {
            index: items[i],
            consensus: cons,
            share: c[cons] as f64 / tot.max(1) as f64,
            labels: tot,
        });
        if tot == m {
            full.extend_from_slice(&c);
        }
        all.extend_from_slice(&c);
    }
    let fleiss_items = full.len() / k;
    let fleiss_kappa = if m >= 2 && fleiss_items > 0 {
        fleiss_kappa_table(&full, fleiss_items, k)?
    } else {
        None
    };
    let krippendorff_alpha = krippendorff_alpha_table(&all, k);
    let reviewers = ids
        .iter()
        .enumerate()
        .map(|(r, id)| reviewer_agreement(r, id, &items, &table, k))
        .collect();
    Ok(SessionReport {
        fleiss_kappa,
        fleiss_items,
        krippendorff_alpha,
        items: out_items,
        reviewers,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[test]
    fn picks_the_disputed_items_and_reports_deviations() {
        let rv = |r: &str, l| ItemReview {
            reviewer: r.into(),
            label: l,
        };
        let p = pick_session(&PickRequest {
            k: 3,
            candidates: vec![
                Candidate {
                    index: 0,
                    reviews: vec![rv("a", 0), rv("b", 0)],
                    probs: Some(vec![0.9, 0.05, 0.05]),
                },
                Candidate {
                    index: 1,
                    reviews: vec![rv("a", 0), rv("b", 1)],
                    probs: Some(vec![0.1, 0.1, 0.8]),
                },
                Candidate {
                    index: 2,
                    reviews: vec![rv("a", 1)],
                    probs: Some(vec![0.1, 0.8, 0.1]),
                },
            ],
            size: 2,
            model_weight: 1.0,
        })
        .unwrap();
        assert_eq!(p.items.iter().map(|x| x.index).collect::<Vec<_>>(), [1, 2]);
        // three reviewers on four items; c deviates on class 2
        let mut labels = Vec::new();
        for (i, (a, b, c)) in [(0, 0, 0), (1, 1, 1), (2, 2, 0), (2, 2, 1)]
            .iter()
            .enumerate()
        {
            for (r, l) in [("a", a), ("b", b), ("c", c)] {
                labels.push(SessionLabel {
                    index: i,
                    reviewer: r.into(),
                    label: *l,
                });
            }
        }
        let r = session_report(&SessionRequest { k: 3, labels }).unwrap();
        let c = &r.reviewers[2];
        assert_eq!(c.deviations.len(), 2);
        assert_eq!(c.deviations_by_class, vec![0, 0, 2]);
        assert!((r.reviewers[0].agreement - 1.0).abs() < 1e-12);
        assert_eq!(r.fleiss_items, 4);
        // statsmodels fleiss_kappa([[3,0,0],[0,3,0],[1,0,2],[0,1,2]]) = 0.5 (by hand:
        // P = (1 + 1 + 1/3 + 1/3) / 4 = 2/3, Pe = (4/12)^2 + (4/12)^2 + (4/12)^2 = 1/3)
        assert!((r.fleiss_kappa.unwrap() - 0.5).abs() < 1e-12);
        assert!(r.krippendorff_alpha.is_some());
    }
}
