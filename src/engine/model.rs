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

use super::manifest::{Layout, Manifest};
use crate::error::{err, Error, Result};

/// Options for loading a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LoadOptions {
    /// Refuse models larger than this many bytes (default 512 MiB).
    pub max_model_bytes: u64,
    /// Largest number of images run through the model in one call when its batch dimension
    /// is free (default 8). Models with a fixed batch size use theirs.
    pub max_batch: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_model_bytes: 512 * 1024 * 1024,
            max_batch: 8,
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
    move |e| kind(format!("{what}: {e:#}"))
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
        if opts.max_batch == 0 {
            return Err(err!(InvalidOptions, "maxBatch must be at least 1"));
        }
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
        // tract may panic on some malformed graphs; natively we turn that into an error.
        // (In wasm a panic aborts the instance; the worker pool replaces it.)
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            build_plan(bytes, &manifest, opts.max_batch)
        }))
        .unwrap_or_else(|_| Err(err!(InvalidModel, "the model crashed the ONNX loader")))?;
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
            let mut data = Vec::with_capacity(run_n * n_img);
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
            let result = self
                .plan
                .run(tvec!(tensor.into()))
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

fn build_plan(bytes: &[u8], manifest: &Manifest, max_batch: usize) -> Result<(Plan, Batch)> {
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(tract_err(invalid_model, "cannot parse ONNX model"))?;

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
                "model input type is {dt:?}; only float32 inputs are supported"
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
        let t = m.into_optimized().map_err(tract_err(
            invalid_model,
            "cannot analyse or optimize the model",
        ))?;
        Ok(t)
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
            "model output type is {:?}; float32 expected",
            fact.datum_type
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
