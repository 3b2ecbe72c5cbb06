//! Image decoding under explicit limits, raw RGBA input, and preprocessing to the tensor the
//! manifest describes.
//!
//! Steps: decode (PNG/JPEG, 8 or 16 bit, gray/RGB/RGBA; alpha is dropped, not composited) ->
//! float planes in `[0, 1]` (8-bit / 255, 16-bit / 65535) -> gray (BT.601) or RGB/BGR ->
//! resize (bilinear, skipped when the size already matches) -> `(x - mean) / std` -> layout.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{
    DynamicImage, ImageBuffer, ImageDecoder, ImageError, ImageFormat, ImageReader, Luma, Rgb,
};
use serde::{Deserialize, Serialize};

use super::manifest::{Channels, InputSpec, Layout, Resize};
use crate::error::{err, Result};

/// Decoding limits: an image larger than these fails with `image_too_large`, before the
/// decoder allocates its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ImageLimits {
    /// Largest accepted width in pixels (default 16384).
    pub max_width: u32,
    /// Largest accepted height in pixels (default 16384).
    pub max_height: u32,
    /// Largest number of bytes one image may take to decode and preprocess: the decoder's
    /// allocations, the float copy of the pixels and the resize buffers together (default
    /// 512 MiB). Checked from the header, before the pixels are decoded.
    pub max_alloc: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_width: 16384,
            max_height: 16384,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// Decoded pixels as interleaved `f32` in `[0, 1]`, 1 (gray) or 3 (RGB) channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 or 3.
    pub channels: usize,
    /// `height * width * channels` values, row-major, channels interleaved.
    pub data: Vec<f32>,
}

fn check_size(w: u32, h: u32, limits: &ImageLimits) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(err!(ImageDecode, "image has zero size ({w}x{h})"));
    }
    if w > limits.max_width || h > limits.max_height {
        return Err(err!(
            ImageTooLarge,
            "image is {w}x{h}, limit is {}x{}",
            limits.max_width,
            limits.max_height
        ));
    }
    Ok(())
}

/// Decode PNG or JPEG bytes under `limits`, strictly: the file's structure is walked first
/// and a truncated or malformed one is an error (`image_decode`) even where the decoder
/// would fill the missing part with zeros (a truncated JPEG scan decodes to a grey image
/// that still gets a confident score). The EXIF orientation (JPEG APP1 or PNG `eXIf`) is
/// applied, as browsers do when they display the file.
///
/// `limits.max_alloc` bounds the decoder's own allocations; [`preprocess_encoded`] also
/// counts the float copy and the resize buffers.
pub fn decode(bytes: &[u8], limits: &ImageLimits) -> Result<DynamicImage> {
    decode_checked(bytes, limits, |_, _, _| Ok(()))
}

/// [`decode`], with `budget(width, height, decoded_bytes)` called once the header is read
/// and before the pixels are decoded.
fn decode_checked(
    bytes: &[u8],
    limits: &ImageLimits,
    budget: impl FnOnce(u32, u32, u64) -> Result<()>,
) -> Result<DynamicImage> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err!(ImageDecode, "cannot read image: {e}"))?;
    let reader_format = reader.format();
    match reader_format {
        Some(ImageFormat::Png) => check_png_structure(bytes)?,
        Some(ImageFormat::Jpeg) => check_jpeg_structure(bytes)?,
        _ => {
            return Err(err!(
                ImageDecode,
                "unrecognized image format (PNG and JPEG are supported)"
            ))
        }
    }
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (w, h) = decoder.dimensions();
    check_size(w, h, limits)?;
    budget(w, h, decoder.total_bytes())?;
    // a missing or unreadable orientation tag means "as stored"
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = match reader_format {
        Some(ImageFormat::Jpeg) => {
            drop(decoder);
            // every scan's entropy-coded data read through, within the budget just checked
            super::jpeg_scan::check(bytes)?;
            decode_jpeg_strict(bytes, w, h)?
        }
        _ => DynamicImage::from_decoder(decoder).map_err(decode_error)?,
    };
    img.apply_orientation(orientation);
    check_size(img.width(), img.height(), limits)?;
    Ok(img)
}

/// Decode a JPEG's pixels (already checked to be `w x h` within the limits) with the
/// decoder in strict mode: a scan whose entropy-coded data is corrupt (an invalid Huffman
/// code, a coefficient past the block, data that ends before the last MCU or a marker inside
/// the data) is an error, where the lenient default fills the rest of the image with grey.
fn decode_jpeg_strict(bytes: &[u8], w: u32, h: u32) -> Result<DynamicImage> {
    use zune_core::colorspace::ColorSpace;
    let (px, out) = decode_jpeg_zune(bytes, w, h)?;
    let size = || {
        err!(
            ImageDecode,
            "corrupt JPEG: the decoded pixels do not fill {w}x{h}"
        )
    };
    Ok(match out {
        ColorSpace::Luma => {
            DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, px).ok_or_else(size)?)
        }
        ColorSpace::LumaA => {
            DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, px).ok_or_else(size)?)
        }
        ColorSpace::RGBA => {
            DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, px).ok_or_else(size)?)
        }
        _ => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, px).ok_or_else(size)?),
    })
}

/// The pixels of a JPEG of at most `w x h` decoded by zune-jpeg in strict mode (corrupt
/// entropy-coded data is an error), and their colour space: gray stays gray, colour comes out
/// as RGB. The one JPEG decoder of JPEG files, and of 8-bit JPEG in DICOM, so that the same
/// codestream gives the same pixels either way.
pub(crate) fn decode_jpeg_zune(
    bytes: &[u8],
    w: u32,
    h: u32,
) -> Result<(Vec<u8>, zune_core::colorspace::ColorSpace)> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let opts = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(w as usize)
        .set_max_height(h as usize);
    let corrupt = |e: zune_jpeg::errors::DecodeErrors| err!(ImageDecode, "corrupt JPEG: {e}");
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    d.decode_headers().map_err(corrupt)?;
    let out = match d.input_colorspace() {
        Some(c @ (ColorSpace::Luma | ColorSpace::LumaA | ColorSpace::RGBA)) => c,
        _ => ColorSpace::RGB,
    };
    d.set_options(d.options().jpeg_set_out_colorspace(out));
    Ok((d.decode().map_err(corrupt)?, out))
}

fn decode_error(e: ImageError) -> crate::error::Error {
    match e {
        ImageError::Limits(l) => err!(ImageTooLarge, "image exceeds limits: {l}"),
        ImageError::Unsupported(u) => err!(ImageDecode, "unsupported image: {u}"),
        other => err!(ImageDecode, "corrupt image: {other}"),
    }
}

/// Walk a PNG's chunks: the signature, `IHDR` first, every chunk inside the file, at least
/// one `IDAT`, and an `IEND` (bytes after `IEND` are ignored, as decoders do).
pub fn check_png_structure(b: &[u8]) -> Result<()> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !b.starts_with(SIG) {
        return Err(err!(ImageDecode, "corrupt PNG: bad signature"));
    }
    let mut i = SIG.len();
    let mut idat = false;
    let mut first = true;
    loop {
        if i + 8 > b.len() {
            return Err(err!(
                ImageDecode,
                "truncated PNG: file ends at byte {} without an IEND chunk",
                b.len()
            ));
        }
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let kind = &b[i + 4..i + 8];
        let end = (i + 12).checked_add(len).filter(|&e| e <= b.len());
        let Some(end) = end else {
            return Err(err!(
                ImageDecode,
                "truncated PNG: chunk {} at byte {i} needs {len} bytes, the file ends at {}",
                String::from_utf8_lossy(kind),
                b.len()
            ));
        };
        if first && kind != b"IHDR" {
            return Err(err!(
                ImageDecode,
                "corrupt PNG: the first chunk is not IHDR"
            ));
        }
        first = false;
        match kind {
            b"IDAT" => idat = true,
            b"IEND" if !idat => return Err(err!(ImageDecode, "corrupt PNG: no image data (IDAT)")),
            b"IEND" => return Ok(()),
            _ => {}
        }
        i = end;
    }
}

/// Walk a JPEG's markers: `SOI`, segments whose lengths stay inside the file, a frame header,
/// every scan's entropy-coded data up to the next marker, and `EOI` after the last scan. A
/// file cut inside a scan (baseline or progressive) has no `EOI` and is refused.
pub fn check_jpeg_structure(b: &[u8]) -> Result<()> {
    let truncated = |at: usize, what: &str| {
        err!(
            ImageDecode,
            "truncated JPEG: the file ends at byte {at} {what}, before the end-of-image marker"
        )
    };
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(err!(ImageDecode, "corrupt JPEG: no start-of-image marker"));
    }
    let (mut i, mut frame, mut scans) = (2usize, false, 0usize);
    loop {
        if i >= b.len() {
            return Err(truncated(b.len(), "between segments"));
        }
        if b[i] != 0xFF {
            return Err(err!(
                ImageDecode,
                "corrupt JPEG: expected a marker at byte {i}, found 0x{:02X}",
                b[i]
            ));
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&m) = b.get(i) else {
            return Err(truncated(b.len(), "in a marker"));
        };
        i += 1;
        match m {
            0xD9 if scans == 0 => {
                return Err(err!(ImageDecode, "corrupt JPEG: no image data (no scan)"))
            }
            0xD9 => return Ok(()),
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(err!(ImageDecode, "corrupt JPEG: a second start-of-image")),
            _ => {}
        }
        if i + 2 > b.len() {
            return Err(truncated(b.len(), "in a segment length"));
        }
        let len = u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        if len < 2 {
            return Err(err!(
                ImageDecode,
                "corrupt JPEG: segment length {len} at byte {i}"
            ));
        }
        let end = i + len;
        if end > b.len() {
            return Err(truncated(b.len(), &format!("inside segment 0x{m:02X}")));
        }
        // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC)
        if (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            frame = true;
        }
        i = end;
        if m != 0xDA {
            continue;
        }
        if !frame {
            return Err(err!(
                ImageDecode,
                "corrupt JPEG: a scan before the frame header"
            ));
        }
        scans += 1;
        // entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), RSTn or fill 0xFF;
        // anything else is the next marker. Restart markers count RST0..RST7 in turn from 0
        // in each scan: one out of turn means a lost or corrupt restart interval.
        let mut rst = 0u8;
        loop {
            let Some(j) = b[i..].iter().position(|&v| v == 0xFF).map(|j| i + j) else {
                return Err(truncated(b.len(), &format!("inside scan {scans}")));
            };
            match b.get(j + 1) {
                None => return Err(truncated(b.len(), &format!("inside scan {scans}"))),
                Some(0x00) => i = j + 2,
                Some(&r @ 0xD0..=0xD7) => {
                    if r - 0xD0 != rst {
                        return Err(err!(
                            ImageDecode,
                            "corrupt JPEG: restart marker RST{} at byte {j} in scan {scans}, RST{rst} expected",
                            r - 0xD0
                        ));
                    }
                    rst = (rst + 1) % 8;
                    i = j + 2;
                }
                Some(0xFF) => i = j + 1,
                Some(_) => {
                    i = j;
                    break;
                }
            }
        }
    }
}

/// Bytes the preprocessing of a `w x h` image to `input` needs at its peak besides the
/// decoded pixels: the float copy (`w x h x channels x 4`; a colour image going to gray is
/// converted to RGB floats first), the resize's intermediate and output buffers, the tensor.
pub fn preprocess_bytes(w: u32, h: u32, colour: bool, input: &InputSpec) -> u64 {
    let (w, h) = (u64::from(w), u64::from(h));
    let c = input.channels.count() as u64;
    let src_c = if input.channels == Channels::Gray && colour {
        3 + 1
    } else {
        c
    };
    let floats = w * h * src_c * 4;
    let (nw, nh) = resized_size(w, h, input);
    let resize = if (nw, nh) == (w, h) {
        0
    } else {
        // the resampler goes through a (new width x old height) buffer, then the output
        (nw.saturating_mul(h) + nw.saturating_mul(nh)).saturating_mul(c * 4)
    };
    let tensor = u64::from(input.width) * u64::from(input.height) * c * 4;
    floats.saturating_add(resize).saturating_add(tensor)
}

/// The size [`resize`] brings a `w x h` image to before any crop.
fn resized_size(w: u64, h: u64, input: &InputSpec) -> (u64, u64) {
    let (iw, ih) = (u64::from(input.width), u64::from(input.height));
    match input.resize {
        Resize::Stretch {} => (iw, ih),
        Resize::ShorterSideCrop { shorter_side } => {
            let s = u64::from(shorter_side.unwrap_or(input.width.max(input.height))).max(iw.max(ih))
                as f64;
            let short = w.min(h).max(1) as f64;
            let scale = s / short;
            let nw = ((w as f64 * scale).round() as u64).max(iw);
            let nh = ((h as f64 * scale).round() as u64).max(ih);
            (nw, nh)
        }
        Resize::Pil {
            shorter_side: None, ..
        } => (iw, ih),
        Resize::Pil {
            shorter_side: Some(s),
            ..
        } => {
            let s = s.max(input.width.max(input.height));
            let clamp = |v: u64| v.min(u64::from(u32::MAX)) as u32;
            let (nw, nh) = super::resample::shorter_side_size(clamp(w), clamp(h), s);
            (u64::from(nw), u64::from(nh))
        }
    }
}

fn check_alloc(need: u64, w: u32, h: u32, limits: &ImageLimits) -> Result<()> {
    if need > limits.max_alloc {
        return Err(err!(
            ImageTooLarge,
            "a {w}x{h} image needs {need} bytes to decode and preprocess, limit is {} (maxAlloc)",
            limits.max_alloc
        ));
    }
    Ok(())
}

/// Decode PNG/JPEG bytes and preprocess them to `input`'s tensor, refusing (before the
/// pixels are decoded) an image whose decoded pixels plus [`preprocess_bytes`] exceed
/// `limits.max_alloc`.
pub fn preprocess_encoded(
    bytes: &[u8],
    input: &InputSpec,
    limits: &ImageLimits,
) -> Result<Vec<f32>> {
    let img = decode_checked(bytes, limits, |w, h, decoded| {
        // the colour type is not known here: count the larger (colour) conversion
        let need = decoded.saturating_add(preprocess_bytes(w, h, true, input));
        check_alloc(need, w, h, limits)
    })?;
    let px = pixels_from_image(&img, input.channels);
    drop(img);
    Ok(to_tensor(px, input))
}

/// Raw RGBA pixels preprocessed to `input`'s tensor, under the same budget as
/// [`preprocess_encoded`].
pub fn preprocess_rgba(
    rgba: &[u8],
    width: u32,
    height: u32,
    input: &InputSpec,
    limits: &ImageLimits,
) -> Result<Vec<f32>> {
    check_size(width, height, limits)?;
    let need = preprocess_bytes(width, height, false, input);
    check_alloc(need, width, height, limits)?;
    let px = pixels_from_rgba(rgba, width, height, input.channels, limits)?;
    Ok(to_tensor(px, input))
}

fn bt601(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Convert a decoded image to float pixels with the channel count the model needs.
pub fn pixels_from_image(img: &DynamicImage, channels: Channels) -> Pixels {
    let (width, height) = (img.width(), img.height());
    let colour = img.color().has_color();
    let data = match channels {
        Channels::Gray if !colour => img.to_luma32f().into_raw(),
        Channels::Gray => img
            .to_rgb32f()
            .pixels()
            .map(|p| bt601(p[0], p[1], p[2]))
            .collect(),
        Channels::Rgb | Channels::Bgr => img.to_rgb32f().into_raw(),
    };
    Pixels {
        width,
        height,
        channels: channels.count(),
        data,
    }
}

/// Convert raw RGBA bytes (canvas `ImageData`, `createImageBitmap`) to float pixels.
pub fn pixels_from_rgba(
    rgba: &[u8],
    width: u32,
    height: u32,
    channels: Channels,
    limits: &ImageLimits,
) -> Result<Pixels> {
    check_size(width, height, limits)?;
    let expected = (width as u64) * (height as u64) * 4;
    if rgba.len() as u64 != expected {
        return Err(err!(
            InvalidPixels,
            "RGBA buffer has {} bytes, {width}x{height}x4 = {expected} expected",
            rgba.len()
        ));
    }
    let f = |v: u8| v as f32 / 255.0;
    let data = match channels {
        Channels::Gray => rgba
            .chunks_exact(4)
            .map(|p| {
                if p[0] == p[1] && p[1] == p[2] {
                    f(p[0])
                } else {
                    bt601(f(p[0]), f(p[1]), f(p[2]))
                }
            })
            .collect(),
        Channels::Rgb | Channels::Bgr => rgba
            .chunks_exact(4)
            .flat_map(|p| [f(p[0]), f(p[1]), f(p[2])])
            .collect(),
    };
    Ok(Pixels {
        width,
        height,
        channels: channels.count(),
        data,
    })
}

fn resize_exact(p: Pixels, w: u32, h: u32) -> Pixels {
    if p.width == w && p.height == h {
        return p;
    }
    let data = if p.channels == 1 {
        let buf: ImageBuffer<Luma<f32>, Vec<f32>> =
            ImageBuffer::from_raw(p.width, p.height, p.data).unwrap_or_default();
        imageops::resize(&buf, w, h, FilterType::Triangle).into_raw()
    } else {
        let buf: ImageBuffer<Rgb<f32>, Vec<f32>> =
            ImageBuffer::from_raw(p.width, p.height, p.data).unwrap_or_default();
        imageops::resize(&buf, w, h, FilterType::Triangle).into_raw()
    };
    Pixels {
        width: w,
        height: h,
        channels: p.channels,
        data,
    }
}

fn crop_center(p: Pixels, w: u32, h: u32) -> Pixels {
    if p.width == w && p.height == h {
        return p;
    }
    let x0 = ((p.width - w) / 2) as usize;
    let y0 = ((p.height - h) / 2) as usize;
    super::resample::crop(&p, x0, y0, w, h)
}

/// Resize as the manifest says, to exactly `input.width x input.height`.
pub fn resize(p: Pixels, input: &InputSpec) -> Pixels {
    let (w, h) = (input.width, input.height);
    match input.resize {
        Resize::Stretch {} => resize_exact(p, w, h),
        Resize::ShorterSideCrop { shorter_side } => {
            let s = shorter_side.unwrap_or(w.max(h)).max(w.max(h)) as f64;
            let short = p.width.min(p.height) as f64;
            let scale = s / short;
            // both sides end up >= s >= max(w, h), so the crop always fits
            let nw = ((p.width as f64 * scale).round() as u32).max(w);
            let nh = ((p.height as f64 * scale).round() as u32).max(h);
            crop_center(resize_exact(p, nw, nh), w, h)
        }
        Resize::Pil {
            filter,
            shorter_side,
            precision,
        } => super::resample::pil_resize(p, w, h, filter, shorter_side, precision),
    }
}

/// Full preprocessing: pixels -> resized -> normalized tensor data for one image, without
/// the batch dimension, in the manifest's layout (`C*H*W` for NCHW, `H*W*C` for NHWC).
pub fn to_tensor(p: Pixels, input: &InputSpec) -> Vec<f32> {
    let p = resize(p, input);
    let c = p.channels;
    let hw = p.width as usize * p.height as usize;
    let order: [usize; 3] = match input.channels {
        Channels::Bgr => [2, 1, 0],
        _ => [0, 1, 2],
    };
    let scale: Vec<f32> = input.std.iter().map(|s| 1.0 / s).collect();
    let mut out = vec![0f32; hw * c];
    for (i, px) in p.data.chunks_exact(c).enumerate() {
        for oc in 0..c {
            let v = (px[order[oc]] - input.mean[oc]) * scale[oc];
            match input.layout {
                Layout::Nchw => out[oc * hw + i] = v,
                Layout::Nhwc => out[i * c + oc] = v,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::Manifest;

    fn spec(json_resize: &str, channels: &str, layout: &str) -> InputSpec {
        let (mean, std) = if channels == "gray" {
            ("[0.5]", "[0.25]")
        } else {
            ("[0.1,0.2,0.3]", "[0.5,0.5,0.5]")
        };
        let j = format!(
            r#"{{"input":{{"width":4,"height":2,"layout":"{layout}","channels":"{channels}","mean":{mean},"std":{std},"resize":{json_resize}}},
                "output":{{"kind":"logits","classes":["a","b"]}}}}"#
        );
        Manifest::from_json(&j).unwrap().input
    }

    fn rgba(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [(i * 10) as u8, (i * 20) as u8, (i * 30) as u8, 255])
            .collect()
    }

    #[test]
    fn rgba_length_checked() {
        let e =
            pixels_from_rgba(&[0; 15], 2, 2, Channels::Rgb, &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "invalid_pixels");
        let e = pixels_from_rgba(&[], 0, 2, Channels::Rgb, &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let small = ImageLimits {
            max_width: 1,
            ..Default::default()
        };
        let e = pixels_from_rgba(&[0; 16], 2, 2, Channels::Rgb, &small).unwrap_err();
        assert_eq!(e.code(), "image_too_large");
    }

    #[test]
    fn nchw_and_nhwc_and_bgr() {
        let px = rgba(4, 2);
        let s = spec(r#"{"mode":"stretch"}"#, "rgb", "nchw");
        let p = pixels_from_rgba(&px, 4, 2, Channels::Rgb, &ImageLimits::default()).unwrap();
        let t = to_tensor(p.clone(), &s);
        // pixel 1 = (10, 20, 30); channel 0 plane starts at 0, channel 1 at 8
        assert!((t[1] - (10.0 / 255.0 - 0.1) / 0.5).abs() < 1e-6);
        assert!((t[8 + 1] - (20.0 / 255.0 - 0.2) / 0.5).abs() < 1e-6);
        let s2 = spec(r#"{"mode":"stretch"}"#, "rgb", "nhwc");
        let t2 = to_tensor(p.clone(), &s2);
        assert!((t2[3 + 1] - t[8 + 1]).abs() < 1e-7);
        let s3 = spec(r#"{"mode":"stretch"}"#, "bgr", "nchw");
        let t3 = to_tensor(p, &s3);
        // BGR: channel 0 is blue = 30
        assert!((t3[1] - (30.0 / 255.0 - 0.1) / 0.5).abs() < 1e-6);
    }

    #[test]
    fn gray_uses_bt601() {
        let px = [255u8, 0, 0, 255];
        let p = pixels_from_rgba(&px, 1, 1, Channels::Gray, &ImageLimits::default()).unwrap();
        assert!((p.data[0] - 0.299).abs() < 1e-6);
    }

    #[test]
    fn resize_modes() {
        let px = rgba(8, 4);
        let p = pixels_from_rgba(&px, 8, 4, Channels::Gray, &ImageLimits::default()).unwrap();
        let s = spec(r#"{"mode":"stretch"}"#, "gray", "nchw");
        let r = resize(p.clone(), &s);
        assert_eq!((r.width, r.height, r.data.len()), (4, 2, 8));
        let s = spec(r#"{"mode":"shorterSideCrop"}"#, "gray", "nchw");
        // shorter side 4 -> 4 (max(w,h)=4): 8x4 stays, crop centre 4x2 = rows 1..3, cols 2..6
        let r = resize(p.clone(), &s);
        assert_eq!((r.width, r.height), (4, 2));
        assert_eq!(r.data[0], p.data[8 + 2]);
    }

    #[test]
    fn decode_rejects_garbage_and_truncation() {
        let e = decode(b"not an image at all", &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let mut png = Vec::new();
        let img = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(16, 16, Rgb([1u8, 2, 3])));
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(decode(&png, &ImageLimits::default()).is_ok());
        let e = decode(&png[..png.len() / 2], &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let small = ImageLimits {
            max_width: 8,
            ..Default::default()
        };
        assert_eq!(decode(&png, &small).unwrap_err().code(), "image_too_large");
    }

    #[test]
    fn sixteen_bit_gray_scales_by_65535() {
        let buf: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(2, 2, Luma([65535u16]));
        let img = DynamicImage::ImageLuma16(buf);
        let p = pixels_from_image(&img, Channels::Gray);
        assert_eq!(p.data, vec![1.0; 4]);
    }
}
