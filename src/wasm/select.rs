//! JS bindings for batch selection: `selectBatch(request)` takes the engine's
//! [`SelectRequest`](crate::engine::queue::select::SelectRequest) and returns its
//! [`SelectResponse`](crate::engine::queue::select::SelectResponse).

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::queue::select::{self, SelectRequest};

bind!(
    "selectBatch",
    select_batch,
    "SelectRequest",
    "SelectResponse",
    SelectRequest,
    select::select_batch,
    "Select a batch for review: top-k, ranked batch (modAL), k-center greedy (core-set) or BADGE, optionally split across classes by a per-class budget."
);
