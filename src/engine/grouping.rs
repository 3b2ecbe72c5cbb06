//! Class grouping: map a model's classes onto the classes a dataset or a decision uses, by
//! summing probabilities, e.g. a 4-class brain MRI model (glioma, meningioma, no tumour,
//! pituitary) onto a 2-class task with `"tumour" = glioma + meningioma + pituitary` and
//! `"no tumour" = no tumour`.
//!
//! ```json
//! { "classes": ["glioma", "meningioma", "notumor", "pituitary"],
//!   "groups": [{ "name": "no", "classes": ["notumor"] },
//!              { "name": "yes", "classes": ["glioma", "meningioma", "pituitary"] }],
//!   "predProbs": [0.1, 0.2, 0.6, 0.1], "n": 1 }
//! ```
//!
//! Every model class must belong to exactly one group (a class left out, or named twice, is
//! `invalid_options`: probabilities that silently vanish would no longer sum to 1). The
//! grouped row is `q_g = Σ_{c ∈ g} p_c`, in the order of `groups`; model-class labels, when
//! given, map to their group's index. The grouped rows are what the triage, calibration and
//! queue functions take as probabilities.

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

/// One target class: its name and the model classes it gathers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassGroup {
    /// Name of the grouped class.
    pub name: String,
    /// Model class names it gathers (at least one).
    pub classes: Vec<String>,
}

/// A grouping on its own (the part a configuration file holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grouping {
    /// The model's class names, in output order.
    pub classes: Vec<String>,
    /// The target classes, in the order of the grouped output (at least two).
    pub groups: Vec<ClassGroup>,
}

/// Request: a grouping and the probabilities (and optionally labels) to map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupClassesRequest {
    /// The model's class names, in output order (`k` = its length).
    pub classes: Vec<String>,
    /// The target classes.
    pub groups: Vec<ClassGroup>,
    /// Probabilities over the model's classes, `n x k` row-major.
    pub pred_probs: Vec<f64>,
    /// Number of rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Labels over the model's classes (`n` indices in `0..k`), mapped to group indices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
}

/// Response: the grouped probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupClassesResponse {
    /// Group names (the new classes), in order.
    pub classes: Vec<String>,
    /// `group_of[c]`: the group index of model class `c`.
    pub group_of: Vec<usize>,
    /// Grouped probabilities, `n x groups` row-major.
    pub pred_probs: Vec<f64>,
    /// Rows.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// The labels mapped to group indices, when labels were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<usize>>,
}

impl Grouping {
    /// Validate and return `group_of` (the group index of every model class).
    pub fn group_of(&self) -> Result<Vec<usize>> {
        let k = self.classes.len();
        if k < 2 {
            return Err(err!(
                InvalidOptions,
                "classes needs at least 2 model classes"
            ));
        }
        if self.groups.len() < 2 || self.groups.len() > k {
            return Err(err!(
                InvalidOptions,
                "groups lists {} groups; 2 to {k} (the model's class count) allowed",
                self.groups.len()
            ));
        }
        for (i, c) in self.classes.iter().enumerate() {
            if self.classes[..i].contains(c) {
                return Err(err!(InvalidOptions, "classes names {c:?} twice"));
            }
        }
        let mut of: Vec<Option<usize>> = vec![None; k];
        for (g, grp) in self.groups.iter().enumerate() {
            if self.groups[..g].iter().any(|o| o.name == grp.name) {
                return Err(err!(
                    InvalidOptions,
                    "group name {:?} is used twice",
                    grp.name
                ));
            }
            if grp.classes.is_empty() {
                return Err(err!(
                    InvalidOptions,
                    "group {:?} gathers no class",
                    grp.name
                ));
            }
            for c in &grp.classes {
                let Some(ci) = self.classes.iter().position(|x| x == c) else {
                    return Err(err!(
                        InvalidOptions,
                        "group {:?} names {c:?}, which is not a model class",
                        grp.name
                    ));
                };
                if let Some(prev) = of[ci] {
                    return Err(err!(
                        InvalidOptions,
                        "class {c:?} is in groups {:?} and {:?}; each class belongs to one group",
                        self.groups[prev].name,
                        grp.name
                    ));
                }
                of[ci] = Some(g);
            }
        }
        let missing: Vec<&str> = self
            .classes
            .iter()
            .zip(&of)
            .filter(|(_, g)| g.is_none())
            .map(|(c, _)| c.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(err!(
                InvalidOptions,
                "model classes {missing:?} are in no group; every class must belong to one"
            ));
        }
        Ok(of.into_iter().flatten().collect())
    }

    /// Group names in order.
    pub fn names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }
}

/// Sum `n x k` probability rows into `n x groups` rows with `group_of` (validated).
pub fn group_rows(pred_probs: &[f64], k: usize, group_of: &[usize], groups: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(pred_probs.len() / k.max(1) * groups);
    for row in pred_probs.chunks_exact(k) {
        let start = out.len();
        out.resize(start + groups, 0.0);
        for (c, &p) in row.iter().enumerate() {
            out[start + group_of[c]] += p;
        }
        // float32 model rows summed in f64 can land a hair above 1 (1 + 1e-7), which the
        // queue's [0, 1] check would refuse
        for v in &mut out[start..] {
            *v = v.clamp(0.0, 1.0);
        }
    }
    out
}

/// Group a request's probabilities (and labels).
pub fn group_classes(req: &GroupClassesRequest) -> Result<GroupClassesResponse> {
    let grouping = Grouping {
        classes: req.classes.clone(),
        groups: req.groups.clone(),
    };
    let group_of = grouping.group_of()?;
    let k = req.classes.len();
    let want = req.n.checked_mul(k);
    if want != Some(req.pred_probs.len()) {
        return Err(err!(
            InvalidInput,
            "predProbs has {} values, n x k = {} x {k} expected",
            req.pred_probs.len(),
            req.n
        ));
    }
    if let Some(i) = req.pred_probs.iter().position(|p| !p.is_finite()) {
        return Err(err!(
            InvalidInput,
            "predProbs[{i}] is not a finite number (row {})",
            i / k
        ));
    }
    let labels = match &req.labels {
        None => None,
        Some(l) => {
            if l.len() != req.n {
                return Err(err!(
                    InvalidInput,
                    "labels has {} entries for {} rows",
                    l.len(),
                    req.n
                ));
            }
            if let Some(i) = l.iter().position(|&v| v >= k) {
                return Err(err!(
                    InvalidInput,
                    "labels[{i}] = {} is not a class index below {k}",
                    l[i]
                ));
            }
            Some(l.iter().map(|&v| group_of[v]).collect())
        }
    };
    let g = req.groups.len();
    Ok(GroupClassesResponse {
        classes: grouping.names(),
        pred_probs: group_rows(&req.pred_probs, k, &group_of, g),
        group_of,
        n: req.n,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(groups: &str) -> Result<GroupClassesResponse> {
        let j = format!(
            r#"{{"classes":["glioma","meningioma","notumor","pituitary"],"groups":{groups},
                "predProbs":[0.1,0.2,0.6,0.1, 0.7,0.1,0.1,0.1],"n":2,"labels":[2,3]}}"#
        );
        group_classes(&serde_json::from_str(&j).unwrap())
    }

    #[test]
    fn sums_and_maps_labels() {
        let r = req(r#"[{"name":"no","classes":["notumor"]},
                        {"name":"yes","classes":["glioma","meningioma","pituitary"]}]"#)
        .unwrap();
        assert_eq!(r.classes, vec!["no", "yes"]);
        assert_eq!(r.group_of, vec![1, 1, 0, 1]);
        let want = [0.6, 0.4, 0.1, 0.9];
        for (a, b) in r.pred_probs.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(r.labels, Some(vec![0, 1]));
        // a row of float32 values whose grouped sum exceeds 1 by rounding stays in [0, 1]
        let q = group_rows(&[0.4000001, 0.3000001, 0.0, 0.3000001], 4, &[1, 1, 0, 1], 2);
        assert!(q[1] <= 1.0 && q[0] == 0.0, "{q:?}");
    }

    #[test]
    fn every_class_in_exactly_one_group() {
        let missing = req(r#"[{"name":"no","classes":["notumor"]},
                              {"name":"yes","classes":["glioma","meningioma"]}]"#)
        .unwrap_err();
        assert_eq!(missing.code(), "invalid_options");
        assert!(
            missing.message().contains("pituitary"),
            "{}",
            missing.message()
        );
        let twice = req(r#"[{"name":"no","classes":["notumor","glioma"]},
                            {"name":"yes","classes":["glioma","meningioma","pituitary"]}]"#)
        .unwrap_err();
        assert!(twice.message().contains("glioma"));
        let unknown = req(r#"[{"name":"no","classes":["normal"]},
                              {"name":"yes","classes":["glioma","meningioma","pituitary"]}]"#)
        .unwrap_err();
        assert!(unknown.message().contains("normal"));
        let one =
            req(r#"[{"name":"all","classes":["notumor","glioma","meningioma","pituitary"]}]"#)
                .unwrap_err();
        assert_eq!(one.code(), "invalid_options");
        let bad_field: std::result::Result<GroupClassesRequest, _> = serde_json::from_str(
            r#"{"classes":["a","b"],"groups":[{"name":"x","classes":["a"],"weight":1}],"predProbs":[],"n":0}"#,
        );
        assert!(bad_field.is_err());
    }

    #[test]
    fn shapes_checked() {
        let r: GroupClassesRequest = serde_json::from_str(
            r#"{"classes":["a","b","c"],"groups":[{"name":"x","classes":["a"]},{"name":"y","classes":["b","c"]}],
                "predProbs":[0.5,0.5],"n":1}"#,
        )
        .unwrap();
        assert_eq!(group_classes(&r).unwrap_err().code(), "invalid_input");
        let mut r2 = r.clone();
        r2.pred_probs = vec![0.2, f64::NAN, 0.8];
        assert_eq!(group_classes(&r2).unwrap_err().code(), "invalid_input");
        let mut r3 = r;
        r3.pred_probs = vec![0.2, 0.3, 0.5];
        r3.labels = Some(vec![3]);
        assert_eq!(group_classes(&r3).unwrap_err().code(), "invalid_input");
    }
}
