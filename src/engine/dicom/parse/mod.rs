//! Recognising and parsing DICOM bytes under limits, and the attributes scoring needs.
//!
//! Before dicom-rs sees the data set, [`prescan::prescan`] walks every element header and checks each
//! declared length against the bytes that remain, and counts elements and pixel fragments, so
//! a hostile length never becomes an allocation. The file meta group is read here (only its
//! Transfer Syntax UID is used); a deflated data set is inflated under `maxAlloc`.

use std::io::Cursor;
#[cfg(feature = "dicom-deflate")]
use std::io::Read;

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::HasLength;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use super::detect::{raw_dataset, Encoding};
use super::{DicomAttributes, DicomIdentity, VoiFunction};
use crate::engine::image::ImageLimits;
use crate::error::{err, Result};

/// Most elements (at any depth) in one data set.
pub const MAX_ELEMENTS: usize = 1 << 20;
/// Most pixel data fragments.
pub const MAX_FRAGMENTS: usize = 1 << 20;
/// Most frames in one object.
pub const MAX_FRAMES: u32 = 1 << 16;

const TS_IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const TS_EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const TS_ENCAPSULATED_UNCOMPRESSED: &str = "1.2.840.10008.1.2.1.98";
const TS_DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const TS_EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const TS_RLE: &str = "1.2.840.10008.1.2.5";

/// How the pixel data of a transfer syntax is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Native samples, little or big endian.
    Native {
        /// Big endian.
        big_endian: bool,
    },
    /// Encapsulated but uncompressed fragments.
    EncapsulatedNative,
    /// RLE Lossless.
    Rle,
    /// JPEG baseline / extended / lossless.
    Jpeg,
    /// JPEG 2000.
    Jpeg2000,
    /// Known but not decodable in this build.
    Unsupported,
}

/// The name and codec of a transfer syntax UID.
pub fn transfer_syntax(uid: &str) -> (&'static str, Codec) {
    use Codec::*;
    match uid {
        TS_IMPLICIT_LE => ("Implicit VR Little Endian", Native { big_endian: false }),
        TS_EXPLICIT_LE => ("Explicit VR Little Endian", Native { big_endian: false }),
        TS_ENCAPSULATED_UNCOMPRESSED => (
            "Encapsulated Uncompressed Explicit VR Little Endian",
            EncapsulatedNative,
        ),
        TS_DEFLATED => (
            "Deflated Explicit VR Little Endian",
            Native { big_endian: false },
        ),
        TS_EXPLICIT_BE => ("Explicit VR Big Endian", Native { big_endian: true }),
        TS_RLE => ("RLE Lossless", Rle),
        "1.2.840.10008.1.2.4.50" => ("JPEG Baseline (Process 1)", Jpeg),
        "1.2.840.10008.1.2.4.51" => ("JPEG Extended (Process 2 & 4)", Jpeg),
        "1.2.840.10008.1.2.4.57" => ("JPEG Lossless, Non-Hierarchical (Process 14)", Jpeg),
        "1.2.840.10008.1.2.4.70" => (
            "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
            Jpeg,
        ),
        "1.2.840.10008.1.2.4.90" => ("JPEG 2000 Image Compression (Lossless Only)", Jpeg2000),
        "1.2.840.10008.1.2.4.91" => ("JPEG 2000 Image Compression", Jpeg2000),
        "1.2.840.10008.1.2.4.80" => ("JPEG-LS Lossless Image Compression", Unsupported),
        "1.2.840.10008.1.2.4.81" => (
            "JPEG-LS Lossy (Near-Lossless) Image Compression",
            Unsupported,
        ),
        "1.2.840.10008.1.2.4.92" => (
            "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
            Unsupported,
        ),
        "1.2.840.10008.1.2.4.93" => (
            "JPEG 2000 Part 2 Multi-component Image Compression",
            Unsupported,
        ),
        "1.2.840.10008.1.2.4.201" => ("High-Throughput JPEG 2000 (Lossless Only)", Unsupported),
        "1.2.840.10008.1.2.4.202" => (
            "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
            Unsupported,
        ),
        "1.2.840.10008.1.2.4.203" => ("High-Throughput JPEG 2000", Unsupported),
        "1.2.840.10008.1.2.4.110" => ("JPEG XL Lossless", Unsupported),
        "1.2.840.10008.1.2.4.111" => ("JPEG XL JPEG Recompression", Unsupported),
        "1.2.840.10008.1.2.4.112" => ("JPEG XL", Unsupported),
        "1.2.840.10008.1.2.4.100" | "1.2.840.10008.1.2.4.101" => ("MPEG2", Unsupported),
        "1.2.840.10008.1.2.4.102"
        | "1.2.840.10008.1.2.4.103"
        | "1.2.840.10008.1.2.4.104"
        | "1.2.840.10008.1.2.4.105"
        | "1.2.840.10008.1.2.4.106" => ("MPEG-4 AVC/H.264", Unsupported),
        "1.2.840.10008.1.2.4.107" | "1.2.840.10008.1.2.4.108" => ("HEVC/H.265", Unsupported),
        _ => ("unknown transfer syntax", Unsupported),
    }
}

/// `unsupported_transfer_syntax` for transfer syntax `uid` (`what`: the part of it this build
/// cannot decode, e.g. `12-bit`), naming the syntax and its UID, never a header value beyond
/// the UID's digits and dots.
pub fn unsupported(uid: &str, what: Option<&str>) -> crate::error::Error {
    let (name, _) = transfer_syntax(uid);
    let what = what.map(|w| format!(", {w},")).unwrap_or_default();
    crate::error::Error::new(
        crate::error::ErrorKind::UnsupportedTransferSyntax,
        format!(
            "transfer syntax {name} ({}){what} cannot be decoded in this build; decode the frame \
             in the host and pass its samples with the DICOM attributes instead",
            uid.chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .take(64)
                .collect::<String>()
        ),
    )
}

/// Photometric interpretation of the stored samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    /// Minimum is white.
    Monochrome1,
    /// Minimum is black.
    Monochrome2,
    /// Indices into the palette.
    Palette,
    /// RGB samples.
    Rgb,
    /// YCbCr, full range.
    YbrFull,
    /// YCbCr, full range, chroma halved horizontally in the stored data.
    YbrFull422,
    /// JPEG 2000 reversible / irreversible colour: decoded data is RGB.
    YbrJ2k,
}

impl Photometric {
    fn parse(s: &str) -> Result<Photometric> {
        Ok(match s.trim_end_matches(['\0', ' ']).trim() {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::Palette,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "YBR_RCT" | "YBR_ICT" => Photometric::YbrJ2k,
            // named only when it is a defined term: any other text is a header value, which
            // no error may quote (it could hold anything, a patient's name included)
            other @ ("YBR_PARTIAL_422" | "YBR_PARTIAL_420" | "CMYK" | "ARGB" | "HSV") => {
                return Err(err!(
                    ImageDecode,
                    "DICOM: photometric interpretation {other} is not supported"
                ))
            }
            other => {
                return Err(err!(
                    ImageDecode,
                    "DICOM: photometric interpretation (0028,0004) is not a defined term ({} \
                     characters)",
                    other.chars().count()
                ))
            }
        })
    }
    /// Whether the samples are grayscale.
    pub fn is_monochrome(self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

/// A lookup table (Modality LUT, VOI LUT or one palette channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// First stored value mapped.
    pub first: i64,
    /// Bits per entry (LUT Descriptor third value).
    pub bits: u16,
    /// Entries.
    pub data: Vec<u16>,
    /// LUT Explanation, if any.
    pub explanation: Option<String>,
}

/// Everything about the image that decoding and windowing need (no patient data).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// Samples per pixel (1 or 3).
    pub spp: u32,
    /// Photometric interpretation.
    pub photometric: Photometric,
    /// Bits allocated (1, 8, 16 or 32).
    pub bits_allocated: u32,
    /// Bits stored.
    pub bits_stored: u32,
    /// High bit.
    pub high_bit: u32,
    /// Two's complement samples.
    pub signed: bool,
    /// Planar configuration 1 (colour by plane).
    pub planar: bool,
    /// Number of frames.
    pub number_of_frames: u32,
    /// Rescale slope and intercept.
    pub rescale: Option<(f64, f64)>,
    /// Modality LUT Sequence (first item).
    pub modality_lut: Option<Lut>,
    /// Window center, width and explanation triples.
    pub windows: Vec<(f64, f64, Option<String>)>,
    /// VOI LUT Function (`None` when absent, then LINEAR).
    pub voi_function: Option<Result<VoiFunction, String>>,
    /// VOI LUT Sequence items.
    pub voi_luts: Vec<Lut>,
    /// Palette colour LUTs (red, green, blue).
    pub palette: Option<[Lut; 3]>,
}

impl ImageInfo {
    /// Bytes of one native frame.
    pub fn frame_bytes(&self) -> u64 {
        let px = u64::from(self.rows) * u64::from(self.cols) * u64::from(self.spp);
        if self.bits_allocated == 1 {
            px.div_ceil(8)
        } else {
            px * u64::from(self.bits_allocated / 8)
        }
    }

    fn check(&self, limits: &ImageLimits) -> Result<()> {
        let (r, c) = (self.rows, self.cols);
        if r == 0 || c == 0 {
            return Err(err!(ImageDecode, "DICOM: image has zero size ({c}x{r})"));
        }
        if c > limits.max_width || r > limits.max_height {
            return Err(err!(
                ImageTooLarge,
                "DICOM image is {c}x{r}, limit is {}x{}",
                limits.max_width,
                limits.max_height
            ));
        }
        if !matches!(self.spp, 1 | 3) {
            return Err(err!(
                ImageDecode,
                "DICOM: samples per pixel {} (1 or 3 supported)",
                self.spp
            ));
        }
        let want = if self.photometric.is_monochrome() || self.photometric == Photometric::Palette {
            1
        } else {
            3
        };
        if self.spp != want {
            return Err(err!(
                ImageDecode,
                "DICOM: {} samples per pixel disagree with the photometric interpretation",
                self.spp
            ));
        }
        if !matches!(self.bits_allocated, 1 | 8 | 16 | 32) {
            return Err(err!(
                ImageDecode,
                "DICOM: bits allocated {} (1, 8, 16 or 32 supported)",
                self.bits_allocated
            ));
        }
        if self.bits_stored == 0 || self.bits_stored > self.bits_allocated {
            return Err(err!(
                ImageDecode,
                "DICOM: bits stored {} with bits allocated {}",
                self.bits_stored,
                self.bits_allocated
            ));
        }
        if let Some((slope, intercept)) = self.rescale {
            // NaN or infinite modality values would reach the model as NaN pixels
            if !(slope.is_finite() && intercept.is_finite()) {
                return Err(err!(
                    ImageDecode,
                    "DICOM: Rescale Slope (0028,1053) and Intercept (0028,1052) must be finite"
                ));
            }
        }
        if self.number_of_frames == 0 || self.number_of_frames > MAX_FRAMES {
            return Err(err!(
                ImageDecode,
                "DICOM: number of frames {} (1 to {MAX_FRAMES})",
                self.number_of_frames
            ));
        }
        // one frame's decoded samples (8 bytes each in the pipeline) must fit the allocation limit
        let px = u64::from(r) * u64::from(c) * u64::from(self.spp);
        if px * 8 > limits.max_alloc {
            return Err(err!(
                ImageTooLarge,
                "DICOM frame of {c}x{r}x{} samples exceeds the allocation limit of {} bytes",
                self.spp,
                limits.max_alloc
            ));
        }
        Ok(())
    }

    /// The image described by a host's attributes (the frame is decoded already).
    pub fn from_attributes(a: &DicomAttributes, limits: &ImageLimits) -> Result<ImageInfo> {
        let photometric = Photometric::parse(&a.photometric_interpretation)?;
        if photometric == Photometric::Palette {
            return Err(err!(
                InvalidInput,
                "a host-decoded PALETTE COLOR frame must be passed as RGB"
            ));
        }
        let n = a.window_center.len();
        if a.window_width.len() != n {
            return Err(err!(
                InvalidInput,
                "windowCenter has {n} values, windowWidth {}",
                a.window_width.len()
            ));
        }
        let windows = (0..n)
            .map(|i| {
                (
                    a.window_center[i],
                    a.window_width[i],
                    a.window_explanation.get(i).cloned(),
                )
            })
            .collect();
        let info = ImageInfo {
            rows: a.rows.into(),
            cols: a.columns.into(),
            spp: a.samples_per_pixel.into(),
            photometric: if photometric == Photometric::YbrFull422 {
                // decoded by the host: full resolution, as YBR_FULL
                Photometric::YbrFull
            } else {
                photometric
            },
            bits_allocated: a.bits_allocated.into(),
            bits_stored: a.bits_stored.into(),
            high_bit: a
                .high_bit
                .map_or(u32::from(a.bits_stored).saturating_sub(1), u32::from),
            signed: a.pixel_representation == 1,
            planar: a.planar_configuration == 1,
            number_of_frames: 1,
            rescale: rescale_of(a.rescale_slope, a.rescale_intercept),
            modality_lut: None,
            windows,
            voi_function: a.voi_lut_function.as_deref().map(voi_function),
            voi_luts: Vec::new(),
            palette: None,
        };
        if info.bits_allocated == 1 {
            return Err(err!(
                InvalidInput,
                "a host-decoded frame needs bitsAllocated 8, 16 or 32"
            ));
        }
        info.check(limits)?;
        Ok(info)
    }
}

fn rescale_of(slope: Option<f64>, intercept: Option<f64>) -> Option<(f64, f64)> {
    match (slope, intercept) {
        (None, None) => None,
        (s, i) => Some((s.unwrap_or(1.0), i.unwrap_or(0.0))),
    }
}

fn voi_function(s: &str) -> Result<VoiFunction, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "LINEAR" | "" => Ok(VoiFunction::Linear),
        "LINEAR_EXACT" => Ok(VoiFunction::LinearExact),
        "SIGMOID" => Ok(VoiFunction::Sigmoid),
        // not quoted: a header value may hold anything, a patient's name included
        other => Err(format!(
            "not a defined term ({} characters)",
            other.chars().count()
        )),
    }
}

/// Where the pixel data lives.
#[derive(Debug, Clone)]
pub enum PixelSource {
    /// Native samples and the byte order to read them in.
    Native {
        /// The samples.
        bytes: Vec<u8>,
        /// Read the words big endian.
        big_endian: bool,
    },
    /// Encapsulated fragments and the basic offset table.
    Fragments {
        /// Fragment bytes.
        fragments: Vec<Vec<u8>>,
        /// Basic offset table (may be empty).
        offsets: Vec<u32>,
    },
}

/// A parsed DICOM object: the image attributes, the pixel data and the identity.
#[derive(Debug, Clone)]
pub struct DicomFile {
    /// The image attributes.
    pub image: ImageInfo,
    /// Transfer syntax UID.
    pub ts_uid: String,
    /// How its pixel data is decoded.
    pub codec: Codec,
    /// The pixel data.
    pub pixels: PixelSource,
    sop_instance_uid: String,
    modality: Option<String>,
}

mod attrs;
mod prescan;
#[cfg(test)]
mod tests;

use attrs::*;
use prescan::{inflate, prescan, read_meta};

impl DicomFile {
    /// Parse DICOM bytes (see [`super::is_dicom`]) under `limits`.
    pub fn parse(bytes: &[u8], limits: &ImageLimits) -> Result<DicomFile> {
        let (ts_uid, start) = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
            read_meta(bytes, 132)?
        } else if bytes.starts_with(b"DICM") {
            read_meta(bytes, 4)?
        } else {
            match raw_dataset(bytes) {
                Some(Encoding {
                    explicit: false, ..
                }) => (TS_IMPLICIT_LE.to_string(), 0),
                Some(Encoding {
                    big_endian: true, ..
                }) => (TS_EXPLICIT_BE.to_string(), 0),
                Some(_) => (TS_EXPLICIT_LE.to_string(), 0),
                None => return Err(err!(ImageDecode, "not DICOM data")),
            }
        };
        let (_, codec) = transfer_syntax(&ts_uid);
        let inflated;
        let body: &[u8] = if ts_uid == TS_DEFLATED {
            inflated = inflate(&bytes[start..], limits)?;
            &inflated
        } else {
            &bytes[start..]
        };
        let enc = match ts_uid.as_str() {
            TS_IMPLICIT_LE => Encoding {
                explicit: false,
                big_endian: false,
            },
            TS_EXPLICIT_BE => Encoding {
                explicit: true,
                big_endian: true,
            },
            // every other syntax, encapsulated ones included, is explicit VR little endian
            _ => Encoding {
                explicit: true,
                big_endian: false,
            },
        };
        prescan(body, enc)?;
        let read_as = match (enc.explicit, enc.big_endian) {
            (false, _) => TS_IMPLICIT_LE,
            (true, true) => TS_EXPLICIT_BE,
            (true, false) => TS_EXPLICIT_LE,
        };
        let ts = TransferSyntaxRegistry
            .get(read_as)
            .ok_or_else(|| err!(ImageDecode, "DICOM: transfer syntax registry"))?;
        let mut obj = Obj::read_dataset_with_ts(Cursor::new(body), ts)
            .map_err(|e| err!(ImageDecode, "DICOM: malformed data set ({e})"))?;
        let pixel = obj
            .take(T_PIXEL_DATA)
            .ok_or_else(|| err!(ImageDecode, "DICOM: the object has no Pixel Data"))?;
        let image = read_image(&obj)?;
        image.check(limits)?;
        let pixels = match pixel.into_value() {
            Value::Primitive(p) => {
                let (bytes, big_endian) = native_bytes(&p, enc.big_endian, image.bits_allocated);
                PixelSource::Native { bytes, big_endian }
            }
            Value::PixelSequence(seq) => {
                let (offsets, fragments) = seq.into_parts();
                PixelSource::Fragments {
                    fragments: fragments.into_iter().collect(),
                    offsets: offsets.into_iter().collect(),
                }
            }
            Value::Sequence(_) => return Err(err!(ImageDecode, "DICOM: Pixel Data is a sequence")),
        };
        Ok(DicomFile {
            image,
            codec: if matches!(pixels, PixelSource::Native { .. }) && codec != Codec::Unsupported {
                Codec::Native {
                    big_endian: enc.big_endian,
                }
            } else {
                codec
            },
            ts_uid,
            pixels,
            sop_instance_uid: get_str(&obj, T_SOP_INSTANCE_UID).unwrap_or_default(),
            modality: get_str(&obj, T_MODALITY),
        })
    }

    /// SOP Instance UID, frame and modality of frame `frame`.
    pub fn identity(&self, frame: u32) -> DicomIdentity {
        DicomIdentity {
            sop_instance_uid: self.sop_instance_uid.clone(),
            frame,
            modality: self.modality.clone(),
        }
    }

    /// Decode frame `frame` to stored values (see [`super::decode`]).
    pub fn decode_frame(&self, frame: u32, limits: &ImageLimits) -> Result<Vec<i64>> {
        super::decode::frame(self, frame, limits)
    }
}
