//! Exports of a multi-label triage, and Label Studio's multi-choice annotations read back.
//!
//! - **Pseudo-labels** ([`pseudo_labels_ml`]): one row per exported image with its findings
//!   (the ones it ends with) as a 0/1 target per finding and **a weight per finding**:
//!   `confidence` (default) the calibrated `max(p_j, 1 - p_j)` of the model's decision,
//!   `labelProbability` the probability that the exported label of finding `j` is right
//!   (`1 - findingPriority[j]`), or `one`. The CSV has the columns `id,labels,tier`, then
//!   one 0/1 column per finding, then `weight_<finding>` per finding.
//! - **Label Studio** ([`label_studio_ml`]): the tasks of [`super::export::label_studio`]
//!   (same order and strictly increasing scores, same `data` fields) for a labeling config
//!   made with `multiple: true` (`choice="multiple"`): the prediction preselects every
//!   finding the image ends with (or the `noFinding` choice when it has none), and the
//!   reasons name the findings. `data.medtriage_findings` lists each finding's calibrated
//!   probability.
//! - **Read back** ([`read_label_studio_ml`]): the three export shapes of
//!   [`super::labelstudio`], each annotation's choices mapped to findings (the `noFinding`
//!   choice alone = no finding; together with a finding, or an unknown choice, is an
//!   `invalid_input` naming the task). Several annotators on one task: per-finding majority
//!   vote (a tie reads "absent" and is listed) or Dawid-Skene per finding
//!   ([`crate::engine::multilabel::consensus`]). The decisions are `reviewed` for
//!   `planRoundMultiLabel`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::export::{
    check_min_confidence, csv_field, export_order, item_ids, label_studio_tasks, Exported,
    LabelStudioOptions, Weight,
};
use super::labelstudio::{gather, ConsensusMethod, Kept, NO_FINDING};
use super::ml_policy::{MlTierResponse, MlTieredItem};
use super::ml_rounds::MlReviewOutcome;
use super::policy::Tier;
use crate::engine::consensus::Label;
use crate::engine::multilabel::consensus::{ml_consensus, MlConsensusRequest, MlRead};
use crate::error::{err, Result};

/// Common inputs of the multi-label exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(
    feature = "typescript",
    schemars(
        rename = "MlExportRequest<{O}>",
        bound = "O: schemars::JsonSchema + Default + Serialize"
    )
)]
pub struct MlExportRequest<O> {
    /// The triage to export (its `findings` name the findings).
    pub tiers: MlTierResponse,
    /// Item ids, one per pool index; default: the index.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Export options.
    #[serde(default)]
    pub options: O,
}

/// Options of [`pseudo_labels_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MlPseudoLabelOptions {
    /// Tiers to export (default: auto-accept only).
    pub tiers: Vec<Tier>,
    /// Only images whose least confident finding has at least this calibrated confidence
    /// (default 0).
    pub min_confidence: f64,
    /// Weight per finding.
    pub weight: Weight,
}

impl Default for MlPseudoLabelOptions {
    fn default() -> Self {
        MlPseudoLabelOptions {
            tiers: vec![Tier::AutoAccept],
            min_confidence: 0.0,
            weight: Weight::Confidence,
        }
    }
}

/// One multi-label pseudo-label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlPseudoLabel {
    /// Item id.
    pub id: String,
    /// Pool index.
    pub index: usize,
    /// Findings present (indices).
    pub labels: Vec<usize>,
    /// Their names.
    pub findings: Vec<String>,
    /// 0/1 per finding.
    pub targets: Vec<u8>,
    /// Training weight per finding.
    pub weights: Vec<f64>,
    /// Tier it came from.
    pub tier: Tier,
}

/// Pseudo-labels with their CSV rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlPseudoLabels {
    /// Rows, in pool order.
    pub rows: Vec<MlPseudoLabel>,
    /// The CSV (module docs).
    pub csv: String,
}

impl Exported for MlTieredItem {
    fn index(&self) -> usize {
        self.index
    }
    fn tier(&self) -> Tier {
        self.tier
    }
    fn priority(&self) -> Option<f64> {
        self.priority
    }
}

/// A triage read back from a host: every finding index below the number of findings, every
/// per-finding vector `k` long (a hand-edited or hostile triage fails here, not by a panic).
fn check_triage(t: &MlTierResponse) -> Result<()> {
    let k = t.findings.len();
    for it in &t.items {
        let lists = [&it.predicted, &it.given_labels, &it.labels, &it.undecided];
        let bad_index = lists
            .iter()
            .any(|l| l.as_ref().is_some_and(|v| v.iter().any(|&j| j >= k)));
        let bad_len = [&it.probabilities, &it.finding_priority]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.len() != k));
        if bad_index || bad_len {
            return Err(err!(
                InvalidInput,
                "tiers: image {} refers to findings beyond the {k} named in `findings`",
                it.index
            ));
        }
    }
    Ok(())
}

fn weights(it: &MlTieredItem, w: Weight, k: usize) -> Vec<f64> {
    let p = it.probabilities.as_deref().unwrap_or(&[]);
    let fp = it.finding_priority.as_deref().unwrap_or(&[]);
    (0..k)
        .map(|j| match w {
            Weight::Confidence => p.get(j).map_or(0.0, |&v| v.max(1.0 - v)),
            Weight::LabelProbability => 1.0 - fp.get(j).copied().unwrap_or(1.0),
            Weight::One => 1.0,
        })
        .collect()
}

fn csv_header(names: &[String]) -> String {
    let mut h = vec!["id".to_string(), "labels".into(), "tier".into()];
    h.extend(names.iter().map(|n| csv_field(n)));
    h.extend(names.iter().map(|n| csv_field(&format!("weight_{n}"))));
    h.join(",") + "\n"
}

fn csv_row(r: &MlPseudoLabel) -> String {
    let mut c = vec![
        csv_field(&r.id),
        csv_field(&r.findings.join("|")),
        r.tier.name().into(),
    ];
    c.extend(r.targets.iter().map(u8::to_string));
    c.extend(r.weights.iter().map(f64::to_string));
    c.join(",") + "\n"
}

/// Export multi-label pseudo-labels with a weight per finding (JS
/// `exportPseudoLabelsMultiLabel`).
pub fn pseudo_labels_ml(req: &MlExportRequest<MlPseudoLabelOptions>) -> Result<MlPseudoLabels> {
    let o = &req.options;
    check_min_confidence(o.min_confidence)?;
    check_triage(&req.tiers)?;
    let ids = item_ids(&req.ids, &req.tiers.items)?;
    let names = &req.tiers.findings;
    let k = names.len();
    let mut rows = Vec::new();
    let mut csv = csv_header(names);
    for it in &req.tiers.items {
        let (Some(labels), Some(conf)) = (&it.labels, it.confidence) else {
            continue;
        };
        if !o.tiers.contains(&it.tier) || conf < o.min_confidence {
            continue;
        }
        let row = MlPseudoLabel {
            id: ids[it.index].clone(),
            index: it.index,
            findings: labels.iter().map(|&j| names[j].clone()).collect(),
            targets: (0..k).map(|j| labels.contains(&j) as u8).collect(),
            weights: weights(it, o.weight, k),
            labels: labels.clone(),
            tier: it.tier,
        };
        csv.push_str(&csv_row(&row));
        rows.push(row);
    }
    Ok(MlPseudoLabels { rows, csv })
}

/// Every reason's sentence, joined by spaces (they name the findings already).
pub fn reasons_text_ml(it: &MlTieredItem) -> String {
    it.reasons
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn named(l: &Option<Vec<usize>>, names: &[String]) -> Option<String> {
    l.as_ref().map(|v| {
        v.iter()
            .map(|&j| names[j].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The multi-label fields of a task's `data`: the findings predicted and given, and each
/// finding's calibrated probability.
fn finding_data(it: &MlTieredItem, names: &[String], d: &mut serde_json::Map<String, Value>) {
    if let Some(p) = named(&it.predicted, names) {
        d.insert("medtriage_predicted".into(), json!(p));
    }
    if let Some(g) = named(&it.given_labels, names) {
        d.insert("medtriage_given_label".into(), json!(g));
    }
    if let Some(p) = &it.probabilities {
        let f: Vec<String> = p
            .iter()
            .zip(names)
            .map(|(v, n)| format!("{n} {v:.3}"))
            .collect();
        d.insert("medtriage_findings".into(), json!(f.join(", ")));
    }
}

/// Label Studio tasks with multi-choice predictions (JS `exportLabelStudioMultiLabel`).
pub fn label_studio_ml(req: &MlExportRequest<LabelStudioOptions>) -> Result<Vec<Value>> {
    let o = &req.options;
    check_triage(&req.tiers)?;
    let ids = item_ids(&req.ids, &req.tiers.items)?;
    let (items, names) = (&req.tiers.items, &req.tiers.findings);
    if names.contains(&o.no_finding) {
        return Err(err!(
            InvalidOptions,
            "noFinding {:?} is the name of a finding",
            o.no_finding
        ));
    }
    let order = export_order(&req.tiers.order, items, o.skip_auto_accepted);
    Ok(label_studio_tasks(
        items,
        &order,
        &ids,
        o,
        reasons_text_ml,
        |it| {
            it.labels.as_ref().map(|labels| {
                let mut choices: Vec<&str> = labels.iter().map(|&j| names[j].as_str()).collect();
                if choices.is_empty() {
                    choices.push(&o.no_finding);
                }
                ("findings", json!(choices), it.confidence)
            })
        },
        |it, d| finding_data(it, names, d),
    ))
}

/// Options of [`read_label_studio_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReadLabelStudioMlOptions {
    /// Name of the findings `Choices` control (default `"choice"`).
    pub from_name: String,
    /// Consensus over several annotators, per finding (default majority).
    pub consensus: ConsensusMethod,
    /// The "no finding" choice (default `"No finding"`).
    pub no_finding: String,
}

impl Default for ReadLabelStudioMlOptions {
    fn default() -> Self {
        ReadLabelStudioMlOptions {
            from_name: "choice".into(),
            consensus: ConsensusMethod::Majority,
            no_finding: NO_FINDING.into(),
        }
    }
}

/// Request of [`read_label_studio_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadLabelStudioMlRequest {
    /// What Label Studio returned (JSON, JSON-MIN, or the API's tasks).
    pub export: Value,
    /// Finding names in index order (the manifest's `output.classes`).
    pub findings: Vec<String>,
    /// The ids the tasks were exported with (checks `medtriage_id`).
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Pool size (default `ids.len()`).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: Option<usize>,
    /// Options.
    #[serde(default)]
    pub options: ReadLabelStudioMlOptions,
}

/// One multi-label annotation read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlReadAnnotation {
    /// Pool index.
    pub index: usize,
    /// Label Studio's task id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<i64>,
    /// The annotator.
    pub annotator: String,
    /// The findings chosen (`[]`: "no finding").
    pub findings: Vec<usize>,
}

/// A task whose annotators tied on some findings (read as absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlReadTie {
    /// Pool index.
    pub index: usize,
    /// The tied findings.
    pub findings: Vec<usize>,
}

/// Response of [`read_label_studio_ml`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlLabelStudioReviews {
    /// One decision per task with at least one annotation, in pool-index order.
    pub reviewed: Vec<MlReviewOutcome>,
    /// Every annotation that counted.
    pub annotations: Vec<MlReadAnnotation>,
    /// Tasks in the input.
    pub tasks: usize,
    /// Tasks with a decision.
    pub decided: usize,
    /// Annotations read.
    pub annotations_read: usize,
    /// Cancelled (skipped) annotations.
    pub skipped: usize,
    /// Annotations without a choice of the findings control.
    pub without_choice: usize,
    /// Annotations replaced by a later one of the same annotator on the same task.
    pub superseded: usize,
    /// Tasks with more than one annotator.
    pub multi_annotator_tasks: usize,
    /// Tasks whose annotators chose different findings.
    pub disagreements: usize,
    /// Majority ties per task.
    pub ties: Vec<MlReadTie>,
    /// Distinct annotators.
    pub annotators: Vec<String>,
}

fn findings_of(a: &Kept, index: &HashMap<&str, usize>, no_finding: &str) -> Result<Vec<usize>> {
    if a.choice.iter().any(|c| c == no_finding) {
        if a.choice.len() > 1 {
            return Err(err!(
                InvalidInput,
                "{}: annotator {} chose {no_finding:?} together with findings {:?}",
                a.at,
                a.annotator,
                a.choice
            ));
        }
        return Ok(Vec::new());
    }
    let mut f = a
        .choice
        .iter()
        .map(|c| {
            index.get(c.as_str()).copied().ok_or_else(|| {
                err!(
                    InvalidInput,
                    "{}: the choice {c:?} is not one of the {} findings (is the labeling config the one made from this manifest?)",
                    a.at,
                    index.len()
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    f.sort_unstable();
    f.dedup();
    Ok(f)
}

/// Per-task decisions: per-finding majority or Dawid-Skene over the annotators.
fn decisions(
    ann: &[MlReadAnnotation],
    k: usize,
    method: ConsensusMethod,
) -> Result<(Vec<MlReviewOutcome>, Vec<MlReadTie>)> {
    let mut items: Vec<usize> = ann.iter().map(|a| a.index).collect();
    items.sort_unstable();
    items.dedup();
    let reads = ann
        .iter()
        .map(|a| MlRead {
            item: a.index.to_string(),
            annotator: a.annotator.clone(),
            findings: a.findings.iter().map(|&j| Label::Index(j as u64)).collect(),
        })
        .collect();
    let r = ml_consensus(&MlConsensusRequest {
        reads,
        findings: None,
        num_findings: Some(k),
        items: Some(items.iter().map(usize::to_string).collect()),
        annotators: None,
        options: Default::default(),
    })?;
    let chosen = match method {
        ConsensusMethod::Majority => r.majority,
        ConsensusMethod::DawidSkene => r.dawid_skene,
    };
    let ties = items
        .iter()
        .enumerate()
        .filter_map(|(row, &index)| {
            let f: Vec<usize> = (0..k)
                .filter(|&j| r.num_reads[row] > 1 && r.majority_fraction[row * k + j] == 0.5)
                .collect();
            (!f.is_empty()).then_some(MlReadTie { index, findings: f })
        })
        .collect();
    let reviewed = items
        .into_iter()
        .zip(chosen)
        .map(|(index, findings)| MlReviewOutcome { index, findings })
        .collect();
    Ok((reviewed, ties))
}

/// Read Label Studio's multi-choice annotations back into review decisions (JS
/// `readLabelStudioMultiLabel`, CLI `queue read-label-studio --multi-label`).
pub fn read_label_studio_ml(req: &ReadLabelStudioMlRequest) -> Result<MlLabelStudioReviews> {
    let k = req.findings.len();
    let index: HashMap<&str, usize> = req
        .findings
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    if k == 0 || index.len() != k {
        return Err(err!(
            InvalidInput,
            "findings: at least one, each named once"
        ));
    }
    let n = req.n.or(req.ids.as_ref().map(Vec::len));
    let o = &req.options;
    let g = gather(&req.export, &o.from_name, req.ids.as_deref(), n)?;
    let annotations = g
        .kept
        .iter()
        .map(|a| {
            Ok(MlReadAnnotation {
                index: a.index,
                task: a.task,
                annotator: a.annotator.clone(),
                findings: findings_of(a, &index, &o.no_finding)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut per: HashMap<usize, Vec<&[usize]>> = HashMap::new();
    let mut annotators: Vec<String> = Vec::new();
    for a in &annotations {
        per.entry(a.index).or_default().push(&a.findings);
        if !annotators.contains(&a.annotator) {
            annotators.push(a.annotator.clone());
        }
    }
    let (reviewed, ties) = match annotations.is_empty() {
        true => (Vec::new(), Vec::new()),
        false => decisions(&annotations, k, o.consensus)?,
    };
    Ok(MlLabelStudioReviews {
        decided: reviewed.len(),
        multi_annotator_tasks: per.values().filter(|v| v.len() > 1).count(),
        disagreements: per
            .values()
            .filter(|v| v.iter().any(|f| *f != v[0]))
            .count(),
        reviewed,
        ties,
        annotators,
        annotations,
        tasks: g.tasks,
        annotations_read: g.annotations_read,
        skipped: g.skipped,
        without_choice: g.without_choice,
        superseded: g.superseded,
    })
}
