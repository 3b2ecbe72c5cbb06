//! Label Studio, the way back: the labeling config written from the class names, and the
//! annotations a reviewer submitted read back into review decisions for the next round.
//!
//! The tasks go out through [`super::export::label_studio`]; each carries its pool index in
//! `data.medtriage_index` (and its id in `data.medtriage_id`). [`read_label_studio`] takes
//! what Label Studio gives back, in any of its three shapes:
//! - the **JSON** export (a list of tasks, each with `data` and `annotations`);
//! - the **JSON-MIN** export (one flat object per annotation: the task's `data` fields at the
//!   top level, the choice under the control's name, `annotator`, `annotation_id`);
//! - the **API's task objects** (`GET /api/tasks?project=…`: `{"tasks": […]}`, or a list, or
//!   one task), shaped like the JSON export.
//!
//! Task -> pool index: `data.medtriage_index`; when `ids` are given, `data.medtriage_id` must
//! be `ids[index]` (an export of another pool is refused), and a task without an index is
//! found by its id. Choice -> class: the chosen value must be one of `classes` (the
//! manifest's names), else `invalid_input` naming the task. An annotation marked
//! `was_cancelled` (the reviewer pressed Skip) is counted in `skipped` and is no decision; an
//! annotation without a choice of the class control is counted in `withoutChoice`. Several
//! annotations by the same annotator on one task: the last one counts (by `updated_at`, then
//! `created_at`, then annotation id, then position), the others are counted in
//! `superseded`. Several annotators on one task go to consensus (majority vote, ties to the
//! lowest class index and listed in `ties`; or Dawid-Skene), and the consensus is the task's
//! decision: `reviewed`, ready for `planRound`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policy::Tier;
use super::rounds::ReviewOutcome;
use crate::engine::consensus::data::{Annotation, ConsensusRequest, Label};
use crate::engine::consensus::dawid_skene::{dawid_skene, DawidSkeneOptions};
use crate::engine::consensus::majority::majority_vote;
use crate::error::{err, Result};

/// Options of [`label_config`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LabelConfigOptions {
    /// Name of the class `Choices` control (default `"choice"`, as the export's `fromName`).
    pub from_name: String,
    /// Name of the image object (default `"image"`).
    pub to_name: String,
    /// Key of the image URL in the task's `data` (default `"image"`).
    pub data_key: String,
    /// Name of the read-only tier control (default `"tier"`; `null`: none).
    pub tier_from_name: Option<String>,
    /// Name of the read-only reasons text area (default `"reasons"`; `null`: none).
    pub reasons_from_name: Option<String>,
    /// Keyboard shortcuts `1`-`9`, `0` for the first ten classes (default true).
    pub hotkeys: bool,
    /// A header with the task's tier and rank (default true).
    pub header: bool,
    /// Multi-label findings (default false): the class control is `choice="multiple"` and
    /// carries one more choice, `noFinding`, which the reviewer picks for an image without
    /// any finding (so that a submitted empty selection is never mistaken for a decision).
    pub multiple: bool,
    /// The "no finding" choice of a multiple control (default `"No finding"`).
    pub no_finding: String,
}

impl Default for LabelConfigOptions {
    fn default() -> Self {
        LabelConfigOptions {
            from_name: "choice".into(),
            to_name: "image".into(),
            data_key: "image".into(),
            tier_from_name: Some("tier".into()),
            reasons_from_name: Some("reasons".into()),
            hotkeys: true,
            header: true,
            multiple: false,
            no_finding: NO_FINDING.into(),
        }
    }
}

/// The default "no finding" choice of a multi-label labeling config.
pub const NO_FINDING: &str = "No finding";

/// Request of [`label_config`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelConfigRequest {
    /// Class names, in class-index order (the manifest's `output.classes`).
    pub classes: Vec<String>,
    /// Options.
    #[serde(default)]
    pub options: LabelConfigOptions,
}

fn xml_attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            c => o.push(c),
        }
    }
    o
}

fn xml_name(s: &str, what: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(err!(
            InvalidOptions,
            "{what} must be a name of letters, digits, '_' or '-' (not starting with a digit), got {s:?}"
        ))
    }
}

/// The labeling config for the export's tasks (JS `labelStudioConfig`, CLI
/// `queue label-studio-config`): the image, a header with tier and rank, one single choice per
/// class (hotkeys 1-9, 0; with `multiple`, a multiple choice of the findings and "no
/// finding"), the tier (read-only) and the reasons (read-only text area), named as the
/// export's defaults name them.
pub fn label_config(req: &LabelConfigRequest) -> Result<String> {
    let o = &req.options;
    if req.classes.is_empty() {
        return Err(err!(InvalidInput, "classes: at least one class is needed"));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &req.classes {
        if c.trim().is_empty() {
            return Err(err!(InvalidInput, "classes: a class name is empty"));
        }
        if !seen.insert(c.as_str()) {
            return Err(err!(InvalidInput, "classes: {c:?} is listed twice"));
        }
    }
    xml_name(&o.from_name, "fromName")?;
    xml_name(&o.to_name, "toName")?;
    xml_name(&o.data_key, "dataKey")?;
    for (n, what) in [
        (&o.tier_from_name, "tierFromName"),
        (&o.reasons_from_name, "reasonsFromName"),
    ] {
        if let Some(n) = n {
            xml_name(n, what)?;
        }
    }
    let mut x = String::from("<View>\n");
    x.push_str(&format!(
        "  <Image name=\"{}\" value=\"${}\"/>\n",
        o.to_name, o.data_key
    ));
    if o.header {
        x.push_str("  <Header value=\"$medtriage_tier, rank $medtriage_rank\"/>\n");
    }
    x.push_str(&format!(
        "  <Choices name=\"{}\" toName=\"{}\" choice=\"{}\" showInline=\"true\" required=\"true\">\n",
        o.from_name,
        o.to_name,
        if o.multiple { "multiple" } else { "single" }
    ));
    const KEYS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
    let mut choices = req.classes.clone();
    if o.multiple {
        if o.no_finding.trim().is_empty() || req.classes.contains(&o.no_finding) {
            return Err(err!(
                InvalidOptions,
                "noFinding must be a non-empty name that is not a finding, got {:?}",
                o.no_finding
            ));
        }
        choices.push(o.no_finding.clone());
    }
    for (i, c) in choices.iter().enumerate() {
        match KEYS.get(i).filter(|_| o.hotkeys) {
            Some(k) => x.push_str(&format!(
                "    <Choice value=\"{}\" hotkey=\"{k}\"/>\n",
                xml_attr(c)
            )),
            None => x.push_str(&format!("    <Choice value=\"{}\"/>\n", xml_attr(c))),
        }
    }
    x.push_str("  </Choices>\n");
    if let Some(t) = &o.tier_from_name {
        x.push_str(&format!(
            "  <Choices name=\"{t}\" toName=\"{}\" choice=\"single\" readonly=\"true\">\n",
            o.to_name
        ));
        for tier in [
            Tier::AutoAccept,
            Tier::LightReview,
            Tier::ExpertReview,
            Tier::SuspectedLabelError,
            Tier::Outlier,
            Tier::Failed,
        ] {
            x.push_str(&format!("    <Choice value=\"{}\"/>\n", tier.name()));
        }
        x.push_str("  </Choices>\n");
    }
    if let Some(r) = &o.reasons_from_name {
        x.push_str(&format!(
            "  <TextArea name=\"{r}\" toName=\"{}\" editable=\"false\"/>\n",
            o.to_name
        ));
    }
    x.push_str("</View>\n");
    Ok(x)
}

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

struct RawAnn {
    index: usize,
    task: Option<i64>,
    annotator: String,
    choice: Option<Vec<String>>,
    cancelled: bool,
    key: (String, String, i64, usize),
}

fn str_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn annotator_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::Object(o)) => {
            let e = str_of(o.get("email"));
            if e.is_empty() {
                str_of(o.get("id"))
            } else {
                e
            }
        }
        other => str_of(other),
    }
}

fn describe(task: Option<i64>, pos: usize) -> String {
    match task {
        Some(t) => format!("task {t}"),
        None => format!("entry {pos}"),
    }
}

/// Pool index of a task from its data (`medtriage_index`, else `medtriage_id` in `ids`).
fn index_of(
    data: &serde_json::Map<String, Value>,
    ids: Option<&HashMap<&str, usize>>,
    idv: Option<&[String]>,
    n: Option<usize>,
    at: &str,
) -> Result<usize> {
    let id = data.get("medtriage_id").and_then(Value::as_str);
    let index = match data.get("medtriage_index") {
        Some(v) => match v.as_u64() {
            Some(i) if i <= usize::MAX as u64 => i as usize,
            _ => {
                return Err(err!(
                    InvalidInput,
                    "{at}: medtriage_index {v} is not a pool index"
                ))
            }
        },
        None => match (id, ids) {
            (Some(id), Some(map)) => match map.get(id) {
                Some(&i) => i,
                None => {
                    return Err(err!(
                        InvalidInput,
                        "{at}: medtriage_id {id:?} is not one of the exported ids"
                    ))
                }
            },
            _ => {
                return Err(err!(
                    InvalidInput,
                    "{at}: no medtriage_index in its data (was it exported by medtriage? without the index, give the ids and keep medtriage_id)"
                ))
            }
        },
    };
    if let Some(n) = n {
        if index >= n {
            return Err(err!(
                InvalidInput,
                "{at}: medtriage_index {index} is not < pool size {n}"
            ));
        }
    }
    if let (Some(idv), Some(id)) = (idv, id) {
        if idv.get(index).map(String::as_str) != Some(id) {
            return Err(err!(
                InvalidInput,
                "{at}: medtriage_id {id:?} is not the id exported for pool index {index} (an export of another pool?)"
            ));
        }
    }
    Ok(index)
}

/// The values chosen in a `choices` result of control `from`, if there is one.
fn choice_in_result(result: Option<&Value>, from: &str) -> Option<Vec<String>> {
    let list = result?.as_array()?;
    for r in list {
        if r.get("from_name").and_then(Value::as_str) == Some(from) {
            if let Some(c) = r
                .get("value")
                .and_then(|v| v.get("choices"))
                .and_then(Value::as_array)
            {
                return Some(c.iter().map(|x| str_of(Some(x))).collect());
            }
        }
    }
    None
}

fn sort_key(a: &serde_json::Map<String, Value>, pos: usize) -> (String, String, i64, usize) {
    (
        str_of(a.get("updated_at")),
        str_of(a.get("created_at")),
        a.get("id")
            .or_else(|| a.get("annotation_id"))
            .and_then(Value::as_i64)
            .unwrap_or(-1),
        pos,
    )
}

/// One annotation that counts: the last one of its annotator on its task, with a choice.
pub(super) struct Kept {
    /// "task T" or "entry E", for error messages.
    pub at: String,
    /// Pool index.
    pub index: usize,
    /// Label Studio's task id.
    pub task: Option<i64>,
    /// The annotator.
    pub annotator: String,
    /// The values chosen in the class control (at least one).
    pub choice: Vec<String>,
}

/// What [`gather`] read from an export.
pub(super) struct Gathered {
    pub kept: Vec<Kept>,
    pub tasks: usize,
    pub annotations_read: usize,
    pub skipped: usize,
    pub without_choice: usize,
    pub superseded: usize,
}

/// Read every annotation of an export (any of the three shapes, see the module docs) and keep
/// the last one of each annotator on each task that has a choice of control `from`.
pub(super) fn gather(
    export: &Value,
    from: &str,
    ids: Option<&[String]>,
    n: Option<usize>,
) -> Result<Gathered> {
    let id_map: Option<HashMap<&str, usize>> =
        ids.map(|v| v.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect());
    let at_index = |data: &serde_json::Map<String, Value>, at: &str| {
        index_of(data, id_map.as_ref(), ids, n, at)
    };
    let mut raw: Vec<RawAnn> = Vec::new();
    let mut tasks = std::collections::HashSet::new();
    for (pos, e) in entries_of(export)?.iter().enumerate() {
        let Some(obj) = e.as_object() else {
            return Err(err!(InvalidInput, "export: entry {pos} is not an object"));
        };
        let task = obj.get("id").and_then(Value::as_i64);
        let at = describe(task, pos);
        let data = obj.get("data").and_then(Value::as_object);
        let index = at_index(data.unwrap_or(obj), &at)?;
        tasks.insert(index);
        match data {
            Some(_) => nested_annotations(obj, index, task, from, &at, &mut raw)?,
            None => raw.extend(min_annotation(obj, index, task, from, &at, pos)?),
        }
    }
    let no_choice = |a: &RawAnn| a.choice.as_ref().is_none_or(|c| c.is_empty());
    let skipped = raw.iter().filter(|a| a.cancelled).count();
    let without_choice = raw.iter().filter(|a| !a.cancelled && no_choice(a)).count();
    let (kept, superseded) = keep_last(&raw);
    let kept = kept
        .into_iter()
        .map(|j| {
            let a = &raw[j];
            Kept {
                at: describe(a.task, j),
                index: a.index,
                task: a.task,
                annotator: a.annotator.clone(),
                choice: a.choice.clone().unwrap_or_default(),
            }
        })
        .collect();
    Ok(Gathered {
        kept,
        tasks: tasks.len(),
        annotations_read: raw.len(),
        skipped,
        without_choice,
        superseded,
    })
}

/// The task list of an export: a list, `{"tasks": [...]}`, or one task.
fn entries_of(export: &Value) -> Result<&[Value]> {
    match export {
        Value::Array(a) => Ok(a),
        Value::Object(o) => Ok(match o.get("tasks").and_then(Value::as_array) {
            Some(a) => a,
            None => std::slice::from_ref(export),
        }),
        _ => Err(err!(
            InvalidInput,
            "export: expected a list of tasks (Label Studio's JSON or JSON-MIN export, or the API's tasks)"
        )),
    }
}

/// JSON export / API task: the annotations nested under the task.
fn nested_annotations(
    obj: &serde_json::Map<String, Value>,
    index: usize,
    task: Option<i64>,
    from: &str,
    at: &str,
    raw: &mut Vec<RawAnn>,
) -> Result<()> {
    let anns = match obj.get("annotations") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(err!(InvalidInput, "{at}: annotations is not a list")),
    };
    for (j, a) in anns.iter().enumerate() {
        let Some(a) = a.as_object() else {
            return Err(err!(InvalidInput, "{at}: annotation {j} is not an object"));
        };
        raw.push(RawAnn {
            index,
            task,
            annotator: annotator_of(a.get("completed_by")),
            choice: choice_in_result(a.get("result"), from),
            cancelled: a
                .get("was_cancelled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            key: sort_key(a, j),
        });
    }
    Ok(())
}

/// JSON-MIN: one flat row per annotation, the data fields at the top level (`None`: a row
/// of a task nobody labeled, which has no annotator).
fn min_annotation(
    obj: &serde_json::Map<String, Value>,
    index: usize,
    task: Option<i64>,
    from: &str,
    at: &str,
    pos: usize,
) -> Result<Option<RawAnn>> {
    let strings = |a: &[Value]| a.iter().map(|x| str_of(Some(x))).collect();
    let choice = match obj.get(from) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Object(o)) => o
            .get("choices")
            .and_then(Value::as_array)
            .map(|c| strings(c)),
        Some(Value::Array(a)) => Some(strings(a)),
        Some(v) => return Err(err!(InvalidInput, "{at}: {from} is {v}, not a choice")),
    };
    if choice.is_none() && obj.get("annotation_id").is_none() {
        return Ok(None);
    }
    Ok(Some(RawAnn {
        index,
        task,
        annotator: annotator_of(obj.get("annotator")),
        choice,
        cancelled: obj
            .get("was_cancelled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        key: sort_key(obj, pos),
    }))
}

/// The last annotation with a choice of each (task, annotator), in input order, and how many
/// were superseded.
fn keep_last(raw: &[RawAnn]) -> (Vec<usize>, usize) {
    let mut last: HashMap<(usize, &str), usize> = HashMap::new();
    let mut superseded = 0;
    for (j, a) in raw.iter().enumerate() {
        if a.cancelled || a.choice.as_ref().is_none_or(|c| c.is_empty()) {
            continue;
        }
        match last.get(&(a.index, a.annotator.as_str())) {
            Some(&p) => {
                superseded += 1;
                if raw[j].key > raw[p].key {
                    last.insert((a.index, a.annotator.as_str()), j);
                }
            }
            None => {
                last.insert((a.index, a.annotator.as_str()), j);
            }
        }
    }
    let mut kept: Vec<usize> = last.into_values().collect();
    kept.sort_unstable();
    (kept, superseded)
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
fn class_index(classes: &[String]) -> Result<HashMap<&str, usize>> {
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
fn single_choice_annotations(
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
fn consensus_per_task(
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classes() -> Vec<String> {
        ["cat", "dog", "bird"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn ann(id: i64, by: Value, choice: &str, cancelled: bool, at: &str) -> Value {
        json!({"id": id, "completed_by": by, "was_cancelled": cancelled, "updated_at": at,
               "result": if choice.is_empty() { json!([]) } else { json!([
                   {"from_name": "tier", "to_name": "image", "type": "choices", "value": {"choices": ["lightReview"]}},
                   {"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]) }})
    }

    fn req(export: Value) -> ReadLabelStudioRequest {
        ReadLabelStudioRequest {
            export,
            classes: classes(),
            ids: Some(vec![
                "a.png".into(),
                "b.png".into(),
                "c.png".into(),
                "d.png".into(),
            ]),
            n: None,
            options: ReadLabelStudioOptions::default(),
        }
    }

    #[test]
    fn json_export_with_skips_several_annotators_and_updates() {
        let export = json!([
            {"id": 11, "data": {"image": "/x/a.png", "medtriage_index": 0, "medtriage_id": "a.png"},
             "annotations": [ann(1, json!(1), "dog", false, "2026-01-01T10:00"),
                             ann(2, json!(2), "dog", false, "2026-01-01T10:01"),
                             ann(3, json!(3), "cat", false, "2026-01-01T10:02")]},
            {"id": 12, "data": {"image": "/x/b.png", "medtriage_index": 1, "medtriage_id": "b.png"},
             "annotations": [ann(4, json!(1), "", true, "2026-01-01T10:00")]},
            {"id": 13, "data": {"medtriage_index": 2, "medtriage_id": "c.png"},
             "annotations": [ann(5, json!({"id": 1, "email": "r@h.org"}), "cat", false, "2026-01-01T10:00"),
                             ann(6, json!({"id": 1, "email": "r@h.org"}), "bird", false, "2026-01-01T11:00"),
                             ann(7, json!(2), "cat", false, "2026-01-01T10:00")]},
            {"id": 14, "data": {"medtriage_index": 3, "medtriage_id": "d.png"}, "annotations": []},
        ]);
        let r = read_label_studio(&req(export)).unwrap();
        assert_eq!(r.tasks, 4);
        assert_eq!(r.annotations_read, 7);
        assert_eq!(r.skipped, 1);
        assert_eq!(r.superseded, 1);
        assert_eq!(r.decided, 2);
        // task 0: dog 2 votes, cat 1; task 2: bird vs cat tie -> lowest index (cat)
        assert_eq!(
            r.reviewed,
            vec![
                ReviewOutcome { index: 0, label: 1 },
                ReviewOutcome { index: 2, label: 0 }
            ]
        );
        assert_eq!(
            r.ties,
            vec![ReadTie {
                index: 2,
                candidates: vec![0, 2]
            }]
        );
        assert_eq!(r.multi_annotator_tasks, 2);
        assert_eq!(r.disagreements, 2);
        assert!(r
            .annotations
            .iter()
            .any(|a| a.annotator == "r@h.org" && a.label == 2));
    }

    #[test]
    fn json_min_and_api_shapes() {
        let min = json!([
            {"image": "/x/a.png", "id": 11, "medtriage_index": 0, "medtriage_id": "a.png",
             "choice": "bird", "annotator": "r@h.org", "annotation_id": 1},
            {"image": "/x/b.png", "id": 12, "medtriage_index": 1, "medtriage_id": "b.png",
             "choice": {"choices": ["dog"]}, "annotator": "r@h.org", "annotation_id": 2},
            {"image": "/x/c.png", "id": 13, "medtriage_index": 2, "medtriage_id": "c.png"},
        ]);
        let r = read_label_studio(&req(min)).unwrap();
        assert_eq!(r.tasks, 3);
        assert_eq!(
            r.reviewed,
            vec![
                ReviewOutcome { index: 0, label: 2 },
                ReviewOutcome { index: 1, label: 1 }
            ]
        );
        let api = json!({"tasks": [{"id": 12, "data": {"medtriage_id": "b.png"},
                                   "annotations": [ann(9, json!(1), "bird", false, "")]}],
                         "total": 1});
        let r = read_label_studio(&req(api)).unwrap();
        assert_eq!(r.reviewed, vec![ReviewOutcome { index: 1, label: 2 }]);
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let code = |e: Value| read_label_studio(&req(e)).unwrap_err().code();
        // a choice that is no class
        assert_eq!(
            code(json!([{"id": 1, "data": {"medtriage_index": 0},
                         "annotations": [ann(1, json!(1), "horse", false, "")]}])),
            "invalid_input"
        );
        // an id that does not match the exported one
        let e = read_label_studio(&req(
            json!([{"id": 1, "data": {"medtriage_index": 0, "medtriage_id": "b.png"}}]),
        ))
        .unwrap_err();
        assert!(e.message().contains("another pool"), "{}", e.message());
        // index out of the pool
        assert_eq!(
            code(json!([{"id": 1, "data": {"medtriage_index": 9}}])),
            "invalid_input"
        );
        // not a task list
        assert_eq!(code(json!("x")), "invalid_input");
        assert_eq!(
            code(json!([{"id": 1, "data": {"image": "a"}}])),
            "invalid_input"
        );
        // two choices in a single-choice control
        assert_eq!(
            code(
                json!([{"id": 1, "data": {"medtriage_index": 0}, "annotations": [
                {"completed_by": 1, "result": [{"from_name": "choice", "value": {"choices": ["cat", "dog"]}}]}]}])
            ),
            "invalid_input"
        );
    }

    #[test]
    fn config_lists_the_classes_escaped_with_hotkeys() {
        let x = label_config(&LabelConfigRequest {
            classes: vec!["a&b".into(), "\"q\"".into(), "c".into()],
            options: LabelConfigOptions::default(),
        })
        .unwrap();
        assert!(x.contains(r#"<Choice value="a&amp;b" hotkey="1"/>"#), "{x}");
        assert!(x.contains(r#"<Choice value="&quot;q&quot;" hotkey="2"/>"#));
        assert!(
            x.contains(r#"<Choices name="tier" toName="image" choice="single" readonly="true">"#)
        );
        assert!(x.contains(r#"<TextArea name="reasons" toName="image" editable="false"/>"#));
        let bad = label_config(&LabelConfigRequest {
            classes: vec!["a".into(), "a".into()],
            options: LabelConfigOptions::default(),
        });
        assert_eq!(bad.unwrap_err().code(), "invalid_input");
        let o = LabelConfigOptions {
            from_name: "bad name\"".into(),
            ..LabelConfigOptions::default()
        };
        assert_eq!(
            label_config(&LabelConfigRequest {
                classes: classes(),
                options: o
            })
            .unwrap_err()
            .code(),
            "invalid_options"
        );
    }

    #[test]
    fn scores_rise_strictly_and_never_overstate() {
        use crate::engine::queue::export::label_studio_scores;
        let base = [
            Some(0.2),
            Some(0.99),
            Some(0.3),
            None,
            Some(0.9),
            Some(0.9),
            Some(0.95),
        ];
        let s = label_studio_scores(&base);
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        for (v, b) in s.iter().zip(base) {
            assert!(*v <= b.unwrap_or(1.0) && *v >= 0.0);
        }
        assert_eq!(s[6], 0.95);
        // ties at 0 are lifted just enough to stay in order
        let z = label_studio_scores(&[Some(0.0), Some(0.0), Some(0.0)]);
        assert!(z[0] == 0.0 && z[0] < z[1] && z[1] < z[2] && z[2] < 1e-300);
    }
}
