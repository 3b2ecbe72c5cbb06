//! Exports a labeler or a training script can import: pseudo-labels (CSV/JSON), Label Studio
//! predictions (JSON), and the triage as a plain table (CSV/JSON).
//!
//! Every export takes a [`TierResponse`] (from `tierItems` or a round plan's `tiers`) plus
//! optional item ids and class names; ids default to the pool index, class names to the
//! class index.
//!
//! **Label Studio.** One task per item, in review order (then the auto-accepted items), with
//! one prediction. **The prediction's `score` is how sure medtriage is that the task's current
//! label is right**: `1 - priority` (the probability that the label is right), lowered where
//! needed so that it is strictly increasing along the exported order. Low = review first,
//! auto-accepted items highest. Label Studio reads `score` as model confidence, so both of its
//! own orderings follow ours: the data manager sorted by "Prediction score" ascending, and the
//! labeling stream under "Uncertainty sampling" (lowest score first; the project's
//! `model_version` must be the prediction's, default `medtriage`). The lowering only touches
//! review items whose label the model is sure of but that are reviewed for another reason (an
//! outlier, an annotator conflict) and failed items (no probability): each gets the next
//! representable number below the task after it, so a score never overstates the confidence
//! and never ties. `data` keeps the policy's own numbers for sorting and filtering columns:
//! `medtriage_tier`, `medtriage_priority` (probability the label is wrong), `medtriage_rank`
//! (1 = first), `medtriage_index` (pool index: how annotations are read back, see
//! [`super::labelstudio`]), `medtriage_id`, `medtriage_predicted`, `medtriage_given_label`
//! and `medtriage_reasons`.
//!
//! Reasons name classes by their names ("the model predicts horse, the given label is bird"),
//! both in `data.medtriage_reasons` and in the prediction. The prediction's `result` holds the
//! predicted class as a `choices` region (`fromName`/`toName` of the labeling config), the
//! tier as a second `choices` result (`tierFromName`, default `tier`) and the reasons as a
//! `textarea` result (`reasonsFromName`, default `reasons`); set either name to `null` when
//! the labeling config lacks that control. [`super::labelstudio::label_config`] writes the
//! matching labeling config from the class names; for ten digit classes it is, in short:
//!
//! ```xml
//! <View>
//!   <Image name="image" value="$image"/>
//!   <Header value="$medtriage_tier, rank $medtriage_rank"/>
//!   <Choices name="choice" toName="image" choice="single" showInline="true">
//!     <Choice value="0" hotkey="1"/> … </Choices>
//!   <Choices name="tier" toName="image" choice="single" readonly="true">
//!     <Choice value="autoAccept"/> <Choice value="lightReview"/> <Choice value="expertReview"/>
//!     <Choice value="suspectedLabelError"/> <Choice value="outlier"/> <Choice value="failed"/>
//!   </Choices>
//!   <TextArea name="reasons" toName="image" editable="false"/>
//! </View>
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::policy::{Signal, Tier, TierResponse, TieredItem};
use crate::error::{err, Result};

/// Common inputs of the exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(
    feature = "typescript",
    schemars(
        rename = "ExportRequest<{O}>",
        bound = "O: schemars::JsonSchema + Default + Serialize"
    )
)]
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
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PseudoLabel {
    /// Item id.
    pub id: String,
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Class index.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
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
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PseudoLabels {
    /// Rows, in pool order.
    pub rows: Vec<PseudoLabel>,
    /// `id,label,class,weight,tier` with a header.
    pub csv: String,
}

/// What every export reads of a triaged item, single- or multi-label.
pub(crate) trait Exported {
    /// Pool index.
    fn index(&self) -> usize;
    /// Its tier.
    fn tier(&self) -> Tier;
    /// Probability that its label is wrong (none for a failed item).
    fn priority(&self) -> Option<f64>;
}

impl Exported for TieredItem {
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

/// Item ids by pool index: the given list, or each index the triage holds as text (never a
/// list as long as the largest index: a hostile triage may name index 10^8).
pub(crate) enum Ids {
    Given(Vec<String>),
    Indices(std::collections::HashMap<usize, String>),
}

impl std::ops::Index<usize> for Ids {
    type Output = String;
    fn index(&self, i: usize) -> &String {
        match self {
            Ids::Given(v) => &v[i],
            Ids::Indices(m) => &m[&i],
        }
    }
}

/// The ids of a triage's items: the given list, checked to cover every index the triage
/// holds, or the indices as text.
pub(crate) fn item_ids<I: Exported>(ids: &Option<Vec<String>>, items: &[I]) -> Result<Ids> {
    let n = items
        .iter()
        .map(|i| i.index().saturating_add(1))
        .max()
        .unwrap_or(0);
    Ok(match ids {
        Some(v) if v.len() < n => {
            return Err(err!(
                InvalidInput,
                "ids: {} given, but the triage refers to index {}",
                v.len(),
                n - 1
            ))
        }
        Some(v) => Ids::Given(v.clone()),
        None => Ids::Indices(
            items
                .iter()
                .map(|i| (i.index(), i.index().to_string()))
                .collect(),
        ),
    })
}

/// Item ids and class names of a single-label triage (class names checked to cover every
/// class the triage names; default: the class index as text).
fn names(
    ids: &Option<Vec<String>>,
    classes: &Option<Vec<String>>,
    t: &TierResponse,
) -> Result<(Ids, Vec<String>)> {
    let ids = item_ids(ids, &t.items)?;
    let k = t
        .items
        .iter()
        .flat_map(|i| i.predicted.into_iter().chain(i.label).chain(i.given_label))
        .map(|c| c.saturating_add(1))
        .max()
        .unwrap_or(0);
    crate::engine::limits::classes(k as u64)?;
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

/// `minConfidence` of a pseudo-label export: in `[0, 1]`.
pub(crate) fn check_min_confidence(v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(err!(
            InvalidOptions,
            "minConfidence must be in [0, 1], got {v}"
        ))
    }
}

/// Export pseudo-labels for semi-supervised training (JS `exportPseudoLabels`).
pub fn pseudo_labels(req: &ExportRequest<PseudoLabelOptions>) -> Result<PseudoLabels> {
    let o = &req.options;
    check_min_confidence(o.min_confidence)?;
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
            row.tier.name()
        ));
        rows.push(row);
    }
    Ok(PseudoLabels { rows, csv })
}

/// Options of [`label_studio`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
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
    /// Multi-label exports only: the choice that stands for "no finding" (default
    /// `"No finding"`, as in the multi-label labeling config).
    pub no_finding: String,
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
            no_finding: super::labelstudio::NO_FINDING.into(),
        }
    }
}

/// A reason's sentence with class names in place of class indices. The policy writes its
/// sentences with indices (it knows no names); the ones that mention a class are written again
/// here from the reason's numbers and the item's prediction and given label. A sentence whose
/// shape is not the expected one is kept as it is.
pub fn reason_message(it: &TieredItem, r: &super::policy::Reason, classes: &[String]) -> String {
    let name = |c: usize| classes.get(c).cloned().unwrap_or_else(|| c.to_string());
    let (pred, given) = (it.predicted.map(name), it.given_label.map(name));
    match (r.signal, r.comparison.as_deref(), pred, given) {
        (Signal::LabelAgreement, Some("!="), Some(p), Some(g)) => {
            format!("The model predicts {p}, the given label is {g}.")
        }
        (Signal::LabelAgreement, Some("=="), _, Some(g)) => {
            format!("The model's prediction agrees with the given label {g}.")
        }
        (Signal::LabelAgreement, Some(">="), Some(p), Some(g)) => match (r.value, r.threshold) {
            (Some(conf), Some(th)) => format!(
                "The model predicts {p} with confidence {conf:.4} (at least the auto-accept threshold {th:.4}), but the given label is {g}."
            ),
            _ => r.message.clone(),
        },
        (Signal::LabelIssue, _, Some(p), Some(g)) => match (r.value, it.confidence) {
            (Some(v), Some(conf)) => format!(
                "Confident learning flags the given label {g}: the model gives it {v:.3} and predicts {p} ({conf:.3})."
            ),
            _ => r.message.clone(),
        },
        (Signal::DuplicateConflict, _, _, Some(g)) => {
            // "Near-duplicate of verified item {j}, whose label is {vl}, not {g}."
            let m = &r.message;
            let vl = m
                .find("whose label is ")
                .map(|a| &m[a + "whose label is ".len()..])
                .and_then(|rest| rest.split(',').next())
                .and_then(|v| v.trim().parse::<usize>().ok());
            match (vl, r.value) {
                (Some(vl), Some(j)) => format!(
                    "Near-duplicate of verified item {}, whose label is {}, not {g}.",
                    j as usize,
                    name(vl)
                ),
                _ => r.message.clone(),
            }
        }
        (Signal::ConformalSetSize, _, _, _) => match &it.conformal_set {
            Some(set) if !set.is_empty() => {
                let named: Vec<String> = set.iter().map(|&c| name(c)).collect();
                r.message
                    .replace(&format!("{set:?}"), &format!("[{}]", named.join(", ")))
            }
            _ => r.message.clone(),
        },
        _ => r.message.clone(),
    }
}

/// Every reason's sentence (class names in), joined by spaces.
pub fn reasons_text(it: &TieredItem, classes: &[String]) -> String {
    it.reasons
        .iter()
        .map(|r| reason_message(it, r, classes))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Label Studio scores of tasks in export order (see the module docs): `base[j]` is
/// `1 - priority` (`None` for a failed item), the result is strictly increasing, in `[0, 1]`,
/// and never above `base[j]`, except where it must rise from 0 to stay strictly increasing.
pub fn label_studio_scores(base: &[Option<f64>]) -> Vec<f64> {
    let mut s: Vec<f64> = base
        .iter()
        .map(|b| b.filter(|v| v.is_finite()).unwrap_or(1.0).clamp(0.0, 1.0))
        .collect();
    for j in (0..s.len().saturating_sub(1)).rev() {
        let cap = s[j + 1].next_down();
        if s[j] > cap {
            s[j] = cap;
        }
    }
    // only when many ties sit at 0: lift them back into [0, 1], still strictly increasing
    for j in 0..s.len() {
        let floor = if j == 0 { 0.0 } else { s[j - 1].next_up() };
        if s[j] < floor {
            s[j] = floor;
        }
    }
    s
}

/// Export order of the Label Studio tasks: the review order, then (unless skipped) the
/// auto-accepted items, least likely right first; positions into `items`.
pub(crate) fn export_order<I: Exported>(
    order: &[usize],
    items: &[I],
    skip_auto: bool,
) -> Vec<usize> {
    let pos: std::collections::HashMap<usize, usize> = items
        .iter()
        .enumerate()
        .map(|(p, it)| (it.index(), p))
        .collect();
    let mut out: Vec<usize> = order.iter().filter_map(|i| pos.get(i).copied()).collect();
    if !skip_auto {
        let mut acc: Vec<usize> = (0..items.len())
            .filter(|&p| items[p].tier() == Tier::AutoAccept)
            .collect();
        let pr = |p: usize| items[p].priority().unwrap_or(0.0);
        acc.sort_by(|&a, &b| pr(b).total_cmp(&pr(a)).then(a.cmp(&b)));
        out.extend(acc);
    }
    out
}

/// The tasks of `order` (positions into `items`) as Label Studio imports them: each item's
/// `data` (the shared `medtriage_*` fields plus what `extra_data` adds) and one prediction
/// whose `score` is strictly increasing along the order (module docs). `label` gives the
/// item's label as a `choices` result (its value and confidence), when it has one.
pub(crate) fn label_studio_tasks<I: Exported>(
    items: &[I],
    order: &[usize],
    ids: &Ids,
    o: &LabelStudioOptions,
    reasons: impl Fn(&I) -> String,
    label: impl Fn(&I) -> Option<(&'static str, Value, Option<f64>)>,
    extra_data: impl Fn(&I, &mut serde_json::Map<String, Value>),
) -> Vec<Value> {
    let base: Vec<Option<f64>> = order
        .iter()
        .map(|&p| items[p].priority().map(|v| 1.0 - v))
        .collect();
    let scores = label_studio_scores(&base);
    let mut tasks = Vec::with_capacity(order.len());
    for (rank, &p) in order.iter().enumerate() {
        let it = &items[p];
        let (index, tier) = (it.index(), it.tier());
        let id = &ids[index];
        let reasons = reasons(it);
        let mut result = Vec::new();
        if let Some((what, choices, score)) = label(it) {
            result.push(json!({
                "id": format!("mt-{index}-{what}"),
                "from_name": o.from_name,
                "to_name": o.to_name,
                "type": "choices",
                "value": { "choices": choices },
                "score": score,
            }));
        }
        if let Some(f) = &o.tier_from_name {
            result.push(json!({
                "id": format!("mt-{index}-tier"),
                "from_name": f,
                "to_name": o.to_name,
                "type": "choices",
                "value": { "choices": [tier.name()] },
            }));
        }
        if let Some(f) = &o.reasons_from_name {
            result.push(json!({
                "id": format!("mt-{index}-reasons"),
                "from_name": f,
                "to_name": o.to_name,
                "type": "textarea",
                "value": { "text": [reasons] },
            }));
        }
        let mut data = serde_json::Map::new();
        data.insert(o.data_key.clone(), json!(format!("{}{}", o.url_prefix, id)));
        data.insert("medtriage_id".into(), json!(id));
        data.insert("medtriage_index".into(), json!(index));
        data.insert("medtriage_tier".into(), json!(tier.name()));
        data.insert("medtriage_priority".into(), json!(it.priority()));
        data.insert("medtriage_rank".into(), json!(rank + 1));
        data.insert("medtriage_reasons".into(), json!(reasons));
        extra_data(it, &mut data);
        tasks.push(json!({
            "data": data,
            "predictions": [{
                "model_version": o.model_version,
                "score": scores[rank],
                "result": result,
            }],
        }));
    }
    tasks
}

/// Label Studio tasks with predictions (JS `exportLabelStudio`), to import as JSON.
pub fn label_studio(req: &ExportRequest<LabelStudioOptions>) -> Result<Vec<Value>> {
    let o = &req.options;
    let (ids, classes) = names(&req.ids, &req.classes, &req.tiers)?;
    let items = &req.tiers.items;
    let order = export_order(&req.tiers.order, items, o.skip_auto_accepted);
    Ok(label_studio_tasks(
        items,
        &order,
        &ids,
        o,
        |it| reasons_text(it, &classes),
        |it| {
            it.predicted
                .map(|c| ("class", json!([classes[c]]), it.confidence))
        },
        |it, data| {
            if let Some(c) = it.predicted {
                data.insert("medtriage_predicted".into(), json!(classes[c]));
            }
            if let Some(g) = it.given_label {
                data.insert("medtriage_given_label".into(), json!(classes[g]));
            }
        },
    ))
}

/// Options of [`tiers_csv`] (none yet; unknown fields rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
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
            it.tier.name(),
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
                    .map(|r| reason_message(it, r, &classes))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        ));
    }
    Ok(out)
}
