//! DICOM: from Part 10 bytes (or a frame a host decoded itself) to the float pixels the model
//! sees, with the windowing the manifest declares.
//!
//! Steps: recognise the bytes ([`is_dicom`]) -> parse under limits checked before anything is
//! allocated (every declared element length against the bytes that remain, the element and
//! fragment counts, rows x columns x samples x frames against [`ImageLimits`]) -> decode the
//! chosen frame(s) to stored values ([`decode`]) -> modality LUT -> VOI -> `[0, 1]`
//! ([`lut`]) -> the manifest's output range -> the usual resize / normalization of
//! [`crate::engine::image`].
//!
//! ## Transfer syntaxes
//! | syntax | UID | here |
//! |---|---|---|
//! | Implicit VR Little Endian | 1.2.840.10008.1.2 | decoded |
//! | Explicit VR Little Endian | 1.2.840.10008.1.2.1 | decoded |
//! | Encapsulated Uncompressed Explicit VR LE | 1.2.840.10008.1.2.1.98 | decoded |
//! | Deflated Explicit VR Little Endian | 1.2.840.10008.1.2.1.99 | decoded (`dicom-deflate`) |
//! | Explicit VR Big Endian | 1.2.840.10008.1.2.2 | decoded |
//! | RLE Lossless | 1.2.840.10008.1.2.5 | decoded (`dicom-rle`) |
//! | JPEG Baseline (process 1) | 1.2.840.10008.1.2.4.50 | decoded (jpeg-decoder, `dicom-jpeg`) |
//! | JPEG Extended (process 2 and 4, 12-bit) | 1.2.840.10008.1.2.4.51 | decoded (8-bit by jpeg-decoder, 12-bit by `jpeg12`, `dicom-jpeg12`) |
//! | JPEG Lossless (process 14, and SV1) | 1.2.840.10008.1.2.4.57 / .70 | decoded (jpeg-decoder, `dicom-jpeg`) |
//! | JPEG 2000 (lossless only, and lossy) | 1.2.840.10008.1.2.4.90 / .91 | decoded (hayro-jpeg2000, `dicom-jpeg2000`) |
//! | JPEG-LS, HTJ2K, JPEG XL, MPEG, and any other | | `unsupported_transfer_syntax` |
//!
//! Each codec is a cargo feature (in `dicom-all`, which the package is built with); parsing,
//! the LUTs and the native syntaxes are the `dicom` feature. Without a codec's feature its
//! syntax is `unsupported_transfer_syntax`; without `dicom`, every DICOM input is (it is still
//! recognised, by [`detect`], so it never reaches the PNG/JPEG decoders).
//!
//! A syntax that cannot be decoded fails with `unsupported_transfer_syntax`, naming the syntax
//! and its UID. A host that has its own decoder (e.g. cornerstone's codecs) decodes the frame
//! and passes the native samples plus the attributes as a [`DicomAttributes`]
//! ([`frame_from_decoded`]); everything after decoding is then the same.
//!
//! ## Privacy
//! Only SOP Instance UID, frame number and modality leave this module ([`DicomIdentity`]).
//! No error message names a header value: they name tags, syntaxes and sizes only.

#[cfg(feature = "dicom")]
pub mod decode;
pub mod detect;
#[cfg(feature = "dicom-jpeg2000")]
mod j2k;
#[cfg(feature = "dicom")]
mod jpeg;
#[cfg(feature = "dicom-jpeg12")]
pub mod jpeg12;
#[cfg(feature = "dicom")]
pub mod lut;
#[cfg(feature = "dicom")]
pub mod parse;
#[cfg(feature = "dicom-rle")]
mod rle;

use serde::{Deserialize, Serialize};

use super::image::{ImageLimits, Pixels};
use super::manifest::Channels;
use crate::error::{err, Result};

pub use detect::is_dicom;
#[cfg(feature = "dicom")]
pub use parse::DicomFile;

/// Which frame(s) of a multi-frame object are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(tag = "mode", rename_all = "camelCase", deny_unknown_fields)]
pub enum FrameChoice {
    /// Frame 0 (default).
    #[default]
    First,
    /// Frame `number_of_frames / 2` (rounded down).
    Middle,
    /// A given 0-based frame; beyond the last frame is an `invalid_input` error.
    Index {
        /// 0-based frame number.
        index: u32,
    },
    /// Every frame, each scored as its own item with id `SOPInstanceUID#frame`.
    Each,
}

/// The VOI LUT function of a fixed window (PS3.3 C.11.2.1.2 / C.11.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum VoiFunction {
    /// `LINEAR`: `((x - (c - 0.5)) / (w - 1) + 0.5)` clipped to `[0, 1]`; needs `w >= 1`.
    #[default]
    Linear,
    /// `LINEAR_EXACT`: `((x - c) / w + 0.5)` clipped to `[0, 1]`; needs `w > 0`.
    LinearExact,
    /// `SIGMOID`: `1 / (1 + exp(-4 (x - c) / w))`; needs `w > 0`.
    Sigmoid,
}

/// What to do when the file is asked for its window but has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum WindowFallback {
    /// Use the frame's min-max (default).
    #[default]
    MinMax,
    /// Fail the item with `invalid_input`.
    Error,
}

/// How modality values (after rescale / Modality LUT) become `[0, 1]` for grayscale images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(tag = "mode", rename_all = "camelCase", deny_unknown_fields)]
pub enum Window {
    /// The file's own VOI: its VOI LUT Sequence if present (as pydicom prefers), else its
    /// Window Center / Width with its VOI LUT Function. With several, choose by `index`
    /// (0-based) or by `explanation` (Window Center & Width Explanation or LUT Explanation,
    /// compared case-insensitively); default the first.
    #[serde(rename_all = "camelCase")]
    File {
        /// 0-based index of the window / VOI LUT.
        #[serde(default, deserialize_with = "crate::engine::limits::de::item")]
        index: Option<usize>,
        /// The explanation of the window to use (e.g. `"LUNG"`).
        #[serde(default)]
        explanation: Option<String>,
        /// When the file has no window (default: min-max).
        #[serde(default)]
        fallback: WindowFallback,
    },
    /// A fixed window in modality units (e.g. Hounsfield: lung -600/1500, soft tissue 40/400).
    #[serde(rename_all = "camelCase")]
    Fixed {
        /// Window center.
        center: f64,
        /// Window width.
        width: f64,
        /// VOI LUT function (default linear).
        #[serde(default)]
        function: VoiFunction,
    },
    /// The frame's minimum maps to 0 and its maximum to 1.
    MinMax {},
}

impl Default for Window {
    fn default() -> Self {
        Window::File {
            index: None,
            explanation: None,
            fallback: WindowFallback::MinMax,
        }
    }
}

fn default_range() -> [f32; 2] {
    [0.0, 1.0]
}

fn yes() -> bool {
    true
}

/// What the model was trained on, for DICOM inputs (the manifest's `input.dicom`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DicomOptions {
    /// Windowing of grayscale images (default: the file's window, else min-max).
    #[serde(default)]
    pub window: Window,
    /// Which frame(s) to score (default the first).
    #[serde(default)]
    pub frame: FrameChoice,
    /// The values `[0, 1]` map to before the manifest's mean / std (default `[0, 1]`):
    /// windowed black becomes `outputRange[0]`, white `outputRange[1]`.
    #[serde(default = "default_range")]
    pub output_range: [f32; 2],
    /// Invert MONOCHROME1 so that larger always means brighter, as displayed (default true).
    #[serde(default = "yes")]
    pub invert_monochrome1: bool,
}

impl Default for DicomOptions {
    fn default() -> Self {
        DicomOptions {
            window: Window::default(),
            frame: FrameChoice::First,
            output_range: default_range(),
            invert_monochrome1: true,
        }
    }
}

impl DicomOptions {
    /// Check the options (called by the manifest's validation).
    pub fn validate(&self) -> Result<()> {
        let [a, b] = self.output_range;
        if !(a.is_finite() && b.is_finite()) || a == b {
            return Err(err!(
                InvalidManifest,
                "dicom.outputRange must be two different finite numbers"
            ));
        }
        if let Window::Fixed {
            center,
            width,
            function,
        } = &self.window
        {
            check_window(*center, *width, *function).map_err(|e| {
                crate::error::Error::new(crate::error::ErrorKind::InvalidManifest, e.message())
            })?;
        }
        Ok(())
    }
}

/// Check a window's width for its function.
pub fn check_window(center: f64, width: f64, f: VoiFunction) -> Result<()> {
    if !(center.is_finite() && width.is_finite()) {
        return Err(err!(InvalidInput, "window center and width must be finite"));
    }
    match f {
        VoiFunction::Linear if width < 1.0 => Err(err!(
            InvalidInput,
            "a LINEAR window needs a width of at least 1, got {width}"
        )),
        VoiFunction::LinearExact | VoiFunction::Sigmoid if width <= 0.0 => Err(err!(
            InvalidInput,
            "a {f:?} window needs a width above 0, got {width}"
        )),
        _ => Ok(()),
    }
}

/// What identifies a scored frame, and nothing else from the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DicomIdentity {
    /// SOP Instance UID (empty when the file has none).
    pub sop_instance_uid: String,
    /// 0-based frame number.
    pub frame: u32,
    /// Modality (e.g. `CT`), when present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub modality: Option<String>,
}

impl DicomIdentity {
    /// The id of one frame when every frame is scored: `SOPInstanceUID#frame`.
    pub fn frame_id(&self) -> String {
        format!("{}#{}", self.sop_instance_uid, self.frame)
    }
}

/// The VOI actually applied, for display next to a thumbnail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppliedWindow {
    /// `file`, `fixed`, `minMax`, `voiLut` or `none` (colour images).
    pub source: String,
    /// Window center (modality units), for windows and min-max.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub center: Option<f64>,
    /// Window width (modality units), for windows and min-max.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<f64>,
    /// VOI LUT function of a window.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub function: Option<VoiFunction>,
    /// The explanation the file gives for the chosen window / LUT, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub explanation: Option<String>,
}

/// One frame ready for the model: float pixels in the output range, its identity and the VOI.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomFrame {
    /// SOP Instance UID, frame and modality.
    pub identity: DicomIdentity,
    /// Pixels with the model's channel count, values in `outputRange` (`[0, 1]` by default).
    pub pixels: Pixels,
    /// The VOI that was applied.
    pub window: AppliedWindow,
}

/// Attributes of a frame a host decoded itself (for syntaxes this build cannot decode), with
/// the same names as the DICOM keywords in camelCase. The samples come separately as native
/// little-endian bytes, `bitsAllocated / 8` bytes per sample, samples interleaved
/// (`planarConfiguration` 0) or planar (1), e.g. a cornerstone `pixelData` typed array's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DicomAttributes {
    /// SOP Instance UID (for the result's identity).
    #[serde(default)]
    pub sop_instance_uid: Option<String>,
    /// Modality (for the result's identity).
    #[serde(default)]
    pub modality: Option<String>,
    /// 0-based frame number of this frame (for the result's identity).
    #[serde(default)]
    pub frame: u32,
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub columns: u16,
    /// Samples per pixel (1 or 3, default 1).
    #[serde(default = "one")]
    pub samples_per_pixel: u16,
    /// `MONOCHROME1`, `MONOCHROME2`, `RGB`, `YBR_FULL`, `YBR_FULL_422` (decoded
    /// `YBR_FULL_422` samples are full resolution) or `PALETTE COLOR`.
    pub photometric_interpretation: String,
    /// 8, 16 or 32.
    pub bits_allocated: u16,
    /// At most `bitsAllocated`.
    pub bits_stored: u16,
    /// Default `bitsStored - 1`.
    #[serde(default)]
    pub high_bit: Option<u16>,
    /// 0 unsigned (default), 1 two's complement.
    #[serde(default)]
    pub pixel_representation: u16,
    /// 0 interleaved (default), 1 planar.
    #[serde(default)]
    pub planar_configuration: u16,
    /// Rescale Slope (default 1 when an intercept is given).
    #[serde(default)]
    pub rescale_slope: Option<f64>,
    /// Rescale Intercept.
    #[serde(default)]
    pub rescale_intercept: Option<f64>,
    /// Window Center values.
    #[serde(default)]
    pub window_center: Vec<f64>,
    /// Window Width values.
    #[serde(default)]
    pub window_width: Vec<f64>,
    /// Window Center & Width Explanation values.
    #[serde(default)]
    pub window_explanation: Vec<String>,
    /// VOI LUT Function (`LINEAR`, `LINEAR_EXACT`, `SIGMOID`).
    #[serde(default)]
    pub voi_lut_function: Option<String>,
}

fn one() -> u16 {
    1
}

/// `unsupported_transfer_syntax` for every DICOM input of a build without the `dicom` feature.
#[cfg(not(feature = "dicom"))]
fn not_built() -> crate::error::Error {
    crate::error::Error::new(
        crate::error::ErrorKind::UnsupportedTransferSyntax,
        "DICOM cannot be decoded in this build (built without the `dicom` feature)",
    )
}

/// Decode the frame(s) `opts.frame` chooses from DICOM bytes into model-ready pixels with
/// `channels` channels.
#[cfg(not(feature = "dicom"))]
pub fn frames(
    _bytes: &[u8],
    _opts: &DicomOptions,
    _limits: &ImageLimits,
    _channels: Channels,
) -> Result<Vec<DicomFrame>> {
    Err(not_built())
}

/// Model-ready pixels from a frame the host decoded (see [`DicomAttributes`]).
#[cfg(not(feature = "dicom"))]
pub fn frame_from_decoded(
    _attrs: &DicomAttributes,
    _samples: &[u8],
    _opts: &DicomOptions,
    _limits: &ImageLimits,
    _channels: Channels,
) -> Result<DicomFrame> {
    Err(not_built())
}

/// Decode the frame(s) `opts.frame` chooses from DICOM bytes into model-ready pixels with
/// `channels` channels.
#[cfg(feature = "dicom")]
pub fn frames(
    bytes: &[u8],
    opts: &DicomOptions,
    limits: &ImageLimits,
    channels: Channels,
) -> Result<Vec<DicomFrame>> {
    let file = DicomFile::parse(bytes, limits)?;
    let n = file.image.number_of_frames;
    let chosen: Vec<u32> = match opts.frame {
        FrameChoice::First => vec![0],
        FrameChoice::Middle => vec![n / 2],
        FrameChoice::Index { index } if index < n => vec![index],
        FrameChoice::Index { index } => {
            return Err(err!(
                InvalidInput,
                "frame {index} asked for, the object has {n} frame(s)"
            ))
        }
        FrameChoice::Each => (0..n).collect(),
    };
    chosen
        .into_iter()
        .map(|f| {
            let stored = file.decode_frame(f, limits)?;
            let (pixels, window) = lut::to_pixels(&file.image, &stored, opts, channels)?;
            Ok(DicomFrame {
                identity: file.identity(f),
                pixels,
                window,
            })
        })
        .collect()
}

/// Model-ready pixels from a frame the host decoded (see [`DicomAttributes`]).
#[cfg(feature = "dicom")]
pub fn frame_from_decoded(
    attrs: &DicomAttributes,
    samples: &[u8],
    opts: &DicomOptions,
    limits: &ImageLimits,
    channels: Channels,
) -> Result<DicomFrame> {
    let image = parse::ImageInfo::from_attributes(attrs, limits)?;
    let stored = decode::native_frame(&image, samples, 0, false, 1)?;
    let (pixels, window) = lut::to_pixels(&image, &stored, opts, channels)?;
    Ok(DicomFrame {
        identity: DicomIdentity {
            sop_instance_uid: attrs.sop_instance_uid.clone().unwrap_or_default(),
            frame: attrs.frame,
            modality: attrs.modality.clone(),
        },
        pixels,
        window,
    })
}

/// A display rendering of the frame the model sees: the windowed frame exactly as it goes to
/// the model's resize and normalization (same decoder, same window, same channels), with the
/// output range left at `[0, 1]` and rounded to 8 bits (black 0, white 255); gray frames are
/// replicated into R, G and B.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", schemars(rename = "DicomPreview"))]
pub struct Preview {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA bytes, `width * height * 4`.
    #[serde(skip)]
    pub rgba: Vec<u8>,
    /// The VOI applied.
    pub window: AppliedWindow,
    /// SOP Instance UID, frame and modality.
    pub identity: DicomIdentity,
}

/// 8-bit RGBA of a windowed frame in `[0, 1]` (1 or 3 channels).
pub fn to_rgba(p: &Pixels) -> Vec<u8> {
    let b = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    match p.channels {
        1 => p
            .data
            .iter()
            .flat_map(|&v| [b(v), b(v), b(v), 255])
            .collect(),
        _ => p
            .data
            .chunks_exact(3)
            .flat_map(|c| [b(c[0]), b(c[1]), b(c[2]), 255])
            .collect(),
    }
}

/// The frames `opts` chooses (only the first one when every frame is scored), windowed as the
/// model sees them with `channels` channels, in `[0, 1]` (the output range is not applied).
pub fn windowed(
    bytes: &[u8],
    opts: &DicomOptions,
    limits: &ImageLimits,
    channels: Channels,
    every_frame: bool,
) -> Result<Vec<DicomFrame>> {
    let mut o = opts.clone();
    o.output_range = [0.0, 1.0];
    if o.frame == FrameChoice::Each && !every_frame {
        o.frame = FrameChoice::First;
    }
    frames(bytes, &o, limits, channels)
}

/// Render the frame `opts` chooses (the first one when every frame is scored) as RGBA, with
/// the channels of the model (`channels`).
pub fn preview(
    bytes: &[u8],
    opts: &DicomOptions,
    limits: &ImageLimits,
    channels: Channels,
) -> Result<Preview> {
    let f = windowed(bytes, opts, limits, channels, false)?
        .into_iter()
        .next()
        .ok_or_else(|| err!(ImageDecode, "DICOM: no frame"))?;
    Ok(Preview {
        width: f.pixels.width,
        height: f.pixels.height,
        rgba: to_rgba(&f.pixels),
        window: f.window,
        identity: f.identity,
    })
}

/// A build without a codec answers `unsupported_transfer_syntax` for its syntax, naming it
/// (each test runs only in a build without that feature, e.g. `cargo test --lib
/// --no-default-features --features dicom`; with every feature, `tests/dicom.rs` decodes them).
#[cfg(test)]
mod feature_tests {
    #[allow(unused_imports)]
    use super::*;

    #[allow(dead_code)]
    fn refused(bytes: &[u8], named: &str) {
        let e = frames(
            bytes,
            &DicomOptions::default(),
            &ImageLimits::default(),
            Channels::Gray,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unsupported_transfer_syntax", "{}", e.message());
        assert!(e.message().contains(named), "{}", e.message());
    }

    #[cfg(not(feature = "dicom"))]
    #[test]
    fn without_dicom_every_dicom_input_is_unsupported() {
        let ct = include_bytes!("../../../tests/fixtures/dicom/CT_small.dcm");
        assert!(is_dicom(ct));
        refused(ct, "without the `dicom` feature");
    }

    #[cfg(all(feature = "dicom", not(feature = "dicom-rle")))]
    #[test]
    fn without_dicom_rle() {
        let f = include_bytes!("../../../tests/fixtures/dicom/MR_small_RLE.dcm");
        refused(f, "RLE Lossless (1.2.840.10008.1.2.5)");
    }

    #[cfg(all(feature = "dicom", not(feature = "dicom-jpeg")))]
    #[test]
    fn without_dicom_jpeg() {
        let f = include_bytes!("../../../tests/fixtures/dicom/JPEG-LL.dcm");
        refused(f, "(1.2.840.10008.1.2.4.70)");
        let f = include_bytes!("../../../tests/fixtures/dicom/SC_rgb_jpeg_dcmtk.dcm");
        refused(f, "JPEG Baseline (Process 1) (1.2.840.10008.1.2.4.50)");
    }

    #[cfg(all(feature = "dicom", not(feature = "dicom-jpeg12")))]
    #[test]
    fn without_dicom_jpeg12() {
        let f = include_bytes!("../../../tests/fixtures/dicom/JPGExtended.dcm");
        refused(f, "(1.2.840.10008.1.2.4.51), 12-bit,");
    }

    #[cfg(all(feature = "dicom", not(feature = "dicom-jpeg2000")))]
    #[test]
    fn without_dicom_jpeg2000() {
        let f = include_bytes!("../../../tests/fixtures/dicom/MR_small_jp2klossless.dcm");
        refused(f, "(1.2.840.10008.1.2.4.90)");
    }

    #[cfg(all(feature = "dicom", not(feature = "dicom-deflate")))]
    #[test]
    fn without_dicom_deflate() {
        let f = include_bytes!("../../../tests/fixtures/dicom/image_dfl.dcm");
        refused(
            f,
            "Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99)",
        );
    }

    #[cfg(feature = "dicom")]
    #[test]
    fn native_syntaxes_need_no_codec() {
        let ct = include_bytes!("../../../tests/fixtures/dicom/CT_small.dcm");
        let f = frames(
            ct,
            &DicomOptions::default(),
            &ImageLimits::default(),
            Channels::Gray,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        let p = preview(
            ct,
            &DicomOptions::default(),
            &ImageLimits::default(),
            Channels::Gray,
        )
        .unwrap();
        // the preview is the model's windowed frame, rounded to 8 bits
        assert_eq!(p.rgba, to_rgba(&f[0].pixels));
    }
}
