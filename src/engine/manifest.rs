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

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

/// Memory layout of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[batch, channels, height, width]` (PyTorch).
    Nchw,
    /// `[batch, height, width, channels]` (TensorFlow/Keras).
    Nhwc,
}

/// Channel count and order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(tag = "mode", rename_all = "camelCase", deny_unknown_fields)]
pub enum Resize {
    /// Resize both sides to exactly width x height (aspect ratio not kept).
    Stretch,
    /// Resize so the shorter side is `shorterSide` pixels (aspect kept), then crop the centre
    /// width x height. `shorterSide` defaults to, and must be at least, max(width, height).
    #[serde(rename_all = "camelCase")]
    ShorterSideCrop {
        /// Target length of the shorter side before cropping.
        #[serde(default)]
        shorter_side: Option<u32>,
    },
}

/// Whether the model's output rows are logits (softmax is applied) or probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Unnormalized scores; probabilities = softmax(logits).
    Logits,
    /// Already probabilities; each row is checked to sum to 1 (within 1e-3).
    Probabilities,
}

/// The input side of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// The output side of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Free-form model name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free-form description (e.g. training data, intended use).
    #[serde(default)]
    pub description: Option<String>,
    /// Input description.
    pub input: InputSpec,
    /// Output description.
    pub output: OutputSpec,
    /// Lower-case hex SHA-256 the model bytes must match, if given.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Largest accepted model input side, a guard against absurd manifests.
pub const MAX_INPUT_SIDE: u32 = 8192;

impl Manifest {
    /// Parse a manifest from JSON and validate it.
    pub fn from_json(json: &str) -> Result<Manifest> {
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
        if self.output.classes.len() < 2 {
            return Err(err!(
                InvalidManifest,
                "output.classes needs at least 2 names"
            ));
        }
        let mut names: Vec<&str> = self.output.classes.iter().map(String::as_str).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(err!(InvalidManifest, "output.classes has duplicate names"));
        }
        if let Some(h) = &self.sha256 {
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err!(InvalidManifest, "sha256 must be 64 hex digits"));
            }
        }
        Ok(())
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.output.classes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> &'static str {
        r#"{"input":{"width":32,"height":32,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"stretch"}},
            "output":{"kind":"logits","classes":["a","b","c"]}}"#
    }

    #[test]
    fn parses_sample() {
        let m = Manifest::from_json(sample()).unwrap();
        assert_eq!(m.num_classes(), 3);
        assert_eq!(m.input.resize, Resize::Stretch);
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
