//! Building the runnable plan: parse the ONNX proto under the budget checks, match the input
//! and outputs against the manifest, then analyse and optimize at the batch size to be run.

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::budget::{check_scan_trips, check_tensor_sizes, prescan_graph};
use super::swap::{use_own_fused_ops, use_own_ops};
use super::{dims_to_string, invalid_model, tract_err, type_name, Batch, LoadOptions, Plan};
use crate::engine::limits::MAX_BATCH;
use crate::engine::manifest::{Layout, Manifest};
use crate::engine::onnx_check;
use crate::error::{err, Result};

pub(super) fn build_plan(
    bytes: &[u8],
    manifest: &Manifest,
    opts: &LoadOptions,
) -> Result<(Plan, Batch)> {
    let model = parse_checked(bytes, opts)?;
    let input_ix = find_input(&model, manifest)?;
    let (batch, want) = check_input(&model, input_ix, manifest)?;
    let model = select_outputs(model, manifest)?;
    let (typed_model, batch) = optimize(model, input_ix, want, batch, opts)?;
    check_output(&typed_model, manifest, batch)?;
    let plan = typed_model
        .into_runnable()
        .map_err(tract_err(invalid_model, "cannot plan the model"))?;
    Ok((plan, batch))
}

/// The ONNX proto, checked before tract builds anything from it, as an inference model.
fn parse_checked(bytes: &[u8], opts: &LoadOptions) -> Result<InferenceModel> {
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(tract_err(invalid_model, "cannot parse ONNX model"))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| err!(InvalidModel, "cannot parse ONNX model: it has no graph"))?;
    let mut declared = 0u128;
    prescan_graph(graph, 0, opts, &mut declared)?;
    // what tract would panic on while analysing (a trap in wasm), and Scan trip counts
    onnx_check::check_model(graph, 4, opts.max_tensor_bytes)?;
    onnx.model_for_proto_model(&proto)
        .map_err(tract_err(invalid_model, "cannot parse ONNX model"))
}

/// The index of the image input: the one named in the manifest, or the only one.
fn find_input(model: &InferenceModel, manifest: &Manifest) -> Result<usize> {
    let input_ix = match &manifest.input.name {
        None => 0,
        Some(name) => {
            let outlets = model
                .input_outlets()
                .map_err(tract_err(invalid_model, "inputs"))?
                .to_vec();
            outlets
                .iter()
                .position(|o| model.node(o.node).name == *name)
                .ok_or_else(|| err!(ShapeMismatch, "model has no input named {name:?}"))?
        }
    };
    let n_inputs = model.input_outlets().map(|o| o.len()).unwrap_or(0);
    if n_inputs == 0 {
        return Err(err!(InvalidModel, "model has no input"));
    }
    if n_inputs > 1 && manifest.input.name.is_none() {
        return Err(err!(
            ShapeMismatch,
            "model has {n_inputs} inputs; an image classifier takes one (name it in input.name)"
        ));
    }
    Ok(input_ix)
}

/// The input's declared shape and type against the manifest: its batch kind, and the image
/// dimensions the manifest asks for in layout order.
fn check_input(
    model: &InferenceModel,
    input_ix: usize,
    manifest: &Manifest,
) -> Result<(Batch, [i64; 3])> {
    let fact = model
        .input_fact(input_ix)
        .map_err(tract_err(invalid_model, "input fact"))?
        .clone();
    let declared: Vec<Option<i64>> = fact
        .shape
        .dims()
        .map(|d| d.concretize().and_then(|t| t.to_i64().ok()))
        .collect();
    let i = &manifest.input;
    let (c, h, w) = (i.channels.count() as i64, i.height as i64, i.width as i64);
    let want: [i64; 3] = match i.layout {
        Layout::Nchw => [c, h, w],
        Layout::Nhwc => [h, w, c],
    };
    let (batch, img_dims) = match declared.len() {
        // an input with no declared shape at all: assume [N, ...]
        0 if fact.shape.is_open() => (Batch::Free, vec![None, None, None]),
        3 => (Batch::None, declared.clone()),
        4 => match declared[0] {
            Some(b) if b as u64 > MAX_BATCH => {
                return Err(err!(
                    InvalidModel,
                    "model batch dimension is {b}, limit is {MAX_BATCH} (limits::MAX_BATCH)"
                ))
            }
            Some(b) if b >= 1 => (Batch::Fixed(b as usize), declared[1..].to_vec()),
            Some(b) => return Err(err!(ShapeMismatch, "model batch dimension is {b}")),
            None => (Batch::Free, declared[1..].to_vec()),
        },
        r => {
            return Err(err!(
                ShapeMismatch,
                "model input has rank {r} {}, expected [N, C, H, W], [N, H, W, C] or 3 dims",
                dims_to_string(&declared)
            ))
        }
    };
    for (k, (d, w)) in img_dims.iter().zip(want).enumerate() {
        if let Some(d) = d {
            if *d != w {
                return Err(err!(
                    ShapeMismatch,
                    "model input shape {} does not match the manifest ({:?} {}x{}x{} {:?}): dimension {} is {d}, manifest says {w}",
                    dims_to_string(&declared),
                    i.layout,
                    i.width,
                    i.height,
                    c,
                    i.channels,
                    k + declared.len() - 3
                ));
            }
        }
    }
    if let Some(dt) = fact.datum_type.concretize() {
        if dt != f32::datum_type() {
            return Err(err!(
                ShapeMismatch,
                "model input type is {}; only float32 inputs are supported",
                type_name(dt)
            ));
        }
    }
    Ok((batch, want))
}

/// Keep only the outputs the manifest uses: class scores first, then the embedding if named.
fn select_outputs(model: InferenceModel, manifest: &Manifest) -> Result<InferenceModel> {
    let mut names = vec![];
    let outlets = model
        .output_outlets()
        .map_err(tract_err(invalid_model, "outputs"))?
        .to_vec();
    if outlets.is_empty() {
        return Err(err!(InvalidModel, "model has no output"));
    }
    let label = |o: &OutletId| {
        model
            .outlet_label(*o)
            .map(str::to_string)
            .unwrap_or_else(|| model.node(o.node).name.clone())
    };
    let out_names: Vec<String> = outlets.iter().map(label).collect();
    let scores_name = match &manifest.output.name {
        Some(n) => n.clone(),
        None => out_names[0].clone(),
    };
    names.push(scores_name.clone());
    if let Some(e) = &manifest.output.embedding {
        names.push(e.clone());
    }
    for n in &names {
        if model.find_outlet_label(n).is_none() && model.node_by_name(n).is_err() {
            return Err(err!(
                ShapeMismatch,
                "model has no output or node named {n:?} (outputs: {})",
                out_names.join(", ")
            ));
        }
    }
    model.with_outputs_by_name(&names).map_err(tract_err(
        |m| err!(ShapeMismatch, "{m}"),
        "selecting outputs",
    ))
}

/// Analyse and optimize with the input fixed to `want` (plus the batch dimension), checking
/// every tensor's size and the Scan trip counts at the batch to be run. A free batch that
/// does not optimize is fixed to 1.
fn optimize(
    model: InferenceModel,
    input_ix: usize,
    want: [i64; 3],
    batch: Batch,
    opts: &LoadOptions,
) -> Result<(TypedModel, Batch)> {
    let max_batch = opts.max_batch;
    let make_fact = |b: Option<TDim>| -> InferenceFact {
        let s: Vec<TDim> = want.iter().map(|&v| TDim::from(v)).collect();
        let mut shape: Vec<TDim> = Vec::with_capacity(4);
        if let Some(b) = b {
            shape.push(b);
        }
        shape.extend(s);
        InferenceFact::dt_shape(f32::datum_type(), shape)
    };
    let typed = |mut m: InferenceModel, b: Option<TDim>| -> Result<TypedModel> {
        m.set_input_fact(input_ix, make_fact(b))
            .map_err(tract_err(invalid_model, "input fact"))?;
        let mut t = m
            .into_typed()
            .map_err(tract_err(invalid_model, "cannot analyse the model"))?;
        use_own_ops(&mut t).map_err(tract_err(invalid_model, "own operators"))?;
        // every tensor's size is known now: refuse before anything is run or folded
        check_tensor_sizes(&t, max_batch, opts.max_tensor_bytes)?;
        check_scan_trips(&t, max_batch, 1)?;
        let mut t = t
            .into_optimized()
            .map_err(tract_err(invalid_model, "cannot optimize the model"))?;
        use_own_fused_ops(&mut t).map_err(tract_err(invalid_model, "own operators"))?;
        Ok(t)
    };
    Ok(match batch {
        Batch::None => (typed(model, None)?, Batch::None),
        Batch::Fixed(b) => (typed(model, Some(TDim::from(b as i64)))?, Batch::Fixed(b)),
        Batch::Free => {
            let n = model.symbols.sym("N");
            match typed(model.clone(), Some(TDim::Sym(n))) {
                Ok(t) if max_batch > 1 => (t, Batch::Free),
                // if the graph does not optimize with a free batch, fix it to 1
                _ => (typed(model, Some(TDim::from(1i64)))?, Batch::Fixed(1)),
            }
        }
    })
}

fn check_output(model: &TypedModel, manifest: &Manifest, batch: Batch) -> Result<()> {
    let outlet = model
        .output_outlets()
        .map_err(tract_err(invalid_model, "outputs"))?[0];
    let fact = model
        .outlet_fact(outlet)
        .map_err(tract_err(invalid_model, "output fact"))?;
    if fact.datum_type != f32::datum_type() {
        return Err(err!(
            ShapeMismatch,
            "model output type is {}; float32 expected",
            type_name(fact.datum_type)
        ));
    }
    let dims: Vec<Option<i64>> = fact.shape.iter().map(|d| d.to_i64().ok()).collect();
    let skip = usize::from(batch != Batch::None && !dims.is_empty());
    let rest = &dims[skip..];
    let k = manifest.num_classes() as i64;
    // accept [N, K], [K], [N, K, 1, 1]: one dimension K, every other one 1
    let ks = rest.iter().filter(|d| **d == Some(k)).count();
    let ones = rest.iter().filter(|d| **d == Some(1)).count();
    let ok = if k == 1 {
        false
    } else {
        ks == 1 && ks + ones == rest.len()
    };
    if !ok {
        return Err(err!(
            ShapeMismatch,
            "model output shape {} does not hold {k} class scores (the manifest lists {k} classes)",
            dims_to_string(&dims)
        ));
    }
    Ok(())
}
