//! RLE Lossless (PS3.5 Annex G), the `dicom-rle` feature.

use super::decode::{stored, ybr_full_to_rgb};
use super::parse::{ImageInfo, Photometric};
use crate::error::{err, Result};

/// RLE Lossless (PS3.5 Annex G): one segment per byte of each sample, most significant first.
pub fn decode(img: &ImageInfo, data: &[u8]) -> Result<Vec<i64>> {
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
