//! Consensus of multi-label reads: each reader marks the findings they see on an image (an
//! empty list = "no finding"). Every finding becomes its own two-class annotation set
//! (present = the reader listed it, absent = the reader read the image and did not), on
//! which the single-label methods of [`crate::engine::consensus`] run unchanged:
//! majority vote and Dawid-Skene (crowd-kit's `MajorityVote`, `DawidSkene`), Fleiss' kappa
//! and Krippendorff's alpha (nominal) per finding.
//!
//! A reader who did not read an image says nothing about any of its findings (the pair is
//! simply absent), so each finding's annotation set has exactly the reads of the images.
//!
//! # Which images need another read
//! With the Dawid-Skene posteriors `q_ij = P(finding j present | reads)`, the probability
//! that the consensus decision (`q >= 0.5`) of finding `j` is wrong is `min(q_ij, 1 - q_ij)`;
//! treating findings as independent given the reads, the probability that the image's
//! consensus has some wrong finding is `1 - Π_j max(q_ij, 1 - q_ij)`. Images are ranked by
//! that score (ties: fewer reads first, then input order), with the findings whose
//! `min(q, 1 - q)` exceeds `uncertainThreshold` (default 0.1) named.
//!
//! Deliberate differences from crowd-kit are those of the single-label modules (ties by the
//! lowest class index, so a 1-1 split reads "absent"; both classes always modelled).

use serde::{Deserialize, Serialize};

use crate::engine::consensus::agreement::{agreement_data, AgreementOptions, FleissMode};
use crate::engine::consensus::dawid_skene::{dawid_skene_data, DawidSkeneOptions};
use crate::engine::consensus::majority::majority_vote_data;
use crate::engine::consensus::{Annotation, Dataset, Label};
use crate::error::{err, Result};

/// One multi-label read: `annotator` read `item` and listed `findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlRead {
    /// Image id.
    pub item: String,
    /// Reader id.
    pub annotator: String,
    /// Findings seen: indices or names from `findings` (empty = none).
    pub findings: Vec<Label>,
}

fn default_uncertain() -> f64 {
    0.1
}

/// Options of [`ml_consensus`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConsensusOptions {
    /// Dawid-Skene EM options (crowd-kit's defaults).
    #[serde(default)]
    pub dawid_skene: DawidSkeneOptions,
    /// Smallest shared images for a reader pair's kappa (default 2).
    #[serde(default = "default_min_overlap")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub min_overlap: usize,
    /// How many images to list in `nextReads` (default all).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub top: Option<usize>,
    /// A finding is named as uncertain when `min(q, 1 - q)` exceeds this (default 0.1).
    #[serde(default = "default_uncertain")]
    pub uncertain_threshold: f64,
}

fn default_min_overlap() -> usize {
    2
}

impl Default for MlConsensusOptions {
    fn default() -> Self {
        MlConsensusOptions {
            dawid_skene: DawidSkeneOptions::default(),
            min_overlap: 2,
            top: None,
            uncertain_threshold: 0.1,
        }
    }
}

/// Request of [`ml_consensus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConsensusRequest {
    /// The reads, one per (image, reader).
    pub reads: Vec<MlRead>,
    /// Finding names (index order).
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// Number of findings when `findings` is not given (default: largest index + 1).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub num_findings: Option<usize>,
    /// Declared image ids (fixing the order).
    #[serde(default)]
    pub items: Option<Vec<String>>,
    /// Declared reader ids.
    #[serde(default)]
    pub annotators: Option<Vec<String>>,
    /// Options.
    #[serde(default)]
    pub options: MlConsensusOptions,
}

/// Consensus and agreement of one finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingConsensus {
    /// Finding index.
    pub finding: usize,
    /// Finding name.
    pub name: String,
    /// Reads listing it.
    pub positive_reads: usize,
    /// Images where majority vote says present.
    pub majority_positives: usize,
    /// Images where the majority was tied (decided "absent").
    pub majority_ties: usize,
    /// Images where Dawid-Skene says present.
    pub dawid_skene_positives: usize,
    /// Dawid-Skene prior of "present".
    pub prevalence: f64,
    /// Fleiss' kappa (null when undefined, e.g. unequal reads per image or no variation).
    pub fleiss_kappa: Option<f64>,
    /// Krippendorff's alpha, nominal (null when undefined).
    pub krippendorff_alpha: Option<f64>,
    /// Fraction of agreeing read pairs.
    pub observed_agreement: Option<f64>,
    /// Per reader (annotator order): Dawid-Skene `P(listed | present)`.
    pub sensitivity: Vec<f64>,
    /// Per reader: Dawid-Skene `P(not listed | absent)`.
    pub specificity: Vec<f64>,
    /// EM iterations and whether `tol` stopped it.
    pub iterations: usize,
    /// Converged on `tol`.
    pub converged: bool,
}

/// An image that most needs another read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NextRead {
    /// Image index.
    pub index: usize,
    /// Image id.
    pub item: String,
    /// `1 - Π_j max(q_j, 1 - q_j)`.
    pub score: f64,
    /// Reads so far.
    pub reads: usize,
    /// Findings with `min(q, 1 - q) > uncertainThreshold`, most uncertain first.
    pub uncertain_findings: Vec<String>,
}

/// Result of [`ml_consensus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlConsensusResponse {
    /// Image ids (row order).
    pub items: Vec<String>,
    /// Reader ids.
    pub annotators: Vec<String>,
    /// Finding names.
    pub findings: Vec<String>,
    /// Reads per image.
    pub num_reads: Vec<usize>,
    /// Majority-vote findings per image.
    pub majority: Vec<Vec<usize>>,
    /// Majority vote's fraction of reads listing each finding, `n x k`.
    pub majority_fraction: Vec<f64>,
    /// Dawid-Skene findings per image (`q >= 0.5`).
    pub dawid_skene: Vec<Vec<usize>>,
    /// Dawid-Skene `P(present)`, `n x k` row-major.
    pub posteriors: Vec<f64>,
    /// Per finding.
    pub per_finding: Vec<FindingConsensus>,
    /// Images ranked by how much another read is needed (highest first).
    pub next_reads: Vec<NextRead>,
}

fn finding_index(l: &Label, names: Option<&[String]>, k: Option<usize>) -> Result<usize> {
    match l {
        Label::Index(v) => {
            let v = *v as usize;
            if let Some(k) = k {
                if v >= k {
                    return Err(err!(
                        InvalidInput,
                        "finding {v} is not below the number of findings {k}"
                    ));
                }
            }
            Ok(v)
        }
        Label::Name(s) => match names {
            Some(n) => n
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| err!(InvalidInput, "finding '{s}' is not listed in findings")),
            None => Err(err!(
                InvalidInput,
                "finding '{s}' given by name but no findings list was given"
            )),
        },
    }
}

/// Per-finding binary datasets sharing item and annotator indices.
pub fn finding_datasets(r: &MlConsensusRequest) -> Result<(Vec<String>, Vec<Dataset>)> {
    if r.reads.is_empty() {
        return Err(err!(InsufficientData, "no reads were given"));
    }
    let fixed_k = r.findings.as_ref().map(Vec::len).or(r.num_findings);
    let mut sets: Vec<Vec<usize>> = Vec::with_capacity(r.reads.len());
    for rd in &r.reads {
        let mut s = Vec::with_capacity(rd.findings.len());
        for l in &rd.findings {
            s.push(finding_index(l, r.findings.as_deref(), fixed_k)?);
        }
        sets.push(s);
    }
    let k = match fixed_k {
        Some(k) => k,
        None => sets.iter().flatten().map(|&v| v + 1).max().unwrap_or(0),
    };
    if k == 0 || k > 10_000 {
        return Err(err!(InvalidInput, "need 1..=10000 findings, got {k}"));
    }
    let names: Vec<String> = match &r.findings {
        Some(n) => n.clone(),
        None => (0..k).map(|j| j.to_string()).collect(),
    };
    let classes = ["absent".to_string(), "present".to_string()];
    let mut out = Vec::with_capacity(k);
    let mut items = r.items.clone();
    let mut annotators = r.annotators.clone();
    for j in 0..k {
        let ann: Vec<Annotation> = r
            .reads
            .iter()
            .zip(&sets)
            .map(|(rd, s)| Annotation {
                item: rd.item.clone(),
                annotator: rd.annotator.clone(),
                label: Label::Index(s.contains(&j) as u64),
            })
            .collect();
        let d = Dataset::from_parts(
            &ann,
            Some(&classes),
            None,
            items.as_deref(),
            annotators.as_deref(),
            None,
        )?;
        if items.is_none() {
            items = Some(d.items.clone());
            annotators = Some(d.annotators.clone());
        }
        out.push(d);
    }
    Ok((names, out))
}

/// Majority vote, Dawid-Skene and agreement per finding, and the images most needing
/// another read (see the module docs).
pub fn ml_consensus(r: &MlConsensusRequest) -> Result<MlConsensusResponse> {
    let o = &r.options;
    if !(0.0..0.5).contains(&o.uncertain_threshold) {
        return Err(err!(
            InvalidOptions,
            "uncertainThreshold must be in [0, 0.5)"
        ));
    }
    let (names, sets) = finding_datasets(r)?;
    let k = sets.len();
    let n = sets[0].n();
    let m = sets[0].m();
    let mut majority = vec![Vec::new(); n];
    let mut majority_fraction = vec![0.0; n * k];
    let mut ds_sets = vec![Vec::new(); n];
    let mut posteriors = vec![0.0; n * k];
    let mut per_finding = Vec::with_capacity(k);
    let mut num_reads = vec![0usize; n];
    for &(i, _, _) in &sets[0].obs {
        num_reads[i] += 1;
    }
    for (j, d) in sets.iter().enumerate() {
        let mv = majority_vote_data(d);
        let ds = dawid_skene_data(d, &o.dawid_skene)?;
        let ag = agreement_data(
            d,
            &AgreementOptions {
                min_overlap: o.min_overlap,
                fleiss: FleissMode::Auto,
                list_disagreements: false,
                ..AgreementOptions::default()
            },
        )?;
        let (mut ties, mut ds_pos) = (0, 0);
        for i in 0..n {
            majority_fraction[i * k + j] = mv.probabilities[i * 2 + 1];
            if mv.consensus_label[i] == 1 {
                majority[i].push(j);
            }
            ties += mv.tied[i] as usize;
            let q = ds.posteriors[i * 2 + 1];
            posteriors[i * k + j] = q;
            if q >= 0.5 {
                ds_sets[i].push(j);
                ds_pos += 1;
            }
        }
        // confusion[a][observed][true]
        let sens = (0..m).map(|a| ds.confusion[a * 4 + 2 + 1]).collect();
        let spec = (0..m).map(|a| ds.confusion[a * 4]).collect();
        per_finding.push(FindingConsensus {
            finding: j,
            name: names[j].clone(),
            positive_reads: d.obs.iter().filter(|o| o.2 == 1).count(),
            majority_positives: mv.consensus_label.iter().filter(|&&l| l == 1).count(),
            majority_ties: ties,
            dawid_skene_positives: ds_pos,
            prevalence: ds.priors[1],
            fleiss_kappa: ag.fleiss_kappa,
            krippendorff_alpha: ag.krippendorff_alpha,
            observed_agreement: ag.observed_agreement,
            sensitivity: sens,
            specificity: spec,
            iterations: ds.iterations,
            converged: ds.converged,
        });
    }
    let mut next: Vec<NextRead> = (0..n)
        .map(|i| {
            let row = &posteriors[i * k..(i + 1) * k];
            let keep: f64 = row.iter().map(|&q| q.max(1.0 - q)).product();
            let mut unc: Vec<(f64, usize)> = row
                .iter()
                .enumerate()
                .map(|(j, &q)| (q.min(1.0 - q), j))
                .filter(|&(u, _)| u > o.uncertain_threshold)
                .collect();
            unc.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            NextRead {
                index: i,
                item: sets[0].items[i].clone(),
                score: 1.0 - keep,
                reads: num_reads[i],
                uncertain_findings: unc.into_iter().map(|(_, j)| names[j].clone()).collect(),
            }
        })
        .collect();
    next.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.reads.cmp(&b.reads))
            .then(a.index.cmp(&b.index))
    });
    if let Some(t) = o.top {
        next.truncate(t);
    }
    Ok(MlConsensusResponse {
        items: sets[0].items.clone(),
        annotators: sets[0].annotators.clone(),
        findings: names,
        num_reads,
        majority,
        majority_fraction,
        dawid_skene: ds_sets,
        posteriors,
        per_finding,
        next_reads: next,
    })
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;

    fn read(i: &str, a: &str, f: &[u64]) -> MlRead {
        MlRead {
            item: i.into(),
            annotator: a.into(),
            findings: f.iter().map(|&v| Label::Index(v)).collect(),
        }
    }

    #[test]
    fn small_example() {
        let reads = vec![
            read("x", "r1", &[0, 1]),
            read("x", "r2", &[0]),
            read("x", "r3", &[0, 1]),
            read("y", "r1", &[]),
            read("y", "r2", &[1]),
            read("y", "r3", &[]),
            read("z", "r1", &[2]),
            read("z", "r2", &[]),
        ];
        let r = ml_consensus(&MlConsensusRequest {
            reads,
            findings: None,
            num_findings: None,
            items: None,
            annotators: None,
            options: MlConsensusOptions::default(),
        })
        .unwrap();
        assert_eq!(r.findings, vec!["0", "1", "2"]);
        assert_eq!(r.majority, vec![vec![0, 1], vec![], vec![]]);
        assert_eq!(r.num_reads, vec![3, 3, 2]);
        assert_eq!(r.per_finding[2].majority_ties, 1);
        assert_eq!(r.next_reads.len(), 3);
        let bad = MlConsensusRequest {
            reads: vec![read("x", "r1", &[5])],
            findings: None,
            num_findings: Some(3),
            items: None,
            annotators: None,
            options: MlConsensusOptions::default(),
        };
        assert_eq!(ml_consensus(&bad).unwrap_err().code(), "invalid_input");
    }
}
