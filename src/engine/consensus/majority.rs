//! Majority vote, as crowd-kit's `MajorityVote` (unweighted).
//!
//! Per item the vote fractions `count_c / n_i` are the "probabilities"; the consensus is the
//! class with most votes. **Tie rule**: the lowest class index wins. crowd-kit has no
//! documented tie rule: it takes `idxmax` over its label columns, whose order is the order
//! in which labels first appear in pandas' `value_counts()` of (task, label) pairs (an
//! unstable sort by count), so its pick among tied classes depends on the data layout. Here
//! tied items are flagged (`tied`) and listed with
//! their candidate classes (`ties`). `annotatorAccuracy` is crowd-kit's `skills_`: the share
//! of each annotator's labels that equal the consensus.

use serde::{Deserialize, Serialize};

use super::data::{ConsensusRequest, Dataset};
use crate::error::{err, Result};

/// Options of majority vote (none yet; unknown fields are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MajorityOptions {}

/// A tied item and the classes that share the top vote count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tie {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Item id.
    pub item: String,
    /// Tied class indices, ascending (the first one was chosen).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub candidates: Vec<usize>,
}

/// Majority-vote result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MajorityResponse {
    /// Item ids (row order).
    pub items: Vec<String>,
    /// Annotator ids.
    pub annotators: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Consensus class index per item.
    pub consensus_label: Vec<usize>,
    /// Vote fractions, `n x K` row-major.
    pub probabilities: Vec<f64>,
    /// Annotations per item.
    pub num_annotations: Vec<usize>,
    /// Share of an item's votes for its consensus class.
    pub agreement: Vec<f64>,
    /// Whether the top vote count was tied.
    pub tied: Vec<bool>,
    /// The tied items with their candidates.
    pub ties: Vec<Tie>,
    /// Per annotator: share of their labels equal to the consensus (crowd-kit `skills_`).
    pub annotator_accuracy: Vec<f64>,
}

/// Majority vote on a validated dataset.
pub fn majority_vote_data(d: &Dataset) -> MajorityResponse {
    let (n, k) = (d.n(), d.k());
    let counts = d.counts();
    let mut probabilities = vec![0.0; n * k];
    let mut consensus = vec![0usize; n];
    let mut num = vec![0usize; n];
    let mut agreement = vec![0.0; n];
    let mut tied = vec![false; n];
    let mut ties = Vec::new();
    for i in 0..n {
        let row = &counts[i * k..(i + 1) * k];
        let total: usize = row.iter().sum();
        num[i] = total;
        let best = row.iter().copied().max().unwrap_or(0);
        let cands: Vec<usize> = (0..k).filter(|&c| row[c] == best).collect();
        consensus[i] = cands.first().copied().unwrap_or(0);
        for c in 0..k {
            probabilities[i * k + c] = row[c] as f64 / total as f64;
        }
        agreement[i] = best as f64 / total as f64;
        if cands.len() > 1 {
            tied[i] = true;
            ties.push(Tie {
                index: i,
                item: d.items[i].clone(),
                candidates: cands,
            });
        }
    }
    let mut hit = vec![0usize; d.m()];
    let mut tot = vec![0usize; d.m()];
    for &(i, a, l) in &d.obs {
        tot[a] += 1;
        if consensus[i] == l {
            hit[a] += 1;
        }
    }
    MajorityResponse {
        items: d.items.clone(),
        annotators: d.annotators.clone(),
        classes: d.classes.clone(),
        consensus_label: consensus,
        probabilities,
        num_annotations: num,
        agreement,
        tied,
        ties,
        annotator_accuracy: hit
            .iter()
            .zip(&tot)
            .map(|(&h, &t)| h as f64 / t as f64)
            .collect(),
    }
}

/// Majority vote for a request (model probabilities are not used and are refused).
pub fn majority_vote(req: &ConsensusRequest<MajorityOptions>) -> Result<MajorityResponse> {
    reject_probs(req, "majority vote")?;
    Ok(majority_vote_data(&Dataset::build(req)?))
}

/// Refuse model probabilities for methods that do not use them.
pub(crate) fn reject_probs<O>(req: &ConsensusRequest<O>, what: &str) -> Result<()> {
    if req.pred_probs.is_some()
        || req.pred_probs_unlabeled.is_some()
        || req.unlabeled_items.is_some()
    {
        return Err(err!(
            InvalidOptions,
            "{what} does not use model probabilities (predProbs / predProbsUnlabeled / unlabeledItems)"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_lowest_index_and_flagged() {
        let req = request(
            &[
                ("x", "a", 2),
                ("x", "b", 1),
                ("y", "a", 0),
                ("y", "b", 0),
                ("y", "c", 1),
            ],
            3,
        );
        let r = majority_vote(&req).unwrap();
        assert_eq!(r.consensus_label, vec![1, 0]);
        assert_eq!(r.tied, vec![true, false]);
        assert_eq!(r.ties[0].candidates, vec![1, 2]);
        assert_eq!(r.probabilities[3..6], [2.0 / 3.0, 1.0 / 3.0, 0.0]);
        assert_eq!(r.annotator_accuracy, vec![0.5, 1.0, 0.0]);
    }

    proptest! {
        #[test]
        fn permutation_equivariant(data in random_annotations(2..40, 2..6, 2..5)) {
            let (anns, k, perm) = data;
            let req = request(&anns, k);
            let permuted = request(&permute(&anns, &perm), k);
            let a = majority_vote(&req).unwrap();
            let b = majority_vote(&permuted).unwrap();
            prop_assert_eq!(&a.tied, &b.tied);
            for i in 0..a.items.len() {
                if !a.tied[i] {
                    prop_assert_eq!(perm[a.consensus_label[i]], b.consensus_label[i]);
                }
                for c in 0..k {
                    prop_assert_eq!(a.probabilities[i * k + c], b.probabilities[i * k + perm[c]]);
                }
            }
        }
    }
}
