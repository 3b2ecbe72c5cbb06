//! JS bindings for batch selection: `selectBatch(request)` takes the engine's
//! [`SelectRequest`](crate::engine::queue::select::SelectRequest) and returns its
//! [`SelectResponse`](crate::engine::queue::select::SelectResponse).

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::queue::select::{self, SelectRequest};

/// Select a batch for review: top-k, ranked batch (modAL), k-center greedy (core-set) or
/// BADGE, optionally split across classes by a per-class budget.
#[wasm_bindgen(js_name = selectBatch, unchecked_return_type = "SelectResponse")]
pub fn select_batch(
    #[wasm_bindgen(unchecked_param_type = "SelectRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let r: SelectRequest = from_js(request, "selectBatch")?;
    to_js(&select::select_batch(&r).map_err(|e| js_error(&e))?)
}
