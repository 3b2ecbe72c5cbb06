//! From model output to a per-image result: probabilities, top-k, uncertainty; and the
//! scoring pipeline (decode -> preprocess -> infer -> result) over one image or a batch.
//! A failure (corrupt image, non-finite output) fails that image only.
//!
//! With an ensemble and/or test-time augmentation (manifest `members` / `tta`), every image
//! gets `T = members x transforms` probability rows (member-major). Then `probabilities` is
//! the mean row `p̄` (so `top`, `predicted`, `confidence` and ranking use `p̄`), the four
//! single-row measures are computed on `p̄` in f64, and `expectedEntropy`, `bald` and
//! `variationRatio` are added ([`crate::engine::triage::multi`] definitions); `samples`
//! returns the `T` rows when asked for. The embedding, if asked for, is the first member's
//! under the first transform. With `T = 1` the result is exactly the single-model one.
//!
//! A multi-label manifest (`output.kind: "multiLabel"`) gives one independent probability
//! per finding ([`crate::engine::multilabel::score`]): `probabilities` are the per-finding
//! probabilities (the mean over the `T` rows), `top` the most probable findings, `predicted`
//! / `confidence` the most probable finding and its probability, `findings` the measures of
//! each finding (entropy, margin, with `T > 1` BALD per finding) and `summary` the image's
//! (present findings, probability that some decision is wrong). The flattened uncertainty
//! fields then describe the image, so that ranking works unchanged: `leastConfidence = 1 -
//! min_j confidence_j`, `margin = min_j margin_j`, `ratio = max_j (1 - c_j) / c_j`,
//! `entropy = Σ_j H(p̄_j)`, and with `T > 1` `expectedEntropy` and `bald` the sums over the
//! findings, `variationRatio` the largest per-finding one.

use serde::{Deserialize, Serialize};

use super::dicom::{DicomAttributes, DicomIdentity};
use super::image::ImageLimits;
use super::manifest::{Activation, Manifest, OutputKind};
use super::multilabel::score::{self as ml, FindingMeasures, MultiLabelSummary};
use super::probs::check_output_row;
use super::triage::multi::item_measures;
use super::uncertainty::{rank_desc, softmax, Measure, RowUncertainty};
use crate::error::{err, Error, Result};

/// Options for scoring (one struct for the JS API and the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScoreOptions {
    /// How many top classes to list (default 3, capped at the class count).
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub top_k: usize,
    /// Return the embedding when the manifest names one (default false).
    pub embedding: bool,
    /// Decoding limits.
    #[serde(deserialize_with = "crate::error::object")]
    pub limits: ImageLimits,
    /// Return the `T` probability rows of each image as `samples` (default false).
    pub include_samples: bool,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            top_k: 3,
            embedding: false,
            limits: ImageLimits::default(),
            include_samples: false,
        }
    }
}

/// One of the top classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TopClass {
    /// Class index in the model's output.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Class name from the manifest.
    pub name: String,
    /// Probability.
    pub probability: f32,
}

/// The result for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageScore {
    /// Class probabilities, in manifest order (with `T > 1` rows: their mean).
    pub probabilities: Vec<f32>,
    /// The top classes, most probable first (ties: lower index first).
    pub top: Vec<TopClass>,
    /// Index of the most probable class.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub predicted: usize,
    /// Its probability.
    pub confidence: f32,
    /// Uncertainty measures.
    #[serde(flatten)]
    pub uncertainty: RowUncertainty,
    /// Embedding, when asked for and the manifest names one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub embedding: Option<Vec<f32>>,
    /// The `T` probability rows (member-major: `member * transforms + transform`), when
    /// `includeSamples` is set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub samples: Option<Vec<Vec<f32>>>,
    /// For DICOM inputs: SOP Instance UID, frame and modality (nothing else from the header).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dicom: Option<DicomIdentity>,
    /// Multi-label models: the measures of each finding, in manifest order.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub findings: Option<Vec<FindingScore>>,
    /// Multi-label models: the image-level summary.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<MultiLabelSummary>,
}

/// One finding of a multi-label result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingScore {
    /// Finding index in the model's output.
    pub index: usize,
    /// Finding name from the manifest.
    pub name: String,
    /// Its measures (probability, decision, entropy, margin, BALD, …).
    #[serde(flatten)]
    pub measures: FindingMeasures,
}

/// An error as data: what the JS API and CLI report for a failed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
pub struct ItemError {
    /// Stable code, e.g. `image_decode`.
    pub code: String,
    /// Human message.
    pub message: String,
}

impl From<&Error> for ItemError {
    fn from(e: &Error) -> Self {
        ItemError {
            code: e.code().to_string(),
            message: e.message().to_string(),
        }
    }
}

/// The result for one item of a batch: a score or an error, never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    /// The caller's id for the item.
    pub id: String,
    /// The score, when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub score: Option<ImageScore>,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ItemError>,
}

impl ItemResult {
    /// Wrap a per-item result.
    pub fn new(id: impl Into<String>, r: Result<ImageScore>) -> Self {
        let id = id.into();
        match r {
            Ok(s) => ItemResult {
                id,
                score: Some(s),
                error: None,
            },
            Err(e) => ItemResult {
                id,
                score: None,
                error: Some(ItemError::from(&e)),
            },
        }
    }
}

/// The `top_k` first classes of `order` (classes sorted by probability, ties by index).
fn top_classes(
    order: &[usize],
    probabilities: &[f32],
    manifest: &Manifest,
    top_k: usize,
) -> Vec<TopClass> {
    order
        .iter()
        .take(top_k.min(order.len()))
        .map(|&i| TopClass {
            index: i,
            name: manifest.output.classes[i].clone(),
            probability: probabilities[i],
        })
        .collect()
}

/// Turn one row of model output into a result, as the manifest says (softmax for logits,
/// a sum check for probabilities). Non-finite values are an error, never a score.
pub fn finish_row(
    scores: &[f32],
    embedding: Option<Vec<f32>>,
    manifest: &Manifest,
    opts: &ScoreOptions,
) -> Result<ImageScore> {
    if manifest.output.is_multi_label() {
        return finish_multi_label(&[scores], embedding, manifest, opts);
    }
    let k = manifest.num_classes();
    if scores.len() != k {
        return Err(err!(
            ShapeMismatch,
            "{} scores for {k} classes",
            scores.len()
        ));
    }
    let probabilities = to_probabilities(scores, manifest)?;
    check_embedding(&embedding)?;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    let top = top_classes(&order, &probabilities, manifest, opts.top_k);
    let predicted = order[0];
    Ok(ImageScore {
        confidence: probabilities[predicted],
        uncertainty: RowUncertainty::of(&probabilities),
        predicted,
        top,
        samples: opts.include_samples.then(|| vec![probabilities.clone()]),
        probabilities,
        embedding: if opts.embedding { embedding } else { None },
        dicom: None,
        findings: None,
        summary: None,
    })
}

fn check_embedding(embedding: &Option<Vec<f32>>) -> Result<()> {
    match embedding {
        Some(e) if e.iter().any(|v| !v.is_finite()) => {
            Err(err!(NonFiniteOutput, "embedding contains NaN or infinity"))
        }
        _ => Ok(()),
    }
}

/// The image-level uncertainty of a multi-label result (module docs): the flattened
/// fields, so that ranking by any measure works on multi-label images.
fn image_uncertainty(f: &[FindingMeasures], s: &MultiLabelSummary) -> RowUncertainty {
    let fold = |g: fn(&FindingMeasures) -> f64, init: f64, max: bool| {
        f.iter()
            .map(g)
            .fold(init, |a, b| if max { a.max(b) } else { a.min(b) })
    };
    RowUncertainty {
        least_confidence: 1.0 - s.min_confidence,
        margin: fold(|m| m.margin, 1.0, false),
        ratio: fold(|m| (1.0 - m.confidence) / m.confidence, 0.0, true),
        entropy: s.entropy,
        expected_entropy: s.expected_entropy,
        bald: s.bald,
        variation_ratio: f
            .iter()
            .map(|m| m.variation_ratio)
            .sum::<Option<f64>>()
            .map(|_| fold(|m| m.variation_ratio.unwrap_or(0.0), 0.0, true)),
    }
}

/// The `T` rows of a multi-label model's outputs for one image -> its result (module docs).
fn finish_multi_label(
    rows: &[&[f32]],
    embedding: Option<Vec<f32>>,
    manifest: &Manifest,
    opts: &ScoreOptions,
) -> Result<ImageScore> {
    let k = manifest.num_classes();
    let logits = manifest.output.activation == Some(Activation::Sigmoid);
    let mut flat = Vec::with_capacity(rows.len() * k);
    for (j, r) in rows.iter().enumerate() {
        check_row_len(j, r, k, "findings")?;
        let p = ml::row_probabilities(r, logits);
        flat.extend(p.map_err(|e| {
            if rows.len() > 1 {
                e.context(format!("row {j}"))
            } else {
                e
            }
        })?);
    }
    check_embedding(&embedding)?;
    let m = ml::measures(&flat, rows.len(), k)?;
    let summary = ml::summarize(&m);
    let probabilities: Vec<f32> = m.iter().map(|f| f.probability as f32).collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        m[b].probability
            .total_cmp(&m[a].probability)
            .then(a.cmp(&b))
    });
    let findings = m.iter().enumerate().map(|(j, f)| FindingScore {
        index: j,
        name: manifest.output.classes[j].clone(),
        measures: *f,
    });
    Ok(ImageScore {
        top: top_classes(&order, &probabilities, manifest, opts.top_k),
        predicted: order[0],
        confidence: probabilities[order[0]],
        uncertainty: image_uncertainty(&m, &summary),
        samples: opts.include_samples.then(|| {
            flat.chunks_exact(k)
                .map(|r| r.iter().map(|&v| v as f32).collect())
                .collect()
        }),
        probabilities,
        embedding: if opts.embedding { embedding } else { None },
        dicom: None,
        findings: Some(findings.collect()),
        summary: Some(summary),
    })
}

fn to_probabilities(scores: &[f32], manifest: &Manifest) -> Result<Vec<f32>> {
    Ok(match manifest.output.kind {
        OutputKind::Logits => softmax(scores)?,
        OutputKind::Probabilities => {
            check_output_row(scores)?;
            scores.to_vec()
        }
        OutputKind::MultiLabel => {
            return Err(err!(
                InvalidInput,
                "a multi-label row has no single-label probabilities"
            ))
        }
    })
}

/// Turn the `T` rows of model output of one image (member-major) into a result: one row is
/// [`finish_row`]; several give the mean row and the multi-row measures (module docs).
pub fn finish_rows(
    rows: &[&[f32]],
    embedding: Option<Vec<f32>>,
    manifest: &Manifest,
    opts: &ScoreOptions,
) -> Result<ImageScore> {
    if rows.len() <= 1 {
        let row = rows.first().copied().unwrap_or(&[]);
        return finish_row(row, embedding, manifest, opts);
    }
    if manifest.output.is_multi_label() {
        return finish_multi_label(rows, embedding, manifest, opts);
    }
    let k = manifest.num_classes();
    let t = rows.len();
    let mut samples = Vec::with_capacity(t);
    let mut flat = Vec::with_capacity(t * k);
    for (j, r) in rows.iter().enumerate() {
        check_row_len(j, r, k, "classes")?;
        let p = to_probabilities(r, manifest).map_err(|e| e.context(format!("row {j}")))?;
        flat.extend(p.iter().map(|&v| f64::from(v)));
        samples.push(p);
    }
    check_embedding(&embedding)?;
    let mut mean = vec![0.0; k];
    let mut votes = vec![0usize; k];
    let m = item_measures(&flat, t, k, &mut mean, &mut votes);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    let probabilities: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
    let top = top_classes(&order, &probabilities, manifest, opts.top_k);
    Ok(ImageScore {
        confidence: probabilities[m.predicted],
        predicted: m.predicted,
        uncertainty: RowUncertainty::of_multi(&m),
        top,
        probabilities,
        embedding: if opts.embedding { embedding } else { None },
        samples: opts.include_samples.then_some(samples),
        dicom: None,
        findings: None,
        summary: None,
    })
}

/// A review queue: item ids, most uncertain first, and the ids that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    /// Ids of scored items, most uncertain first (ties: input order).
    pub order: Vec<String>,
    /// The uncertainty value of each, oriented larger = more uncertain.
    pub values: Vec<f64>,
    /// Ids of failed items (never ranked).
    pub failed: Vec<String>,
}

/// Order scored items most uncertain first by `measure`; failed items are listed apart.
pub fn queue(items: &[ItemResult], measure: Measure) -> Queue {
    let vals: Vec<f64> = items
        .iter()
        .map(|it| match &it.score {
            Some(s) => s.uncertainty.uncertainty(measure),
            None => f64::NAN,
        })
        .collect();
    let (order, failed) = rank_desc(&vals);
    Queue {
        values: order.iter().map(|&i| vals[i]).collect(),
        order: order.iter().map(|&i| items[i].id.clone()).collect(),
        failed: failed.iter().map(|&i| items[i].id.clone()).collect(),
    }
}

/// An image to score in a batch.
#[derive(Debug, Clone, Copy)]
pub enum ImageInput<'a> {
    /// Encoded PNG/JPEG bytes, or DICOM bytes (recognised by content, see
    /// [`crate::engine::dicom::is_dicom`]).
    Encoded(&'a [u8]),
    /// A DICOM frame the host decoded itself (a transfer syntax this build cannot decode):
    /// its native samples and attributes (see [`DicomAttributes`]).
    DicomFrame {
        /// Native little-endian samples.
        samples: &'a [u8],
        /// The attributes.
        attributes: &'a DicomAttributes,
    },
    /// Raw RGBA pixels, `width * height * 4` bytes.
    Rgba {
        /// The pixels.
        pixels: &'a [u8],
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

#[cfg(feature = "onnx")]
mod scorer {
    use std::borrow::Cow;

    use super::*;
    use crate::engine::dicom;
    use crate::engine::image::{preprocess_encoded, preprocess_rgba, to_tensor};
    use crate::engine::manifest::{Transform, MAX_MEMBERS, MAX_SAMPLES};
    use crate::engine::model::{LoadOptions, Model, RawOutput};
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
                    dicom::frame_from_decoded(
                        attributes,
                        samples,
                        &dopts,
                        &opts.limits,
                        spec.channels,
                    )
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

        /// Score a tensor the host already preprocessed exactly as the manifest describes
        /// (size, channels, layout, normalization): [`Model::image_len`] finite values. For a
        /// host with its own decoding pipeline, and for measuring inference alone.
        pub fn score_tensor(&self, tensor: &[f32], opts: &ScoreOptions) -> Result<ImageScore> {
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
}

#[cfg(feature = "onnx")]
pub use scorer::Scorer;

/// Row `j` of the model's scores holds `k` values (`what`: classes or findings).
fn check_row_len(j: usize, r: &[f32], k: usize, what: &str) -> Result<()> {
    if r.len() != k {
        return Err(err!(
            ShapeMismatch,
            "row {j}: {} scores for {k} {what}",
            r.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str) -> Manifest {
        Manifest::from_json(&format!(
            r#"{{"input":{{"width":2,"height":2,"layout":"nchw","channels":"gray","mean":[0],"std":[1],"resize":{{"mode":"stretch"}}}},
                "output":{{"kind":"{kind}","classes":["a","b","c"]}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn logits_row() {
        let m = manifest("logits");
        let s = finish_row(&[0.0, 2.0, 1.0], None, &m, &ScoreOptions::default()).unwrap();
        assert_eq!(s.predicted, 1);
        assert_eq!(
            s.top.iter().map(|t| t.index).collect::<Vec<_>>(),
            vec![1, 2, 0]
        );
        assert_eq!(s.top[0].name, "b");
        let sum: f32 = s.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
    }

    #[test]
    fn probability_rows_are_checked() {
        let m = manifest("probabilities");
        assert!(finish_row(&[0.2, 0.3, 0.5], None, &m, &ScoreOptions::default()).is_ok());
        let e = finish_row(&[0.2, 0.3, 0.6], None, &m, &ScoreOptions::default()).unwrap_err();
        assert_eq!(e.code(), "invalid_probabilities");
        let e = finish_row(&[f32::NAN, 0.3, 0.6], None, &m, &ScoreOptions::default()).unwrap_err();
        assert_eq!(e.code(), "non_finite_output");
    }

    #[test]
    fn several_rows_give_the_mean_and_multi_measures() {
        use crate::engine::triage::multi::{multi_uncertainty, MultiUncertaintyRequest};
        let m = manifest("logits");
        let o = ScoreOptions {
            include_samples: true,
            ..Default::default()
        };
        let rows: [&[f32]; 3] = [&[2.0, 0.0, 0.0], &[0.0, 2.0, 0.0], &[1.0, 1.0, 3.0]];
        let s = finish_rows(&rows, None, &m, &o).unwrap();
        let samples = s.samples.clone().unwrap();
        assert_eq!(samples.len(), 3);
        let flat: Vec<f64> = samples.iter().flatten().map(|&v| v as f64).collect();
        let want = multi_uncertainty(&MultiUncertaintyRequest {
            probs: flat,
            n: 1,
            t: 3,
            k: 3,
            include_mean_probs: true,
        })
        .unwrap();
        let it = want.items[0];
        assert_eq!(s.uncertainty.bald, Some(it.bald));
        assert_eq!(s.uncertainty.expected_entropy, Some(it.expected_entropy));
        assert_eq!(s.uncertainty.variation_ratio, Some(it.variation_ratio));
        assert_eq!(s.uncertainty.entropy, it.entropy);
        assert_eq!(s.predicted, it.predicted);
        for (p, q) in s.probabilities.iter().zip(want.mean_probs.unwrap()) {
            assert!((*p as f64 - q).abs() < 1e-7);
        }
        assert_eq!(s.top[0].index, s.predicted);
        // one row = finish_row; samples only when asked for
        let one = finish_rows(&rows[..1], None, &m, &ScoreOptions::default()).unwrap();
        assert_eq!(
            one,
            finish_row(rows[0], None, &m, &ScoreOptions::default()).unwrap()
        );
        assert!(one.samples.is_none() && one.uncertainty.bald.is_none());
        let j = serde_json::to_value(&s).unwrap();
        assert!(j["bald"].is_f64() && j["samples"].is_array());
        // a non-finite row fails the item
        let bad: [&[f32]; 2] = [&[1.0, 0.0, 0.0], &[f32::NAN, 0.0, 0.0]];
        assert_eq!(
            finish_rows(&bad, None, &m, &o).unwrap_err().code(),
            "non_finite_output"
        );
    }

    #[test]
    fn queue_skips_failures() {
        let m = manifest("logits");
        let o = ScoreOptions::default();
        let items = vec![
            ItemResult::new("sure", finish_row(&[9.0, 0.0, 0.0], None, &m, &o)),
            ItemResult::new("bad", Err(err!(ImageDecode, "x"))),
            ItemResult::new("unsure", finish_row(&[1.0, 1.0, 0.9], None, &m, &o)),
        ];
        let q = queue(&items, Measure::Entropy);
        assert_eq!(q.order, vec!["unsure", "sure"]);
        assert_eq!(q.failed, vec!["bad"]);
        let json = serde_json::to_value(&items[1]).unwrap();
        assert_eq!(json["error"]["code"], "image_decode");
    }
}
