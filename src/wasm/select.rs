//! JS bindings for batch selection: `selectBatch(request)` takes the engine's
//! [`SelectRequest`](crate::engine::queue::select::SelectRequest) and returns its
//! [`SelectResponse`](crate::engine::queue::select::SelectResponse).

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::queue::select::{self, SelectRequest};

#[wasm_bindgen(typescript_custom_section)]
const TS_SELECT: &'static str = r#"
/** Batch-selection rule. */
export type SelectStrategy = "topK" | "rankedBatch" | "kCenterGreedy" | "badge";
/** Split of the batch across predicted classes. */
export type ClassBudget = "none" | "proportional" | "byEstimatedError" | { counts: number[] };
export interface SelectOptions {
  /** Distance on embeddings (rankedBatch, kCenterGreedy); badge is always euclidean. */
  metric?: "euclidean" | "cosine";
  /** Seed of BADGE's SplitMix64 sampling stream (default 0). */
  seed?: number;
  /** rankedBatch without labeledEmbeddings: first pick = top score (default) or modAL's medoid. */
  coldStart?: "topScore" | "medoid";
  classBudget?: ClassBudget;
  /** Per-class error rates in [0, 1]: 1 - precision per class from the verified set. */
  classErrorRates?: number[];
  minPerClass?: number;
  /** badge: return the D^2 sampling probabilities of each step. */
  trace?: boolean;
}
export interface SelectRequest {
  /** One per item, higher = more informative; NaN/infinite items are never selected. */
  scores: number[] | Float64Array;
  batchSize: number;
  strategy?: SelectStrategy;
  /** n x d row-major. */
  embeddings?: number[] | Float64Array;
  d?: number;
  /** m x d row-major: the verified (labelled) set. */
  labeledEmbeddings?: number[] | Float64Array;
  /** n x k row-major. */
  predProbs?: number[] | Float64Array;
  k?: number;
  /** Predicted class per item (default: arg-max of predProbs). */
  predicted?: number[];
  options?: SelectOptions;
}
export interface SelectPick {
  index: number;
  rank: number;
  score: number;
  /** What the strategy maximised at this pick. */
  objective: number;
  distance?: number;
  similarity?: number;
  alpha?: number;
  gradientNorm?: number;
  class?: number;
  stratum?: number;
}
export interface ClassAllocation {
  class: number;
  pool: number;
  errorRate?: number;
  weight: number;
  requested?: number;
  allocated: number;
}
export interface SelectResponse {
  strategy: SelectStrategy;
  requestedBatchSize: number;
  batchSize: number;
  /** Item indices in pick order. */
  selected: number[];
  picks: SelectPick[];
  skippedNonFinite: number[];
  metric?: "euclidean" | "cosine";
  allocation?: ClassAllocation[];
  /** badge with trace: per step, the probability of each item (length n). */
  trace?: number[][];
  workingBytes: number;
  notes: string[];
}
"#;

/// Select a batch for review: top-k, ranked batch (modAL), k-center greedy (core-set) or
/// BADGE, optionally split across classes by a per-class budget.
#[wasm_bindgen(js_name = selectBatch, unchecked_return_type = "SelectResponse")]
pub fn select_batch(
    #[wasm_bindgen(unchecked_param_type = "SelectRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let r: SelectRequest = from_js(request, "selectBatch")?;
    to_js(&select::select_batch(&r).map_err(|e| js_error(&e))?)
}
