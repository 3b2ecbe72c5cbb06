//! Resource budgets for a model: the declared sizes in the ONNX proto before tract reads it,
//! and every tensor's size and every Scan's trip count once tract has analysed it.

use std::collections::HashMap;

use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::prelude::*;

use super::{type_name, LoadOptions};
use crate::engine::limits::{MAX_GRAPH_DEPTH, MAX_SCAN_ITERATIONS};
use crate::engine::onnx_check::const_i64s;
use crate::error::{err, Error, Result};

/// Bytes of one element of an ONNX `TensorProto.data_type` (strings count 8, unknown 8).
fn onnx_elem_bytes(dt: i32) -> u128 {
    match dt {
        2 | 3 | 9 | 17..=20 => 1,
        4 | 5 | 10 | 16 => 2,
        1 | 6 | 12 => 4,
        15 => 16,
        _ => 8,
    }
}

fn dims_volume(dims: &[i64]) -> Result<u128> {
    dims.iter().try_fold(1u128, |acc, &d| {
        if d < 0 {
            return Err(err!(
                InvalidModel,
                "a tensor declares a negative dimension {d}"
            ));
        }
        Ok(acc.saturating_mul(d as u128))
    })
}

fn tensor_proto_bytes(t: &TensorProto) -> Result<u128> {
    Ok(dims_volume(&t.dims)?.saturating_mul(onnx_elem_bytes(t.data_type)))
}

/// Checks on the ONNX proto before tract builds anything from it: sub-graph nesting depth,
/// the declared bytes of every initializer and constant (together at most `maxModelBytes`:
/// tract allocates a tensor from its declared dimensions), and the outputs of the operators
/// tract evaluates eagerly while analysing when their inputs are constants
/// (`ConstantOfShape`, `Expand`, `Tile` with constant shapes: at most `maxTensorBytes`).
pub(super) fn prescan_graph(
    g: &GraphProto,
    depth: usize,
    opts: &LoadOptions,
    declared: &mut u128,
) -> Result<()> {
    if depth > MAX_GRAPH_DEPTH {
        return Err(err!(
            InvalidModel,
            "sub-graphs (If/Loop/Scan) are nested more than {MAX_GRAPH_DEPTH} deep (limits::MAX_GRAPH_DEPTH)"
        ));
    }
    let mut consts = declare_initializers(g, declared)?;
    for n in &g.node {
        declare_attributes(n, depth, opts, declared, &mut consts)?;
        check_declared(*declared, opts)?;
        check_lrn(n)?;
        if let Some(b) = eager_output_bytes(n, &consts)? {
            if b > u128::from(opts.max_tensor_bytes) {
                return Err(over(
                    &format!("operator {:?} ({})", n.name, n.op_type),
                    b,
                    opts.max_tensor_bytes,
                    "maxTensorBytes",
                ));
            }
        }
    }
    check_declared(*declared, opts)
}

/// Constant tensors of a graph by the name its nodes read them under.
type Consts<'g> = HashMap<&'g str, &'g TensorProto>;

fn over(what: &str, bytes: u128, limit: u64, name: &str) -> Error {
    err!(
        InvalidModel,
        "{what} needs {bytes} bytes, limit is {limit} ({name})"
    )
}

/// The declared bytes so far against `maxModelBytes`.
fn check_declared(declared: u128, opts: &LoadOptions) -> Result<()> {
    if declared > u128::from(opts.max_model_bytes) {
        return Err(over(
            "the model's initializers and constants",
            declared,
            opts.max_model_bytes,
            "maxModelBytes",
        ));
    }
    Ok(())
}

/// Adds the graph's initializers (sparse ones too) to `declared`; the dense ones are the
/// first constants.
fn declare_initializers<'g>(g: &'g GraphProto, declared: &mut u128) -> Result<Consts<'g>> {
    let mut consts = Consts::new();
    for t in &g.initializer {
        *declared = declared.saturating_add(tensor_proto_bytes(t)?);
        consts.insert(t.name.as_str(), t);
    }
    for t in &g.sparse_initializer {
        if let Some(v) = &t.values {
            *declared = declared.saturating_add(tensor_proto_bytes(v)?);
        }
        *declared = declared.saturating_add(dims_volume(&t.dims)?.saturating_mul(8));
    }
    Ok(consts)
}

/// Adds the tensors in a node's attributes to `declared` (a `Constant`'s value becomes a
/// constant) and prescans its sub-graphs one level deeper.
fn declare_attributes<'g>(
    n: &'g NodeProto,
    depth: usize,
    opts: &LoadOptions,
    declared: &mut u128,
    consts: &mut Consts<'g>,
) -> Result<()> {
    for a in &n.attribute {
        if let Some(t) = &a.t {
            *declared = declared.saturating_add(tensor_proto_bytes(t)?);
            if n.op_type == "Constant" {
                if let Some(out) = n.output.first() {
                    consts.insert(out.as_str(), t);
                }
            }
        }
        for t in &a.tensors {
            *declared = declared.saturating_add(tensor_proto_bytes(t)?);
        }
        if let Some(sub) = &a.g {
            prescan_graph(sub, depth + 1, opts, declared)?;
        }
        for sub in &a.graphs {
            prescan_graph(sub, depth + 1, opts, declared)?;
        }
    }
    Ok(())
}

/// An attribute tract trusts: LRN's size is subtracted from (a panic at inference).
fn check_lrn(n: &NodeProto) -> Result<()> {
    if n.op_type == "LRN" {
        let size = n
            .attribute
            .iter()
            .find(|a| a.name == "size")
            .map_or(0, |a| a.i);
        if size < 1 {
            return Err(err!(
                InvalidModel,
                "operator {:?} (LRN) has size {size}; at least 1 is needed",
                n.name
            ));
        }
    }
    Ok(())
}

/// The output bytes of an operator tract evaluates eagerly when its inputs are constants
/// (`ConstantOfShape`, `Expand`, `Tile`); `None` for any other or with inputs not constant.
fn eager_output_bytes(n: &NodeProto, consts: &Consts) -> Result<Option<u128>> {
    let konst = |ix: usize| {
        n.input
            .get(ix)
            .and_then(|i| consts.get(i.as_str()).copied())
    };
    let shape_volume = |ix: usize| -> Result<Option<u128>> {
        match konst(ix).and_then(const_i64s) {
            Some(v) => Ok(Some(dims_volume(&v)?)),
            None => Ok(None),
        }
    };
    Ok(match n.op_type.as_str() {
        "ConstantOfShape" => {
            let elem = n
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
                .map_or(4, |t| onnx_elem_bytes(t.data_type));
            shape_volume(0)?.map(|v| v.saturating_mul(elem))
        }
        "Expand" => shape_volume(1)?.map(|v| v.saturating_mul(8)),
        // tract tiles one axis after another, so a repeat of 0 on a later axis does not
        // spare the earlier ones: the bound takes every repeat of 0 as 1
        "Tile" => match (konst(0), konst(1).and_then(const_i64s)) {
            (Some(x), Some(reps)) => {
                let reps: Vec<i64> = reps.iter().map(|&r| if r == 0 { 1 } else { r }).collect();
                Some(tensor_proto_bytes(x)?.saturating_mul(dims_volume(&reps)?))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Every tensor of the analysed model (each operator's outputs, constants included) at the
/// batch size that will be run must fit in `limit` bytes. A dimension tract cannot compute
/// before running (data-dependent) is not checked here.
pub(super) fn check_tensor_sizes(model: &TypedModel, batch: usize, limit: u64) -> Result<()> {
    let values = batch_values(model, batch);
    for node in model.nodes() {
        check_tile_steps(model, node, &values, limit)?;
        for (ix, o) in node.outputs.iter().enumerate() {
            let f = &o.fact;
            let bytes = known_volume(f.shape.iter(), &values)
                .map(|v| v.saturating_mul(f.datum_type.size_of() as u128));
            if let Some(bytes) = bytes.filter(|&b| b > u128::from(limit)) {
                return Err(err!(
                    InvalidModel,
                    "operator {:?} output {ix} ({} {}) needs {bytes} bytes at batch {batch}, limit is {limit} (maxTensorBytes)",
                    node.name,
                    type_name(f.datum_type),
                    format!("{:?}", f.shape).replace("TDim", "int64")
                ));
            }
        }
    }
    Ok(())
}

/// The product of `dims` evaluated at `values`; `None` when one is not known before running.
fn known_volume<D: std::borrow::Borrow<TDim>>(
    dims: impl IntoIterator<Item = D>,
    values: &SymbolValues,
) -> Option<u128> {
    dims.into_iter()
        .try_fold(1u128, |vol, d| match d.borrow().eval(values).to_i64() {
            Ok(v) if v >= 0 => Some(vol.saturating_mul(v as u128)),
            _ => None,
        })
}

/// tract's `Tile` repeats one axis after another, and each step allocates its whole result,
/// so a repeat of 0 on a later axis leaves the earlier steps as large as the repeats before it
/// make them (an empty output after a ~2 TB step): the largest step must fit in `limit`.
fn check_tile_steps(
    model: &TypedModel,
    node: &tract_onnx::tract_core::internal::TypedNode,
    values: &SymbolValues,
    limit: u64,
) -> Result<()> {
    use tract_onnx::tract_core::ops::array::Tile;
    let (Some(tile), Some(input)) = (node.op_as::<Tile>(), node.inputs.first()) else {
        return Ok(());
    };
    let fact = model
        .outlet_fact(*input)
        .map_err(|e| err!(InvalidModel, "{e}"))?;
    // a repeat of 0 leaves the steps before it whole: counted as 1
    let repeats = tile.multipliers.iter().map(|m| {
        if matches!(m.eval(values).to_i64(), Ok(0)) {
            TDim::from(1)
        } else {
            m.clone()
        }
    });
    let (Some(source), Some(repeats)) = (
        known_volume(fact.shape.iter(), values),
        known_volume(repeats, values),
    ) else {
        return Ok(());
    };
    let vol = source
        .saturating_mul(repeats)
        .saturating_mul(fact.datum_type.size_of() as u128);
    if vol > u128::from(limit) {
        return Err(err!(
            InvalidModel,
            "operator {:?} (Tile) needs {vol} bytes on the way to its output, limit is {limit} (maxTensorBytes)",
            node.name
        ));
    }
    Ok(())
}

/// Every `Scan` of the analysed model runs its body at most [`MAX_SCAN_ITERATIONS`] times
/// per run, counting the iterations of the enclosing `Scan`s (`outer`): a trip count taken
/// from the input's shape is known only now. (tract has no `Loop`.)
pub(super) fn check_scan_trips(model: &TypedModel, batch: usize, outer: u64) -> Result<()> {
    use tract_onnx::tract_core::ops::scan::Scan;
    let values = batch_values(model, batch);
    for node in model.nodes() {
        let Some(scan) = node.op_as::<Scan>() else {
            continue;
        };
        let trips = scan
            .input_mapping
            .iter()
            .enumerate()
            .find_map(|(slot, m)| m.as_scan().map(|info| (slot, *info)))
            .and_then(|(slot, info)| {
                let fact = model.outlet_fact(*node.inputs.get(slot)?).ok()?;
                let len = fact.shape.get(info.axis)?.eval(&values).to_i64().ok()?;
                let chunk = info.chunk.unsigned_abs().max(1) as u64;
                Some((len.max(0) as u64).div_ceil(chunk))
            })
            .unwrap_or(1);
        let total = outer.saturating_mul(trips);
        if total > MAX_SCAN_ITERATIONS {
            return Err(err!(
                InvalidModel,
                "operator {:?} (Scan) runs its body {total} times per run at batch {batch}, limit is {MAX_SCAN_ITERATIONS} (limits::MAX_SCAN_ITERATIONS)",
                node.name
            ));
        }
        check_scan_trips(&scan.body, batch, total)?;
    }
    Ok(())
}

/// Every symbol of the analysed model (the batch dimension) set to `batch`.
fn batch_values(model: &TypedModel, batch: usize) -> SymbolValues {
    let mut values = SymbolValues::default();
    for s in model.symbols.all_symbols() {
        values.set(&s, batch as i64);
    }
    values
}
