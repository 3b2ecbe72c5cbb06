//! One frame of pixel data to stored values, as pydicom's `pixel_array` gives them: samples
//! interleaved, masked to Bits Stored and sign-extended for Pixel Representation 1; colour
//! frames as RGB (YBR_FULL / YBR_FULL_422 converted as pydicom's `convert_color_space` does;
//! JPEG and JPEG 2000 decoders apply their own colour transform); palette frames as indices.

use std::io::Cursor;

use super::parse::{Codec, DicomFile, ImageInfo, Photometric, PixelSource};
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
        (Codec::Unsupported, _) => {
            let (name, _) = super::parse::transfer_syntax(&file.ts_uid);
            Err(crate::error::Error::new(
                crate::error::ErrorKind::UnsupportedTransferSyntax,
                format!(
                    "transfer syntax {name} ({}) cannot be decoded in this build; decode the frame \
                     in the host and pass its samples with the DICOM attributes instead",
                    file.ts_uid
                        .chars()
                        .filter(|c| c.is_ascii_digit() || *c == '.')
                        .take(64)
                        .collect::<String>()
                ),
            ))
        }
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
                Codec::Rle => rle(img, &data),
                Codec::Jpeg => jpeg(img, &data, limits),
                Codec::Jpeg2000 => jpeg2000(img, &data, limits),
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
fn stored(word: u64, bits_stored: u32, signed: bool) -> i64 {
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
    let _ = frames;
    let px = img.rows as usize * img.cols as usize;
    let spp = img.spp as usize;
    let (bs, signed) = (img.bits_stored, img.signed);
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
    let raw: Vec<i64> = data
        .chunks_exact(nbytes)
        .map(|c| stored(word(c), bs, signed))
        .collect();
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

fn short(have: usize, need: usize) -> crate::error::Error {
    err!(
        ImageDecode,
        "DICOM: pixel data has {have} bytes, {need} needed for the frame"
    )
}

/// YBR_FULL -> RGB exactly as pydicom's `convert_color_space` (float32, round half up, clip).
fn ybr_full_to_rgb(v: &mut [i64], bits: u32) {
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

/// RLE Lossless (PS3.5 Annex G): one segment per byte of each sample, most significant first.
fn rle(img: &ImageInfo, data: &[u8]) -> Result<Vec<i64>> {
    let corrupt = |what: &str| err!(ImageDecode, "DICOM: RLE data {what}");
    if data.len() < 64 {
        return Err(corrupt("has no header"));
    }
    let u32le = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let nseg = u32le(0) as usize;
    let nbytes = (img.bits_allocated as usize).div_ceil(8);
    let spp = img.spp as usize;
    if nseg != nbytes * spp || nseg > 15 {
        return Err(corrupt(&format!(
            "has {nseg} segments, {} expected",
            nbytes * spp
        )));
    }
    let px = img.rows as usize * img.cols as usize;
    let mut offsets: Vec<usize> = (0..nseg).map(|s| u32le(4 + 4 * s) as usize).collect();
    offsets.push(data.len());
    let mut planes = vec![0u8; px * nseg];
    for s in 0..nseg {
        let (a, b) = (offsets[s], offsets[s + 1]);
        if a < 64 || a > b || b > data.len() {
            return Err(corrupt("has a bad segment offset"));
        }
        let out = &mut planes[s * px..(s + 1) * px];
        let seg = &data[a..b];
        let (mut i, mut o) = (0usize, 0usize);
        while i < seg.len() && o < px {
            let n = seg[i] as i8;
            i += 1;
            if n >= 0 {
                let k = n as usize + 1;
                let src = seg.get(i..i + k).ok_or_else(|| corrupt("is truncated"))?;
                let k = k.min(px - o);
                out[o..o + k].copy_from_slice(&src[..k]);
                o += k;
                i += n as usize + 1;
            } else if n != -128 {
                let k = (1 - n as isize) as usize;
                let &v = seg.get(i).ok_or_else(|| corrupt("is truncated"))?;
                let k = k.min(px - o);
                out[o..o + k].fill(v);
                o += k;
                i += 1;
            }
        }
        if o < px {
            return Err(corrupt("segment is short"));
        }
    }
    let mut out = vec![0i64; px * spp];
    for s in 0..spp {
        for i in 0..px {
            let mut w = 0u64;
            for b in 0..nbytes {
                w = w << 8 | u64::from(planes[(s * nbytes + b) * px + i]);
            }
            out[i * spp + s] = stored(w, img.bits_stored, img.signed);
        }
    }
    if matches!(img.photometric, Photometric::YbrFull) {
        ybr_full_to_rgb(&mut out, img.bits_stored);
    }
    Ok(out)
}

fn check_decoded(img: &ImageInfo, w: u32, h: u32, comps: u32) -> Result<()> {
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

fn jpeg(img: &ImageInfo, data: &[u8], limits: &ImageLimits) -> Result<Vec<i64>> {
    if let Some((sof, precision)) = jpeg_precision(data) {
        if precision > 8 && matches!(sof, 0xC0..=0xC2) {
            let (w, h, comps, v) = super::jpeg12::decode(data, limits)?;
            check_decoded(img, w, h, comps)?;
            return Ok(v
                .into_iter()
                .map(|x| stored(u64::from(x), img.bits_stored, img.signed))
                .collect());
        }
    }
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(data));
    if img.photometric == Photometric::Rgb && !has_marker(data, 0xEE) && !has_marker(data, 0xE0) {
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

fn jpeg2000(img: &ImageInfo, data: &[u8], limits: &ImageLimits) -> Result<Vec<i64>> {
    use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};
    // the codestream may follow a JP2 header, or a few junk bytes some encoders leave
    let start = if data.get(4..8) == Some(b"jP  ") {
        0
    } else {
        data.windows(4)
            .take(64)
            .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
            .ok_or_else(|| err!(ImageDecode, "DICOM: no JPEG 2000 codestream in the frame"))?
    };
    let data = &data[start..];
    let settings = DecodeSettings {
        resolve_palette_indices: false,
        ..Default::default()
    };
    let image = Image::new(data, &settings)
        .map_err(|e| err!(ImageDecode, "DICOM: JPEG 2000 data is corrupt ({e:?})"))?;
    let (w, h) = (image.width(), image.height());
    let need = u64::from(w) * u64::from(h) * u64::from(img.spp) * 8;
    if need > limits.max_alloc {
        return Err(err!(
            ImageTooLarge,
            "DICOM: JPEG 2000 frame {w}x{h} exceeds the allocation limit"
        ));
    }
    let mut ctx = DecoderContext::default();
    let decoded = image
        .decode(&mut ctx)
        .map_err(|e| err!(ImageDecode, "DICOM: JPEG 2000 data is corrupt ({e:?})"))?;
    let comps = decoded.components();
    check_decoded(img, w, h, comps.len() as u32)?;
    let (bs, signed) = (img.bits_stored, img.signed);
    // the decoder adds the unsigned DC level shift to every component; a signed codestream
    // (Ssiz bit 7) gets it taken off again
    let shift = j2k_signed_shift(data) as f32;
    let px = w as usize * h as usize;
    let mut out = vec![0i64; px * comps.len()];
    for (c, comp) in comps.iter().enumerate() {
        let s = comp.samples();
        if s.len() < px {
            return Err(err!(ImageDecode, "DICOM: JPEG 2000 component {c} is short"));
        }
        let max = ((1u64 << comp.bit_depth()) - 1) as f32;
        for (i, &v) in s[..px].iter().enumerate() {
            let v = (v.round().clamp(0.0, max) - shift) as i64;
            out[i * comps.len() + c] = stored(v as u64, bs, signed);
        }
    }
    Ok(out)
}

/// `2^(precision - 1)` when the first component of the codestream is signed, else 0.
fn j2k_signed_shift(data: &[u8]) -> i64 {
    let Some(at) = data.windows(2).position(|w| w == [0xFF, 0x51]) else {
        return 0;
    };
    match data.get(at + 40) {
        Some(&ssiz) if ssiz & 0x80 != 0 => 1i64 << (ssiz & 0x7F),
        _ => 0,
    }
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
