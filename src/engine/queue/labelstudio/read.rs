//! Single-label annotations read back into review decisions: request and response types,
//! class choices and the consensus per task.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::consensus::data::{Annotation, ConsensusRequest, Label};
use crate::engine::consensus::dawid_skene::{dawid_skene, DawidSkeneOptions};
use crate::engine::consensus::majority::majority_vote;
use crate::engine::queue::rounds::ReviewOutcome;
use crate::error::{err, Result};

use super::*;

/// How several annotators' choices on one task become its decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ConsensusMethod {
    /// Majority vote, ties to the lowest class index (default).
    #[default]
    Majority,
    /// Dawid-Skene (annotator confusion matrices, EM).
    DawidSkene,
}

/// Options of [`read_label_studio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReadLabelStudioOptions {
    /// Name of the class `Choices` control (default `"choice"`).
    pub from_name: String,
    /// Consensus over several annotators (default `majority`).
    pub consensus: ConsensusMethod,
}

impl Default for ReadLabelStudioOptions {
    fn default() -> Self {
        ReadLabelStudioOptions {
            from_name: "choice".into(),
            consensus: ConsensusMethod::Majority,
        }
    }
}

/// Request of [`read_label_studio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadLabelStudioRequest {
    /// What Label Studio returned: the JSON or JSON-MIN export, or the API's tasks.
    pub export: Value,
    /// Class names in class-index order (the manifest's).
    pub classes: Vec<String>,
    /// The ids the tasks were exported with, one per pool index (checks `medtriage_id`).
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Pool size (checks the indices; default: `ids.len()` when given).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: Option<usize>,
    /// Options.
    #[serde(default)]
    pub options: ReadLabelStudioOptions,
}

/// One annotation read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadAnnotation {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Label Studio's task id (when the export has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<i64>,
    /// The annotator (Label Studio user id or e-mail, as the export gives it).
    pub annotator: String,
    /// The class chosen.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// A task whose annotators tied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadTie {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The tied classes (the first one was chosen).
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub candidates: Vec<usize>,
}

/// Response of [`read_label_studio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LabelStudioReviews {
    /// One decision per task with at least one choice (the consensus when several
    /// annotators chose), in the order the tasks came: `planRound`'s `reviewed`.
    pub reviewed: Vec<ReviewOutcome>,
    /// Every annotation that counted (after dropping superseded ones).
    pub annotations: Vec<ReadAnnotation>,
    /// Tasks in the input.
    pub tasks: usize,
    /// Tasks with a decision.
    pub decided: usize,
    /// Annotations read (submitted, skipped and without choice alike).
    pub annotations_read: usize,
    /// Cancelled (skipped) annotations.
    pub skipped: usize,
    /// Annotations without a choice of the class control.
    pub without_choice: usize,
    /// Annotations replaced by a later one of the same annotator on the same task.
    pub superseded: usize,
    /// Tasks with annotations from more than one annotator.
    pub multi_annotator_tasks: usize,
    /// Tasks whose annotators disagreed.
    pub disagreements: usize,
    /// Tasks whose vote was tied.
    pub ties: Vec<ReadTie>,
    /// Distinct annotators.
    pub annotators: Vec<String>,
}

/// Read Label Studio's annotations back into review decisions (JS `readLabelStudio`, CLI
/// `queue read-label-studio` and `queue plan --reviewed-label-studio`).
pub fn read_label_studio(req: &ReadLabelStudioRequest) -> Result<LabelStudioReviews> {
    let from = req.options.from_name.as_str();
    let class_of = class_index(&req.classes)?;
    let n = req.n.or(req.ids.as_ref().map(Vec::len));
    let g = gather(&req.export, from, req.ids.as_deref(), n)?;
    let annotations = single_choice_annotations(&g.kept, &class_of)?;
    let mut annotators: Vec<String> = Vec::new();
    let mut per_item: HashMap<usize, Vec<usize>> = HashMap::new();
    for a in &annotations {
        per_item.entry(a.index).or_default().push(a.label);
        if !annotators.contains(&a.annotator) {
            annotators.push(a.annotator.clone());
        }
    }
    let multi_annotator_tasks = per_item.values().filter(|v| v.len() > 1).count();
    let disagreements = per_item
        .values()
        .filter(|v| v.iter().any(|&l| l != v[0]))
        .count();
    let (reviewed, ties) = if annotations.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        consensus_per_task(&annotations, class_of.len(), req.options.consensus)?
    };
    Ok(LabelStudioReviews {
        decided: reviewed.len(),
        reviewed,
        annotations,
        tasks: g.tasks,
        annotations_read: g.annotations_read,
        skipped: g.skipped,
        without_choice: g.without_choice,
        superseded: g.superseded,
        multi_annotator_tasks,
        disagreements,
        ties,
        annotators,
    })
}

/// Each class name's index; at least one class, none listed twice.
pub(super) fn class_index(classes: &[String]) -> Result<HashMap<&str, usize>> {
    let k = classes.len();
    if k == 0 {
        return Err(err!(InvalidInput, "classes: at least one class is needed"));
    }
    let class_of: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    if class_of.len() != k {
        return Err(err!(InvalidInput, "classes: a class name is listed twice"));
    }
    Ok(class_of)
}

/// The kept annotations as class indices: one choice each, and a known class.
pub(super) fn single_choice_annotations(
    kept: &[Kept],
    class_of: &HashMap<&str, usize>,
) -> Result<Vec<ReadAnnotation>> {
    let k = class_of.len();
    let mut annotations = Vec::with_capacity(kept.len());
    for a in kept {
        let (at, choice) = (&a.at, &a.choice);
        if choice.len() > 1 {
            return Err(err!(
                InvalidInput,
                "{at}: annotator {} chose {} classes {:?}; the class control must be single-choice",
                a.annotator,
                choice.len(),
                choice
            ));
        }
        let label = match class_of.get(choice[0].as_str()) {
            Some(&c) => c,
            None => {
                return Err(err!(
                    InvalidInput,
                    "{at}: the choice {:?} is not one of the {k} classes (is the labeling config the one made from this manifest?)",
                    choice[0]
                ))
            }
        };
        annotations.push(ReadAnnotation {
            index: a.index,
            task: a.task,
            annotator: a.annotator.clone(),
            label,
        });
    }
    Ok(annotations)
}

/// One decision per task by the chosen consensus method (majority vote or Dawid-Skene), and
/// the tasks whose vote was tied.
pub(super) fn consensus_per_task(
    annotations: &[ReadAnnotation],
    k: usize,
    method: ConsensusMethod,
) -> Result<(Vec<ReviewOutcome>, Vec<ReadTie>)> {
    let mut reviewed = Vec::new();
    let mut ties = Vec::new();
    let req_c = ConsensusRequest {
        num_classes: Some(k),
        ..ConsensusRequest::new(
            annotations
                .iter()
                .map(|a| Annotation {
                    item: a.index.to_string(),
                    annotator: a.annotator.clone(),
                    label: Label::Index(a.label as u64),
                })
                .collect(),
        )
    };
    let (items, labels, tied): (Vec<String>, Vec<usize>, Vec<Vec<usize>>) = match method {
        ConsensusMethod::Majority => {
            let r = majority_vote(&req_c)?;
            let mut tied = vec![Vec::new(); r.items.len()];
            for t in r.ties {
                tied[t.index] = t.candidates;
            }
            (r.items, r.consensus_label, tied)
        }
        ConsensusMethod::DawidSkene => {
            let r = dawid_skene(&ConsensusRequest {
                annotations: req_c.annotations,
                classes: None,
                num_classes: Some(k),
                items: None,
                annotators: None,
                pred_probs: None,
                pred_probs_unlabeled: None,
                unlabeled_items: None,
                options: DawidSkeneOptions::default(),
            })?;
            let tied = r
                .tied
                .iter()
                .zip(&r.consensus_label)
                .map(|(&t, &l)| if t { vec![l] } else { Vec::new() })
                .collect();
            (r.items, r.consensus_label, tied)
        }
    };
    for ((item, label), cands) in items.iter().zip(labels).zip(tied) {
        let index: usize = item
            .parse()
            .map_err(|_| err!(InvalidInput, "internal: item id {item}"))?;
        if !cands.is_empty() {
            ties.push(ReadTie {
                index,
                candidates: cands,
            });
        }
        reviewed.push(ReviewOutcome { index, label });
    }
    Ok((reviewed, ties))
}
