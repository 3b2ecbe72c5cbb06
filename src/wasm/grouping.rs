//! Class grouping: sum a model's class probabilities into the classes a task uses.

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::grouping;

bind!(
    "groupClasses",
    group_classes,
    "GroupClassesRequest",
    "GroupClassesResponse",
    grouping::GroupClassesRequest,
    grouping::group_classes,
    "Sum model-class probabilities into groups (e.g. tumour = glioma + meningioma + pituitary)."
);
