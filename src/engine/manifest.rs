//! The model manifest: what a hospital must tell us about its model, as JSON.
//!
//! ```json
//! {
//!   "name": "digits-cnn",
//!   "input": { "width": 32, "height": 32, "layout": "nchw", "channels": "gray",
//!              "mean": [0.5], "std": [0.5], "resize": { "mode": "stretch" } },
//!   "output": { "kind": "logits", "classes": ["0","1","2","3","4","5","6","7","8","9"] },
//!   "sha256": "…64 hex digits…"
//! }
//! ```
//!
//! Pixel values are first scaled to `[0, 1]` (8-bit divided by 255, 16-bit by 65535), then
//! normalized per channel as `(x - mean[c]) / std[c]`. Unknown fields are rejected.
//!
//! ## Ensembles and test-time augmentation (optional)
//!
//! ```json
//! {
//!   "members": [{ "name": "a", "sha256": "…" }, { "name": "b", "sha256": "…" }],
//!   "tta": [{ "op": "identity" }, { "op": "hflip" }, { "op": "vflip" },
//!           { "op": "shift", "dx": 2, "dy": -1, "fill": "black" }, { "op": "rot90", "k": 1 }]
//! }
//! ```
//!
//! `members` declares the models of an ensemble sharing this manifest (same input and output):
//! one entry per model, in the order the models are given, each optionally pinning its bytes'
//! SHA-256 (`members` and the top-level `sha256` are exclusive; without `members`, a top-level
//! `sha256` must match every model). At most [`MAX_MEMBERS`] members.
//!
//! `tta` lists [`Transform`]s applied to the *preprocessed* input tensor (after resize and
//! normalization, in the manifest's layout); each member runs on each transformed tensor, so an
//! image gets `T = members x transforms` probability rows (member-major), at most
//! [`MAX_SAMPLES`]. Without `tta` the single transform is the identity. With
//! `out(c, y, x) = in(c, sy, sx)` on a `W x H` image:
//! - `identity`: `sy = y, sx = x`;
//! - `hflip`: `sx = W-1-x` (mirror left-right); `vflip`: `sy = H-1-y` (upside down);
//! - `shift {dx, dy}`: `sy = y-dy, sx = x-dx` (content moves right by `dx`, down by `dy`);
//!   `|dx| < W`, `|dy| < H`. Uncovered pixels get `fill`: `"black"` (default: the value a
//!   zero pixel takes after normalization, `(0 - mean[c]) / std[c]` per channel) or `"edge"`
//!   (the nearest edge pixel is replicated);
//! - `rot90 {k}` (k = 1, 2 or 3, default 1): `numpy.rot90` over the (H, W) axes, i.e.
//!   `k x 90°` counter-clockwise as displayed; odd `k` needs `width == height`.

use serde::{Deserialize, Serialize};

use super::dicom::DicomOptions;
pub use super::resample::{Filter, Precision};
use crate::error::{err, Result};

/// Memory layout of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[batch, channels, height, width]` (PyTorch).
    Nchw,
    /// `[batch, height, width, channels]` (TensorFlow/Keras).
    Nhwc,
}

/// Channel count and order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// One channel. Colour images become gray as `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601).
    Gray,
    /// Three channels, red first.
    Rgb,
    /// Three channels, blue first (Caffe / OpenCV models).
    Bgr,
}

impl Channels {
    /// Number of channels.
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb | Channels::Bgr => 3,
        }
    }
}

/// How an image is brought to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(tag = "mode", rename_all = "camelCase", deny_unknown_fields)]
pub enum Resize {
    /// Resize both sides to exactly width x height (aspect ratio not kept). A struct variant
    /// so that `deny_unknown_fields` applies to it: serde ignores every field of an
    /// internally tagged *unit* variant, so `{"mode":"stretch","antialias":true}` was accepted.
    Stretch {},
    /// Resize so the shorter side is `shorterSide` pixels (aspect kept), then crop the centre
    /// width x height. `shorterSide` defaults to, and must be at least, max(width, height).
    #[serde(rename_all = "camelCase")]
    ShorterSideCrop {
        /// Target length of the shorter side before cropping.
        #[serde(default)]
        shorter_side: Option<u32>,
    },
    /// The training pipeline's resize (`engine::resample`): PIL `Image.resize((width,
    /// height), filter)`, or with `shorterSide` torchvision `Resize(shorterSide)` +
    /// `CenterCrop((height, width))`; antialiased when shrinking, within one grey level of
    /// PIL per pixel. `filter` defaults to bilinear (torchvision's default), `precision` to
    /// `uint8` (PIL on 8-bit images; `float`: no rounding, as torchvision on tensors).
    #[serde(rename_all = "camelCase")]
    Pil {
        /// `bilinear` (default) or `bicubic`.
        #[serde(default)]
        filter: Filter,
        /// Shorter side before the centre crop; absent: resize to exactly width x height.
        /// Must be at least max(width, height).
        #[serde(default)]
        shorter_side: Option<u32>,
        /// `uint8` (default) or `float`.
        #[serde(default)]
        precision: Precision,
    },
}

/// Whether the model's output rows are logits (softmax is applied), probabilities, or
/// independent per-finding scores (multi-label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Unnormalized scores; probabilities = softmax(logits).
    Logits,
    /// Already probabilities; each row is checked to sum to 1 (within 1e-3).
    Probabilities,
    /// Multi-label findings: one independent probability per finding (`classes` names the
    /// findings), rows need not sum to anything; `activation` says whether the outputs are
    /// logits (a sigmoid is applied) or already probabilities.
    #[serde(rename = "multiLabel")]
    MultiLabel,
}

/// What turns a multi-label model's outputs into per-finding probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The outputs are logits: `p = 1 / (1 + exp(-z))` per finding.
    Sigmoid,
    /// The outputs are already probabilities (the graph ends in a sigmoid); each is checked
    /// to lie in `[0, 1]`.
    None,
}

/// The input side of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputSpec {
    /// Input width in pixels.
    pub width: u32,
    /// Input height in pixels.
    pub height: u32,
    /// Tensor layout.
    pub layout: Layout,
    /// Channel count and order.
    pub channels: Channels,
    /// Per-channel mean, after scaling to [0, 1]; one value per channel.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, after scaling to [0, 1]; one value per channel, > 0.
    pub std: Vec<f32>,
    /// Resize mode.
    pub resize: Resize,
    /// Name of the ONNX input to feed; defaults to the model's first input.
    #[serde(default)]
    pub name: Option<String>,
    /// What the model was trained on for DICOM inputs (window, frame, output range); absent:
    /// the defaults of [`DicomOptions`] (the file's window, else min-max; the first frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dicom: Option<DicomOptions>,
}

/// The output side of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputSpec {
    /// Logits or probabilities.
    pub kind: OutputKind,
    /// Class names, in output order; their count must equal the output width.
    pub classes: Vec<String>,
    /// Name of the ONNX output holding the class scores; defaults to the first output.
    #[serde(default)]
    pub name: Option<String>,
    /// Name of an ONNX output (e.g. the penultimate layer) to return as an embedding.
    #[serde(default)]
    pub embedding: Option<String>,
    /// For `kind: "multiLabel"` (required there, refused elsewhere): `sigmoid` when the
    /// outputs are logits, `none` when they are probabilities already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

impl OutputSpec {
    /// Whether the outputs are multi-label findings.
    pub fn is_multi_label(&self) -> bool {
        self.kind == OutputKind::MultiLabel
    }

    /// Check `kind` against `activation` and the class count (at least 2 classes for a
    /// single-label model, at least 1 finding for a multi-label one).
    pub fn validate_kind(&self) -> Result<()> {
        match (self.kind, self.activation) {
            (OutputKind::MultiLabel, None) => Err(err!(
                InvalidManifest,
                "output.activation is required with kind \"multiLabel\": \"sigmoid\" (the outputs are logits) or \"none\" (they are probabilities)"
            )),
            (OutputKind::MultiLabel, Some(_)) if self.classes.is_empty() => Err(err!(
                InvalidManifest,
                "output.classes needs at least 1 finding name"
            )),
            (OutputKind::MultiLabel, Some(_)) => Ok(()),
            (_, Some(_)) => Err(err!(
                InvalidManifest,
                "output.activation applies to kind \"multiLabel\" only"
            )),
            (_, None) if self.classes.len() < 2 => Err(err!(
                InvalidManifest,
                "output.classes needs at least 2 names"
            )),
            (_, None) => Ok(()),
        }
    }
}

/// What fills the pixels a shift uncovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Fill {
    /// The value of a black (zero) pixel after normalization: `(0 - mean[c]) / std[c]`.
    #[default]
    Black,
    /// Replicate the nearest edge pixel.
    Edge,
}

fn default_k() -> u8 {
    1
}

/// A test-time augmentation applied to the preprocessed input tensor (definitions in the
/// module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum Transform {
    /// The tensor unchanged.
    Identity {},
    /// Mirror left-right.
    Hflip {},
    /// Mirror top-bottom.
    Vflip {},
    /// Translate the content by `dx` pixels right and `dy` pixels down.
    Shift {
        /// Pixels to the right (negative: left).
        dx: i32,
        /// Pixels down (negative: up).
        dy: i32,
        /// What fills the uncovered pixels (default black).
        #[serde(default)]
        fill: Fill,
    },
    /// Rotate by `k x 90°` counter-clockwise (as `numpy.rot90(x, k)` on the (H, W) axes).
    Rot90 {
        /// Quarter turns, 1 to 3 (default 1).
        #[serde(default = "default_k")]
        k: u8,
    },
}

/// One model of an ensemble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    /// Free-form name (e.g. the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lower-case hex SHA-256 this member's bytes must match, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Most models in an ensemble.
pub const MAX_MEMBERS: usize = 16;
/// Most transforms in `tta`.
pub const MAX_TRANSFORMS: usize = 32;
/// Most probability rows per image (`members x transforms`).
pub const MAX_SAMPLES: usize = 256;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Free-form model name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free-form description (e.g. training data, intended use).
    #[serde(default)]
    pub description: Option<String>,
    /// Input description.
    #[serde(deserialize_with = "crate::error::object")]
    pub input: InputSpec,
    /// Output description.
    #[serde(deserialize_with = "crate::error::object")]
    pub output: OutputSpec,
    /// Lower-case hex SHA-256 the model bytes must match, if given.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The models of an ensemble, one entry per model (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Test-time augmentations (see the module docs); absent = the identity only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tta: Option<Vec<Transform>>,
}

/// Largest accepted model input side, a guard against absurd manifests.
pub const MAX_INPUT_SIDE: u32 = 8192;

impl Manifest {
    /// Parse a manifest from JSON and validate it.
    pub fn from_json(json: &str) -> Result<Manifest> {
        if !json.trim_start().starts_with('{') {
            return Err(err!(InvalidManifest, "manifest: expected a JSON object"));
        }
        let m: Manifest =
            serde_json::from_str(json).map_err(|e| err!(InvalidManifest, "manifest: {e}"))?;
        m.validate()?;
        Ok(m)
    }

    /// Check internal consistency.
    pub fn validate(&self) -> Result<()> {
        let i = &self.input;
        if i.width == 0 || i.height == 0 || i.width > MAX_INPUT_SIDE || i.height > MAX_INPUT_SIDE {
            return Err(err!(
                InvalidManifest,
                "input size {}x{} must be between 1 and {MAX_INPUT_SIDE}",
                i.width,
                i.height
            ));
        }
        let c = i.channels.count();
        if i.mean.len() != c || i.std.len() != c {
            return Err(err!(
                InvalidManifest,
                "mean and std need {c} value(s) for {:?} input, got {} and {}",
                i.channels,
                i.mean.len(),
                i.std.len()
            ));
        }
        if i.mean.iter().any(|m| !m.is_finite()) {
            return Err(err!(InvalidManifest, "mean must be finite"));
        }
        if i.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(err!(InvalidManifest, "std must be finite and > 0"));
        }
        if let Resize::ShorterSideCrop {
            shorter_side: Some(s),
        }
        | Resize::Pil {
            shorter_side: Some(s),
            ..
        } = i.resize
        {
            if s < i.width.max(i.height) || s > MAX_INPUT_SIDE {
                return Err(err!(
                    InvalidManifest,
                    "resize.shorterSide {s} must be at least max(width, height) = {} and at most {MAX_INPUT_SIDE}",
                    i.width.max(i.height)
                ));
            }
        }
        if let Some(d) = &i.dicom {
            d.validate()?;
        }
        if self.output.classes.len() > crate::engine::limits::MAX_CLASSES {
            return Err(err!(
                InvalidManifest,
                "output.classes lists {} names, limit is {} (limits::MAX_CLASSES)",
                self.output.classes.len(),
                crate::engine::limits::MAX_CLASSES
            ));
        }
        self.output.validate_kind()?;
        let mut names: Vec<&str> = self.output.classes.iter().map(String::as_str).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(err!(InvalidManifest, "output.classes has duplicate names"));
        }
        let hex64 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        if let Some(h) = &self.sha256 {
            if !hex64(h) {
                return Err(err!(InvalidManifest, "sha256 must be 64 hex digits"));
            }
        }
        if let Some(ms) = &self.members {
            if ms.is_empty() || ms.len() > MAX_MEMBERS {
                return Err(err!(
                    InvalidManifest,
                    "members lists {} models; 1 to {MAX_MEMBERS} allowed",
                    ms.len()
                ));
            }
            if self.sha256.is_some() {
                return Err(err!(
                    InvalidManifest,
                    "give either sha256 or members (with a sha256 per member), not both"
                ));
            }
            for (i, m) in ms.iter().enumerate() {
                if let Some(h) = &m.sha256 {
                    if !hex64(h) {
                        return Err(err!(
                            InvalidManifest,
                            "members[{i}].sha256 must be 64 hex digits"
                        ));
                    }
                }
            }
        }
        if let Some(ts) = &self.tta {
            if ts.is_empty() || ts.len() > MAX_TRANSFORMS {
                return Err(err!(
                    InvalidManifest,
                    "tta lists {} transforms; 1 to {MAX_TRANSFORMS} allowed",
                    ts.len()
                ));
            }
            for (j, t) in ts.iter().enumerate() {
                t.validate(i).map_err(|e| e.context(format!("tta[{j}]")))?;
            }
        }
        let samples = self.members.as_ref().map_or(1, Vec::len) * self.transforms().len();
        if samples > MAX_SAMPLES {
            return Err(err!(
                InvalidManifest,
                "members x tta = {samples} rows per image; at most {MAX_SAMPLES}"
            ));
        }
        Ok(())
    }

    /// The test-time transforms: `tta`, or the identity alone when absent.
    pub fn transforms(&self) -> Vec<Transform> {
        match &self.tta {
            Some(t) => t.clone(),
            None => vec![Transform::Identity {}],
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.output.classes.len()
    }
}

impl Transform {
    /// Check the transform against the input it will act on.
    pub fn validate(&self, input: &InputSpec) -> Result<()> {
        let (w, h) = (i64::from(input.width), i64::from(input.height));
        match *self {
            Transform::Shift { dx, dy, .. }
                if i64::from(dx).abs() >= w || i64::from(dy).abs() >= h =>
            {
                return Err(err!(
                    InvalidManifest,
                    "shift ({dx}, {dy}) must be smaller than the {w}x{h} input"
                ));
            }
            Transform::Rot90 { k } => {
                if !(1..=3).contains(&k) {
                    return Err(err!(InvalidManifest, "rot90 k must be 1, 2 or 3, got {k}"));
                }
                if k % 2 == 1 && w != h {
                    return Err(err!(
                        InvalidManifest,
                        "rot90 with odd k needs a square input, got {w}x{h}"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the transform leaves every tensor unchanged.
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            Transform::Identity {} | Transform::Shift { dx: 0, dy: 0, .. }
        )
    }

    /// Apply the transform to one preprocessed image tensor (no batch dimension, the
    /// manifest's layout); `src` must hold `channels x width x height` values.
    pub fn apply(&self, src: &[f32], input: &InputSpec) -> Result<Vec<f32>> {
        self.validate(input)?;
        let c = input.channels.count();
        let (w, h) = (input.width as usize, input.height as usize);
        if src.len() != c * w * h || input.mean.len() != c || input.std.len() != c {
            return Err(err!(
                InvalidInput,
                "tensor has {} values, {c}x{w}x{h} expected",
                src.len()
            ));
        }
        let at = |ch: usize, y: usize, x: usize| match input.layout {
            Layout::Nchw => (ch * h + y) * w + x,
            Layout::Nhwc => (y * w + x) * c + ch,
        };
        let fill: Vec<f32> = input
            .mean
            .iter()
            .zip(&input.std)
            .map(|(m, s)| (0.0 - m) * (1.0 / s))
            .collect();
        // source pixel of output (y, x); None = fill
        let source = |y: usize, x: usize| -> Option<(usize, usize)> {
            match *self {
                Transform::Identity {} => Some((y, x)),
                Transform::Hflip {} => Some((y, w - 1 - x)),
                Transform::Vflip {} => Some((h - 1 - y, x)),
                Transform::Rot90 { k } => match k % 4 {
                    1 => Some((x, w - 1 - y)),
                    2 => Some((h - 1 - y, w - 1 - x)),
                    3 => Some((h - 1 - x, y)),
                    _ => Some((y, x)),
                },
                Transform::Shift { dx, dy, fill } => {
                    let sy = y as i64 - i64::from(dy);
                    let sx = x as i64 - i64::from(dx);
                    let inside = (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx);
                    match (inside, fill) {
                        (true, _) => Some((sy as usize, sx as usize)),
                        (false, Fill::Edge) => Some((
                            sy.clamp(0, h as i64 - 1) as usize,
                            sx.clamp(0, w as i64 - 1) as usize,
                        )),
                        (false, Fill::Black) => None,
                    }
                }
            }
        };
        let mut out = vec![0f32; src.len()];
        for y in 0..h {
            for x in 0..w {
                let s = source(y, x);
                for ch in 0..c {
                    out[at(ch, y, x)] = match s {
                        Some((sy, sx)) => src[at(ch, sy, sx)],
                        None => fill[ch],
                    };
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_json() -> &'static str {
        sample()
    }

    pub(crate) fn sample() -> &'static str {
        r#"{"input":{"width":32,"height":32,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"stretch"}},
            "output":{"kind":"logits","classes":["a","b","c"]}}"#
    }

    #[test]
    fn parses_sample() {
        let m = Manifest::from_json(sample()).unwrap();
        assert_eq!(m.num_classes(), 3);
        assert_eq!(m.input.resize, Resize::Stretch {});
    }

    #[test]
    fn rejects_unknown_field() {
        let bad = sample().replace("\"layout\"", "\"layuot\"");
        let e = Manifest::from_json(&bad).unwrap_err();
        assert_eq!(e.code(), "invalid_manifest");
        assert!(e.message().contains("layuot"), "{}", e.message());
    }

    #[test]
    fn rejects_wrong_mean_count() {
        let bad = sample().replace("\"mean\":[0.5]", "\"mean\":[0.5,0.5,0.5]");
        assert_eq!(
            Manifest::from_json(&bad).unwrap_err().code(),
            "invalid_manifest"
        );
    }

    #[test]
    fn rejects_zero_std_and_bad_hash() {
        let bad = sample().replace("\"std\":[0.5]", "\"std\":[0.0]");
        assert!(Manifest::from_json(&bad).is_err());
        let bad = sample().replace("\"output\"", "\"sha256\":\"xyz\",\"output\"");
        assert!(Manifest::from_json(&bad).is_err());
    }

    #[test]
    fn shorter_side_crop() {
        let j = sample().replace(
            r#"{"mode":"stretch"}"#,
            r#"{"mode":"shorterSideCrop","shorterSide":40}"#,
        );
        let m = Manifest::from_json(&j).unwrap();
        assert_eq!(
            m.input.resize,
            Resize::ShorterSideCrop {
                shorter_side: Some(40)
            }
        );
        let j = sample().replace(
            r#"{"mode":"stretch"}"#,
            r#"{"mode":"shorterSideCrop","shorterSide":8}"#,
        );
        assert!(Manifest::from_json(&j).is_err());
    }
}

#[cfg(test)]
mod tta_tests {
    use super::*;

    fn with(extra: &str) -> Result<Manifest> {
        let base = tests::sample_json();
        Manifest::from_json(&base.replacen('{', &format!("{{{extra},"), 1))
    }

    #[test]
    fn parses_tta_and_members() {
        let m = with(
            r#""tta":[{"op":"identity"},{"op":"hflip"},{"op":"vflip"},{"op":"shift","dx":2,"dy":-1},
                     {"op":"shift","dx":-1,"dy":0,"fill":"edge"},{"op":"rot90"},{"op":"rot90","k":3}],
               "members":[{"name":"a"},{"sha256":"00000000000000000000000000000000000000000000000000000000000000ff"}]"#,
        )
        .unwrap();
        let t = m.transforms();
        assert_eq!(t.len(), 7);
        assert_eq!(t[5], Transform::Rot90 { k: 1 });
        assert_eq!(
            t[3],
            Transform::Shift {
                dx: 2,
                dy: -1,
                fill: Fill::Black
            }
        );
        assert_eq!(m.members.as_ref().unwrap().len(), 2);
        // round trip through JSON
        let again: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(again, m);
        // no tta: the identity alone, and nothing new serialized
        let plain = Manifest::from_json(tests::sample_json()).unwrap();
        assert_eq!(plain.transforms(), vec![Transform::Identity {}]);
        let j = serde_json::to_string(&plain).unwrap();
        assert!(!j.contains("tta") && !j.contains("members"), "{j}");
    }

    #[test]
    fn bad_tta_is_invalid_manifest() {
        for bad in [
            r#""tta":[]"#,
            r#""tta":[{"op":"zoom"}]"#,
            r#""tta":[{"op":"hflip","k":1}]"#,
            r#""tta":[{"op":"identity","x":1}]"#,
            r#""tta":[{"op":"shift","dx":32,"dy":0}]"#,
            r#""tta":[{"op":"shift","dx":0,"dy":-40}]"#,
            r#""tta":[{"op":"shift","dx":1}]"#,
            r#""tta":[{"op":"shift","dx":1,"dy":1,"fill":"mirror"}]"#,
            r#""tta":[{"op":"rot90","k":0}]"#,
            r#""tta":[{"op":"rot90","k":4}]"#,
            r#""members":[]"#,
            r#""members":[{"sha256":"xyz"}]"#,
            r#""members":[{"sha":"00"}]"#,
            r#""members":[{}],"sha256":"00000000000000000000000000000000000000000000000000000000000000ff""#,
        ] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_manifest", "{bad}: {e}");
        }
        let many = vec![r#"{"op":"hflip"}"#; MAX_TRANSFORMS + 1].join(",");
        assert_eq!(
            with(&format!(r#""tta":[{many}]"#)).unwrap_err().code(),
            "invalid_manifest"
        );
        let ms = ["{}"; MAX_MEMBERS + 1].join(",");
        assert_eq!(
            with(&format!(r#""members":[{ms}]"#)).unwrap_err().code(),
            "invalid_manifest"
        );
        let ms = ["{}"; MAX_MEMBERS].join(",");
        let ts = vec![r#"{"op":"hflip"}"#; MAX_TRANSFORMS].join(",");
        let e = with(&format!(r#""members":[{ms}],"tta":[{ts}]"#)).unwrap_err();
        assert!(e.message().contains("rows per image"), "{e}");
    }

    #[test]
    fn rot90_odd_needs_square() {
        let j = tests::sample_json().replace("\"height\":32", "\"height\":16");
        let j = j.replacen('{', r#"{"tta":[{"op":"rot90","k":1}],"#, 1);
        assert_eq!(
            Manifest::from_json(&j).unwrap_err().code(),
            "invalid_manifest"
        );
        let j = j.replace(r#""k":1"#, r#""k":2"#);
        assert!(Manifest::from_json(&j).is_ok());
    }

    fn spec(w: u32, h: u32, rgb: bool, nhwc: bool) -> InputSpec {
        InputSpec {
            width: w,
            height: h,
            layout: if nhwc { Layout::Nhwc } else { Layout::Nchw },
            channels: if rgb { Channels::Rgb } else { Channels::Gray },
            mean: vec![0.5; if rgb { 3 } else { 1 }],
            std: vec![0.25; if rgb { 3 } else { 1 }],
            resize: Resize::Stretch {},
            name: None,
            dicom: None,
        }
    }

    #[test]
    fn small_examples() {
        // 3 wide, 2 high, gray: [[0 1 2] [3 4 5]]
        let s = spec(3, 2, false, false);
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let ap = |t: Transform| t.apply(&x, &s).unwrap();
        assert_eq!(ap(Transform::Hflip {}), vec![2., 1., 0., 5., 4., 3.]);
        assert_eq!(ap(Transform::Vflip {}), vec![3., 4., 5., 0., 1., 2.]);
        assert_eq!(ap(Transform::Rot90 { k: 2 }), vec![5., 4., 3., 2., 1., 0.]);
        let black = (0.0 - 0.5) * (1.0 / 0.25);
        assert_eq!(
            ap(Transform::Shift {
                dx: 1,
                dy: -1,
                fill: Fill::Black
            }),
            vec![black, 3., 4., black, black, black]
        );
        assert_eq!(
            ap(Transform::Shift {
                dx: -1,
                dy: 1,
                fill: Fill::Edge
            }),
            vec![1., 2., 2., 1., 2., 2.]
        );
        // odd rot90 on a non-square input, wrong length: typed errors, no panic
        assert_eq!(
            Transform::Rot90 { k: 1 }.apply(&x, &s).unwrap_err().code(),
            "invalid_manifest"
        );
        assert_eq!(
            Transform::Hflip {}.apply(&x[..5], &s).unwrap_err().code(),
            "invalid_input"
        );
        // 2x2 rot90 k=1 = numpy.rot90([[0 1] [2 3]]) = [[1 3] [0 2]]
        let s2 = spec(2, 2, false, false);
        assert_eq!(
            Transform::Rot90 { k: 1 }
                .apply(&[0., 1., 2., 3.], &s2)
                .unwrap(),
            vec![1., 3., 0., 2.]
        );
        assert_eq!(
            Transform::Rot90 { k: 3 }
                .apply(&[0., 1., 2., 3.], &s2)
                .unwrap(),
            vec![2., 0., 3., 1.]
        );
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tta_props {
    use super::*;
    use proptest::prelude::*;

    fn spec(w: u32, h: u32, c3: bool, nhwc: bool) -> InputSpec {
        InputSpec {
            width: w,
            height: h,
            layout: if nhwc { Layout::Nhwc } else { Layout::Nchw },
            channels: if c3 { Channels::Bgr } else { Channels::Gray },
            mean: vec![0.25; if c3 { 3 } else { 1 }],
            std: vec![0.5; if c3 { 3 } else { 1 }],
            resize: Resize::Stretch {},
            name: None,
            dicom: None,
        }
    }

    fn to_chw(x: &[f32], s: &InputSpec) -> Vec<f32> {
        let (c, w, h) = (s.channels.count(), s.width as usize, s.height as usize);
        match s.layout {
            Layout::Nchw => x.to_vec(),
            Layout::Nhwc => {
                let mut o = vec![0.0; x.len()];
                for y in 0..h {
                    for xx in 0..w {
                        for ch in 0..c {
                            o[(ch * h + y) * w + xx] = x[(y * w + xx) * c + ch];
                        }
                    }
                }
                o
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn involutions_and_inverses(w in 1u32..9, h in 1u32..9, c3 in any::<bool>(), nhwc in any::<bool>(),
                                    seed in 0u32..1000, dx in -8i32..9, dy in -8i32..9) {
            let s = spec(w, h, c3, nhwc);
            let n = s.channels.count() * (w * h) as usize;
            let x: Vec<f32> = (0..n).map(|i| (((i as u32).wrapping_mul(2654435761u32) ^ seed) % 1000) as f32 / 7.0).collect();
            let ap = |t: Transform, v: &[f32]| t.apply(v, &s).unwrap();
            // flips are involutions, and commute; hflip∘vflip = rot90 k=2
            prop_assert_eq!(ap(Transform::Hflip {}, &ap(Transform::Hflip {}, &x)), x.clone());
            prop_assert_eq!(ap(Transform::Vflip {}, &ap(Transform::Vflip {}, &x)), x.clone());
            let hv = ap(Transform::Hflip {}, &ap(Transform::Vflip {}, &x));
            prop_assert_eq!(&hv, &ap(Transform::Vflip {}, &ap(Transform::Hflip {}, &x)));
            prop_assert_eq!(&hv, &ap(Transform::Rot90 { k: 2 }, &x));
            prop_assert_eq!(ap(Transform::Identity {}, &x), x.clone());
            if w == h {
                // four quarter turns = identity; k=1 then k=3 = identity
                let mut r = x.clone();
                for _ in 0..4 { r = ap(Transform::Rot90 { k: 1 }, &r); }
                prop_assert_eq!(&r, &x);
                prop_assert_eq!(ap(Transform::Rot90 { k: 3 }, &ap(Transform::Rot90 { k: 1 }, &x)), x.clone());
            }
            // a shift is a permutation on the covered part; shifting back restores it there,
            // and the uncovered part is the fill
            if dx.unsigned_abs() < w && dy.unsigned_abs() < h {
                let sh = ap(Transform::Shift { dx, dy, fill: Fill::Black }, &x);
                let back = ap(Transform::Shift { dx: -dx, dy: -dy, fill: Fill::Black }, &sh);
                let (xc, bc) = (to_chw(&x, &s), to_chw(&back, &s));
                let shc = to_chw(&sh, &s);
                let (wu, hu) = (w as i64, h as i64);
                for ch in 0..s.channels.count() {
                    for y in 0..hu {
                        for xx in 0..wu {
                            let i = ((ch as i64 * hu + y) * wu + xx) as usize;
                            let covered = (0..hu).contains(&(y + dy as i64)) && (0..wu).contains(&(xx + dx as i64));
                            if covered { prop_assert_eq!(bc[i], xc[i]); }
                            let src_in = (0..hu).contains(&(y - dy as i64)) && (0..wu).contains(&(xx - dx as i64));
                            if !src_in { prop_assert_eq!(shc[i], (0.0 - 0.25f32) * (1.0 / 0.5f32)); }
                        }
                    }
                }
                // edge fill never introduces a value that is not in the input
                let e = ap(Transform::Shift { dx, dy, fill: Fill::Edge }, &x);
                prop_assert!(e.iter().all(|v| x.contains(v)));
            }
        }
    }
}
