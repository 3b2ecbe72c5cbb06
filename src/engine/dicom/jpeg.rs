//! JPEG Baseline / Extended / Lossless frames (the `dicom-jpeg` feature): 8-bit DCT frames with
//! zune-jpeg, the decoder of JPEG files, so a JPEG wrapped into DICOM scores as the file does;
//! lossless frames and what zune-jpeg does not take with jpeg-decoder; 12-bit Extended with
//! [`super::jpeg12`] (`dicom-jpeg12`). A build without the decoder a frame needs answers
//! `unsupported_transfer_syntax`.

#[cfg(feature = "dicom-jpeg")]
use std::io::Cursor;

#[cfg(any(feature = "dicom-jpeg", feature = "dicom-jpeg12"))]
use super::decode::{check_decoded, stored};
#[cfg(not(all(feature = "dicom-jpeg", feature = "dicom-jpeg12")))]
use super::parse::unsupported;
use super::parse::ImageInfo;
#[cfg(feature = "dicom-jpeg")]
use super::parse::Photometric;
use crate::engine::image::ImageLimits;
#[cfg(feature = "dicom-jpeg")]
use crate::error::err;
use crate::error::Result;

/// JPEG precision from the SOF marker, if found.
fn jpeg_precision(data: &[u8]) -> Option<(u8, u8)> {
    let mut i = 2;
    while i + 4 < data.len() {
        if data[i] != 0xFF {
            i += 1;
            continue;
        }
        let m = data[i + 1];
        if (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            return data.get(i + 4).map(|&p| (m, p));
        }
        if m == 0xD8 || m == 0x01 || (0xD0..=0xD7).contains(&m) || m == 0xFF {
            i += if m == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        i += 2 + len;
    }
    None
}

/// Decode one JPEG frame of transfer syntax `ts` to stored values.
pub fn decode(img: &ImageInfo, data: &[u8], limits: &ImageLimits, ts: &str) -> Result<Vec<i64>> {
    match jpeg_precision(data) {
        Some((sof, precision)) if precision > 8 && matches!(sof, 0xC0..=0xC2) => {
            twelve_bit(img, data, limits, ts)
        }
        // baseline, extended or progressive with 8-bit samples
        sof => {
            let dct8 = matches!(sof, Some((0xC0..=0xC2, 8)));
            with_jpeg_decoder(img, data, limits, ts, dct8)
        }
    }
}

#[cfg(feature = "dicom-jpeg12")]
fn twelve_bit(img: &ImageInfo, data: &[u8], limits: &ImageLimits, _: &str) -> Result<Vec<i64>> {
    let (w, h, comps, v) = super::jpeg12::decode(data, limits)?;
    check_decoded(img, w, h, comps)?;
    Ok(v.into_iter()
        .map(|x| stored(u64::from(x), img.bits_stored, img.signed))
        .collect())
}

#[cfg(not(feature = "dicom-jpeg12"))]
fn twelve_bit(_: &ImageInfo, _: &[u8], _: &ImageLimits, ts: &str) -> Result<Vec<i64>> {
    Err(unsupported(ts, Some("12-bit")))
}

#[cfg(not(feature = "dicom-jpeg"))]
fn with_jpeg_decoder(
    _: &ImageInfo,
    _: &[u8],
    _: &ImageLimits,
    ts: &str,
    _: bool,
) -> Result<Vec<i64>> {
    Err(unsupported(ts, None))
}

#[cfg(feature = "dicom-jpeg")]
/// Whether an APPn marker (e.g. 0xE0 JFIF, 0xEE Adobe) occurs before the first scan.
fn has_marker(data: &[u8], m: u8) -> bool {
    let mut i = 2;
    while i + 4 <= data.len() && data[i] == 0xFF {
        let k = data[i + 1];
        if k == m {
            return true;
        }
        if k == 0xDA {
            return false;
        }
        i += 2 + usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
    }
    false
}

/// An 8-bit DCT frame (`dct8`: baseline, extended or progressive) of one or three components, decoded
/// as a JPEG file is (zune-jpeg, see [`crate::engine::image::decode_jpeg_zune`]), so a JPEG
/// wrapped into DICOM scores exactly as the file itself. `None` leaves the frame to
/// jpeg-decoder: lossless and 12-bit frames, RGB stored without a colour transform (which
/// zune-jpeg would convert), other component counts, and data zune-jpeg refuses (jpeg-decoder
/// reads some damaged streams that libjpeg and GDCM read too).
#[cfg(feature = "dicom-jpeg")]
fn with_zune(
    img: &ImageInfo,
    data: &[u8],
    dct8: bool,
    no_transform: bool,
) -> Option<Result<Vec<i64>>> {
    if !dct8 || no_transform || !matches!(img.spp, 1 | 3) || img.bits_allocated != 8 {
        return None;
    }
    let (px, space) = crate::engine::image::decode_jpeg_zune(data, img.cols, img.rows).ok()?;
    let comps = match space {
        zune_core::colorspace::ColorSpace::Luma => 1,
        zune_core::colorspace::ColorSpace::RGB => 3,
        _ => return None,
    };
    // zune-jpeg decodes at most cols x rows, so pixels that fill it are a frame of the
    // attributes' size; check_decoded is left to compare the components
    if px.len() as u64 != u64::from(img.cols) * u64::from(img.rows) * comps {
        return None;
    }
    let (bs, signed) = (img.bits_stored, img.signed);
    Some(
        check_decoded(img, img.cols, img.rows, comps as u32).map(|()| {
            px.iter()
                .map(|&b| stored(u64::from(b), bs, signed))
                .collect()
        }),
    )
}

#[cfg(feature = "dicom-jpeg")]
fn with_jpeg_decoder(
    img: &ImageInfo,
    data: &[u8],
    limits: &ImageLimits,
    _: &str,
    dct8: bool,
) -> Result<Vec<i64>> {
    let no_transform =
        img.photometric == Photometric::Rgb && !has_marker(data, 0xEE) && !has_marker(data, 0xE0);
    if let Some(v) = with_zune(img, data, dct8, no_transform) {
        return v;
    }
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(data));
    if no_transform {
        // RGB stored without a colour transform (no JFIF / Adobe marker), as libjpeg reads it
        d.set_color_transform(jpeg_decoder::ColorTransform::None);
    }
    d.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let buf = d
        .decode()
        .map_err(|e| err!(ImageDecode, "DICOM: JPEG data is corrupt ({e})"))?;
    let info = d
        .info()
        .ok_or_else(|| err!(ImageDecode, "DICOM: JPEG data has no frame"))?;
    use jpeg_decoder::PixelFormat::*;
    let comps = match info.pixel_format {
        L8 | L16 => 1,
        RGB24 => 3,
        CMYK32 => 4,
    };
    check_decoded(img, info.width.into(), info.height.into(), comps)?;
    let (bs, signed) = (img.bits_stored, img.signed);
    Ok(match info.pixel_format {
        L16 => buf
            .chunks_exact(2)
            .map(|c| stored(u64::from(u16::from_ne_bytes([c[0], c[1]])), bs, signed))
            .collect(),
        _ => buf
            .iter()
            .map(|&b| stored(u64::from(b), bs, signed))
            .collect(),
    })
}
