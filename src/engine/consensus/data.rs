//! The request shape shared by every consensus method and its validation into a
//! [`Dataset`]: dense item, annotator and class indices, annotations grouped by item.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::engine::probs;
use crate::error::{err, Result};

/// A label as given: a class index (`0..K`) or a class name from `classes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Label {
    /// A class index.
    Index(u64),
    /// A class name (must be listed in `classes`).
    Name(String),
}

/// One annotation in long format: `annotator` gave `label` to `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Annotation {
    /// Item id.
    pub item: String,
    /// Annotator id.
    pub annotator: String,
    /// The label given.
    pub label: Label,
}

/// One request shape for every consensus method (JS API and CLI alike); `O` is the method's
/// options struct.
///
/// - `annotations`: long format, missing (item, annotator) pairs simply absent; an
///   (item, annotator) pair given twice is an error.
/// - `classes`: class names; index `i` is `classes[i]`. Without it, labels must be integers
///   and the class count is `numClasses`, else the column count of `predProbs`, else the
///   largest label + 1.
/// - `items` / `annotators`: declared ids, fixing the order (rows of `predProbs` follow
///   `items`). Every declared id must have at least one annotation. Undeclared, ids are
///   ordered by first appearance in `annotations`.
/// - `predProbs`: model probabilities, row-major `n x K` (CROWDLAB, ActiveLab).
/// - `predProbsUnlabeled` / `unlabeledItems`: probabilities (and optional ids) of items with
///   no annotation yet (ActiveLab only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(deserialize = "O: Deserialize<'de> + Default")
)]
#[cfg_attr(
    feature = "typescript",
    schemars(
        rename = "ConsensusRequest<{O}>",
        bound = "O: schemars::JsonSchema + Default + Serialize"
    )
)]
pub struct ConsensusRequest<O> {
    /// The annotations, long format.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    /// Class names (index order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Class count when `classes` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub num_classes: Option<usize>,
    /// Declared item ids (order of `predProbs` rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<String>>,
    /// Declared annotator ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotators: Option<Vec<String>>,
    /// Model probabilities, `n x K` row-major.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pred_probs: Option<Vec<f64>>,
    /// Model probabilities of unlabeled items, `m x K` row-major (ActiveLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pred_probs_unlabeled: Option<Vec<f64>>,
    /// Ids of the unlabeled items (default `"0".."m-1"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlabeled_items: Option<Vec<String>>,
    /// Method options.
    #[serde(default)]
    pub options: O,
}

impl<O: Default> ConsensusRequest<O> {
    /// A request with only annotations (everything else default).
    pub fn new(annotations: Vec<Annotation>) -> Self {
        ConsensusRequest {
            annotations,
            classes: None,
            num_classes: None,
            items: None,
            annotators: None,
            pred_probs: None,
            pred_probs_unlabeled: None,
            unlabeled_items: None,
            options: O::default(),
        }
    }
}

/// Validated annotations with dense indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Item ids, index order.
    pub items: Vec<String>,
    /// Annotator ids, index order.
    pub annotators: Vec<String>,
    /// Class names, index order (`"0".."K-1"` when none were given).
    pub classes: Vec<String>,
    /// `(item, annotator, label)` per annotation, in input order.
    pub obs: Vec<(usize, usize, usize)>,
    /// `item_start[i]..item_start[i+1]` indexes `by_item` for item `i`.
    pub item_start: Vec<usize>,
    /// `(annotator, label)` grouped by item, annotators ascending within an item.
    pub by_item: Vec<(usize, usize)>,
}

impl Dataset {
    /// Number of items.
    pub fn n(&self) -> usize {
        self.items.len()
    }
    /// Number of annotators.
    pub fn m(&self) -> usize {
        self.annotators.len()
    }
    /// Number of classes.
    pub fn k(&self) -> usize {
        self.classes.len()
    }
    /// The `(annotator, label)` pairs of item `i`.
    pub fn item(&self, i: usize) -> &[(usize, usize)] {
        &self.by_item[self.item_start[i]..self.item_start[i + 1]]
    }
    /// Dense `n x m` label matrix, `-1` where missing.
    pub fn wide(&self) -> Vec<i64> {
        let m = self.m();
        let mut w = vec![-1i64; self.n() * m];
        for &(i, a, l) in &self.obs {
            w[i * m + a] = l as i64;
        }
        w
    }
    /// Per-item label counts, `n x K`.
    pub fn counts(&self) -> Vec<usize> {
        let k = self.k();
        let mut c = vec![0usize; self.n() * k];
        for &(i, _, l) in &self.obs {
            c[i * k + l] += 1;
        }
        c
    }

    /// Validate a request's annotation part. `pred_len` is the length of `predProbs` if any
    /// (used to infer `K` when nothing else fixes it).
    pub fn build<O>(req: &ConsensusRequest<O>) -> Result<Dataset> {
        Self::from_parts(
            &req.annotations,
            req.classes.as_deref(),
            req.num_classes,
            req.items.as_deref(),
            req.annotators.as_deref(),
            req.pred_probs.as_ref().map(Vec::len),
        )
    }

    /// See [`Dataset::build`].
    pub fn from_parts(
        annotations: &[Annotation],
        classes: Option<&[String]>,
        num_classes: Option<usize>,
        items: Option<&[String]>,
        annotators: Option<&[String]>,
        pred_len: Option<usize>,
    ) -> Result<Dataset> {
        if annotations.is_empty() {
            return Err(err!(InsufficientData, "no annotations were given"));
        }
        let (item_ids, item_ix) =
            index_ids(items, annotations.iter().map(|a| a.item.as_str()), "item")?;
        let (ann_ids, ann_ix) = index_ids(
            annotators,
            annotations.iter().map(|a| a.annotator.as_str()),
            "annotator",
        )?;
        let n = item_ids.len();
        let class_ix = class_index(classes)?;
        let (raw, max_label) = resolve_labels(annotations, classes, class_ix.as_ref())?;
        let k = number_of_classes(classes, num_classes, pred_len, n, max_label)?;
        let class_names: Vec<String> = match classes {
            Some(c) => c.to_vec(),
            None => (0..k).map(|i| i.to_string()).collect(),
        };
        let mut obs = Vec::with_capacity(annotations.len());
        for (j, (a, &l)) in annotations.iter().zip(&raw).enumerate() {
            if l >= k {
                return Err(err!(
                    InvalidInput,
                    "annotation {j} (item '{}', annotator '{}'): unknown label {:?}: class index must be below {k}",
                    a.item,
                    a.annotator,
                    a.label
                ));
            }
            obs.push((item_ix[j], ann_ix[j], l));
        }
        let (item_start, by_item) = group_by_item(&obs, &item_ids, &ann_ids)?;
        Ok(Dataset {
            items: item_ids,
            annotators: ann_ids,
            classes: class_names,
            obs,
            item_start,
            by_item,
        })
    }
}

/// Class name -> index, rejecting a name listed twice.
fn class_index(classes: Option<&[String]>) -> Result<Option<HashMap<&str, usize>>> {
    let Some(c) = classes else {
        return Ok(None);
    };
    let mut map = HashMap::with_capacity(c.len());
    for (i, name) in c.iter().enumerate() {
        if map.insert(name.as_str(), i).is_some() {
            return Err(err!(
                InvalidInput,
                "class name '{name}' is listed twice in classes"
            ));
        }
    }
    Ok(Some(map))
}

/// Every annotation's label as a class index (not yet checked against `K`), and the largest.
fn resolve_labels(
    annotations: &[Annotation],
    classes: Option<&[String]>,
    class_ix: Option<&HashMap<&str, usize>>,
) -> Result<(Vec<usize>, usize)> {
    let mut raw = Vec::with_capacity(annotations.len());
    let mut max_label = 0usize;
    for (j, a) in annotations.iter().enumerate() {
        let l = match (&a.label, class_ix) {
            (Label::Name(s), Some(map)) => match map.get(s.as_str()) {
                Some(&i) => i,
                None => {
                    return Err(err!(
                        InvalidInput,
                        "annotation {j} (item '{}', annotator '{}'): unknown label '{s}' (classes: {})",
                        a.item,
                        a.annotator,
                        classes.map(|c| c.join(", ")).unwrap_or_default()
                    ))
                }
            },
            (Label::Name(s), None) => {
                return Err(err!(
                    InvalidInput,
                    "annotation {j} (item '{}', annotator '{}'): label '{s}' is a name but no `classes` list was given",
                    a.item,
                    a.annotator
                ))
            }
            (Label::Index(i), _) => usize::try_from(*i).unwrap_or(usize::MAX),
        };
        max_label = max_label.max(l);
        raw.push(l);
    }
    Ok((raw, max_label))
}

/// `K`: from `classes`, else `numClasses`, else the width of `predProbs`, else the largest
/// label + 1; at least 2 and within the class limit.
fn number_of_classes(
    classes: Option<&[String]>,
    num_classes: Option<usize>,
    pred_len: Option<usize>,
    n: usize,
    max_label: usize,
) -> Result<usize> {
    let k = match (classes, num_classes) {
        (Some(c), Some(nc)) if c.len() != nc => {
            return Err(err!(
                InvalidInput,
                "numClasses is {nc} but classes lists {} names",
                c.len()
            ))
        }
        (Some(c), _) => c.len(),
        (None, Some(nc)) => nc,
        (None, None) => match pred_len {
            Some(len) if n > 0 && len % n == 0 && len > 0 => len / n,
            Some(len) => {
                return Err(err!(
                    InvalidInput,
                    "predProbs has {len} values, not a multiple of the {n} items"
                ))
            }
            None => max_label.saturating_add(1),
        },
    };
    if k < 2 {
        return Err(err!(InvalidInput, "at least 2 classes are needed, got {k}"));
    }
    // K sizes the class names and every K x K matrix: bounded before anything is built
    let inferred = classes.is_none() && num_classes.is_none() && pred_len.is_none();
    crate::engine::limits::classes(k as u64).map_err(|e| {
        if inferred {
            e.context(format!(
                "K is the largest annotation label + 1 ({max_label} + 1)"
            ))
        } else {
            e
        }
    })?;
    Ok(k)
}

/// `(item_start, by_item)` of a [`Dataset`].
type ItemGroups = (Vec<usize>, Vec<(usize, usize)>);

/// The annotations grouped by item (`item_start`, `by_item`; annotators ascending within an
/// item), rejecting declared items or annotators without an annotation and an annotator
/// labeling an item twice.
fn group_by_item(
    obs: &[(usize, usize, usize)],
    item_ids: &[String],
    ann_ids: &[String],
) -> Result<ItemGroups> {
    let n = item_ids.len();
    let mut item_start = vec![0usize; n + 1];
    for &(i, _, _) in obs {
        item_start[i + 1] += 1;
    }
    for i in 0..n {
        item_start[i + 1] += item_start[i];
    }
    let mut fill = item_start.clone();
    let mut by_item = vec![(0usize, 0usize); obs.len()];
    let mut ann_count = vec![0usize; ann_ids.len()];
    for &(i, a, l) in obs {
        by_item[fill[i]] = (a, l);
        fill[i] += 1;
        ann_count[a] += 1;
    }
    for i in 0..n {
        let seg = &mut by_item[item_start[i]..item_start[i + 1]];
        if seg.is_empty() {
            return Err(err!(
                InvalidInput,
                "item '{}' is declared but has no annotation",
                item_ids[i]
            ));
        }
        seg.sort_unstable();
        if let Some(w) = seg.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(err!(
                InvalidInput,
                "annotator '{}' labeled item '{}' more than once",
                ann_ids[w[0].0],
                item_ids[i]
            ));
        }
    }
    if let Some(a) = ann_count.iter().position(|&c| c == 0) {
        return Err(err!(
            InvalidInput,
            "annotator '{}' is declared but has no annotation",
            ann_ids[a]
        ));
    }
    Ok((item_start, by_item))
}

/// Dense indices for ids: declared order, else first appearance. Returns the ids and the
/// index of each occurrence.
fn index_ids<'a>(
    declared: Option<&[String]>,
    occurrences: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<(Vec<String>, Vec<usize>)> {
    let mut map: HashMap<String, usize> = HashMap::new();
    let mut ids: Vec<String> = Vec::new();
    if let Some(d) = declared {
        for id in d {
            if map.insert(id.clone(), ids.len()).is_some() {
                return Err(err!(InvalidInput, "{what} id '{id}' is declared twice"));
            }
            ids.push(id.clone());
        }
    }
    let mut ix = Vec::new();
    for id in occurrences {
        let i = match map.get(id) {
            Some(&i) => i,
            None if declared.is_some() => {
                return Err(err!(
                    InvalidInput,
                    "unknown {what} '{id}': not in the declared {what}s"
                ))
            }
            None => {
                map.insert(id.to_string(), ids.len());
                ids.push(id.to_string());
                ids.len() - 1
            }
        };
        ix.push(i);
    }
    Ok((ids, ix))
}

/// Validate row-major probabilities: `n x k` values, each row a distribution
/// ([`probs::check_row`]).
pub fn check_probs(p: &[f64], n: usize, k: usize, what: &str) -> Result<()> {
    if n.checked_mul(k) != Some(p.len()) {
        return Err(err!(
            InvalidInput,
            "{what} has {} values, expected {n} rows x {k} classes = {}",
            p.len(),
            n.saturating_mul(k)
        ));
    }
    probs::check_rows(p, k, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(item: &str, annotator: &str, label: Label) -> Annotation {
        Annotation {
            item: item.into(),
            annotator: annotator.into(),
            label,
        }
    }

    #[test]
    fn builds_and_validates() {
        let a = vec![
            ann("x", "a", Label::Name("cat".into())),
            ann("y", "a", Label::Index(1)),
            ann("x", "b", Label::Name("dog".into())),
        ];
        let classes = vec!["cat".to_string(), "dog".to_string()];
        let d = Dataset::from_parts(&a, Some(&classes), None, None, None, None).unwrap();
        assert_eq!(d.items, vec!["x", "y"]);
        assert_eq!(d.annotators, vec!["a", "b"]);
        assert_eq!(d.item(0), &[(0, 0), (1, 1)]);
        assert_eq!(d.wide(), vec![0, 1, 1, -1]);

        let e = Dataset::from_parts(&a, None, None, None, None, None).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        let bad = vec![
            ann("x", "a", Label::Name("cow".into())),
            ann("x", "b", Label::Index(0)),
        ];
        let e = Dataset::from_parts(&bad, Some(&classes), None, None, None, None).unwrap_err();
        assert!(e.message().contains("unknown label 'cow'"), "{e}");
        let bad = vec![ann("x", "a", Label::Index(2))];
        let e = Dataset::from_parts(&bad, Some(&classes), None, None, None, None).unwrap_err();
        assert!(e.message().contains("unknown label"), "{e}");
        // fewer than two classes
        let one = vec![
            ann("x", "a", Label::Index(0)),
            ann("y", "a", Label::Index(0)),
        ];
        let e = Dataset::from_parts(&one, None, None, None, None, None).unwrap_err();
        assert!(e.message().contains("at least 2 classes"), "{e}");
        let solo = vec!["only".to_string()];
        let e = Dataset::from_parts(&one, Some(&solo), None, None, None, None).unwrap_err();
        assert!(e.message().contains("at least 2 classes"), "{e}");
        // declared item / annotator with no data
        let items = vec!["x".to_string(), "y".to_string(), "z".to_string()];
        let e =
            Dataset::from_parts(&a, Some(&classes), None, Some(&items), None, None).unwrap_err();
        assert!(
            e.message()
                .contains("item 'z' is declared but has no annotation"),
            "{e}"
        );
        let anns = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let e = Dataset::from_parts(&a, Some(&classes), None, None, Some(&anns), None).unwrap_err();
        assert!(e.message().contains("annotator 'c'"), "{e}");
        // undeclared id
        let e = Dataset::from_parts(&a, Some(&classes), None, Some(&items[..1]), None, None)
            .unwrap_err();
        assert!(e.message().contains("unknown item 'y'"), "{e}");
        // duplicate pair
        let dup = vec![
            ann("x", "a", Label::Index(0)),
            ann("x", "a", Label::Index(1)),
        ];
        let e = Dataset::from_parts(&dup, None, Some(2), None, None, None).unwrap_err();
        assert!(e.message().contains("more than once"), "{e}");
        // empty
        let e = Dataset::from_parts(&[], None, Some(2), None, None, None).unwrap_err();
        assert_eq!(e.code(), "insufficient_data");
        // K from predProbs
        let d = Dataset::from_parts(&one, None, None, None, None, Some(6)).unwrap();
        assert_eq!(d.k(), 3);
    }

    #[test]
    fn label_json_forms() {
        let a: Annotation =
            serde_json::from_str(r#"{"item":"1","annotator":"z","label":3}"#).unwrap();
        assert_eq!(a.label, Label::Index(3));
        let a: Annotation =
            serde_json::from_str(r#"{"item":"1","annotator":"z","label":"cat"}"#).unwrap();
        assert_eq!(a.label, Label::Name("cat".into()));
        assert!(
            serde_json::from_str::<Annotation>(r#"{"item":"1","annotator":"z","label":-1}"#)
                .is_err()
        );
    }

    #[test]
    fn probs_checked() {
        assert!(check_probs(&[0.5, 0.5, 1.0, 0.0], 2, 2, "p").is_ok());
        assert_eq!(
            check_probs(&[0.5, 0.5, 1.0], 2, 2, "p").unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            check_probs(&[0.5, 0.6], 1, 2, "p").unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            check_probs(&[f64::NAN, 1.0], 1, 2, "p").unwrap_err().code(),
            "invalid_probabilities"
        );
    }
}
