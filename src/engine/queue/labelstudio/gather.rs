//! Reading an export in any of its three shapes (JSON, JSON-MIN, API tasks): each
//! annotation's pool index, annotator and choice, cancelled ones counted, the last per
//! annotator kept.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{err, Result};

pub(super) struct RawAnn {
    pub(super) index: usize,
    pub(super) task: Option<i64>,
    pub(super) annotator: String,
    pub(super) choice: Option<Vec<String>>,
    pub(super) cancelled: bool,
    pub(super) key: (String, String, i64, usize),
}

pub(super) fn str_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub(super) fn annotator_of(v: Option<&Value>) -> String {
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

pub(super) fn describe(task: Option<i64>, pos: usize) -> String {
    match task {
        Some(t) => format!("task {t}"),
        None => format!("entry {pos}"),
    }
}

/// Pool index of a task from its data (`medtriage_index`, else `medtriage_id` in `ids`).
pub(super) fn index_of(
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
pub(super) fn choice_in_result(result: Option<&Value>, from: &str) -> Option<Vec<String>> {
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

pub(super) fn sort_key(
    a: &serde_json::Map<String, Value>,
    pos: usize,
) -> (String, String, i64, usize) {
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
pub(in crate::engine::queue) struct Kept {
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
pub(in crate::engine::queue) struct Gathered {
    pub kept: Vec<Kept>,
    pub tasks: usize,
    pub annotations_read: usize,
    pub skipped: usize,
    pub without_choice: usize,
    pub superseded: usize,
}

/// Read every annotation of an export (any of the three shapes, see the module docs) and keep
/// the last one of each annotator on each task that has a choice of control `from`.
pub(in crate::engine::queue) fn gather(
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
pub(super) fn entries_of(export: &Value) -> Result<&[Value]> {
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
pub(super) fn nested_annotations(
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
pub(super) fn min_annotation(
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
pub(super) fn keep_last(raw: &[RawAnn]) -> (Vec<usize>, usize) {
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
