//! Test helpers shared by the consensus unit tests (native only).

use proptest::prelude::*;

use super::data::{Annotation, ConsensusRequest, Label};

/// A request from `(item, annotator, label index)` triples with `k` classes.
pub fn request<S: AsRef<str>, O: Default>(anns: &[(S, S, usize)], k: usize) -> ConsensusRequest<O> {
    let mut r = ConsensusRequest::new(
        anns.iter()
            .map(|(i, a, l)| Annotation {
                item: i.as_ref().to_string(),
                annotator: a.as_ref().to_string(),
                label: Label::Index(*l as u64),
            })
            .collect(),
    );
    r.num_classes = Some(k);
    r
}

/// Relabel every annotation with `perm[label]`.
pub fn permute(anns: &[(String, String, usize)], perm: &[usize]) -> Vec<(String, String, usize)> {
    anns.iter()
        .map(|(i, a, l)| (i.clone(), a.clone(), perm[*l]))
        .collect()
}

/// Random long-format annotations (every item has at least one), a class count and a
/// permutation of the classes.
pub fn random_annotations(
    n: std::ops::Range<usize>,
    m: std::ops::Range<usize>,
    k: std::ops::Range<usize>,
) -> impl Strategy<Value = (Vec<(String, String, usize)>, usize, Vec<usize>)> {
    (n, m, k).prop_flat_map(|(n, m, k)| {
        let cells = proptest::collection::vec((any::<bool>(), any::<bool>(), 0..k), n * m);
        let perm = Just((0..k).collect::<Vec<usize>>()).prop_shuffle();
        (cells, Just((n, m, k)), perm).prop_map(|(cells, (n, m, k), perm)| {
            let mut out = Vec::new();
            for i in 0..n {
                for a in 0..m {
                    let (p1, p2, l) = cells[i * m + a];
                    // present with probability 3/4; annotator 0 always labels
                    if a == 0 || p1 || p2 {
                        out.push((format!("i{i}"), format!("a{a}"), l));
                    }
                }
            }
            (out, k, perm)
        })
    })
}
