//! JPEG 2000 (lossless and lossy) with hayro-jpeg2000, the `dicom-jpeg2000` feature.

use super::decode::{check_decoded, stored};
use super::parse::ImageInfo;
use crate::engine::image::ImageLimits;
use crate::error::{err, Result};

/// Decode one JPEG 2000 frame (J2K codestream or JP2) to stored values.
pub fn decode(img: &ImageInfo, data: &[u8], limits: &ImageLimits) -> Result<Vec<i64>> {
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
