//! From model output to a per-image result: probabilities, top-k, uncertainty; and the
//! scoring pipeline (decode -> preprocess -> infer -> result) over one image or a batch.
//! A failure (corrupt image, non-finite output) fails that image only.

use serde::{Deserialize, Serialize};

use super::image::ImageLimits;
use super::manifest::{Manifest, OutputKind};
use super::uncertainty::{check_probabilities, rank_desc, softmax, Measure, RowUncertainty};
use crate::error::{err, Error, Result};

/// Options for scoring (one struct for the JS API and the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScoreOptions {
    /// How many top classes to list (default 3, capped at the class count).
    pub top_k: usize,
    /// Return the embedding when the manifest names one (default false).
    pub embedding: bool,
    /// Decoding limits.
    pub limits: ImageLimits,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            top_k: 3,
            embedding: false,
            limits: ImageLimits::default(),
        }
    }
}

/// One of the top classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopClass {
    /// Class index in the model's output.
    pub index: usize,
    /// Class name from the manifest.
    pub name: String,
    /// Probability.
    pub probability: f32,
}

/// The result for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScore {
    /// Class probabilities, in manifest order.
    pub probabilities: Vec<f32>,
    /// The top classes, most probable first (ties: lower index first).
    pub top: Vec<TopClass>,
    /// Index of the most probable class.
    pub predicted: usize,
    /// Its probability.
    pub confidence: f32,
    /// Uncertainty measures.
    #[serde(flatten)]
    pub uncertainty: RowUncertainty,
    /// Embedding, when asked for and the manifest names one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub embedding: Option<Vec<f32>>,
}

/// An error as data: what the JS API and CLI report for a failed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Turn one row of model output into a result, as the manifest says (softmax for logits,
/// a sum check for probabilities). Non-finite values are an error, never a score.
pub fn finish_row(
    scores: &[f32],
    embedding: Option<Vec<f32>>,
    manifest: &Manifest,
    opts: &ScoreOptions,
) -> Result<ImageScore> {
    let k = manifest.num_classes();
    if scores.len() != k {
        return Err(err!(
            ShapeMismatch,
            "{} scores for {k} classes",
            scores.len()
        ));
    }
    let probabilities = match manifest.output.kind {
        OutputKind::Logits => softmax(scores)?,
        OutputKind::Probabilities => {
            check_probabilities(scores)?;
            scores.to_vec()
        }
    };
    if let Some(e) = &embedding {
        if e.iter().any(|v| !v.is_finite()) {
            return Err(err!(NonFiniteOutput, "embedding contains NaN or infinity"));
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    let top = order
        .iter()
        .take(opts.top_k.min(k))
        .map(|&i| TopClass {
            index: i,
            name: manifest.output.classes[i].clone(),
            probability: probabilities[i],
        })
        .collect();
    let predicted = order[0];
    Ok(ImageScore {
        confidence: probabilities[predicted],
        uncertainty: RowUncertainty::of(&probabilities),
        predicted,
        top,
        probabilities,
        embedding: if opts.embedding { embedding } else { None },
    })
}

/// A review queue: item ids, most uncertain first, and the ids that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Encoded PNG/JPEG bytes.
    Encoded(&'a [u8]),
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
    use super::*;
    use crate::engine::image::{decode, pixels_from_image, pixels_from_rgba, to_tensor};
    use crate::engine::model::{LoadOptions, Model};

    /// A model ready to score images.
    #[derive(Debug)]
    pub struct Scorer {
        model: Model,
    }

    impl Scorer {
        /// Load ONNX bytes with a manifest (see [`Model::load`]).
        pub fn new(model_bytes: &[u8], manifest: Manifest, opts: &LoadOptions) -> Result<Scorer> {
            Ok(Scorer {
                model: Model::load(model_bytes, manifest, opts)?,
            })
        }

        /// The model.
        pub fn model(&self) -> &Model {
            &self.model
        }

        /// The manifest.
        pub fn manifest(&self) -> &Manifest {
            self.model.manifest()
        }

        /// Decode and preprocess one image into the model's input tensor.
        pub fn preprocess(&self, input: ImageInput<'_>, opts: &ScoreOptions) -> Result<Vec<f32>> {
            let spec = &self.manifest().input;
            let px = match input {
                ImageInput::Encoded(b) => {
                    pixels_from_image(&decode(b, &opts.limits)?, spec.channels)
                }
                ImageInput::Rgba {
                    pixels,
                    width,
                    height,
                } => pixels_from_rgba(pixels, width, height, spec.channels, &opts.limits)?,
            };
            Ok(to_tensor(px, spec))
        }

        /// Score preprocessed tensors; one result per tensor.
        pub fn score_tensors(
            &self,
            tensors: &[&[f32]],
            opts: &ScoreOptions,
        ) -> Vec<Result<ImageScore>> {
            match self.model.run(tensors) {
                Ok(raw) => raw
                    .into_iter()
                    .map(|r| finish_row(&r.scores, r.embedding, self.manifest(), opts))
                    .collect(),
                Err(e) => tensors.iter().map(|_| Err(e.clone())).collect(),
            }
        }

        /// Score one image.
        pub fn score(&self, input: ImageInput<'_>, opts: &ScoreOptions) -> Result<ImageScore> {
            let t = self.preprocess(input, opts)?;
            self.score_tensors(&[&t], opts)
                .pop()
                .unwrap_or_else(|| Err(err!(Inference, "no output")))
        }

        /// Score a batch: images that fail to decode fail alone; the rest run through the
        /// model in chunks of its batch size. Results come back in input order.
        pub fn score_batch(
            &self,
            items: &[(&str, ImageInput<'_>)],
            opts: &ScoreOptions,
        ) -> Vec<ItemResult> {
            let pre: Vec<Result<Vec<f32>>> = items
                .iter()
                .map(|(_, im)| self.preprocess(*im, opts))
                .collect();
            let ok_ix: Vec<usize> = (0..items.len()).filter(|&i| pre[i].is_ok()).collect();
            let tensors: Vec<&[f32]> = ok_ix
                .iter()
                .filter_map(|&i| pre[i].as_ref().ok().map(Vec::as_slice))
                .collect();
            let mut scored = self.score_tensors(&tensors, opts).into_iter();
            let mut out = Vec::with_capacity(items.len());
            for (i, (id, _)) in items.iter().enumerate() {
                let r = match &pre[i] {
                    Err(e) => Err(e.clone()),
                    Ok(_) => scored
                        .next()
                        .unwrap_or_else(|| Err(err!(Inference, "missing output"))),
                };
                out.push(ItemResult::new(*id, r.map_err(|e| e.context(id))));
            }
            out
        }
    }
}

#[cfg(feature = "onnx")]
pub use scorer::Scorer;

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
