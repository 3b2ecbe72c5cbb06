//! The ONNX scorer: a loaded model with its manifest, turning images, DICOM objects and
//! batches of them into scores.

use std::borrow::Cow;

use super::*;
use crate::engine::dicom;
use crate::engine::image::{preprocess_encoded, preprocess_rgba, to_tensor};
use crate::engine::manifest::{Transform, MAX_MEMBERS, MAX_SAMPLES};
use crate::engine::model::{LoadOptions, Model, RawOutput};
use crate::engine::profile::{OpProfile, ProfileOptions};
use crate::error::catch_panic;

/// One model, or an ensemble of models sharing one manifest, ready to score images
/// (with the manifest's test-time augmentations, if any).
#[derive(Debug)]
pub struct Scorer {
    manifest: Manifest,
    models: Vec<Model>,
    transforms: Vec<Transform>,
}

impl Scorer {
    /// Load ONNX bytes with a manifest (see [`Model::load`]); an ensemble of one.
    pub fn new(model_bytes: &[u8], manifest: Manifest, opts: &LoadOptions) -> Result<Scorer> {
        Scorer::new_ensemble(&[model_bytes], manifest, opts)
    }

    /// Load several models sharing one manifest: each is checked against it as
    /// [`Model::load`] does. When the manifest lists `members`, their count must equal
    /// the number of models (`invalid_input` otherwise) and model `i` must match
    /// `members[i].sha256` when given; without `members`, a top-level `sha256` must
    /// match every model.
    pub fn new_ensemble(
        models: &[&[u8]],
        manifest: Manifest,
        opts: &LoadOptions,
    ) -> Result<Scorer> {
        manifest.validate()?;
        if models.is_empty() || models.len() > MAX_MEMBERS {
            return Err(err!(
                InvalidInput,
                "an ensemble needs 1 to {MAX_MEMBERS} models, got {}",
                models.len()
            ));
        }
        if let Some(ms) = &manifest.members {
            if ms.len() != models.len() {
                return Err(err!(
                    InvalidInput,
                    "the manifest lists {} members, {} model(s) given",
                    ms.len(),
                    models.len()
                ));
            }
        }
        let transforms = manifest.transforms();
        let t = models.len() * transforms.len();
        if t > MAX_SAMPLES {
            return Err(err!(
                InvalidInput,
                "{} models x {} transforms = {t} rows per image; at most {MAX_SAMPLES}",
                models.len(),
                transforms.len()
            ));
        }
        let mut loaded = Vec::with_capacity(models.len());
        for (i, bytes) in models.iter().enumerate() {
            let mut m = manifest.clone();
            m.members = None;
            m.tta = None;
            if let Some(ms) = &manifest.members {
                m.sha256 = ms[i].sha256.clone();
            }
            let model = Model::load(bytes, m, opts);
            loaded.push(if models.len() > 1 {
                model.map_err(|e| e.context(format!("member {i}")))?
            } else {
                model?
            });
        }
        Ok(Scorer {
            manifest,
            models: loaded,
            transforms,
        })
    }

    /// The (first) model.
    pub fn model(&self) -> &Model {
        &self.models[0]
    }

    /// Every model of the ensemble, in the order given.
    pub fn members(&self) -> &[Model] {
        &self.models
    }

    /// The test-time transforms (the identity alone without `tta`).
    pub fn transforms(&self) -> &[Transform] {
        &self.transforms
    }

    /// Probability rows per image: `members x transforms`.
    pub fn samples_per_image(&self) -> usize {
        self.models.len() * self.transforms.len()
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Decode and preprocess one image into the model's input tensor, under
    /// `opts.limits` (the decoded pixels, their float copy and the resize buffers all
    /// count in `maxAlloc`). A panic in a decoder fails this image (`image_decode`).
    pub fn preprocess(&self, input: ImageInput<'_>, opts: &ScoreOptions) -> Result<Vec<f32>> {
        Ok(self.preprocess_one(input, opts)?.1)
    }

    /// The one preprocessed frame of an input (refused when the manifest scores every
    /// frame of a multi-frame object), with its DICOM identity.
    fn preprocess_one(
        &self,
        input: ImageInput<'_>,
        opts: &ScoreOptions,
    ) -> Result<(Option<DicomIdentity>, Vec<f32>)> {
        let mut frames = self.preprocess_frames(input, opts)?;
        if frames.len() != 1 {
            return Err(err!(
                InvalidInput,
                "the manifest scores every frame ({} here): score it in a batch",
                frames.len()
            ));
        }
        Ok(frames.remove(0))
    }

    /// Decode and preprocess one input into one tensor per scored frame (one for
    /// PNG/JPEG/RGBA), with the DICOM identity of each frame when the input is DICOM.
    pub fn preprocess_frames(
        &self,
        input: ImageInput<'_>,
        opts: &ScoreOptions,
    ) -> Result<Vec<(Option<DicomIdentity>, Vec<f32>)>> {
        let spec = &self.manifest().input;
        let dopts = spec.dicom.clone().unwrap_or_default();
        let frames = match input {
            ImageInput::Encoded(b) if dicom::is_dicom(b) => Some(catch_panic(|| {
                dicom::frames(b, &dopts, &opts.limits, spec.channels)
            })),
            ImageInput::DicomFrame {
                samples,
                attributes,
            } => Some(catch_panic(|| {
                dicom::frame_from_decoded(attributes, samples, &dopts, &opts.limits, spec.channels)
                    .map(|f| vec![f])
            })),
            _ => None,
        };
        if let Some(f) = frames {
            let f =
                f.unwrap_or_else(|m| Err(err!(ImageDecode, "the DICOM decoder failed ({m})")))?;
            return Ok(f
                .into_iter()
                .map(|f| (Some(f.identity), to_tensor(f.pixels, spec)))
                .collect());
        }
        let t = catch_panic(|| match input {
            ImageInput::Encoded(b) => preprocess_encoded(b, spec, &opts.limits),
            ImageInput::DicomFrame { .. } => Err(err!(InvalidInput, "unreachable DICOM frame")),
            ImageInput::Rgba {
                pixels,
                width,
                height,
            } => preprocess_rgba(pixels, width, height, spec, &opts.limits),
        })
        .unwrap_or_else(|m| Err(err!(ImageDecode, "the image decoder failed ({m})")))?;
        Ok(vec![(None, t)])
    }

    /// Run `model` over `inputs`, one result per input: a batch that fails (an error or
    /// a caught panic) is run again one input at a time, so only the inputs that fail
    /// alone fail.
    fn run_isolated(model: &Model, inputs: &[&[f32]]) -> Vec<Result<RawOutput>> {
        match model.run(inputs) {
            Ok(o) if o.len() == inputs.len() => o.into_iter().map(Ok).collect(),
            Ok(_) => inputs
                .iter()
                .map(|_| Err(err!(Inference, "missing output")))
                .collect(),
            Err(e) if inputs.len() <= 1 => vec![Err(e)],
            Err(_) => inputs
                .iter()
                .map(|t| match model.run(&[t]) {
                    Ok(mut o) if o.len() == 1 => Ok(o.remove(0)),
                    Ok(_) => Err(err!(Inference, "missing output")),
                    Err(e) => Err(e),
                })
                .collect(),
        }
    }

    /// Score preprocessed tensors; one result per tensor. Each member runs once over
    /// every (image, transform) tensor, in batches of its batch size.
    pub fn score_tensors(
        &self,
        tensors: &[&[f32]],
        opts: &ScoreOptions,
    ) -> Vec<Result<ImageScore>> {
        let nt = self.transforms.len();
        let spec = &self.manifest.input;
        // item-major, then transform; an item whose transform fails fails alone
        let mut inputs: Vec<Cow<'_, [f32]>> = Vec::with_capacity(tensors.len() * nt);
        let mut status: Vec<Result<usize>> = Vec::with_capacity(tensors.len());
        for t in tensors {
            let mut mine = Vec::with_capacity(nt);
            let mut failed = None;
            for tr in &self.transforms {
                if tr.is_identity() {
                    mine.push(Cow::Borrowed(*t));
                    continue;
                }
                match tr.apply(t, spec) {
                    Ok(v) => mine.push(Cow::Owned(v)),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                Some(e) => status.push(Err(e)),
                None => {
                    status.push(Ok(inputs.len()));
                    inputs.extend(mine);
                }
            }
        }
        let refs: Vec<&[f32]> = inputs.iter().map(|c| c.as_ref()).collect();
        let outs: Vec<Vec<Result<RawOutput>>> = self
            .models
            .iter()
            .map(|m| Self::run_isolated(m, &refs))
            .collect();
        status
            .into_iter()
            .map(|st| {
                let start = st?;
                let mut rows: Vec<&[f32]> = Vec::with_capacity(self.samples_per_image());
                for (mi, o) in outs.iter().enumerate() {
                    let block = o
                        .get(start..start + nt)
                        .ok_or_else(|| err!(Inference, "missing output"))?;
                    for r in block {
                        match r {
                            Ok(r) => rows.push(r.scores.as_slice()),
                            Err(e) if self.models.len() > 1 => {
                                return Err(e.clone().context(format!("member {mi}")))
                            }
                            Err(e) => return Err(e.clone()),
                        }
                    }
                }
                let emb = opts
                    .embedding
                    .then(|| outs.first())
                    .flatten()
                    .and_then(|o| o.get(start))
                    .and_then(|r| r.as_ref().ok())
                    .and_then(|r| r.embedding.clone());
                finish_rows(&rows, emb, &self.manifest, opts)
            })
            .collect()
    }

    /// Where inference time goes on a tensor as [`Scorer::score_tensor`] takes it: the first
    /// (or only) model's plan run node by node ([`crate::engine::profile`]); `now` is the
    /// caller's clock in milliseconds.
    pub fn profile_tensor(
        &self,
        tensor: &[f32],
        opts: &ProfileOptions,
        now: &dyn Fn() -> f64,
    ) -> Result<OpProfile> {
        self.check_tensor(tensor)?;
        self.model().profile(tensor, opts, now)
    }

    /// `tensor` is what the manifest's input needs: [`Model::image_len`] finite values.
    fn check_tensor(&self, tensor: &[f32]) -> Result<()> {
        let want = self.model().image_len();
        if tensor.len() != want {
            return Err(err!(
                InvalidInput,
                "tensor has {} values, the manifest's input needs {want}",
                tensor.len()
            ));
        }
        if let Some(i) = tensor.iter().position(|v| !v.is_finite()) {
            return Err(err!(InvalidInput, "tensor value {i} is not finite"));
        }
        Ok(())
    }

    /// Score a tensor the host already preprocessed exactly as the manifest describes
    /// (size, channels, layout, normalization): [`Model::image_len`] finite values. For a
    /// host with its own decoding pipeline, and for measuring inference alone.
    pub fn score_tensor(&self, tensor: &[f32], opts: &ScoreOptions) -> Result<ImageScore> {
        self.check_tensor(tensor)?;
        self.score_tensors(&[tensor], opts)
            .pop()
            .unwrap_or_else(|| Err(err!(Inference, "no output")))
    }

    /// Score one image (a DICOM object scored frame by frame needs [`Scorer::score_batch`]).
    pub fn score(&self, input: ImageInput<'_>, opts: &ScoreOptions) -> Result<ImageScore> {
        let (id, t) = self.preprocess_one(input, opts)?;
        let mut s = self
            .score_tensors(&[&t], opts)
            .pop()
            .unwrap_or_else(|| Err(err!(Inference, "no output")))?;
        s.dicom = id;
        Ok(s)
    }

    /// Score a batch: images that fail to decode fail alone; the rest run through the
    /// model in chunks of its batch size. Results come back in input order. A DICOM
    /// object whose manifest scores every frame becomes one item per frame, with id
    /// `SOPInstanceUID#frame`.
    pub fn score_batch(
        &self,
        items: &[(&str, ImageInput<'_>)],
        opts: &ScoreOptions,
    ) -> Vec<ItemResult> {
        let each = matches!(
            self.manifest.input.dicom.as_ref().map(|d| d.frame),
            Some(dicom::FrameChoice::Each)
        );
        let mut ids: Vec<String> = Vec::with_capacity(items.len());
        let mut idents: Vec<Option<DicomIdentity>> = Vec::with_capacity(items.len());
        let mut pre: Vec<Result<Vec<f32>>> = Vec::with_capacity(items.len());
        for (id, im) in items {
            match self.preprocess_frames(*im, opts) {
                Err(e) => {
                    ids.push(id.to_string());
                    idents.push(None);
                    pre.push(Err(e));
                }
                Ok(frames) => {
                    for (ident, t) in frames {
                        ids.push(match (&ident, each) {
                            (Some(d), true) => d.frame_id(),
                            _ => id.to_string(),
                        });
                        idents.push(ident);
                        pre.push(Ok(t));
                    }
                }
            }
        }
        let ok_ix: Vec<usize> = (0..pre.len()).filter(|&i| pre[i].is_ok()).collect();
        let tensors: Vec<&[f32]> = ok_ix
            .iter()
            .filter_map(|&i| pre[i].as_ref().ok().map(Vec::as_slice))
            .collect();
        let mut scored = self.score_tensors(&tensors, opts).into_iter();
        let mut out = Vec::with_capacity(pre.len());
        for (i, id) in ids.iter().enumerate() {
            let r = match &pre[i] {
                Err(e) => Err(e.clone()),
                Ok(_) => scored
                    .next()
                    .unwrap_or_else(|| Err(err!(Inference, "missing output"))),
            };
            let r = r.map(|mut s| {
                s.dicom = idents[i].take();
                s
            });
            out.push(ItemResult::new(id.as_str(), r.map_err(|e| e.context(id))));
        }
        out
    }
}
