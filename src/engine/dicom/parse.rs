//! Recognising and parsing DICOM bytes under limits, and the attributes scoring needs.
//!
//! Before dicom-rs sees the data set, [`prescan`] walks every element header and checks each
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

/// VRs with a 2-byte reserved field and a 4-byte length in explicit encodings: every VR but
/// the standard short ones. An unknown VR is read as UN (PS3.5 6.2.2), as dicom-rs reads it,
/// so the lengths checked here are the lengths it will allocate for.
fn long_vr(vr: &[u8]) -> bool {
    !matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FD"
            | b"FL"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    enc: Encoding,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> u16 {
        let v = [self.b[at], self.b[at + 1]];
        if self.enc.big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }
    fn u32(&self, at: usize) -> u32 {
        let v = [self.b[at], self.b[at + 1], self.b[at + 2], self.b[at + 3]];
        if self.enc.big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    /// The next element header: (group, element, vr, length, header size).
    fn header(&self) -> Result<(u16, u16, [u8; 2], u32, usize)> {
        let p = self.pos;
        if self.remaining() < 8 {
            return Err(truncated(p));
        }
        let (g, e) = (self.u16(p), self.u16(p + 2));
        if g == 0xFFFE || !self.enc.explicit {
            return Ok((g, e, *b"  ", self.u32(p + 4), 8));
        }
        let vr = [self.b[p + 4], self.b[p + 5]];
        if long_vr(&vr) {
            if self.remaining() < 12 {
                return Err(truncated(p));
            }
            Ok((g, e, vr, self.u32(p + 8), 12))
        } else {
            Ok((g, e, vr, u32::from(self.u16(p + 6)), 8))
        }
    }
}

fn truncated(at: usize) -> crate::error::Error {
    err!(ImageDecode, "DICOM: truncated at byte {at}")
}

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Walk every element header of a data set: each declared length must fit in the bytes that
/// remain, and the element and fragment counts stay under [`MAX_ELEMENTS`] / [`MAX_FRAGMENTS`].
/// Returns the number of fragments seen.
fn prescan(b: &[u8], enc: Encoding) -> Result<usize> {
    let mut r = Reader { b, pos: 0, enc };
    let mut elements = 0usize;
    let mut fragments = 0usize;
    // inside encapsulated pixel data, items are fragments (bytes), not element lists
    let mut in_pixel_items = false;
    while r.remaining() > 0 {
        if r.remaining() < 8 {
            // trailing padding shorter than a header
            if b[r.pos..].iter().all(|&x| x == 0) {
                break;
            }
            return Err(truncated(r.pos));
        }
        let (g, e, vr, len, hsize) = r.header()?;
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(err!(
                ImageTooLarge,
                "DICOM: more than {MAX_ELEMENTS} elements"
            ));
        }
        r.pos += hsize;
        if g == 0xFFFE {
            match e {
                0xE000 if in_pixel_items => {
                    fragments += 1;
                    if fragments > MAX_FRAGMENTS {
                        return Err(err!(
                            ImageTooLarge,
                            "DICOM: more than {MAX_FRAGMENTS} pixel data fragments"
                        ));
                    }
                    if len == UNDEFINED || len as usize > r.remaining() {
                        return Err(err!(
                            ImageDecode,
                            "DICOM: pixel data fragment of {len} bytes at byte {} overruns the data",
                            r.pos
                        ));
                    }
                    r.pos += len as usize;
                }
                // an item of a sequence: its elements follow (defined length or not)
                0xE000 if len != UNDEFINED && len as usize > r.remaining() => {
                    return Err(err!(
                        ImageDecode,
                        "DICOM: item of {len} bytes at byte {} overruns the data",
                        r.pos
                    ));
                }
                0xE0DD => in_pixel_items = false,
                _ => {}
            }
            continue;
        }
        if len == UNDEFINED {
            // encapsulated pixel data holds fragments; any other undefined-length element
            // (an undefined-length UN included) is read by dicom-rs as a sequence in the data
            // set's own encoding, so its items are walked here in that encoding too
            if (g, e) == (0x7FE0, 0x0010) {
                in_pixel_items = true;
            }
            continue;
        }
        if enc.explicit && &vr == b"SQ" || !enc.explicit && is_implicit_sq(g, e) {
            // defined-length sequence: its items follow and are walked too
            if len as usize > r.remaining() {
                return Err(err!(
                    ImageDecode,
                    "DICOM: sequence ({g:04X},{e:04X}) of {len} bytes overruns the data"
                ));
            }
            continue;
        }
        if len as usize > r.remaining() {
            return Err(err!(
                ImageDecode,
                "DICOM: element ({g:04X},{e:04X}) declares {len} bytes, {} remain",
                r.remaining()
            ));
        }
        r.pos += len as usize;
    }
    if in_pixel_items {
        // encapsulated pixel data must end with its sequence delimiter: without it the
        // file was cut short, and the last frame may be incomplete
        return Err(err!(
            ImageDecode,
            "DICOM: encapsulated pixel data ends without its sequence delimiter (truncated file)"
        ));
    }
    Ok(fragments)
}

/// Whether an implicit VR element is a sequence, decided as dicom-rs decides it: by the
/// standard dictionary (Pixel Data and Overlay Data are OW whatever it says). dicom-rs walks
/// the items of every such sequence and allocates each element inside by its declared length,
/// so the length pass must walk them too.
fn is_implicit_sq(g: u16, e: u16) -> bool {
    if (g, e) == (0x7FE0, 0x0010) || (g >> 8 == 0x60 && e == 0x3000) {
        return false;
    }
    StandardDataDictionary
        .by_tag(Tag(g, e))
        .is_some_and(|entry| entry.vr.relaxed() == VR::SQ)
}

/// Read the file meta group (explicit VR little endian, group 0002) starting at `at`;
/// returns the transfer syntax UID and where the data set starts.
fn read_meta(b: &[u8], at: usize) -> Result<(String, usize)> {
    let mut r = Reader {
        b,
        pos: at,
        enc: Encoding {
            explicit: true,
            big_endian: false,
        },
    };
    let mut ts = None;
    while r.remaining() >= 8 && r.u16(r.pos) == 0x0002 {
        let (_, e, _, len, h) = r.header()?;
        if len == UNDEFINED || len as usize > r.remaining() - h {
            return Err(err!(
                ImageDecode,
                "DICOM: file meta element (0002,{e:04X}) overruns the data"
            ));
        }
        let v = &b[r.pos + h..r.pos + h + len as usize];
        if e == 0x0010 {
            let s = String::from_utf8_lossy(v);
            ts = Some(s.trim_end_matches(['\0', ' ']).trim().to_string());
        }
        r.pos += h + len as usize;
    }
    let ts = ts.ok_or_else(|| err!(ImageDecode, "DICOM: file meta has no Transfer Syntax UID"))?;
    Ok((ts, r.pos))
}

#[cfg(not(feature = "dicom-deflate"))]
fn inflate(_: &[u8], _: &ImageLimits) -> Result<Vec<u8>> {
    Err(unsupported(TS_DEFLATED, None))
}

#[cfg(feature = "dicom-deflate")]
fn inflate(b: &[u8], limits: &ImageLimits) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let cap = limits.max_alloc;
    flate2::read::DeflateDecoder::new(b)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|_| err!(ImageDecode, "DICOM: the deflated data set is corrupt"))?;
    if out.len() as u64 > cap {
        return Err(err!(
            ImageTooLarge,
            "DICOM: the deflated data set inflates beyond {cap} bytes"
        ));
    }
    Ok(out)
}

type Obj = InMemDicomObject;

const T_SOP_INSTANCE_UID: Tag = Tag(0x0008, 0x0018);
const T_MODALITY: Tag = Tag(0x0008, 0x0060);
const T_SPP: Tag = Tag(0x0028, 0x0002);
const T_PHOTOMETRIC: Tag = Tag(0x0028, 0x0004);
const T_PLANAR: Tag = Tag(0x0028, 0x0006);
const T_FRAMES: Tag = Tag(0x0028, 0x0008);
const T_ROWS: Tag = Tag(0x0028, 0x0010);
const T_COLS: Tag = Tag(0x0028, 0x0011);
const T_BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
const T_BITS_STORED: Tag = Tag(0x0028, 0x0101);
const T_HIGH_BIT: Tag = Tag(0x0028, 0x0102);
const T_PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
const T_WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
const T_WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
const T_RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
const T_RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);
const T_WINDOW_EXPLANATION: Tag = Tag(0x0028, 0x1055);
const T_VOI_FUNCTION: Tag = Tag(0x0028, 0x1056);
const T_MODALITY_LUT_SEQ: Tag = Tag(0x0028, 0x3000);
const T_LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x3002);
const T_LUT_EXPLANATION: Tag = Tag(0x0028, 0x3003);
const T_LUT_DATA: Tag = Tag(0x0028, 0x3006);
const T_VOI_LUT_SEQ: Tag = Tag(0x0028, 0x3010);
const T_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

fn name(t: Tag) -> &'static str {
    match t {
        T_SPP => "Samples per Pixel",
        T_PHOTOMETRIC => "Photometric Interpretation",
        T_ROWS => "Rows",
        T_COLS => "Columns",
        T_BITS_ALLOCATED => "Bits Allocated",
        T_BITS_STORED => "Bits Stored",
        T_LUT_DESCRIPTOR => "LUT Descriptor",
        T_LUT_DATA => "LUT Data",
        _ => "attribute",
    }
}

fn bad(t: Tag) -> crate::error::Error {
    err!(
        ImageDecode,
        "DICOM: {} ({:04X},{:04X}) is missing or malformed",
        name(t),
        t.0,
        t.1
    )
}

fn get_u32(o: &Obj, t: Tag) -> Result<Option<u32>> {
    match o.get(t) {
        None => Ok(None),
        Some(e) if e.value().primitive().is_some_and(|p| p.is_empty()) => Ok(None),
        Some(e) => e.to_int::<u32>().map(Some).map_err(|_| bad(t)),
    }
}

fn req_u32(o: &Obj, t: Tag) -> Result<u32> {
    get_u32(o, t)?.ok_or_else(|| bad(t))
}

fn get_str(o: &Obj, t: Tag) -> Option<String> {
    let s = o.get(t)?.to_str().ok()?;
    let s = s.trim_end_matches(['\0', ' ']).trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn get_f64s(o: &Obj, t: Tag) -> Result<Vec<f64>> {
    match o.get(t) {
        None => Ok(Vec::new()),
        Some(e) if e.value().primitive().is_some_and(|p| p.is_empty()) => Ok(Vec::new()),
        Some(e) => e.to_multi_float64().map_err(|_| bad(t)),
    }
}

fn get_f64(o: &Obj, t: Tag) -> Result<Option<f64>> {
    Ok(get_f64s(o, t)?.first().copied())
}

/// u16 values of a LUT data element (US / OW), in their numeric value.
fn u16_values(o: &Obj, t: Tag) -> Result<Vec<u16>> {
    let e = o.get(t).ok_or_else(|| bad(t))?;
    match e.value() {
        Value::Primitive(PrimitiveValue::U16(v)) => Ok(v.to_vec()),
        Value::Primitive(PrimitiveValue::I16(v)) => Ok(v.iter().map(|&x| x as u16).collect()),
        Value::Primitive(PrimitiveValue::U8(v)) => Ok(v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()),
        _ => e.to_multi_int::<u16>().map_err(|_| bad(t)),
    }
}

/// LUT Descriptor: (entries, first mapped value, bits), entries 0 meaning 65536.
fn descriptor(o: &Obj, t: Tag) -> Result<(usize, i64, u16)> {
    let e = o.get(t).ok_or_else(|| bad(t))?;
    let v = e.to_multi_int::<i64>().map_err(|_| bad(t))?;
    if v.len() != 3 {
        return Err(bad(t));
    }
    let n = if v[0] == 0 { 65536 } else { v[0] as usize };
    // US entries above 32767 are negative first values written as US (PS3.3 C.11.1.1.1)
    let bits = u16::try_from(v[2]).map_err(|_| bad(t))?;
    if n > 65536 || bits == 0 || bits > 16 {
        return Err(bad(t));
    }
    Ok((n, v[1], bits))
}

fn lut_item(item: &Obj) -> Result<Lut> {
    let (n, first, bits) = descriptor(item, T_LUT_DESCRIPTOR)?;
    let mut data = u16_values(item, T_LUT_DATA)?;
    if data.len() < n {
        // 8-bit entries packed two per 16-bit word
        if bits == 8 && data.len() * 2 >= n {
            data = data
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .map(u16::from)
                .collect();
        } else {
            return Err(err!(
                ImageDecode,
                "DICOM: LUT Data has {} entries, its descriptor says {n}",
                data.len()
            ));
        }
    }
    data.truncate(n);
    Ok(Lut {
        first,
        bits,
        data,
        explanation: get_str(item, T_LUT_EXPLANATION),
    })
}

fn seq_items(o: &Obj, t: Tag) -> &[Obj] {
    o.get(t).and_then(|e| e.value().items()).unwrap_or(&[])
}

fn palette(o: &Obj) -> Result<[Lut; 3]> {
    let mut out = Vec::with_capacity(3);
    for c in 0..3u16 {
        let dt = Tag(0x0028, 0x1101 + c);
        let (n, first, bits) = descriptor(o, dt)?;
        let seg = Tag(0x0028, 0x1221 + c);
        let mut depth = bits;
        let data = if o.get(seg).is_some() {
            let mut words = u16_values(o, seg)?;
            if bits == 8 {
                words = words
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .map(u16::from)
                    .collect();
            }
            super::lut::expand_segmented(&words, n)?
        } else {
            let t = Tag(0x0028, 0x1201 + c);
            let mut d = u16_values(o, t)?;
            // the entry depth pydicom uses is the data's: 16 unless 8-bit entries are packed
            depth = 16;
            if d.len() * 2 == n {
                d = d
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .map(u16::from)
                    .collect();
                depth = 8;
            }
            if d.len() < n {
                return Err(err!(
                    ImageDecode,
                    "DICOM: palette LUT {c} has {} entries, its descriptor says {n}",
                    d.len()
                ));
            }
            d.truncate(n);
            d
        };
        out.push(Lut {
            first,
            bits: depth,
            data,
            explanation: None,
        });
    }
    let [r, g, b]: [Lut; 3] = out
        .try_into()
        .map_err(|_| err!(ImageDecode, "DICOM: palette"))?;
    Ok([r, g, b])
}

/// Native pixel bytes and their byte order. dicom-rs holds OW values as numbers: in a big
/// endian file their little-endian bytes are what pydicom reads for 8- and 16-bit samples
/// (OW is a stream of 16-bit words); 32-bit samples need the file's own byte order back.
fn native_bytes(v: &PrimitiveValue, big_endian: bool, bits_allocated: u32) -> (Vec<u8>, bool) {
    match v {
        PrimitiveValue::U16(w) if big_endian && bits_allocated == 32 => {
            (w.iter().flat_map(|x| x.to_be_bytes()).collect(), true)
        }
        PrimitiveValue::U16(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::I16(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::U32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::I32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::F32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        // OB: the file's bytes as they are
        other => (other.to_bytes().into_owned(), big_endian),
    }
}

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

fn read_image(o: &Obj) -> Result<ImageInfo> {
    let photometric =
        Photometric::parse(&get_str(o, T_PHOTOMETRIC).ok_or_else(|| bad(T_PHOTOMETRIC))?)?;
    let bits_stored = req_u32(o, T_BITS_STORED)?;
    let frames = match get_str(o, Tag(0x0028, 0x0008)) {
        None => 1,
        Some(s) => s.trim().parse::<u32>().map_err(|_| bad(T_FRAMES))?,
    };
    let centers = get_f64s(o, T_WINDOW_CENTER)?;
    let widths = get_f64s(o, T_WINDOW_WIDTH)?;
    let explanations: Vec<String> = o
        .get(T_WINDOW_EXPLANATION)
        .and_then(|e| e.to_multi_str().ok())
        .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let windows = if centers.len() == widths.len() {
        centers
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (&c, &w))| (c, w, explanations.get(i).cloned()))
            .collect()
    } else {
        return Err(err!(
            ImageDecode,
            "DICOM: {} window centers for {} widths",
            centers.len(),
            widths.len()
        ));
    };
    let modality_lut = match seq_items(o, T_MODALITY_LUT_SEQ).first() {
        Some(item) => Some(lut_item(item)?),
        None => None,
    };
    let voi_luts = seq_items(o, T_VOI_LUT_SEQ)
        .iter()
        .map(lut_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(ImageInfo {
        rows: req_u32(o, T_ROWS)?,
        cols: req_u32(o, T_COLS)?,
        spp: get_u32(o, T_SPP)?.unwrap_or(1),
        photometric,
        bits_allocated: req_u32(o, T_BITS_ALLOCATED)?,
        bits_stored,
        high_bit: get_u32(o, T_HIGH_BIT)?.unwrap_or(bits_stored.saturating_sub(1)),
        signed: get_u32(o, T_PIXEL_REPRESENTATION)?.unwrap_or(0) == 1,
        planar: get_u32(o, T_PLANAR)?.unwrap_or(0) == 1,
        number_of_frames: frames,
        rescale: rescale_of(
            get_f64(o, T_RESCALE_SLOPE)?,
            get_f64(o, T_RESCALE_INTERCEPT)?,
        ),
        modality_lut,
        windows,
        voi_function: get_str(o, T_VOI_FUNCTION).as_deref().map(voi_function),
        voi_luts,
        palette: if photometric == Photometric::Palette {
            Some(palette(o)?)
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_length_is_refused_before_allocation() {
        // (0010,0010) PN declaring 0xFFFE bytes in a 20-byte buffer; (7FE0,0010) OB 4 GB
        let pn = b"\x10\x00\x10\x00PN\xfe\xff....";
        let e = prescan(
            pn,
            Encoding {
                explicit: true,
                big_endian: false,
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let ob = b"\xe0\x7f\x10\x00OB\x00\x00\xfe\xff\xff\xff";
        let e = prescan(
            ob,
            Encoding {
                explicit: true,
                big_endian: false,
            },
        )
        .unwrap_err();
        assert!(e.message().contains("declares"), "{}", e.message());
    }

    const EXPLICIT_LE: Encoding = Encoding {
        explicit: true,
        big_endian: false,
    };

    #[test]
    fn undefined_length_un_is_walked_in_the_data_sets_encoding() {
        // (0009,1000) UN of undefined length, an item of undefined length, then an explicit
        // OB declaring 1.25 GB. dicom-rs reads the item's elements as explicit VR, so the OB's
        // length is what it would allocate; read as implicit, the same bytes declare 16,975
        // and fit the padding that follows
        let mut b = b"\x09\x00\x00\x10UN\x00\x00\xff\xff\xff\xff".to_vec();
        b.extend_from_slice(b"\xfe\xff\x00\xe0\xff\xff\xff\xff");
        b.extend_from_slice(b"\x11\x00\x11\x00OB\x00\x00\x00\x00\x00\x50");
        b.resize(b.len() + 17_000, 0);
        let e = prescan(&b, EXPLICIT_LE).unwrap_err();
        assert!(e.message().contains("declares"), "{}", e.message());
    }

    #[test]
    fn implicit_sequences_are_known_from_the_dictionary() {
        // implicit VR: (0008,1110) Referenced Study Sequence, 24 bytes that fit, holding an
        // item whose (0008,0050) declares 1.25 GB: dicom-rs knows the tag is a sequence and
        // reads into it, so the length pass must too
        let mut b = b"\x08\x00\x10\x11\x18\x00\x00\x00".to_vec();
        b.extend_from_slice(b"\xfe\xff\x00\xe0\x10\x00\x00\x00");
        b.extend_from_slice(b"\x08\x00\x50\x00\x00\x00\x00\x50");
        b.extend_from_slice(b"12345678");
        let implicit = Encoding {
            explicit: false,
            big_endian: false,
        };
        let e = prescan(&b, implicit).unwrap_err();
        assert!(e.message().contains("declares"), "{}", e.message());
        assert!(is_implicit_sq(0x0008, 0x1110));
        assert!(!is_implicit_sq(0x7FE0, 0x0010));
        assert!(!is_implicit_sq(0x0010, 0x0010));
    }
}
