//! Where inference time goes: a loaded model's plan run node by node with a clock read around
//! each node, summed per operator kind and per node, over several runs after a warm-up.
//!
//! The clock is the caller's (`std::time::Instant` natively, the browser's `performance.now()`
//! in wasm, which Chromium coarsens to 0.1 ms without cross-origin isolation: the per-node
//! figures are then sums of coarse readings and only the larger ones mean much), so the engine
//! makes no platform call of its own. The run uses one state for all runs, as scoring does.

use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{eval, SimpleState};

use super::model::tract_message;
use crate::error::{err, Result};

/// Largest number of profiled runs one call may ask for.
pub const MAX_PROFILE_RUNS: usize = 1000;

/// What to profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ProfileOptions {
    /// Timed runs after one untimed warm-up run (default 5, 1 to 1000).
    pub runs: usize,
    /// How many of the slowest nodes to list (default 10).
    pub top_nodes: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            runs: 5,
            top_nodes: 10,
        }
    }
}

/// Time per operator kind (tract's name for the optimized operator, e.g. `OptMatMul`,
/// `DepthWise`, `Im2col`), per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpTime {
    /// The operator's name.
    pub op: String,
    /// Nodes of this kind the plan runs.
    pub nodes: usize,
    /// Milliseconds per run, summed over those nodes.
    pub ms: f64,
    /// Fraction of the timed total.
    pub share: f64,
}

/// One node of the plan, per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeTime {
    /// The node's name in the optimized graph (derived from the ONNX node names).
    pub name: String,
    /// Its operator's name.
    pub op: String,
    /// Milliseconds per run.
    pub ms: f64,
}

/// Where one inference spends its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpProfile {
    /// Timed runs.
    pub runs: usize,
    /// Wall time of a whole run (clock to clock), per run.
    pub run_ms: f64,
    /// Sum of the per-node times, per run (the rest of `run_ms` is the plan's own work:
    /// inputs, outputs, freeing intermediate values).
    pub nodes_ms: f64,
    /// Operator kinds, slowest first.
    pub ops: Vec<OpTime>,
    /// The slowest nodes, slowest first.
    pub slowest: Vec<NodeTime>,
}

/// Profile `plan` on `input` (already shaped as the plan's input). `now` returns
/// milliseconds from any fixed origin.
pub fn profile_plan(
    plan: &Arc<TypedRunnableModel>,
    input: Tensor,
    opts: &ProfileOptions,
    now: &dyn Fn() -> f64,
) -> Result<OpProfile> {
    if opts.runs == 0 || opts.runs > MAX_PROFILE_RUNS {
        return Err(err!(
            InvalidOptions,
            "runs must be 1 to {MAX_PROFILE_RUNS} (got {})",
            opts.runs
        ));
    }
    let inference = |e: TractError| err!(Inference, "profiling run: {}", tract_message(&e));
    let mut state = SimpleState::new(plan).map_err(inference)?;
    state.run(tvec!(input.clone().into())).map_err(inference)?;
    let mut per_node = vec![0.0f64; plan.model().nodes().len()];
    let t0 = now();
    for _ in 0..opts.runs {
        state
            .run_plan_with_eval(
                tvec!(input.clone().into()),
                |ctx, op_state, node, inputs| {
                    let t = now();
                    let out = eval(ctx, op_state, node, inputs);
                    per_node[node.id] += now() - t;
                    out
                },
            )
            .map_err(inference)?;
    }
    let runs = opts.runs as f64;
    let run_ms = (now() - t0) / runs;
    let ran = plan.order_without_consts();
    Ok(summarize(
        plan.model(),
        ran,
        &per_node,
        runs,
        run_ms,
        opts.top_nodes,
    ))
}

/// Per-run sums by operator kind and the slowest nodes, over the nodes the plan runs (`ran`:
/// constants are folded into the plan and never run).
fn summarize(
    model: &TypedModel,
    ran: &[usize],
    per_node: &[f64],
    runs: f64,
    run_ms: f64,
    top_nodes: usize,
) -> OpProfile {
    let nodes_ms = per_node.iter().sum::<f64>() / runs;
    let mut ops: Vec<OpTime> = Vec::new();
    let mut nodes: Vec<NodeTime> = Vec::new();
    for node in ran.iter().map(|&id| model.node(id)) {
        let ms = per_node[node.id] / runs;
        let op = node.op().name().to_string();
        match ops.iter_mut().find(|o| o.op == op) {
            Some(o) => {
                o.nodes += 1;
                o.ms += ms;
            }
            None => ops.push(OpTime {
                op: op.clone(),
                nodes: 1,
                ms,
                share: 0.0,
            }),
        }
        nodes.push(NodeTime {
            name: node.name.clone(),
            op,
            ms,
        });
    }
    for o in &mut ops {
        o.share = if nodes_ms > 0.0 { o.ms / nodes_ms } else { 0.0 };
    }
    ops.sort_by(|a, b| b.ms.total_cmp(&a.ms).then_with(|| a.op.cmp(&b.op)));
    nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    nodes.truncate(top_nodes);
    OpProfile {
        runs: runs as usize,
        run_ms,
        nodes_ms,
        ops,
        slowest: nodes,
    }
}
