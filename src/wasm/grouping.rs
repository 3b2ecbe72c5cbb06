//! Class grouping: sum a model's class probabilities into the classes a task uses.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::grouping;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r#"
export interface ClassGroup {
  /** Name of the grouped class. */
  name: string;
  /** Model class names it gathers; every model class belongs to exactly one group. */
  classes: string[];
}
export interface GroupClassesRequest {
  /** The model's class names, in output order (k). */
  classes: string[];
  /** The target classes, in output order (at least 2). */
  groups: ClassGroup[];
  /** n x k row-major. */
  predProbs: number[] | Float64Array;
  n: number;
  /** Model-class labels (0..k-1), mapped to group indices. */
  labels?: number[] | Int32Array;
}
export interface GroupClassesResponse {
  /** Group names. */
  classes: string[];
  /** Group index of each model class. */
  groupOf: number[];
  /** n x groups row-major: each group's probability is the sum of its classes'. */
  predProbs: number[];
  n: number;
  labels?: number[];
}
"#;

bind!(
    "groupClasses",
    group_classes,
    "GroupClassesRequest",
    "GroupClassesResponse",
    grouping::GroupClassesRequest,
    grouping::group_classes,
    "Sum model-class probabilities into groups (e.g. tumour = glioma + meningioma + pituitary)."
);
