//! ONNX model loading with tract: bytes + manifest -> a typed, optimized, runnable plan whose
//! input and output shapes were checked against the manifest.
//!
//! Models are only ever read from bytes, so an ONNX file that points at external data files
//! is refused (tract has no directory to resolve them against): a model cannot make us read
//! the file system.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::limits::{self, MAX_BATCH, MAX_GRAPH_DEPTH, MAX_SCAN_ITERATIONS};
use super::manifest::{Layout, Manifest};
use super::onnx_check::{self, const_i64s};
use crate::error::{catch_panic, err, one_line, Error, ErrorKind, Result};

/// Options for loading a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LoadOptions {
    /// Refuse models larger than this many bytes (default 512 MiB).
    pub max_model_bytes: u64,
    /// Largest number of images run through the model in one call when its batch dimension
    /// is free (default 8, at most 4096). Models with a fixed batch size use theirs (at most
    /// 4096).
    pub max_batch: usize,
    /// Refuse a model in which one tensor (an operator's output at the batch size used, or a
    /// constant) would exceed this many bytes, checked after shape inference and before the
    /// model runs (default 1 GiB). The model's initializers and constants together are
    /// bounded by `max_model_bytes`, as declared, before tract reads them.
    pub max_tensor_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_model_bytes: 512 * 1024 * 1024,
            max_batch: 8,
            max_tensor_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// What the model's input looks like, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batch {
    /// Input of rank 3: one image per run.
    None,
    /// Input of rank 4 with a fixed batch size.
    Fixed(usize),
    /// Input of rank 4 with a free (symbolic) batch size.
    Free,
}

/// Raw model output for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOutput {
    /// The K class scores (logits or probabilities, as the manifest says).
    pub scores: Vec<f32>,
    /// The embedding, if the manifest names one.
    pub embedding: Option<Vec<f32>>,
}

type Plan = Arc<TypedRunnableModel>;

/// A loaded, checked, optimized model.
pub struct Model {
    manifest: Manifest,
    plan: Plan,
    batch: Batch,
    max_batch: usize,
    sha256: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("manifest", &self.manifest)
            .field("batch", &self.batch)
            .field("sha256", &self.sha256)
            .finish()
    }
}

fn tract_err(kind: fn(String) -> Error, what: &str) -> impl Fn(TractError) -> Error + '_ {
    move |e| kind(format!("{what}: {}", tract_message(&e)))
}

/// tract's error chain on one line, readable: repeated links dropped (a nested `If` gives
/// the same context once per level), at most the first two links and the root cause, each
/// on one line, the whole at most 500 characters.
pub fn tract_message(e: &TractError) -> String {
    let mut parts: Vec<String> = Vec::new();
    for link in e.chain() {
        let s = one_line(&link.to_string(), 200).replace("TDim", "int64");
        if !parts.contains(&s) {
            parts.push(s);
        }
    }
    if parts.len() > 3 {
        let root = parts.pop().unwrap_or_default();
        parts.truncate(2);
        parts.push("…".into());
        parts.push(root);
    }
    one_line(&parts.join(": "), 500)
}

/// A datum type as a user knows it: tract's `TDim` (how it carries int64 shapes) is int64.
fn type_name(dt: DatumType) -> String {
    if dt == DatumType::TDim {
        "int64".into()
    } else {
        format!("{dt:?}").to_lowercase()
    }
}

fn invalid_model(m: String) -> Error {
    err!(InvalidModel, "{m}")
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn dims_to_string(d: &[Option<i64>]) -> String {
    let v: Vec<String> = d
        .iter()
        .map(|x| x.map(|v| v.to_string()).unwrap_or_else(|| "?".into()))
        .collect();
    format!("[{}]", v.join(", "))
}

impl Model {
    /// Load a model from ONNX bytes, check it against the manifest and optimize it.
    pub fn load(bytes: &[u8], manifest: Manifest, opts: &LoadOptions) -> Result<Model> {
        manifest.validate()?;
        limits::batch(
            "maxBatch",
            opts.max_batch as u64,
            MAX_BATCH,
            "limits::MAX_BATCH",
        )?;
        if bytes.len() as u64 > opts.max_model_bytes {
            return Err(err!(
                InvalidModel,
                "model is {} bytes, limit is {}",
                bytes.len(),
                opts.max_model_bytes
            ));
        }
        let sha256 = sha256_hex(bytes);
        if let Some(want) = &manifest.sha256 {
            if !want.eq_ignore_ascii_case(&sha256) {
                return Err(err!(
                    ModelHashMismatch,
                    "model SHA-256 is {sha256}, manifest requires {want}"
                ));
            }
        }
        // tract may panic on some malformed graphs; natively that is caught, quietly, and
        // becomes an error (in wasm a panic is a trap: the budget checks in build_plan keep
        // the known causes out, and the worker pool replaces a trapped instance).
        let built = catch_panic(|| build_plan(bytes, &manifest, opts)).unwrap_or_else(|m| {
            Err(err!(InvalidModel, "the model crashed the ONNX loader: {m}"))
        })?;
        let (plan, batch) = built;
        Ok(Model {
            manifest,
            plan,
            batch,
            max_batch: opts.max_batch,
            sha256,
        })
    }

    /// The manifest this model was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Hex SHA-256 of the model bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// How many images one run takes at most.
    pub fn batch_size(&self) -> usize {
        match self.batch {
            Batch::None => 1,
            Batch::Fixed(b) => b,
            Batch::Free => self.max_batch,
        }
    }

    /// Elements of one preprocessed image tensor.
    pub fn image_len(&self) -> usize {
        let i = &self.manifest.input;
        i.channels.count() * i.width as usize * i.height as usize
    }

    fn image_shape(&self) -> [usize; 3] {
        let i = &self.manifest.input;
        let (c, h, w) = (i.channels.count(), i.height as usize, i.width as usize);
        match i.layout {
            Layout::Nchw => [c, h, w],
            Layout::Nhwc => [h, w, c],
        }
    }

    /// Run the model on preprocessed images (each [`Model::image_len`] values). Runs in
    /// chunks of [`Model::batch_size`]; a fixed batch is padded with zeros.
    pub fn run(&self, images: &[&[f32]]) -> Result<Vec<RawOutput>> {
        let n_img = self.image_len();
        if let Some(bad) = images.iter().position(|im| im.len() != n_img) {
            return Err(err!(
                InvalidInput,
                "image {bad} has {} values, {n_img} expected",
                images[bad].len()
            ));
        }
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(self.batch_size()) {
            let run_n = match self.batch {
                Batch::Fixed(b) => b,
                _ => chunk.len(),
            };
            let len = run_n.saturating_mul(n_img);
            let mut data: Vec<f32> =
                limits::vec_with_capacity(ErrorKind::Inference, "input tensor", len)?;
            for im in chunk {
                data.extend_from_slice(im);
            }
            data.resize(run_n * n_img, 0.0);
            let s = self.image_shape();
            let tensor = match self.batch {
                Batch::None => Tensor::from_shape(&s, &data),
                _ => Tensor::from_shape(&[run_n, s[0], s[1], s[2]], &data),
            }
            .map_err(tract_err(|m| err!(Inference, "{m}"), "input tensor"))?;
            let result = catch_panic(|| self.plan.run(tvec!(tensor.into())))
                .map_err(|m| {
                    err!(
                        InferencePanicked,
                        "the model panicked during inference ({m}); this item fails alone"
                    )
                })?
                .map_err(tract_err(|m| err!(Inference, "{m}"), "inference"))?;
            let k = self.manifest.num_classes();
            let scores = result[0]
                .to_plain_array_view::<f32>()
                .map_err(tract_err(|m| err!(Inference, "{m}"), "output"))?;
            let scores = scores
                .as_slice()
                .ok_or_else(|| err!(Inference, "output is not contiguous"))?;
            if scores.len() != run_n * k {
                return Err(err!(
                    ShapeMismatch,
                    "model returned {} values for {run_n} image(s) x {k} classes",
                    scores.len()
                ));
            }
            let emb = match result.get(1) {
                Some(t) => {
                    let v = t
                        .to_plain_array_view::<f32>()
                        .map_err(tract_err(|m| err!(Inference, "{m}"), "embedding"))?;
                    let v: Vec<f32> = v.iter().copied().collect();
                    if !v.len().is_multiple_of(run_n) {
                        return Err(err!(
                            ShapeMismatch,
                            "embedding size is not a multiple of the batch"
                        ));
                    }
                    Some(v)
                }
                None => None,
            };
            for i in 0..chunk.len() {
                let embedding = emb.as_ref().map(|v| {
                    let d = v.len() / run_n;
                    v[i * d..(i + 1) * d].to_vec()
                });
                out.push(RawOutput {
                    scores: scores[i * k..(i + 1) * k].to_vec(),
                    embedding,
                });
            }
        }
        Ok(out)
    }
}

fn build_plan(bytes: &[u8], manifest: &Manifest, opts: &LoadOptions) -> Result<(Plan, Batch)> {
    let max_batch = opts.max_batch;
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
    let mut model = onnx
        .model_for_proto_model(&proto)
        .map_err(tract_err(invalid_model, "cannot parse ONNX model"))?;
    drop(proto);

    // --- input
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

    // --- outputs: class scores first, then the embedding if named
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
    model = model.with_outputs_by_name(&names).map_err(tract_err(
        |m| err!(ShapeMismatch, "{m}"),
        "selecting outputs",
    ))?;

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
        let t = m
            .into_typed()
            .map_err(tract_err(invalid_model, "cannot analyse the model"))?;
        // every tensor's size is known now: refuse before anything is run or folded
        check_tensor_sizes(&t, max_batch, opts.max_tensor_bytes)?;
        check_scan_trips(&t, max_batch, 1)?;
        t.into_optimized()
            .map_err(tract_err(invalid_model, "cannot optimize the model"))
    };
    let (typed_model, batch) = match batch {
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
    };
    check_output(&typed_model, manifest, batch)?;
    let plan = typed_model
        .into_runnable()
        .map_err(tract_err(invalid_model, "cannot plan the model"))?;
    Ok((plan, batch))
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

fn tensor_proto_bytes(t: &tract_onnx::pb::TensorProto) -> Result<u128> {
    Ok(dims_volume(&t.dims)?.saturating_mul(onnx_elem_bytes(t.data_type)))
}

/// Checks on the ONNX proto before tract builds anything from it: sub-graph nesting depth,
/// the declared bytes of every initializer and constant (together at most `maxModelBytes`:
/// tract allocates a tensor from its declared dimensions), and the outputs of the operators
/// tract evaluates eagerly while analysing when their inputs are constants
/// (`ConstantOfShape`, `Expand`, `Tile` with constant shapes: at most `maxTensorBytes`).
fn prescan_graph(
    g: &tract_onnx::pb::GraphProto,
    depth: usize,
    opts: &LoadOptions,
    declared: &mut u128,
) -> Result<()> {
    use std::collections::HashMap;
    if depth > MAX_GRAPH_DEPTH {
        return Err(err!(
            InvalidModel,
            "sub-graphs (If/Loop/Scan) are nested more than {MAX_GRAPH_DEPTH} deep (limits::MAX_GRAPH_DEPTH)"
        ));
    }
    let over = |what: &str, bytes: u128, limit: u64, name: &str| {
        err!(
            InvalidModel,
            "{what} needs {bytes} bytes, limit is {limit} ({name})"
        )
    };
    let mut consts: HashMap<&str, &tract_onnx::pb::TensorProto> = HashMap::new();
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
    let tensor_limit = u128::from(opts.max_tensor_bytes);
    for n in &g.node {
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
        if *declared > u128::from(opts.max_model_bytes) {
            return Err(over(
                "the model's initializers and constants",
                *declared,
                opts.max_model_bytes,
                "maxModelBytes",
            ));
        }
        // attributes tract trusts: LRN's size is subtracted from (a panic at inference)
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
        let out_bytes = match n.op_type.as_str() {
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
        };
        if let Some(b) = out_bytes {
            if b > tensor_limit {
                return Err(over(
                    &format!("operator {:?} ({})", n.name, n.op_type),
                    b,
                    opts.max_tensor_bytes,
                    "maxTensorBytes",
                ));
            }
        }
    }
    if *declared > u128::from(opts.max_model_bytes) {
        return Err(over(
            "the model's initializers and constants",
            *declared,
            opts.max_model_bytes,
            "maxModelBytes",
        ));
    }
    Ok(())
}

/// Every tensor of the analysed model (each operator's outputs, constants included) at the
/// batch size that will be run must fit in `limit` bytes. A dimension tract cannot compute
/// before running (data-dependent) is not checked here.
fn check_tensor_sizes(model: &TypedModel, batch: usize, limit: u64) -> Result<()> {
    let mut values = SymbolValues::default();
    for s in model.symbols.all_symbols() {
        values.set(&s, batch as i64);
    }
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
fn check_scan_trips(model: &TypedModel, batch: usize, outer: u64) -> Result<()> {
    use tract_onnx::tract_core::ops::scan::Scan;
    let mut values = SymbolValues::default();
    for s in model.symbols.all_symbols() {
        values.set(&s, batch as i64);
    }
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
