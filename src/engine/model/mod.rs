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

use super::limits::{self, MAX_BATCH};
use super::manifest::{Layout, Manifest};
use super::profile::{profile_plan, OpProfile, ProfileOptions};
use crate::error::{catch_panic, err, one_line, Error, ErrorKind, Result};

mod budget;
mod chain;
mod gemm;
mod lrn;
mod maxpool;
mod plan;
mod swap;

use plan::build_plan;

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
///
/// Fed in 64 KiB pieces rather than in one call: a browser's wasm engine first runs a function
/// with its quick baseline compiler and switches to the optimized code only on a later call,
/// never inside a running one. In one call the whole of a 65 MB model is hashed by the
/// baseline code, which in Chromium took 3.7 s instead of 0.3 s on a fresh page; in pieces the
/// compression function is optimized after the first few.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    for piece in bytes.chunks(1 << 16) {
        h.update(piece);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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

    /// The input of one run over `chunk` (at most [`Model::batch_size`] images of
    /// [`Model::image_len`] values; a fixed batch is padded with zeros): the run's batch size
    /// and the tensor.
    fn input_tensor(&self, chunk: &[&[f32]]) -> Result<(usize, Tensor)> {
        let n_img = self.image_len();
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
        Ok((run_n, tensor))
    }

    /// Where one inference spends its time on one preprocessed image of
    /// [`Model::image_len`] values: the optimized plan run node by node
    /// ([`crate::engine::profile`]); `now` is the caller's clock, in milliseconds.
    pub fn profile(
        &self,
        image: &[f32],
        opts: &ProfileOptions,
        now: &dyn Fn() -> f64,
    ) -> Result<OpProfile> {
        if image.len() != self.image_len() {
            return Err(err!(
                InvalidInput,
                "image has {} values, {} expected",
                image.len(),
                self.image_len()
            ));
        }
        let (_, tensor) = self.input_tensor(&[image])?;
        catch_panic(|| profile_plan(&self.plan, tensor, opts, now)).map_err(|m| {
            err!(
                InferencePanicked,
                "the model panicked during inference ({m})"
            )
        })?
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
            let (run_n, tensor) = self.input_tensor(chunk)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    // the pieces give the digest of the whole, across piece boundaries and for short inputs
    #[test]
    fn sha256_in_pieces_is_the_digest_of_the_whole() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let big: Vec<u8> = (0..200_003u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole: String = Sha256::digest(&big)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha256_hex(&big), whole);
        assert_eq!(sha256_hex(&big[..1 << 16]).len(), 64);
    }
}
