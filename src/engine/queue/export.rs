//! Exports a labeler or a training script can import: pseudo-labels (CSV/JSON), Label Studio
//! predictions (JSON), and the triage as a plain table (CSV/JSON).
//!
//! Every export takes a [`TierResponse`] (from `tierItems` or a round plan's `tiers`) plus
//! optional item ids and class names; ids default to the pool index, class names to the
//! class index.
//!
//! **Label Studio.** One task per item, in review order (then the auto-accepted items), with
//! one prediction whose `score` is the review priority (the probability that the item's
//! current label is wrong; auto-accepted items keep theirs, which is small). Label Studio's
//! open-source edition orders the data manager by a column such as "Prediction score":
//! sort it descending to review in our order. The prediction's `result` holds the predicted
//! class as a `choices` region (`fromName`/`toName` of the labeling config), the tier as a
//! second `choices` result (`tierFromName`, default `tier`) and the reasons as a `textarea`
//! result (`reasonsFromName`, default `reasons`); set either name to `null` when the labeling
//! config lacks that control. `data` also carries `medtriage_tier`, `medtriage_priority`,
//! `medtriage_rank` and `medtriage_reasons`, so a config can show them (`$medtriage_reasons`).
//! A matching labeling config (classes filled in):
//!
//! ```xml
//! <View>
//!   <Image name="image" value="$image"/>
//!   <Choices name="choice" toName="image" choice="single"> <Choice value="normal"/> … </Choices>
//!   <Choices name="tier" toName="image" choice="single" readonly="true">
//!     <Choice value="autoAccept"/> <Choice value="lightReview"/> <Choice value="expertReview"/>
//!     <Choice value="suspectedLabelError"/> <Choice value="outlier"/> <Choice value="failed"/>
//!   </Choices>
//!   <TextArea name="reasons" toName="image" editable="false"/>
//! </View>
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::policy::{Tier, TierResponse, TieredItem};
use crate::error::{err, Result};

/// Common inputs of the exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest<O> {
    /// The triage to export.
    pub tiers: TierResponse,
    /// Item ids (file names, URLs…), one per pool index; default: the index.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Class names; default: the class index as text.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// Export options.
    #[serde(default)]
    pub options: O,
}

/// Pseudo-label weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Weight {
    /// The calibrated confidence (default).
    #[default]
    Confidence,
    /// `1 - priority`: the probability that the exported label is right.
    LabelProbability,
    /// 1 for every row.
    One,
}

/// Options of [`pseudo_labels`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PseudoLabelOptions {
    /// Tiers to export (default: auto-accept only).
    pub tiers: Vec<Tier>,
    /// Only rows with calibrated confidence at least this (default 0).
    pub min_confidence: f64,
    /// Weight column.
    pub weight: Weight,
}

impl Default for PseudoLabelOptions {
    fn default() -> Self {
        PseudoLabelOptions {
            tiers: vec![Tier::AutoAccept],
            min_confidence: 0.0,
            weight: Weight::Confidence,
        }
    }
}

/// One pseudo-label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PseudoLabel {
    /// Item id.
    pub id: String,
    /// Pool index.
    pub index: usize,
    /// Class index.
    pub label: usize,
    /// Class name.
    pub class: String,
    /// Training weight.
    pub weight: f64,
    /// Tier it came from.
    pub tier: Tier,
}

/// Pseudo-labels with their CSV rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PseudoLabels {
    /// Rows, in pool order.
    pub rows: Vec<PseudoLabel>,
    /// `id,label,class,weight,tier` with a header.
    pub csv: String,
}

fn names(
    ids: &Option<Vec<String>>,
    classes: &Option<Vec<String>>,
    t: &TierResponse,
) -> Result<(Vec<String>, Vec<String>)> {
    let n = t.items.iter().map(|i| i.index + 1).max().unwrap_or(0);
    let ids = match ids {
        Some(v) if v.len() < n => {
            return Err(err!(
                InvalidInput,
                "ids: {} given, but the triage refers to index {}",
                v.len(),
                n - 1
            ))
        }
        Some(v) => v.clone(),
        None => (0..n).map(|i| i.to_string()).collect(),
    };
    let k = t
        .items
        .iter()
        .flat_map(|i| i.predicted.into_iter().chain(i.label).chain(i.given_label))
        .map(|c| c + 1)
        .max()
        .unwrap_or(0);
    let classes = match classes {
        Some(v) if v.len() < k => {
            return Err(err!(
                InvalidInput,
                "classes: {} given, but the triage refers to class {}",
                v.len(),
                k - 1
            ))
        }
        Some(v) => v.clone(),
        None => (0..k).map(|i| i.to_string()).collect(),
    };
    Ok((ids, classes))
}

/// Quote a CSV field when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Failed => "failed",
        Tier::Outlier => "outlier",
        Tier::SuspectedLabelError => "suspectedLabelError",
        Tier::ExpertReview => "expertReview",
        Tier::AutoAccept => "autoAccept",
        Tier::LightReview => "lightReview",
    }
}

/// Export pseudo-labels for semi-supervised training (JS `exportPseudoLabels`).
pub fn pseudo_labels(req: &ExportRequest<PseudoLabelOptions>) -> Result<PseudoLabels> {
    let o = &req.options;
    if !(0.0..=1.0).contains(&o.min_confidence) {
        return Err(err!(
            InvalidOptions,
            "minConfidence must be in [0, 1], got {}",
            o.min_confidence
        ));
    }
    let (ids, classes) = names(&req.ids, &req.classes, &req.tiers)?;
    let mut rows = Vec::new();
    let mut csv = String::from("id,label,class,weight,tier\n");
    for it in &req.tiers.items {
        if !o.tiers.contains(&it.tier) {
            continue;
        }
        let (Some(label), Some(conf)) = (it.label, it.confidence) else {
            continue;
        };
        if conf < o.min_confidence {
            continue;
        }
        let weight = match o.weight {
            Weight::Confidence => conf,
            Weight::LabelProbability => 1.0 - it.priority.unwrap_or(1.0),
            Weight::One => 1.0,
        };
        let row = PseudoLabel {
            id: ids[it.index].clone(),
            index: it.index,
            label,
            class: classes[label].clone(),
            weight,
            tier: it.tier,
        };
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            csv_field(&row.id),
            row.label,
            csv_field(&row.class),
            row.weight,
            tier_name(row.tier)
        ));
        rows.push(row);
    }
    Ok(PseudoLabels { rows, csv })
}

/// Options of [`label_studio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LabelStudioOptions {
    /// `from_name` of the class `Choices` control (default `"choice"`).
    pub from_name: String,
    /// `to_name`: the image object (default `"image"`).
    pub to_name: String,
    /// Key of the image URL in `data` (default `"image"`).
    pub data_key: String,
    /// Prefix joined to each id to form the URL (default empty: ids are URLs already).
    pub url_prefix: String,
    /// `model_version` of the predictions (default `"medtriage"`).
    pub model_version: String,
    /// `from_name` of a `Choices` control for the tier (default `"tier"`; `null`: not
    /// emitted, for a labeling config without that control).
    pub tier_from_name: Option<String>,
    /// `from_name` of a `TextArea` control for the reasons (default `"reasons"`; `null`: not
    /// emitted).
    pub reasons_from_name: Option<String>,
    /// Leave out auto-accepted items (default false).
    pub skip_auto_accepted: bool,
}

impl Default for LabelStudioOptions {
    fn default() -> Self {
        LabelStudioOptions {
            from_name: "choice".into(),
            to_name: "image".into(),
            data_key: "image".into(),
            url_prefix: String::new(),
            model_version: "medtriage".into(),
            tier_from_name: Some("tier".into()),
            reasons_from_name: Some("reasons".into()),
            skip_auto_accepted: false,
        }
    }
}

fn reasons_text(it: &TieredItem) -> String {
    it.reasons
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Label Studio tasks with predictions (JS `exportLabelStudio`), to import as JSON.
pub fn label_studio(req: &ExportRequest<LabelStudioOptions>) -> Result<Vec<Value>> {
    let o = &req.options;
    let (ids, classes) = names(&req.ids, &req.classes, &req.tiers)?;
    let items = &req.tiers.items;
    let mut pos = std::collections::HashMap::new();
    for (p, it) in items.iter().enumerate() {
        pos.insert(it.index, p);
    }
    let mut order: Vec<usize> = req
        .tiers
        .order
        .iter()
        .filter_map(|i| pos.get(i).copied())
        .collect();
    if !o.skip_auto_accepted {
        let mut acc: Vec<usize> = (0..items.len())
            .filter(|&p| items[p].tier == Tier::AutoAccept)
            .collect();
        acc.sort_by(|&a, &b| {
            let pa = items[a].priority.unwrap_or(0.0);
            let pb = items[b].priority.unwrap_or(0.0);
            pb.total_cmp(&pa).then(a.cmp(&b))
        });
        order.extend(acc);
    }
    let mut tasks = Vec::with_capacity(order.len());
    for (rank, &p) in order.iter().enumerate() {
        let it = &items[p];
        let id = &ids[it.index];
        let mut result = Vec::new();
        if let Some(c) = it.predicted {
            result.push(json!({
                "id": format!("mt-{}-class", it.index),
                "from_name": o.from_name,
                "to_name": o.to_name,
                "type": "choices",
                "value": { "choices": [classes[c]] },
                "score": it.confidence,
            }));
        }
        if let Some(f) = &o.tier_from_name {
            result.push(json!({
                "id": format!("mt-{}-tier", it.index),
                "from_name": f,
                "to_name": o.to_name,
                "type": "choices",
                "value": { "choices": [tier_name(it.tier)] },
            }));
        }
        let reasons = reasons_text(it);
        if let Some(f) = &o.reasons_from_name {
            result.push(json!({
                "id": format!("mt-{}-reasons", it.index),
                "from_name": f,
                "to_name": o.to_name,
                "type": "textarea",
                "value": { "text": [reasons] },
            }));
        }
        let mut data = serde_json::Map::new();
        data.insert(o.data_key.clone(), json!(format!("{}{}", o.url_prefix, id)));
        data.insert("medtriage_id".into(), json!(id));
        data.insert("medtriage_tier".into(), json!(tier_name(it.tier)));
        data.insert("medtriage_priority".into(), json!(it.priority));
        data.insert("medtriage_rank".into(), json!(rank + 1));
        data.insert("medtriage_reasons".into(), json!(reasons));
        if let Some(g) = it.given_label {
            data.insert("medtriage_given_label".into(), json!(classes[g]));
        }
        tasks.push(json!({
            "data": data,
            "predictions": [{
                "model_version": o.model_version,
                "score": it.priority.unwrap_or(1.0),
                "result": result,
            }],
        }));
    }
    Ok(tasks)
}

/// Options of [`tiers_csv`] (none yet; unknown fields rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableOptions {}

/// The triage as a table (JS `exportTiersCsv`): one row per item in review order, then the
/// auto-accepted items; reasons joined with `" | "`.
pub fn tiers_csv(req: &ExportRequest<TableOptions>) -> Result<String> {
    let (ids, classes) = names(&req.ids, &req.classes, &req.tiers)?;
    let items = &req.tiers.items;
    let mut pos = std::collections::HashMap::new();
    for (p, it) in items.iter().enumerate() {
        pos.insert(it.index, p);
    }
    let mut seen = vec![false; items.len()];
    let mut order: Vec<usize> = Vec::with_capacity(items.len());
    for i in &req.tiers.order {
        if let Some(&p) = pos.get(i) {
            if !seen[p] {
                seen[p] = true;
                order.push(p);
            }
        }
    }
    order.extend((0..items.len()).filter(|&p| !seen[p]));
    let mut out = String::from(
        "rank,id,index,tier,priority,predicted,confidence,given_label,set_size,reasons\n",
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (rank, &p) in order.iter().enumerate() {
        let it = &items[p];
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            rank + 1,
            csv_field(&ids[it.index]),
            it.index,
            tier_name(it.tier),
            opt(it.priority),
            it.predicted
                .map(|c| csv_field(&classes[c]))
                .unwrap_or_default(),
            opt(it.confidence),
            it.given_label
                .map(|c| csv_field(&classes[c]))
                .unwrap_or_default(),
            it.conformal_set
                .as_ref()
                .map(|s| s.len().to_string())
                .unwrap_or_default(),
            csv_field(
                &it.reasons
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        ));
    }
    Ok(out)
}
