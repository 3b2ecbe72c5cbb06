//! One frame of pixel data to stored values, as pydicom's `pixel_array` gives them: samples
//! interleaved, masked to Bits Stored and sign-extended for Pixel Representation 1; colour
//! frames as RGB (YBR_FULL / YBR_FULL_422 converted as pydicom's `convert_color_space` does;
//! JPEG and JPEG 2000 decoders apply their own colour transform); palette frames as indices.

use super::jpeg::decode as jpeg;
use super::parse::{unsupported, Codec, DicomFile, ImageInfo, Photometric, PixelSource};
use crate::engine::image::ImageLimits;
use crate::error::{err, Result};

/// Decode frame `frame` of `file`.
pub fn frame(file: &DicomFile, frame: u32, limits: &ImageLimits) -> Result<Vec<i64>> {
    let img = &file.image;
    if frame >= img.number_of_frames {
        return Err(err!(
            InvalidInput,
            "frame {frame} asked for, the object has {} frame(s)",
            img.number_of_frames
        ));
    }
    match (file.codec, &file.pixels) {
        (Codec::Unsupported, _) => Err(unsupported(&file.ts_uid, None)),
        (Codec::Native { .. }, PixelSource::Native { bytes, big_endian }) => {
            native_frame(img, bytes, frame, *big_endian, img.number_of_frames)
        }
        (Codec::Native { .. }, PixelSource::Fragments { .. }) => Err(err!(
            ImageDecode,
            "DICOM: encapsulated pixel data in a native transfer syntax"
        )),
        (_, PixelSource::Native { .. }) => Err(err!(
            ImageDecode,
            "DICOM: native pixel data in an encapsulated transfer syntax"
        )),
        (codec, PixelSource::Fragments { fragments, offsets }) => {
            let data = frame_fragments(fragments, offsets, frame, img.number_of_frames, codec)?;
            match codec {
                Codec::EncapsulatedNative => native_frame(img, &data, 0, false, 1),
                Codec::Rle => rle(img, &data, &file.ts_uid),
                Codec::Jpeg => jpeg(img, &data, limits, &file.ts_uid),
                Codec::Jpeg2000 => jpeg2000(img, &data, limits, &file.ts_uid),
                Codec::Native { .. } | Codec::Unsupported => Err(err!(ImageDecode, "DICOM: codec")),
            }
        }
    }
}

/// Whether a fragment starts a new compressed frame (used without an offset table).
fn starts_frame(codec: Codec, f: &[u8]) -> bool {
    match codec {
        Codec::Jpeg => f.starts_with(&[0xFF, 0xD8]),
        Codec::Jpeg2000 => f.starts_with(&[0xFF, 0x4F]) || f.get(4..8) == Some(b"jP  "),
        _ => true,
    }
}

/// The bytes of frame `frame` among the fragments (one fragment per frame, the basic offset
/// table, or frame starts detected in the codestreams).
fn frame_fragments(
    fragments: &[Vec<u8>],
    offsets: &[u32],
    frame: u32,
    frames: u32,
    codec: Codec,
) -> Result<Vec<u8>> {
    let missing = || {
        err!(
            ImageDecode,
            "DICOM: no pixel data fragment for frame {frame}"
        )
    };
    let (f, n) = (frame as usize, frames as usize);
    if fragments.is_empty() {
        return Err(missing());
    }
    if n == 1 {
        return Ok(fragments.concat());
    }
    // RLE has exactly one fragment per frame: fewer means frames are missing
    if codec == Codec::Rle && fragments.len() < n {
        return Err(err!(
            ImageDecode,
            "DICOM: RLE pixel data has {} fragment(s) for {n} frames",
            fragments.len()
        ));
    }
    if fragments.len() == n {
        return Ok(fragments[f].clone());
    }
    if offsets.len() == n {
        let (start, end) = (offsets[f] as u64, offsets.get(f + 1).map(|&o| o as u64));
        let mut pos = 0u64;
        let mut out = Vec::new();
        for frag in fragments {
            if pos >= start && end.is_none_or(|e| pos < e) {
                out.extend_from_slice(frag);
            }
            pos += frag.len() as u64 + 8;
        }
        return if out.is_empty() {
            Err(missing())
        } else {
            Ok(out)
        };
    }
    // no usable offset table: a frame starts at each fragment that opens a codestream
    let mut k = usize::MAX;
    let mut out = Vec::new();
    for frag in fragments {
        if starts_frame(codec, frag) {
            k = k.wrapping_add(1);
        }
        if k == f {
            out.extend_from_slice(frag);
        } else if k != usize::MAX && k > f {
            break;
        }
    }
    if out.is_empty() {
        Err(missing())
    } else {
        Ok(out)
    }
}

/// Mask a raw word to Bits Stored and sign-extend it when the samples are signed.
#[inline]
pub(super) fn stored(word: u64, bits_stored: u32, signed: bool) -> i64 {
    let mask = if bits_stored >= 64 {
        u64::MAX
    } else {
        (1u64 << bits_stored) - 1
    };
    let v = word & mask;
    if signed && bits_stored < 64 && v >> (bits_stored - 1) & 1 == 1 {
        v as i64 - (1i64 << bits_stored)
    } else {
        v as i64
    }
}

/// Samples of frame `frame` of native pixel data (`frames` frames in `bytes`).
pub fn native_frame(
    img: &ImageInfo,
    bytes: &[u8],
    frame: u32,
    big_endian: bool,
    frames: u32,
) -> Result<Vec<i64>> {
    let px = img.rows as usize * img.cols as usize;
    let spp = img.spp as usize;
    let (bs, signed) = (img.bits_stored, img.signed);
    check_native_length(img, bytes.len(), frames)?;
    if img.bits_allocated == 1 {
        // bits are contiguous across frames, least significant bit first
        let start = frame as usize * px;
        let end = start + px;
        if end.div_ceil(8) > bytes.len() {
            return Err(short(bytes.len(), end.div_ceil(8)));
        }
        return Ok((start..end)
            .map(|i| i64::from(bytes[i / 8] >> (i % 8) & 1))
            .collect());
    }
    let nbytes = img.bits_allocated as usize / 8;
    let ybr422 = img.photometric == Photometric::YbrFull422;
    let frame_len = if ybr422 {
        px * 2 * nbytes
    } else {
        px * spp * nbytes
    };
    let start = frame as usize * frame_len;
    let data = bytes
        .get(start..start + frame_len)
        .ok_or_else(|| short(bytes.len(), start + frame_len))?;
    let word = |c: &[u8]| -> u64 {
        let mut v = 0u64;
        if big_endian {
            for &b in c {
                v = v << 8 | u64::from(b);
            }
        } else {
            for &b in c.iter().rev() {
                v = v << 8 | u64::from(b);
            }
        }
        v
    };
    // the common widths spelled out so that each is a simple loop the compiler vectorizes
    let st = |w: u64| stored(w, bs, signed);
    let raw: Vec<i64> = match (nbytes, big_endian) {
        (1, _) => data.iter().map(|&b| st(u64::from(b))).collect(),
        (2, false) => data
            .chunks_exact(2)
            .map(|c| st(u64::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect(),
        (2, true) => data
            .chunks_exact(2)
            .map(|c| st(u64::from(u16::from_be_bytes([c[0], c[1]]))))
            .collect(),
        _ => data.chunks_exact(nbytes).map(|c| st(word(c))).collect(),
    };
    if spp == 1 {
        return Ok(raw);
    }
    let mut out = if ybr422 {
        // Y0 Y1 Cb Cr per pair of pixels -> full-resolution YCbCr
        let mut v = Vec::with_capacity(px * 3);
        for c in raw.chunks_exact(4) {
            v.extend_from_slice(&[c[0], c[2], c[3], c[1], c[2], c[3]]);
        }
        v
    } else if img.planar {
        let mut v = vec![0i64; px * 3];
        for s in 0..3 {
            for i in 0..px {
                v[i * 3 + s] = raw[s * px + i];
            }
        }
        v
    } else {
        raw
    };
    if matches!(
        img.photometric,
        Photometric::YbrFull | Photometric::YbrFull422
    ) {
        ybr_full_to_rgb(&mut out, bs);
    }
    Ok(out)
}

/// The native pixel data must hold every frame the attributes declare, and not a whole frame
/// more: data shorter than that is a cut file, and data a frame or more longer means the
/// attributes (rows, columns, samples, bits allocated, frames) do not describe it, so
/// reading it by them would score the wrong pixels. Less than a frame of excess (padding, an
/// odd length made even) is accepted, as pydicom does. Counted in `u64`: the declared total
/// may exceed the 32-bit address space of wasm.
fn check_native_length(img: &ImageInfo, have: usize, frames: u32) -> Result<()> {
    let px = u64::from(img.rows) * u64::from(img.cols);
    let frames = u64::from(frames.max(1));
    let (frame, need) = if img.bits_allocated == 1 {
        (px.div_ceil(8), (px * frames).div_ceil(8))
    } else {
        let per_px = if img.photometric == Photometric::YbrFull422 {
            2
        } else {
            u64::from(img.spp)
        };
        let f = px * per_px * u64::from(img.bits_allocated / 8);
        (f, f.saturating_mul(frames))
    };
    let have = have as u64;
    if have < need {
        return Err(err!(
            ImageDecode,
            "DICOM: pixel data has {have} bytes, {need} needed for {frames} frame(s) of {}x{}",
            img.cols,
            img.rows
        ));
    }
    if have - need >= frame.max(2) {
        return Err(err!(
            ImageDecode,
            "DICOM: pixel data has {have} bytes, {need} expected for {frames} frame(s) of {}x{}: \
             the image attributes do not describe it",
            img.cols,
            img.rows
        ));
    }
    Ok(())
}

fn short(have: usize, need: usize) -> crate::error::Error {
    err!(
        ImageDecode,
        "DICOM: pixel data has {have} bytes, {need} needed for the frame"
    )
}

/// YBR_FULL -> RGB exactly as pydicom's `convert_color_space` (float32, round half up, clip).
pub(super) fn ybr_full_to_rgb(v: &mut [i64], bits: u32) {
    let max = ((1u64 << bits.min(16)) - 1) as f32;
    let half = (1u64 << (bits.min(16) - 1)) as f32;
    let (m1, m2, m3, m4) = (
        -0.114f32 * 1.772 / 0.587,
        1.772f32,
        1.402f32,
        -0.299f32 * 1.402 / 0.587,
    );
    for p in v.chunks_exact_mut(3) {
        let y = p[0] as f32;
        let cb = p[1] as f32 - half;
        let cr = p[2] as f32 - half;
        let r = y + m3 * cr;
        let g = y + m1 * cb + m4 * cr;
        let b = y + m2 * cb;
        for (o, x) in p.iter_mut().zip([r, g, b]) {
            *o = (x + 0.5).floor().clamp(0.0, max) as i64;
        }
    }
}

/// RLE Lossless, or `unsupported_transfer_syntax` in a build without `dicom-rle`.
fn rle(img: &ImageInfo, data: &[u8], ts: &str) -> Result<Vec<i64>> {
    #[cfg(feature = "dicom-rle")]
    {
        let _ = ts;
        super::rle::decode(img, data)
    }
    #[cfg(not(feature = "dicom-rle"))]
    {
        let _ = (img, data);
        Err(unsupported(ts, None))
    }
}

/// JPEG 2000, or `unsupported_transfer_syntax` in a build without `dicom-jpeg2000`.
fn jpeg2000(img: &ImageInfo, data: &[u8], limits: &ImageLimits, ts: &str) -> Result<Vec<i64>> {
    #[cfg(feature = "dicom-jpeg2000")]
    {
        let _ = ts;
        super::j2k::decode(img, data, limits)
    }
    #[cfg(not(feature = "dicom-jpeg2000"))]
    {
        let _ = (img, data, limits);
        Err(unsupported(ts, None))
    }
}

/// Check that a codestream's size and components are the attributes'.
#[cfg(any(
    feature = "dicom-jpeg",
    feature = "dicom-jpeg12",
    feature = "dicom-jpeg2000"
))]
pub(super) fn check_decoded(img: &ImageInfo, w: u32, h: u32, comps: u32) -> Result<()> {
    if w != img.cols || h != img.rows || comps != img.spp {
        return Err(err!(
            ImageDecode,
            "DICOM: the codestream is {w}x{h}x{comps}, the attributes say {}x{}x{}",
            img.cols,
            img.rows,
            img.spp
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_and_sign() {
        assert_eq!(stored(0xFFFF, 16, true), -1);
        assert_eq!(stored(0xF800, 12, false), 0x800);
        assert_eq!(stored(0x0800, 12, true), -2048);
        assert_eq!(stored(0x07FF, 12, true), 2047);
        assert_eq!(stored(0xFFFF_FFFF, 32, false), 0xFFFF_FFFF);
    }

    #[test]
    fn ybr_matches_pydicom_formula() {
        // pure gray stays gray; pydicom gives (255, 0, 0) -> YBR (76, 85, 255) -> (254, 0, 0)
        let mut v = vec![128, 128, 128, 76, 85, 255];
        ybr_full_to_rgb(&mut v, 8);
        assert_eq!(&v[..3], &[128, 128, 128]);
        assert_eq!(v[3], 254);
    }
}
