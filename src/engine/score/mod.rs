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
mod scorer;
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
mod tests;
